-- orders.payouts and orders.balance_transactions: money the payment provider pays out to the
-- merchant's bank and the movements (charges, refunds, fees, ...) it nets. RECON matches
-- payouts to bank deposits; a payout whose balance transactions do not sum to its amount is a
-- variance to explain, never plugged. No foreign key from balance transactions to payouts: they
-- may arrive first.

CREATE TABLE orders.payouts (
    tenant_id text NOT NULL,
    channel_id text NOT NULL,
    payout_id text NOT NULL,
    status text NOT NULL,
    amount numeric NOT NULL,
    currency character(3) NOT NULL,
    payout_date date,
    arrival_date date,
    bank_reference text,
    platform_updated_at timestamptz,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, channel_id, payout_id),
    FOREIGN KEY (tenant_id, channel_id) REFERENCES orders.channels (tenant_id, channel_id),
    CONSTRAINT payouts_currency_iso4217 FOREIGN KEY (currency) REFERENCES orders.currencies (currency_code),
    CONSTRAINT payouts_status_known CHECK (
        status IN ('scheduled', 'pending', 'in_transit', 'paid', 'failed', 'canceled')
    )
);

COMMENT ON TABLE orders.payouts IS
'Payouts from a payment provider (Shopify Payments, Stripe, WooPayments) to the bank.';
COMMENT ON COLUMN orders.payouts.tenant_id IS 'Owning tenant.';
COMMENT ON COLUMN orders.payouts.channel_id IS 'Channel (provider account) paying out.';
COMMENT ON COLUMN orders.payouts.payout_id IS 'Payout id on the platform.';
COMMENT ON COLUMN orders.payouts.status IS 'scheduled, pending, in_transit, paid, failed or canceled.';
COMMENT ON COLUMN orders.payouts.amount IS 'Net amount sent to the bank (negative when the provider debits the bank).';
COMMENT ON COLUMN orders.payouts.currency IS 'ISO 4217 currency of the payout.';
COMMENT ON COLUMN orders.payouts.payout_date IS 'Date the provider issued the payout.';
COMMENT ON COLUMN orders.payouts.arrival_date IS 'Date the money is expected at (or reached) the bank.';
COMMENT ON COLUMN orders.payouts.bank_reference IS 'Statement descriptor / trace id visible on the bank statement.';
COMMENT ON COLUMN orders.payouts.platform_updated_at IS 'Platform''s own time of the last status change, when known.';
COMMENT ON COLUMN orders.payouts.recorded_at IS 'When pgbooks last wrote the row.';

CREATE TABLE orders.balance_transactions (
    tenant_id text NOT NULL,
    channel_id text NOT NULL,
    balance_transaction_id text NOT NULL,
    payout_id text,
    type text NOT NULL,
    source_id text,
    source_order_id text,
    amount numeric NOT NULL,
    fee numeric NOT NULL DEFAULT 0,
    net numeric NOT NULL,
    currency character(3) NOT NULL,
    processed_at timestamptz,
    available_on date,
    description text,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, channel_id, balance_transaction_id),
    FOREIGN KEY (tenant_id, channel_id) REFERENCES orders.channels (tenant_id, channel_id),
    CONSTRAINT balance_transactions_currency_iso4217 FOREIGN KEY (currency)
    REFERENCES orders.currencies (currency_code),
    CONSTRAINT balance_transactions_type_known CHECK (type IN (
        'charge', 'refund', 'fee', 'adjustment', 'dispute', 'reserve', 'payout', 'transfer', 'other'
    )),
    CONSTRAINT balance_transactions_fee_non_negative CHECK (fee >= 0)
);

CREATE INDEX balance_transactions_payout_idx ON orders.balance_transactions (tenant_id, channel_id, payout_id);

COMMENT ON TABLE orders.balance_transactions IS
'Movements of the provider balance (charge, refund, fee, adjustment, dispute, reserve, ...), grouped by payout.';
COMMENT ON COLUMN orders.balance_transactions.tenant_id IS 'Owning tenant.';
COMMENT ON COLUMN orders.balance_transactions.channel_id IS 'Channel (provider account).';
COMMENT ON COLUMN orders.balance_transactions.balance_transaction_id IS 'Balance transaction id on the platform.';
COMMENT ON COLUMN orders.balance_transactions.payout_id IS 'Payout that settles it, when known.';
COMMENT ON COLUMN orders.balance_transactions.type IS
'charge, refund, fee, adjustment, dispute, reserve, payout, transfer or other (platform types are mapped).';
COMMENT ON COLUMN orders.balance_transactions.source_id IS 'Object that caused it (charge, refund, dispute id).';
COMMENT ON COLUMN orders.balance_transactions.source_order_id IS 'Order behind the movement, when known.';
COMMENT ON COLUMN orders.balance_transactions.amount IS 'Gross signed amount (negative reduces the balance).';
COMMENT ON COLUMN orders.balance_transactions.fee IS 'Processing fee taken, positive.';
COMMENT ON COLUMN orders.balance_transactions.net IS
'Net effect on the balance: amount - fee as stated by the provider.';
COMMENT ON COLUMN orders.balance_transactions.currency IS 'ISO 4217 currency of the amounts.';
COMMENT ON COLUMN orders.balance_transactions.processed_at IS 'When the movement happened.';
COMMENT ON COLUMN orders.balance_transactions.available_on IS 'When the funds become available for payout.';
COMMENT ON COLUMN orders.balance_transactions.description IS 'Provider description.';
COMMENT ON COLUMN orders.balance_transactions.recorded_at IS 'When pgbooks last wrote the row.';
