-- ingest.raw_events: every webhook delivery (and every backfilled record), stored verbatim
-- BEFORE anything parses it. Nothing is ever deleted: a forged, malformed, oversize or duplicate
-- delivery is kept with the outcome it got and why.
--
-- tenant_id and channel_id are the ones the request was addressed to
-- (/webhooks/<platform>/<tenant_id>/<channel_id>); there is deliberately no foreign key to
-- orders.tenants or orders.channels: a delivery to an unknown tenant or channel is still stored
-- (status rejected, reason UNKNOWN_CHANNEL), never lost to a constraint violation.
--
-- Duplicates: dedupe_key is the platform's delivery id (Shopify X-Shopify-Webhook-Id, WooCommerce
-- X-WC-Webhook-Delivery-ID, Stripe event id, backfill record id@updated-at) or, when the platform
-- sent none, the sha256 of the body. At most one live row (pending, applied or quarantined) exists
-- per key (unique index below, race-free under concurrent deliveries); later copies are stored with
-- status duplicate and point at the live one.
--
-- Not audited ("[audit: skip]" in the table comment): auditing copies whole rows (bodies included)
-- into audit.events on insert and before+after on every status change; measured 10x slower
-- processing. Each row carries body_sha256; what the events produce (orders.*) is audited.

CREATE TABLE ingest.raw_events (
    tenant_id text NOT NULL,
    raw_event_id bigint GENERATED ALWAYS AS IDENTITY,
    platform text NOT NULL,
    channel_id text NOT NULL,
    source text NOT NULL DEFAULT 'webhook',
    topic text,
    delivery_id text,
    dedupe_key text NOT NULL,
    headers jsonb NOT NULL DEFAULT '{}',
    body bytea NOT NULL,
    body_bytes bigint NOT NULL,
    body_truncated boolean NOT NULL DEFAULT FALSE,
    body_sha256 bytea NOT NULL,
    signature_result text NOT NULL,
    received_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    status text NOT NULL DEFAULT 'pending',
    reason_code text,
    message text,
    error_detail jsonb,
    duplicate_of bigint,
    attempts integer NOT NULL DEFAULT 0,
    processed_at timestamptz,
    result text,
    PRIMARY KEY (tenant_id, raw_event_id),
    CONSTRAINT raw_events_platform_known CHECK (
        platform IN ('shopify', 'woocommerce', 'stripe', 'custom', 'quickbooks')
    ),
    CONSTRAINT raw_events_source_known CHECK (source IN ('webhook', 'backfill')),
    CONSTRAINT raw_events_signature_result_known CHECK (
        signature_result IN (
            'valid', 'invalid', 'missing', 'stale_timestamp', 'no_secret', 'unchecked', 'not_applicable'
        )
    ),
    CONSTRAINT raw_events_status_known CHECK (
        status IN ('pending', 'applied', 'duplicate', 'quarantined', 'rejected')
    ),
    CONSTRAINT raw_events_reason_code_format CHECK (reason_code ~ '^[A-Z][A-Z0-9_]*$'),
    CONSTRAINT raw_events_reason_when_not_accepted CHECK (
        status IN ('pending', 'applied') OR reason_code IS NOT NULL
    ),
    CONSTRAINT raw_events_duplicate_points_at_original CHECK (
        (status = 'duplicate') = (duplicate_of IS NOT NULL)
    ),
    CONSTRAINT raw_events_body_bytes_non_negative CHECK (body_bytes >= 0),
    CONSTRAINT raw_events_duplicate_of_fk FOREIGN KEY (tenant_id, duplicate_of)
    REFERENCES ingest.raw_events (tenant_id, raw_event_id)
);

-- One live copy per delivery: the arbiter of INSERT ... ON CONFLICT in api.raw_event__receive.
CREATE UNIQUE INDEX raw_events_one_live_per_delivery ON ingest.raw_events (
    tenant_id, platform, channel_id, dedupe_key
) WHERE status IN ('pending', 'applied', 'quarantined');

