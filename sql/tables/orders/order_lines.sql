-- orders.order_lines: what was sold. Amounts are in the order's currency.

CREATE TABLE orders.order_lines (
    tenant_id text NOT NULL,
    channel_id text NOT NULL,
    order_id text NOT NULL,
    line_id text NOT NULL,
    line_kind text NOT NULL DEFAULT 'product',
    product_id text,
    variant_id text,
    sku text,
    title text NOT NULL,
    quantity numeric NOT NULL,
    unit_price numeric NOT NULL,
    gross_amount numeric,
    taxable boolean NOT NULL DEFAULT TRUE,
    PRIMARY KEY (tenant_id, channel_id, order_id, line_id),
    FOREIGN KEY (tenant_id, channel_id, order_id) REFERENCES orders.orders (tenant_id, channel_id, order_id)
    ON DELETE CASCADE,
    CONSTRAINT order_lines_line_kind_known CHECK (
        line_kind IN ('product', 'fee', 'tip', 'gift_card', 'duty', 'charge')
    ),
    CONSTRAINT order_lines_quantity_non_negative CHECK (quantity >= 0),
    CONSTRAINT order_lines_unit_price_non_negative CHECK (unit_price >= 0),
    CONSTRAINT order_lines_gross_amount_non_negative CHECK (gross_amount >= 0)
);

COMMENT ON TABLE orders.order_lines IS 'Lines of an order (products, fees, tips, gift cards, duties).';
COMMENT ON COLUMN orders.order_lines.tenant_id IS 'Owning tenant.';
COMMENT ON COLUMN orders.order_lines.channel_id IS 'Channel of the order.';
COMMENT ON COLUMN orders.order_lines.order_id IS 'Order the line belongs to.';
COMMENT ON COLUMN orders.order_lines.line_id IS 'Line id on the platform (unique within the order).';
COMMENT ON COLUMN orders.order_lines.line_kind IS
'product, fee, tip, gift_card (sale of a gift card: a liability, not revenue), duty, charge (a bare payment).';
COMMENT ON COLUMN orders.order_lines.product_id IS 'Product sold, when known.';
COMMENT ON COLUMN orders.order_lines.variant_id IS 'Variant sold, when known.';
COMMENT ON COLUMN orders.order_lines.sku IS 'SKU as written on the line.';
COMMENT ON COLUMN orders.order_lines.title IS 'Line description.';
COMMENT ON COLUMN orders.order_lines.quantity IS 'Quantity sold; never negative (returns are refunds).';
COMMENT ON COLUMN orders.order_lines.unit_price IS
'Price of one unit before discounts, in the order currency (may be finer than the minor units).';
COMMENT ON COLUMN orders.order_lines.gross_amount IS
'Line amount before discounts as stated (at most the currency''s minor units); NULL = quantity x unit_price rounded.';
COMMENT ON COLUMN orders.order_lines.taxable IS 'Whether the line is subject to tax.';
