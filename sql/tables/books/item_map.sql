-- books.item_map: explicit SKU → QuickBooks Item mapping per tenant (the first thing the item
-- strategy looks at).

CREATE TABLE books.item_map (
    tenant_id text NOT NULL REFERENCES orders.tenants (tenant_id),
    sku text NOT NULL,
    item_id text NOT NULL,
    item_name text,
    source text NOT NULL DEFAULT 'manual',
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, sku),
    CONSTRAINT item_map_sku_not_blank CHECK (btrim(sku) <> ''),
    CONSTRAINT item_map_item_id_not_blank CHECK (btrim(item_id) <> ''),
    CONSTRAINT item_map_source_known CHECK (source IN ('discovered', 'manual'))
);

COMMENT ON TABLE books.item_map IS
'SKU → QuickBooks Item id per tenant (explicit mapping, or items discovered by SKU/name).';
COMMENT ON COLUMN books.item_map.tenant_id IS 'Owning tenant.';
COMMENT ON COLUMN books.item_map.sku IS 'SKU as the store sends it (exact match).';
COMMENT ON COLUMN books.item_map.item_id IS 'QuickBooks Item Id.';
COMMENT ON COLUMN books.item_map.item_name IS 'Item name in QuickBooks (informational; also used by map_or_match).';
COMMENT ON COLUMN books.item_map.source IS 'discovered (an Item whose Sku/Name equals the SKU) or manual.';
COMMENT ON COLUMN books.item_map.updated_at IS 'When the row last changed.';
