-- ingest.receiver_throttles: requests the receiver refused with 429 (rate limit), counted per bucket
-- (tenant, or source IP for unknown routes) and minute. Counted, never stored with their bodies:
-- storing whatever a flood sends is the very cost the limit protects against.

CREATE TABLE ingest.receiver_throttles (
    bucket_kind text NOT NULL,
    bucket_key text NOT NULL,
    window_start timestamptz NOT NULL,
    refused bigint NOT NULL,
    last_refused_at timestamptz NOT NULL,
    PRIMARY KEY (bucket_kind, bucket_key, window_start),
    CONSTRAINT receiver_throttles_bucket_kind_known CHECK (bucket_kind IN ('tenant', 'ip')),
    CONSTRAINT receiver_throttles_refused_positive CHECK (refused > 0)
);

COMMENT ON TABLE ingest.receiver_throttles IS
'Requests the webhook receiver refused with 429 (rate limit), counted per bucket and minute; bodies are not stored. '
'[audit: skip] counters added to by the receiver every few seconds during a flood; no business fact.';
COMMENT ON COLUMN ingest.receiver_throttles.bucket_kind IS
'tenant (a known channel''s tenant) or ip (source address of requests to an unknown channel or account).';
COMMENT ON COLUMN ingest.receiver_throttles.bucket_key IS 'The tenant id or the source IP address.';
COMMENT ON COLUMN ingest.receiver_throttles.window_start IS 'Start of the minute the refusals fell in.';
COMMENT ON COLUMN ingest.receiver_throttles.refused IS 'Requests answered 429 in that minute (summed over receivers).';
COMMENT ON COLUMN ingest.receiver_throttles.last_refused_at IS 'Latest refusal counted in that minute.';
