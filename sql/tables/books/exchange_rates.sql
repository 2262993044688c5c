-- books.exchange_rates: home-currency units per one unit of a foreign currency, per day. A
-- document in a foreign currency takes the latest rate on or before its date; none → an
-- EXCHANGE_RATE_MISSING exception (never a guessed rate).

CREATE TABLE books.exchange_rates (
    tenant_id text NOT NULL REFERENCES orders.tenants (tenant_id),
    currency character(3) NOT NULL,
    rate_date date NOT NULL,
    rate numeric(20, 10) NOT NULL,
    source text NOT NULL DEFAULT 'manual',
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, currency, rate_date),
    CONSTRAINT exchange_rates_currency_format CHECK (currency ~ '^[A-Z]{3}$'),
    CONSTRAINT exchange_rates_rate_positive CHECK (rate > 0),
    CONSTRAINT exchange_rates_source_known CHECK (source IN ('manual', 'imported', 'discovered'))
);

COMMENT ON TABLE books.exchange_rates IS
'Exchange rates per tenant, currency and day: home-currency units per 1 foreign unit (manual or imported).';
COMMENT ON COLUMN books.exchange_rates.tenant_id IS 'Owning tenant.';
COMMENT ON COLUMN books.exchange_rates.currency IS 'Foreign currency (ISO 4217).';
COMMENT ON COLUMN books.exchange_rates.rate_date IS 'Day the rate applies from (until the next row).';
COMMENT ON COLUMN books.exchange_rates.rate IS 'Home-currency units per 1 unit of currency (QuickBooks ExchangeRate).';
COMMENT ON COLUMN books.exchange_rates.source IS 'manual, imported (a rates feed) or discovered (from the company).';
COMMENT ON COLUMN books.exchange_rates.created_at IS 'When the row was stored.';
