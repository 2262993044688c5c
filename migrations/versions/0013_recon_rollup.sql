-- 0013 recon rollup: books.recon_rollup, books.recon_dirty and the orders day index.
-- Mirrors sql/tables/books/recon_rollup.sql.

-- books.recon_rollup and books.recon_dirty: the per-tenant reconciliation summary kept fast by
-- design. recon_rollup holds, per tenant, day, currency and recon_state, the order count and
-- amount of analytics.rpt_order_reconciliation as of its last refresh; recon_dirty holds one mark
-- per (tenant, day) written by the statement triggers of every change that can move an order's
-- state since (orders, their main documents, the tenant's posting mode). The summary view reads
-- recon_rollup for clean days and recomputes marked days live (ongoing business: about today's
-- orders), so it always equals the slow recomputation; api.recon_rollup__refresh folds marked
-- days back in, in one statement.
-- Both are caches recomputable from orders and documents: not audited.

CREATE TABLE books.recon_rollup (
    tenant_id text NOT NULL REFERENCES orders.tenants (tenant_id),
    rollup_id bigint GENERATED ALWAYS AS IDENTITY,
    day date NOT NULL,
    currency character(3) NOT NULL,
    recon_state text NOT NULL,
    orders bigint NOT NULL,
    order_amount numeric NOT NULL,
    refreshed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, rollup_id)
);

CREATE INDEX recon_rollup_day ON books.recon_rollup (tenant_id, day);

COMMENT ON TABLE books.recon_rollup IS
'Order reconciliation counts per tenant, day (UTC, of placed_at else recorded_at), currency and recon_state, '
'as of the last api.recon_rollup__refresh of that day. [audit: skip] derived cache, recomputable.';
COMMENT ON COLUMN books.recon_rollup.tenant_id IS 'Owning tenant.';
COMMENT ON COLUMN books.recon_rollup.rollup_id IS 'Surrogate key (unique within the tenant).';
COMMENT ON COLUMN books.recon_rollup.day IS 'Day (UTC) the orders were placed on (else recorded on).';
COMMENT ON COLUMN books.recon_rollup.currency IS 'Order currency.';
COMMENT ON COLUMN books.recon_rollup.recon_state IS 'recon_state of analytics.rpt_order_reconciliation.';
COMMENT ON COLUMN books.recon_rollup.orders IS 'Number of orders in that state.';
COMMENT ON COLUMN books.recon_rollup.order_amount IS 'Sum of their stated totals.';
COMMENT ON COLUMN books.recon_rollup.refreshed_at IS 'When this day was recomputed.';

CREATE TABLE books.recon_dirty (
    tenant_id text NOT NULL REFERENCES orders.tenants (tenant_id),
    mark_id bigint GENERATED ALWAYS AS IDENTITY,
    day date NOT NULL,
    marked_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, mark_id)
);

CREATE INDEX recon_dirty_day ON books.recon_dirty (tenant_id, day);

COMMENT ON TABLE books.recon_dirty IS
'Days whose rollup is stale: one mark per day per changing statement (append-only, so concurrent writers never '
'wait on each other); removed by the refresh that recomputes the day. [audit: skip] derived cache.';
COMMENT ON COLUMN books.recon_dirty.tenant_id IS 'Owning tenant.';
COMMENT ON COLUMN books.recon_dirty.mark_id IS 'Surrogate key (unique within the tenant).';
COMMENT ON COLUMN books.recon_dirty.day IS 'The stale day (UTC).';
COMMENT ON COLUMN books.recon_dirty.marked_at IS 'When the change was written.';

-- The live part of the summary reads the orders of a marked day by this range.
CREATE INDEX orders_recon_day ON orders.orders (tenant_id, (coalesce(placed_at, recorded_at) AT TIME ZONE 'UTC'));

-- Orders written before this migration: their days start stale (computed live until
-- api.recon_rollup__refresh folds them into the rollup).
INSERT INTO books.recon_dirty (tenant_id, day)
SELECT DISTINCT
    o.tenant_id,
    (coalesce(o.placed_at, o.recorded_at) AT TIME ZONE 'UTC')::date AS day
FROM orders.orders AS o;
