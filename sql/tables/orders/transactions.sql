-- orders.transactions: money movements on a payment gateway for an order. No foreign key to
-- orders: a platform may deliver a transaction before its order (arrival order is not
-- guaranteed), and nothing received may be rejected for that.

CREATE TABLE orders.transactions (
    tenant_id text NOT NULL,
    channel_id text NOT NULL,
    transaction_id text NOT NULL,
    order_id text,
    parent_transaction_id text,
    kind text NOT NULL,
    status text NOT NULL,
    amount numeric NOT NULL,
    currency character(3) NOT NULL,
    gateway text,
    processed_at timestamptz,
    error_code text,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, channel_id, transaction_id),
    FOREIGN KEY (tenant_id, channel_id) REFERENCES orders.channels (tenant_id, channel_id),
    CONSTRAINT transactions_currency_iso4217 FOREIGN KEY (currency) REFERENCES orders.currencies (currency_code),
    CONSTRAINT transactions_kind_known CHECK (kind IN ('authorization', 'capture', 'sale', 'void', 'refund')),
    CONSTRAINT transactions_status_known CHECK (status IN ('pending', 'success', 'failure', 'error')),
    CONSTRAINT transactions_amount_non_negative CHECK (amount >= 0)
);

CREATE INDEX transactions_order_idx ON orders.transactions (tenant_id, channel_id, order_id);

COMMENT ON TABLE orders.transactions IS
'Gateway transactions of orders: authorization, capture, sale, void, refund (with their outcome).';
COMMENT ON COLUMN orders.transactions.tenant_id IS 'Owning tenant.';
COMMENT ON COLUMN orders.transactions.channel_id IS 'Channel of the transaction.';
COMMENT ON COLUMN orders.transactions.transaction_id IS 'Transaction id on the platform (Stripe charge id for Stripe).';
COMMENT ON COLUMN orders.transactions.order_id IS 'Order paid, when known (no foreign key: it may arrive later).';
COMMENT ON COLUMN orders.transactions.parent_transaction_id IS
'Transaction this one completes or reverses (the authorization of a capture, the sale of a refund).';
COMMENT ON COLUMN orders.transactions.kind IS 'authorization, capture, sale, void or refund.';
COMMENT ON COLUMN orders.transactions.status IS 'pending, success, failure or error.';
COMMENT ON COLUMN orders.transactions.amount IS 'Amount moved, positive, at most the currency''s minor units.';
COMMENT ON COLUMN orders.transactions.currency IS 'ISO 4217 currency of the amount.';
COMMENT ON COLUMN orders.transactions.gateway IS 'Payment gateway (e.g. shopify_payments, stripe, bogus).';
COMMENT ON COLUMN orders.transactions.processed_at IS 'When the gateway processed it.';
COMMENT ON COLUMN orders.transactions.error_code IS 'Gateway error code of a failed transaction.';
COMMENT ON COLUMN orders.transactions.recorded_at IS 'When pgbooks last wrote the row.';
