-- Customers and items that documents reference. They are documents too (doc_type customer /
-- item), so delivery creates them first (depends_on) and resolves the placeholders.

CREATE FUNCTION logic.customer__document(
    p_tenant_id text, p_channel_id text, p_customer_id text, p_currency text
)
RETURNS bigint
LANGUAGE plpgsql
AS $$
DECLARE
    v_s books.tenant_settings := logic.tenant_settings__ensure(p_tenant_id);
    v_channel_name text;
    v_cust record;
    v_home text := coalesce(v_s.home_currency, (SELECT t.home_currency FROM orders.tenants AS t
                                                WHERE t.tenant_id = p_tenant_id));
    v_foreign boolean := p_currency IS DISTINCT FROM v_home;
    v_role text := CASE WHEN v_foreign THEN 'currency:' || p_currency ELSE 'main' END;
    v_suffix text := CASE WHEN v_foreign THEN ' ' || p_currency ELSE '' END;
    v_parent bigint;
    v_body jsonb;
    v_name text;
BEGIN
    SELECT c.name INTO v_channel_name FROM orders.channels AS c
    WHERE c.tenant_id = p_tenant_id AND c.channel_id = p_channel_id;
    IF v_s.customer_strategy IN ('per_channel', 'per_buyer_jobs') OR p_customer_id IS NULL THEN
        -- One "web sales" customer per channel (and currency: QuickBooks customers have one).
        v_body := jsonb_build_object(
            'DisplayName', left('Web sales ' || coalesce(v_channel_name, p_channel_id), 90) || v_suffix
        );
        IF v_foreign THEN
            v_body := v_body || jsonb_build_object('CurrencyRef', jsonb_build_object('value', p_currency));
        END IF;
        v_parent := logic.document__put(
            p_tenant_id, 'customer', 'channel', p_channel_id, v_role, v_body, NULL, NULL, NULL, '{}'
        );
        IF v_s.customer_strategy = 'per_channel' OR p_customer_id IS NULL THEN
            RETURN v_parent;
        END IF;
    END IF;
    SELECT c.display_name, c.email INTO v_cust FROM orders.customers AS c
    WHERE c.tenant_id = p_tenant_id AND c.channel_id = p_channel_id AND c.customer_id = p_customer_id;
    -- DisplayName must be unique in the company and may not contain ':'; the platform id makes
    -- two buyers with the same name distinct.
    v_name := replace(coalesce(nullif(btrim(v_cust.display_name), ''), v_cust.email, 'Customer'), ':', ' ');
    v_body := jsonb_build_object('DisplayName', left(v_name, 60) || ' (' || left(p_customer_id, 30) || ')' || v_suffix);
    IF v_cust.email IS NOT NULL THEN
        v_body := v_body || jsonb_build_object('PrimaryEmailAddr', jsonb_build_object('Address', v_cust.email));
    END IF;
    IF v_foreign THEN
        v_body := v_body || jsonb_build_object('CurrencyRef', jsonb_build_object('value', p_currency));
    END IF;
    IF v_parent IS NOT NULL THEN
        v_body := v_body || jsonb_build_object(
            'ParentRef', jsonb_build_object('document_id', v_parent), 'Job', TRUE, 'BillWithParent', FALSE
        );
    END IF;
    RETURN logic.document__put(
        p_tenant_id, 'customer', 'customer', p_channel_id || ':' || p_customer_id, v_role, v_body, NULL, NULL,
        NULL, ARRAY[v_parent]
    );
END;
$$;

COMMENT ON FUNCTION logic.customer__document(text, text, text, text) IS
'Customer document for a buyer (or the channel''s web-sales customer, per customer_strategy), one per currency.';

CREATE FUNCTION logic.item__resolve(p_tenant_id text, p_sku text, p_title text)
RETURNS jsonb
LANGUAGE plpgsql
AS $$
-- Returns {"ref": <ItemRef>, "depends_on": <document id or null>} or
-- {"error": "ITEM_UNMAPPED", "reason": <why, naming the strategy and what was tried>}.
DECLARE
    v_s books.tenant_settings := logic.tenant_settings__ensure(p_tenant_id);
    v_item_id text;
    v_doc bigint;
    v_sku text := nullif(btrim(p_sku), '');
    v_key text := coalesce(nullif(btrim(p_sku), ''), nullif(btrim(p_title), ''));
