-- sync.rate_buckets: per-realm token buckets shared by every worker on every machine. A claim
-- locks the tenant's row (SKIP LOCKED: a busy tenant never blocks the others), refills by elapsed
-- time, and spends one token per HTTP request (plus one batch token for a batch request).

CREATE TABLE sync.rate_buckets (
    tenant_id text PRIMARY KEY REFERENCES orders.tenants (tenant_id),
    tokens numeric NOT NULL,
    batch_tokens numeric NOT NULL,
    refilled_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    blocked_until timestamptz,
    last_served_at timestamptz NOT NULL DEFAULT '-infinity',
    CONSTRAINT rate_buckets_tokens_non_negative CHECK (tokens >= 0 AND batch_tokens >= 0)
);

COMMENT ON TABLE sync.rate_buckets IS 'Per-realm token buckets (requests and batch requests), shared by all workers. '
'[audit: skip] rate-limit counters change on every claim.';
COMMENT ON COLUMN sync.rate_buckets.tenant_id IS 'Owning tenant (one realm).';
COMMENT ON COLUMN sync.rate_buckets.tokens IS
'Requests that may be sent now (capacity = per_second, refill per_minute/60 per s).';
COMMENT ON COLUMN sync.rate_buckets.batch_tokens IS
'Batch requests that may be sent now (refill batch_per_minute/60 per s).';
COMMENT ON COLUMN sync.rate_buckets.refilled_at IS 'When the buckets were last refilled.';
COMMENT ON COLUMN sync.rate_buckets.blocked_until IS 'After a 429: nothing is sent to the realm before this time.';
COMMENT ON COLUMN sync.rate_buckets.last_served_at IS
'Last claim for this realm; claims serve the least recently served realm first.';
