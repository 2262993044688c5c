-- 0019 payout rollup: books.payout_rollup, books.payout_dirty and the unpaid and paid-refund indexes
-- of orders.balance_transactions. Mirrors sql/tables/books/payout_rollup.sql.

-- books.payout_rollup and books.payout_dirty: the payout views kept fast by design, like the
-- per-tenant summary (books.recon_rollup). payout_rollup holds, per tenant, channel, payout and
-- currency, the sums of analytics.fct_balance_sources_live (the balance transactions other than
-- the payout row itself) as of its last refresh; payout_dirty holds one mark per (tenant, channel,
-- payout) written by the statement triggers of every change to orders.balance_transactions since.
-- The views read payout_rollup for unmarked payouts and recompute marked ones live (an index range
-- per payout), so they always equal the slow recomputation; api.payout_rollup__refresh folds marks
-- back in. Balance transactions not carried by a payout yet (the processor's pending balance) are
-- always summed live, by the partial index below.
-- Both are caches recomputable from orders.balance_transactions: not audited.

CREATE TABLE books.payout_rollup (
    tenant_id text NOT NULL REFERENCES orders.tenants (tenant_id),
    rollup_id bigint GENERATED ALWAYS AS IDENTITY,
    channel_id text NOT NULL,
    payout_id text NOT NULL,
    currency character(3) NOT NULL,
    bt_count bigint NOT NULL,
    charges_gross numeric,
    processor_fees numeric,
    refunds numeric NOT NULL,
    chargebacks numeric NOT NULL,
    adjustments numeric NOT NULL,
    computed_net numeric NOT NULL,
    stated_net numeric NOT NULL,
    refreshed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, rollup_id)
);

CREATE INDEX payout_rollup_payout ON books.payout_rollup (tenant_id, channel_id, payout_id);

COMMENT ON TABLE books.payout_rollup IS
'Balance transaction sums per tenant, channel, payout and currency, as of the last api.payout_rollup__refresh '
'of that payout. [audit: skip] derived cache, recomputable.';
COMMENT ON COLUMN books.payout_rollup.tenant_id IS 'Owning tenant.';
COMMENT ON COLUMN books.payout_rollup.rollup_id IS 'Surrogate key (unique within the tenant).';
COMMENT ON COLUMN books.payout_rollup.channel_id IS 'Channel (provider account).';
COMMENT ON COLUMN books.payout_rollup.payout_id IS 'Payout carrying the balance transactions.';
COMMENT ON COLUMN books.payout_rollup.currency IS 'Currency of the balance transactions.';
COMMENT ON COLUMN books.payout_rollup.bt_count IS 'Number of balance transactions (the payout row excluded).';
COMMENT ON COLUMN books.payout_rollup.charges_gross IS 'Sum of charge amounts (NULL: no charge).';
COMMENT ON COLUMN books.payout_rollup.processor_fees IS 'Fees taken plus fee-type movements.';
COMMENT ON COLUMN books.payout_rollup.refunds IS 'Refunded amount (positive).';
COMMENT ON COLUMN books.payout_rollup.chargebacks IS 'Disputed amount (positive).';
COMMENT ON COLUMN books.payout_rollup.adjustments IS 'Other movements (reserves, adjustments, ...; positive = out).';
COMMENT ON COLUMN books.payout_rollup.computed_net IS 'Sum of amount - fee.';
COMMENT ON COLUMN books.payout_rollup.stated_net IS 'Sum of the net the provider states.';
COMMENT ON COLUMN books.payout_rollup.refreshed_at IS 'When this payout was recomputed.';

CREATE TABLE books.payout_dirty (
    tenant_id text NOT NULL REFERENCES orders.tenants (tenant_id),
    mark_id bigint GENERATED ALWAYS AS IDENTITY,
    channel_id text NOT NULL,
    payout_id text NOT NULL,
    marked_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, mark_id)
);

CREATE INDEX payout_dirty_payout ON books.payout_dirty (tenant_id, channel_id, payout_id);

COMMENT ON TABLE books.payout_dirty IS
'Payouts whose rollup is stale: one mark per payout per changing statement on orders.balance_transactions '
'(append-only, so concurrent writers never wait on each other); removed by the refresh that recomputes the '
'payout. [audit: skip] derived cache.';
COMMENT ON COLUMN books.payout_dirty.tenant_id IS 'Owning tenant.';
COMMENT ON COLUMN books.payout_dirty.mark_id IS 'Surrogate key (unique within the tenant).';
COMMENT ON COLUMN books.payout_dirty.channel_id IS 'Channel of the changed balance transactions.';
COMMENT ON COLUMN books.payout_dirty.payout_id IS 'Their payout.';
COMMENT ON COLUMN books.payout_dirty.marked_at IS 'When the change was written.';

-- Balance transactions not carried by a payout yet, summed live by every query of the payout views.
CREATE INDEX balance_transactions_unpaid ON orders.balance_transactions (tenant_id, channel_id)
WHERE payout_id IS NULL;

-- Refunds not yet carried by a payout (analytics.rpt_payout_variance, refund_pending): one index
-- probe per refund instead of a scan of every balance transaction.
CREATE INDEX balance_transactions_paid_refund ON orders.balance_transactions (tenant_id, channel_id, source_id)
WHERE type = 'refund' AND payout_id IS NOT NULL;
