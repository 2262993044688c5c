-- sync.settings: per-tenant delivery knobs. A tenant without a row uses the defaults written in
-- logic.settings__get (the column defaults below): 1 s debounce, QuickBooks' documented limits.

CREATE TABLE sync.settings (
    tenant_id text PRIMARY KEY REFERENCES orders.tenants (tenant_id),
    debounce interval NOT NULL DEFAULT '1 second',
    max_in_flight integer NOT NULL DEFAULT 10,
    per_minute integer NOT NULL DEFAULT 500,
    per_second integer NOT NULL DEFAULT 10,
    batch_per_minute integer NOT NULL DEFAULT 40,
    batch_size integer NOT NULL DEFAULT 30,
    max_attempts integer NOT NULL DEFAULT 8,
    claim_timeout interval NOT NULL DEFAULT '60 seconds',
    closed_period_policy text NOT NULL DEFAULT 'hold',
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT settings_debounce_range CHECK (debounce >= '0 seconds' AND debounce <= '1 hour'),
    CONSTRAINT settings_max_in_flight_positive CHECK (max_in_flight >= 1),
    CONSTRAINT settings_rates_positive CHECK (per_minute >= 1 AND per_second >= 1 AND batch_per_minute >= 0),
    CONSTRAINT settings_batch_size_range CHECK (batch_size BETWEEN 1 AND 30),
    CONSTRAINT settings_max_attempts_positive CHECK (max_attempts >= 1),
    CONSTRAINT settings_claim_timeout_positive CHECK (claim_timeout > '0 seconds'),
    CONSTRAINT settings_closed_period_policy_known CHECK (closed_period_policy IN ('hold', 'move_to_open'))
);

COMMENT ON TABLE sync.settings IS
'Per-tenant delivery settings (debounce window, per-realm limits, retries); missing row = defaults.';
COMMENT ON COLUMN sync.settings.tenant_id IS 'Owning tenant.';
COMMENT ON COLUMN sync.settings.debounce IS
'How long document changes coalesce before the latest version is sent (trailing window).';
COMMENT ON COLUMN sync.settings.max_in_flight IS
'Maximum concurrent HTTP requests to the realm, shared by all workers (QuickBooks allows 10).';
COMMENT ON COLUMN sync.settings.per_minute IS 'Requests per minute allowed to the realm (token bucket refill).';
COMMENT ON COLUMN sync.settings.per_second IS 'Requests per second allowed to the realm (token bucket capacity).';
COMMENT ON COLUMN sync.settings.batch_per_minute IS
'Batch requests per minute allowed to the realm; 0 disables batching.';
COMMENT ON COLUMN sync.settings.batch_size IS 'Maximum operations per batch request (QuickBooks: 30).';
COMMENT ON COLUMN sync.settings.max_attempts IS
'Transient failures tolerated per document version before it becomes a RETRY_EXHAUSTED exception.';
COMMENT ON COLUMN sync.settings.claim_timeout IS
'A claim whose heartbeat is older than this is released by the janitor (worker presumed dead).';
COMMENT ON COLUMN sync.settings.closed_period_policy IS
'Document dated in a closed books period: hold (exception, wait) or move_to_open (reserved).';
COMMENT ON COLUMN sync.settings.updated_at IS 'When the settings last changed.';
