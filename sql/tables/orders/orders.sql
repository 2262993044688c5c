-- orders.orders: one order header with the platform's stated totals. Lines, discounts,
-- shipping and taxes live in child tables. Stated totals are stored as given and checked at
-- commit by a deferred constraint trigger (sql/code/orders/totals.sql): an inconsistent order
-- is kept and flagged (orders.order_flags, TOTALS_MISMATCH), never rejected and never plugged.

CREATE TABLE orders.orders (
    tenant_id text NOT NULL,
    channel_id text NOT NULL,
    order_id text NOT NULL,
    order_number text,
    customer_id text,
    email text,
    currency character(3) NOT NULL,
    presentment_currency character(3),
    presentment_total numeric,
    taxes_included boolean NOT NULL DEFAULT FALSE,
    financial_status text,
    fulfillment_status text,
    placed_at timestamptz,
    cancelled_at timestamptz,
    cancel_reason text,
    platform_updated_at timestamptz,
    platform_version bigint,
    stated_subtotal numeric,
    stated_total_discounts numeric,
    stated_total_shipping numeric,
    stated_total_tax numeric,
    stated_total numeric NOT NULL,
    is_test boolean NOT NULL DEFAULT FALSE,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, channel_id, order_id),
    FOREIGN KEY (tenant_id, channel_id) REFERENCES orders.channels (tenant_id, channel_id),
    CONSTRAINT orders_currency_iso4217 FOREIGN KEY (currency) REFERENCES orders.currencies (currency_code),
    CONSTRAINT orders_presentment_currency_iso4217 FOREIGN KEY (presentment_currency)
    REFERENCES orders.currencies (currency_code),
    CONSTRAINT orders_order_id_not_blank CHECK (btrim(order_id) <> ''),
    CONSTRAINT orders_financial_status_known CHECK (financial_status IN (
        'pending', 'authorized', 'partially_paid', 'paid', 'partially_refunded', 'refunded', 'voided',
        'expired', 'failed'
    )),
    CONSTRAINT orders_stated_subtotal_non_negative CHECK (stated_subtotal >= 0),
    CONSTRAINT orders_stated_total_discounts_non_negative CHECK (stated_total_discounts >= 0),
    CONSTRAINT orders_stated_total_shipping_non_negative CHECK (stated_total_shipping >= 0),
    CONSTRAINT orders_stated_total_tax_non_negative CHECK (stated_total_tax >= 0),
    CONSTRAINT orders_stated_total_non_negative CHECK (stated_total >= 0),
    CONSTRAINT orders_presentment_total_non_negative CHECK (presentment_total >= 0)
);

CREATE INDEX orders_customer_idx ON orders.orders (tenant_id, channel_id, customer_id);

-- Orders by accounting time (the books date rule: placed_at, else recorded_at), for date-range
-- walks such as pgbooks qbo repost (keyset paging, resumable).
CREATE INDEX orders_placed_idx ON orders.orders (
    tenant_id, (coalesce(placed_at, recorded_at)), channel_id, order_id
);

COMMENT ON TABLE orders.orders IS
'Order headers with the platform''s stated totals; inconsistent totals are flagged in order_flags, never fixed.';
COMMENT ON COLUMN orders.orders.tenant_id IS 'Owning tenant.';
COMMENT ON COLUMN orders.orders.channel_id IS 'Channel the order was placed on.';
COMMENT ON COLUMN orders.orders.order_id IS 'Order id on the platform (or chosen by the app); unique per channel.';
COMMENT ON COLUMN orders.orders.order_number IS 'Human order number / name shown to the buyer (e.g. #1001).';
COMMENT ON COLUMN orders.orders.customer_id IS 'Buyer (orders.customers) when known.';
COMMENT ON COLUMN orders.orders.email IS 'Buyer email as written on the order.';
COMMENT ON COLUMN orders.orders.currency IS
'Shop currency (ISO 4217) of every amount of the order, its lines, discounts, shipping and taxes.';
COMMENT ON COLUMN orders.orders.presentment_currency IS
'Currency the buyer saw, when different from the shop currency.';
COMMENT ON COLUMN orders.orders.presentment_total IS 'Order total in the presentment currency.';
COMMENT ON COLUMN orders.orders.taxes_included IS 'True when line prices include tax (tax is not added to the total).';
COMMENT ON COLUMN orders.orders.financial_status IS
'Payment state on the platform: pending, authorized, partially_paid, paid, partially_refunded, refunded, voided, ...';
COMMENT ON COLUMN orders.orders.fulfillment_status IS 'Fulfillment state on the platform (free text, informative).';
COMMENT ON COLUMN orders.orders.placed_at IS 'When the order was placed (processed) on the platform.';
COMMENT ON COLUMN orders.orders.cancelled_at IS 'When the order was cancelled; NULL when not cancelled.';
COMMENT ON COLUMN orders.orders.cancel_reason IS 'Reason given for the cancellation.';
COMMENT ON COLUMN orders.orders.platform_updated_at IS
'Platform''s own last-modified time: a write carrying an older value than the stored one is stale (PB105).';
COMMENT ON COLUMN orders.orders.platform_version IS
'Platform''s own version counter when it has one; like platform_updated_at, never goes backwards.';
COMMENT ON COLUMN orders.orders.stated_subtotal IS
'Stated sum of lines after line and order discounts, before shipping and tax.';
COMMENT ON COLUMN orders.orders.stated_total_discounts IS 'Stated sum of all discounts.';
COMMENT ON COLUMN orders.orders.stated_total_shipping IS 'Stated shipping charged, after shipping discounts.';
COMMENT ON COLUMN orders.orders.stated_total_tax IS 'Stated sum of taxes.';
COMMENT ON COLUMN orders.orders.stated_total IS 'Stated grand total the buyer pays.';
COMMENT ON COLUMN orders.orders.is_test IS 'True for test orders of the platform.';
COMMENT ON COLUMN orders.orders.recorded_at IS 'When pgbooks last wrote the row.';
