-- orders.order_flags: reasons an order needs review (inconsistent input is flagged, never
-- fixed). Raised and resolved by code (e.g. the commit-time totals check), read by BOOKS to
-- block documents and by analysts.

CREATE TABLE orders.order_flags (
    tenant_id text NOT NULL,
    flag_id bigint GENERATED ALWAYS AS IDENTITY,
    channel_id text NOT NULL,
    order_id text NOT NULL,
    reason_code text NOT NULL,
    detail jsonb NOT NULL DEFAULT '{}',
    raised_at timestamptz NOT NULL DEFAULT now(),
    resolved_at timestamptz,
    PRIMARY KEY (tenant_id, flag_id),
    FOREIGN KEY (tenant_id, channel_id, order_id) REFERENCES orders.orders (tenant_id, channel_id, order_id)
    ON DELETE CASCADE,
    CONSTRAINT order_flags_reason_code_format CHECK (reason_code ~ '^[A-Z][A-Z0-9_]*$')
);

CREATE UNIQUE INDEX order_flags_one_open_per_reason ON orders.order_flags (
    tenant_id, channel_id, order_id, reason_code
) WHERE resolved_at IS NULL;

COMMENT ON TABLE orders.order_flags IS
'Review flags on orders: reason code (TOTALS_MISMATCH, ...) and detail (stated, computed, difference).';
COMMENT ON COLUMN orders.order_flags.tenant_id IS 'Owning tenant.';
COMMENT ON COLUMN orders.order_flags.flag_id IS 'Surrogate key.';
COMMENT ON COLUMN orders.order_flags.channel_id IS 'Channel of the order.';
COMMENT ON COLUMN orders.order_flags.order_id IS 'Order flagged.';
COMMENT ON COLUMN orders.order_flags.reason_code IS 'Machine-readable reason, e.g. TOTALS_MISMATCH.';
COMMENT ON COLUMN orders.order_flags.detail IS
'What is inconsistent: per checked field the stated value, the computed value and the difference.';
COMMENT ON COLUMN orders.order_flags.raised_at IS 'When the flag was raised.';
COMMENT ON COLUMN orders.order_flags.resolved_at IS
'When the cause went away (e.g. a corrected update); NULL while open.';
