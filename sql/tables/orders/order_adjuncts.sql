-- Discount allocations, shipping lines and tax lines of an order. A row with line_id and
-- shipping_line_id both NULL applies to the whole order.

CREATE TABLE orders.shipping_lines (
    tenant_id text NOT NULL,
    channel_id text NOT NULL,
    order_id text NOT NULL,
    shipping_line_id text NOT NULL,
    title text,
    code text,
    price numeric NOT NULL,
    PRIMARY KEY (tenant_id, channel_id, order_id, shipping_line_id),
    FOREIGN KEY (tenant_id, channel_id, order_id) REFERENCES orders.orders (tenant_id, channel_id, order_id)
    ON DELETE CASCADE,
    CONSTRAINT shipping_lines_price_non_negative CHECK (price >= 0)
);

COMMENT ON TABLE orders.shipping_lines IS 'Shipping charged on an order, before shipping discounts.';
COMMENT ON COLUMN orders.shipping_lines.tenant_id IS 'Owning tenant.';
COMMENT ON COLUMN orders.shipping_lines.channel_id IS 'Channel of the order.';
COMMENT ON COLUMN orders.shipping_lines.order_id IS 'Order charged.';
COMMENT ON COLUMN orders.shipping_lines.shipping_line_id IS 'Shipping line id on the platform.';
COMMENT ON COLUMN orders.shipping_lines.title IS 'Shipping method shown to the buyer.';
COMMENT ON COLUMN orders.shipping_lines.code IS 'Shipping method code.';
COMMENT ON COLUMN orders.shipping_lines.price IS 'Shipping price before discounts, in the order currency.';

CREATE TABLE orders.discount_allocations (
    tenant_id text NOT NULL,
    channel_id text NOT NULL,
    order_id text NOT NULL,
    allocation_id text NOT NULL,
    line_id text,
    shipping_line_id text,
    code text,
    amount numeric NOT NULL,
    PRIMARY KEY (tenant_id, channel_id, order_id, allocation_id),
    FOREIGN KEY (tenant_id, channel_id, order_id) REFERENCES orders.orders (tenant_id, channel_id, order_id)
    ON DELETE CASCADE,
    CONSTRAINT discount_allocations_amount_non_negative CHECK (amount >= 0),
    CONSTRAINT discount_allocations_one_target CHECK (line_id IS NULL OR shipping_line_id IS NULL)
);

COMMENT ON TABLE orders.discount_allocations IS
'Discount amounts allocated to a line, a shipping line, or (both NULL) the whole order.';
COMMENT ON COLUMN orders.discount_allocations.tenant_id IS 'Owning tenant.';
COMMENT ON COLUMN orders.discount_allocations.channel_id IS 'Channel of the order.';
COMMENT ON COLUMN orders.discount_allocations.order_id IS 'Order discounted.';
COMMENT ON COLUMN orders.discount_allocations.allocation_id IS 'Identifier of the allocation within the order.';
COMMENT ON COLUMN orders.discount_allocations.line_id IS 'Line discounted, or NULL.';
COMMENT ON COLUMN orders.discount_allocations.shipping_line_id IS 'Shipping line discounted, or NULL.';
COMMENT ON COLUMN orders.discount_allocations.code IS 'Discount code or title.';
COMMENT ON COLUMN orders.discount_allocations.amount IS 'Discount amount, positive, in the order currency.';

CREATE TABLE orders.tax_lines (
    tenant_id text NOT NULL,
    channel_id text NOT NULL,
    order_id text NOT NULL,
    tax_line_id text NOT NULL,
    line_id text,
    shipping_line_id text,
    title text NOT NULL,
    rate numeric(12, 8),
    amount numeric NOT NULL,
    PRIMARY KEY (tenant_id, channel_id, order_id, tax_line_id),
    FOREIGN KEY (tenant_id, channel_id, order_id) REFERENCES orders.orders (tenant_id, channel_id, order_id)
    ON DELETE CASCADE,
    CONSTRAINT tax_lines_amount_non_negative CHECK (amount >= 0),
    CONSTRAINT tax_lines_rate_non_negative CHECK (rate >= 0),
    CONSTRAINT tax_lines_one_target CHECK (line_id IS NULL OR shipping_line_id IS NULL)
);

COMMENT ON TABLE orders.tax_lines IS
'Taxes per line, shipping line or (both NULL) order; order tax = sum of all rows: store detail or summary, not both.';
COMMENT ON COLUMN orders.tax_lines.tenant_id IS 'Owning tenant.';
COMMENT ON COLUMN orders.tax_lines.channel_id IS 'Channel of the order.';
COMMENT ON COLUMN orders.tax_lines.order_id IS 'Order taxed.';
COMMENT ON COLUMN orders.tax_lines.tax_line_id IS 'Identifier of the tax line within the order.';
COMMENT ON COLUMN orders.tax_lines.line_id IS 'Line taxed, or NULL.';
COMMENT ON COLUMN orders.tax_lines.shipping_line_id IS 'Shipping line taxed, or NULL.';
COMMENT ON COLUMN orders.tax_lines.title IS 'Tax name (e.g. State Tax, VAT 20%).';
COMMENT ON COLUMN orders.tax_lines.rate IS 'Tax rate as a fraction (0.06 = 6 %), when known.';
COMMENT ON COLUMN orders.tax_lines.amount IS 'Tax amount in the order currency.';
