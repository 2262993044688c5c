"""Ingestion: the webhook receiver, the backfill command and the raw-event processor.

Every delivery is stored verbatim in ``ingest.raw_events`` (``api.raw_event__receive``) before
anything parses it; the SQL normalizers run later, off the request path
(``api.raw_events__process``). Python only moves bytes and checks signatures.
"""