BEGIN
    SELECT m.item_id INTO v_item_id FROM books.item_map AS m WHERE m.tenant_id = p_tenant_id AND m.sku = p_sku;
    IF v_item_id IS NULL AND v_s.item_strategy = 'map_or_match' THEN
        -- Match the company's items (discovered or mapped): same SKU ignoring case and spaces,
        -- else an item named like the SKU or the line title. An exact match is not a guess, so
        -- the strict policy allows it.
        SELECT m.item_id INTO v_item_id FROM books.item_map AS m
        WHERE m.tenant_id = p_tenant_id
          AND (lower(btrim(m.sku)) = lower(v_sku)
               OR lower(btrim(m.item_name)) IN (lower(v_sku), lower(btrim(p_title))))
        ORDER BY (lower(btrim(m.sku)) = lower(v_sku)) DESC NULLS LAST, m.sku
        LIMIT 1;
    END IF;
    IF v_item_id IS NOT NULL THEN
        RETURN jsonb_build_object('ref', jsonb_build_object('value', v_item_id));
    END IF;
    IF v_s.item_strict OR v_s.item_strategy IN ('map_only', 'map_or_match') THEN
        RETURN jsonb_build_object('error', 'ITEM_UNMAPPED', 'reason', format(
            'SKU %s is not in books.item_map%s; item_strategy %s%s',
            coalesce(v_sku, '(none)'),
            CASE WHEN v_s.item_strategy = 'map_or_match'
                THEN format(' and no company item matches SKU or name "%s"', p_title) ELSE '' END,
            v_s.item_strategy,
            CASE WHEN v_s.item_strict AND v_s.item_strategy IN ('map_or_default', 'auto_create')
                THEN ' would fall back, but item_strict forbids a fallback' ELSE ' has no fallback' END));
    END IF;
    IF v_s.item_strategy = 'auto_create' AND v_key IS NOT NULL THEN
        -- One item per SKU: the first order that needs it names it; later orders (whose titles
        -- may differ) reuse it rather than renaming the QuickBooks item back and forth.
        v_doc := (logic.document__find(p_tenant_id, 'product', v_key)).document_id;
        IF v_doc IS NOT NULL THEN
            RETURN jsonb_build_object('ref', jsonb_build_object('document_id', v_doc), 'depends_on', v_doc);
        END IF;
        v_doc := logic.document__put(
            p_tenant_id, 'item', 'product', v_key, 'main',
            jsonb_strip_nulls(jsonb_build_object(
                'Name', left(replace(coalesce(nullif(btrim(p_title), ''), v_key), ':', ' '), 70)
                || CASE WHEN p_sku IS NOT NULL THEN ' [' || left(p_sku, 25) || ']' ELSE '' END,
                'Sku', left(p_sku, 100), 'Type', 'NonInventory',
                'IncomeAccountRef', jsonb_build_object('value', logic.account__for_role(p_tenant_id, 'income'))
            )),
            NULL, NULL, NULL, '{}'
        );
        RETURN jsonb_build_object('ref', jsonb_build_object('document_id', v_doc), 'depends_on', v_doc);
    END IF;
    IF v_s.default_item_id IS NULL THEN
        RETURN jsonb_build_object('error', 'ITEM_UNMAPPED', 'reason', format(
            'SKU %s is not in books.item_map and the tenant has no default_item_id (item_strategy %s)',
            coalesce(v_sku, '(none)'), v_s.item_strategy));
    END IF;
    RETURN jsonb_build_object('ref', jsonb_build_object('value', v_s.default_item_id));
END;
$$;

COMMENT ON FUNCTION logic.item__resolve(text, text, text) IS
'ItemRef for a SKU per the tenant''s item strategy: explicit map, match by name, auto-created item document, '
'default item; {"error": "ITEM_UNMAPPED", "reason": ...} when the strategy or the strict policy allows no fallback.';