-- The processing queue: pending rows in arrival order (claimed FOR UPDATE SKIP LOCKED).
CREATE INDEX raw_events_pending ON ingest.raw_events (raw_event_id) WHERE status = 'pending';

COMMENT ON TABLE ingest.raw_events IS
'Every webhook delivery and backfilled record, verbatim (bytes + headers), stored before parsing, with its outcome. '
'[audit: skip] high-volume verbatim input log (bodies up to 1 MiB, each with its sha256): auditing would copy every '
'body into the chain several times; the facts it produces (orders.*) are audited.';
COMMENT ON COLUMN ingest.raw_events.tenant_id IS
'Tenant the delivery was addressed to (not checked: kept even if unknown).';
COMMENT ON COLUMN ingest.raw_events.raw_event_id IS 'Surrogate key, increasing in arrival order.';
COMMENT ON COLUMN ingest.raw_events.platform IS
'Sending platform: shopify, woocommerce, stripe, custom, or quickbooks (two-way sync notifications).';
COMMENT ON COLUMN ingest.raw_events.channel_id IS 'Channel (store/account) the delivery was addressed to.';
COMMENT ON COLUMN ingest.raw_events.source IS 'webhook (the receiver) or backfill (pgbooks backfill).';
COMMENT ON COLUMN ingest.raw_events.topic IS
'Platform topic: X-Shopify-Topic, X-WC-Webhook-Topic, Stripe event type, or the backfill topic.';
COMMENT ON COLUMN ingest.raw_events.delivery_id IS
'Platform delivery id (X-Shopify-Webhook-Id, X-WC-Webhook-Delivery-ID, Stripe event id), if sent.';
COMMENT ON COLUMN ingest.raw_events.dedupe_key IS
'Idempotency key: the delivery id, or sha256:<hex of body> when the platform sent none.';
COMMENT ON COLUMN ingest.raw_events.headers IS
'Request headers as received (lower-case names; repeated headers joined by ", ").';
COMMENT ON COLUMN ingest.raw_events.body IS
'Raw request bytes, verbatim (the signature is over these bytes). Only the first bytes when body_truncated.';
COMMENT ON COLUMN ingest.raw_events.body_bytes IS 'Size of the body as sent (Content-Length or bytes read).';
COMMENT ON COLUMN ingest.raw_events.body_truncated IS
'True when the body exceeded the receiver''s limit: only its first bytes were kept (status rejected).';
COMMENT ON COLUMN ingest.raw_events.body_sha256 IS 'sha256 of the stored body bytes.';
COMMENT ON COLUMN ingest.raw_events.signature_result IS
'valid, invalid, missing, stale_timestamp (Stripe, > 300 s), no_secret, unchecked (too big), not_applicable (backfill)';
COMMENT ON COLUMN ingest.raw_events.received_at IS 'When the delivery was stored.';
COMMENT ON COLUMN ingest.raw_events.status IS
'pending (to normalize), applied, duplicate (not applied again), quarantined (normalizer refused), rejected.';
COMMENT ON COLUMN ingest.raw_events.reason_code IS
'Why it is not applied (UPPER_SNAKE): SIGNATURE_INVALID, MALFORMED_JSON, DUPLICATE_DELIVERY, ...';
COMMENT ON COLUMN ingest.raw_events.message IS 'Human-readable explanation: the parser''s or normalizer''s message.';
COMMENT ON COLUMN ingest.raw_events.error_detail IS
'Structured error facts (SQLSTATE, detail, hint, context) for a quarantine.';
COMMENT ON COLUMN ingest.raw_events.duplicate_of IS 'For a duplicate: the live copy of the same delivery.';
COMMENT ON COLUMN ingest.raw_events.attempts IS 'How many times the normalizer ran on this event.';
COMMENT ON COLUMN ingest.raw_events.processed_at IS 'When the last processing attempt finished.';
COMMENT ON COLUMN ingest.raw_events.result IS
'What the normalizer returned when it applied the event (e.g. the order key).';
