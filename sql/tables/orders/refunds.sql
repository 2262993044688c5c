-- orders.refunds with their refund lines and order adjustments. No foreign key to orders
-- (a refund may arrive before its order).

CREATE TABLE orders.refunds (
    tenant_id text NOT NULL,
    channel_id text NOT NULL,
    refund_id text NOT NULL,
    order_id text,
    transaction_id text,
    amount numeric NOT NULL,
    currency character(3) NOT NULL,
    reason text,
    restock boolean NOT NULL DEFAULT FALSE,
    processed_at timestamptz,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, channel_id, refund_id),
    FOREIGN KEY (tenant_id, channel_id) REFERENCES orders.channels (tenant_id, channel_id),
    CONSTRAINT refunds_currency_iso4217 FOREIGN KEY (currency) REFERENCES orders.currencies (currency_code),
    CONSTRAINT refunds_amount_non_negative CHECK (amount >= 0)
);

CREATE INDEX refunds_order_idx ON orders.refunds (tenant_id, channel_id, order_id);

COMMENT ON TABLE orders.refunds IS 'Refunds of orders (or of bare payments), with the money returned.';
COMMENT ON COLUMN orders.refunds.tenant_id IS 'Owning tenant.';
COMMENT ON COLUMN orders.refunds.channel_id IS 'Channel of the refund.';
COMMENT ON COLUMN orders.refunds.refund_id IS 'Refund id on the platform.';
COMMENT ON COLUMN orders.refunds.order_id IS 'Order refunded, when known (no foreign key: it may arrive later).';
COMMENT ON COLUMN orders.refunds.transaction_id IS 'Transaction (charge) refunded, when known.';
COMMENT ON COLUMN orders.refunds.amount IS 'Money returned to the buyer, positive.';
COMMENT ON COLUMN orders.refunds.currency IS 'ISO 4217 currency of the amounts of the refund.';
COMMENT ON COLUMN orders.refunds.reason IS 'Reason or note given for the refund.';
COMMENT ON COLUMN orders.refunds.restock IS 'Whether the refunded items went back to stock.';
COMMENT ON COLUMN orders.refunds.processed_at IS 'When the platform processed the refund.';
COMMENT ON COLUMN orders.refunds.recorded_at IS 'When pgbooks last wrote the row.';

CREATE TABLE orders.refund_lines (
    tenant_id text NOT NULL,
    channel_id text NOT NULL,
    refund_id text NOT NULL,
    refund_line_id text NOT NULL,
    line_id text,
    quantity numeric NOT NULL,
    subtotal numeric NOT NULL,
    total_tax numeric NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, channel_id, refund_id, refund_line_id),
    FOREIGN KEY (tenant_id, channel_id, refund_id) REFERENCES orders.refunds (tenant_id, channel_id, refund_id)
    ON DELETE CASCADE,
    CONSTRAINT refund_lines_quantity_non_negative CHECK (quantity >= 0),
    CONSTRAINT refund_lines_subtotal_non_negative CHECK (subtotal >= 0),
    CONSTRAINT refund_lines_total_tax_non_negative CHECK (total_tax >= 0)
);

COMMENT ON TABLE orders.refund_lines IS 'Order lines returned by a refund.';
COMMENT ON COLUMN orders.refund_lines.tenant_id IS 'Owning tenant.';
COMMENT ON COLUMN orders.refund_lines.channel_id IS 'Channel of the refund.';
COMMENT ON COLUMN orders.refund_lines.refund_id IS 'Refund the line belongs to.';
COMMENT ON COLUMN orders.refund_lines.refund_line_id IS 'Refund line id on the platform.';
COMMENT ON COLUMN orders.refund_lines.line_id IS 'Order line returned.';
COMMENT ON COLUMN orders.refund_lines.quantity IS 'Quantity returned; never negative.';
COMMENT ON COLUMN orders.refund_lines.subtotal IS 'Amount refunded for the line before tax.';
COMMENT ON COLUMN orders.refund_lines.total_tax IS 'Tax refunded for the line.';

CREATE TABLE orders.order_adjustments (
    tenant_id text NOT NULL,
    channel_id text NOT NULL,
    refund_id text NOT NULL,
    adjustment_id text NOT NULL,
    kind text NOT NULL,
    amount numeric NOT NULL,
    tax_amount numeric NOT NULL DEFAULT 0,
    reason text,
    PRIMARY KEY (tenant_id, channel_id, refund_id, adjustment_id),
    FOREIGN KEY (tenant_id, channel_id, refund_id) REFERENCES orders.refunds (tenant_id, channel_id, refund_id)
    ON DELETE CASCADE,
    CONSTRAINT order_adjustments_kind_known CHECK (kind IN ('shipping_refund', 'refund_discrepancy', 'fee', 'other'))
);

COMMENT ON TABLE orders.order_adjustments IS
'Refund amounts not tied to a line: shipping refunds, discrepancies between refunded and computed amounts.';
COMMENT ON COLUMN orders.order_adjustments.tenant_id IS 'Owning tenant.';
COMMENT ON COLUMN orders.order_adjustments.channel_id IS 'Channel of the refund.';
COMMENT ON COLUMN orders.order_adjustments.refund_id IS 'Refund the adjustment belongs to.';
COMMENT ON COLUMN orders.order_adjustments.adjustment_id IS 'Adjustment id on the platform.';
COMMENT ON COLUMN orders.order_adjustments.kind IS 'shipping_refund, refund_discrepancy, fee or other.';
COMMENT ON COLUMN orders.order_adjustments.amount IS
'Signed amount as the platform states it (Shopify: negative = money back to the buyer).';
COMMENT ON COLUMN orders.order_adjustments.tax_amount IS 'Signed tax part of the adjustment.';
COMMENT ON COLUMN orders.order_adjustments.reason IS 'Reason given by the platform.';
