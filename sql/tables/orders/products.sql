-- orders.products and orders.variants: the catalogue as referenced by order lines (SKU level).

CREATE TABLE orders.products (
    tenant_id text NOT NULL,
    channel_id text NOT NULL,
    product_id text NOT NULL,
    title text NOT NULL,
    vendor text,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, channel_id, product_id),
    FOREIGN KEY (tenant_id, channel_id) REFERENCES orders.channels (tenant_id, channel_id)
);

COMMENT ON TABLE orders.products IS 'Products of a channel''s catalogue.';
COMMENT ON COLUMN orders.products.tenant_id IS 'Owning tenant.';
COMMENT ON COLUMN orders.products.channel_id IS 'Channel of the catalogue.';
COMMENT ON COLUMN orders.products.product_id IS 'Product id on the platform.';
COMMENT ON COLUMN orders.products.title IS 'Product title.';
COMMENT ON COLUMN orders.products.vendor IS 'Vendor or brand, when known.';
COMMENT ON COLUMN orders.products.recorded_at IS 'When pgbooks last wrote the row.';

CREATE TABLE orders.variants (
    tenant_id text NOT NULL,
    channel_id text NOT NULL,
    variant_id text NOT NULL,
    product_id text,
    sku text,
    title text,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, channel_id, variant_id),
    FOREIGN KEY (tenant_id, channel_id) REFERENCES orders.channels (tenant_id, channel_id)
);

CREATE INDEX variants_sku_idx ON orders.variants (tenant_id, sku);

COMMENT ON TABLE orders.variants IS 'Sellable variants (SKU level) of products.';
COMMENT ON COLUMN orders.variants.tenant_id IS 'Owning tenant.';
COMMENT ON COLUMN orders.variants.channel_id IS 'Channel of the catalogue.';
COMMENT ON COLUMN orders.variants.variant_id IS 'Variant id on the platform.';
COMMENT ON COLUMN orders.variants.product_id IS 'Product the variant belongs to, when known.';
COMMENT ON COLUMN orders.variants.sku IS 'Stock keeping unit; the key item mappings usually use.';
COMMENT ON COLUMN orders.variants.title IS 'Variant title (e.g. size / colour).';
COMMENT ON COLUMN orders.variants.recorded_at IS 'When pgbooks last wrote the row.';
