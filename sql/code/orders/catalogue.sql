-- The catalogue (orders.products, orders.variants) as the order lines reference it, filled by the
-- Shopify and WooCommerce normalizers from each order's line items. Set-based, one statement
-- per table; a row changes only when its title, vendor or SKU changed (no churn on re-delivery).
-- Field names per platform:
--   shopify:     product_id, variant_id, sku, title (product), variant_title, vendor
--   woocommerce: product_id, variation_id (0 = none), sku, name, parent_name (variation's product)
-- A line without a product id (custom line, deleted product: id 0) adds nothing.

CREATE FUNCTION logic.catalogue__upsert(p_tenant_id text, p_channel_id text, p_items jsonb, p_platform text)
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    -- one statement: the item CTE is read once, products are written by a data-modifying CTE
    WITH item AS (
        SELECT
            nullif(nullif(i.value ->> 'product_id', ''), '0') AS product_id,
            nullif(nullif(
                i.value ->> CASE p_platform WHEN 'woocommerce' THEN 'variation_id' ELSE 'variant_id' END, ''
            ), '0') AS variant_id,
            nullif(i.value ->> 'sku', '') AS sku,
            CASE p_platform
                WHEN 'woocommerce' THEN coalesce(nullif(i.value ->> 'parent_name', ''), i.value ->> 'name')
                ELSE coalesce(nullif(i.value ->> 'title', ''), i.value ->> 'name')
            END AS product_title,
            CASE p_platform
                WHEN 'woocommerce' THEN i.value ->> 'name'
                ELSE coalesce(nullif(i.value ->> 'variant_title', ''), i.value ->> 'name')
            END AS variant_title,
            CASE p_platform WHEN 'shopify' THEN nullif(i.value ->> 'vendor', '') END AS vendor,
            i.n
        FROM jsonb_array_elements(CASE WHEN jsonb_typeof(p_items) = 'array' THEN p_items ELSE '[]' END)
            WITH ORDINALITY AS i (value, n)
        WHERE jsonb_typeof(i.value) = 'object'
    ),

    product AS (
        INSERT INTO orders.products AS p (tenant_id, channel_id, product_id, title, vendor)
        SELECT DISTINCT ON (item.product_id)
            p_tenant_id, p_channel_id, item.product_id,
            coalesce(item.product_title, 'product ' || item.product_id), item.vendor
        FROM item
        WHERE item.product_id IS NOT NULL
        ORDER BY item.product_id, item.n DESC
        ON CONFLICT (tenant_id, channel_id, product_id) DO UPDATE SET
            title = excluded.title, vendor = coalesce(excluded.vendor, p.vendor), recorded_at = now()
        WHERE (p.title, p.vendor) IS DISTINCT FROM (excluded.title, coalesce(excluded.vendor, p.vendor))
        RETURNING 1
    )

    INSERT INTO orders.variants AS v (tenant_id, channel_id, variant_id, product_id, sku, title)
    SELECT DISTINCT ON (item.variant_id)
        p_tenant_id, p_channel_id, item.variant_id, item.product_id, item.sku, item.variant_title
    FROM item
    WHERE item.variant_id IS NOT NULL
    ORDER BY item.variant_id, item.n DESC
    ON CONFLICT (tenant_id, channel_id, variant_id) DO UPDATE SET
        product_id = coalesce(excluded.product_id, v.product_id),
        sku = coalesce(excluded.sku, v.sku),
        title = coalesce(excluded.title, v.title),
        recorded_at = now()
    WHERE (v.product_id, v.sku, v.title) IS DISTINCT FROM (
        coalesce(excluded.product_id, v.product_id), coalesce(excluded.sku, v.sku), coalesce(excluded.title, v.title)
    );
END;
$$;

COMMENT ON FUNCTION logic.catalogue__upsert(text, text, jsonb, text) IS
'Records the products and variants an order''s line items reference (shopify / woocommerce field names).';
