-- Tenant settings: read with defaults, and defaults discovered from the QuickBooks company.
-- Discovery never overwrites a row an operator edited (source = manual) and never deletes.

CREATE FUNCTION logic.tenant_settings__ensure(p_tenant_id text)
RETURNS books.tenant_settings
LANGUAGE plpgsql
AS $$
DECLARE
    v_row books.tenant_settings;
BEGIN
    -- read first: called several times per derivation, and an INSERT that conflicts still fires
    -- the table's statement triggers (audit, recon marks) for nothing
    SELECT * INTO v_row FROM books.tenant_settings WHERE tenant_id = p_tenant_id;
    IF found THEN
        RETURN v_row;
    END IF;
    INSERT INTO books.tenant_settings (tenant_id) VALUES (p_tenant_id)
    ON CONFLICT (tenant_id) DO NOTHING;
    SELECT * INTO STRICT v_row FROM books.tenant_settings WHERE tenant_id = p_tenant_id;
    RETURN v_row;
END;
$$;

COMMENT ON FUNCTION logic.tenant_settings__ensure(text) IS
'The tenant''s settings row, created with the zero-configuration defaults when missing.';

CREATE FUNCTION logic.account__for_role(
    p_tenant_id text, p_role text, p_processor text DEFAULT '', p_currency text DEFAULT ''
)
RETURNS text
LANGUAGE sql
STABLE
AS $$
    -- Most specific row first: processor + currency, processor, currency, any.
    SELECT m.account_id
    FROM books.account_map AS m
    WHERE m.tenant_id = p_tenant_id AND m.role = p_role
      AND m.processor IN (coalesce(p_processor, ''), '')
      AND m.currency IN (coalesce(p_currency, ''), '')
    ORDER BY (m.processor <> '') DESC, (m.currency <> '') DESC
    LIMIT 1
$$;

COMMENT ON FUNCTION logic.account__for_role(text, text, text, text) IS
'QuickBooks account id for a role (most specific processor/currency row first); NULL when unmapped.';

CREATE FUNCTION logic.account_map__discovered(
    p_tenant_id text, p_role text, p_account jsonb
)
RETURNS text
LANGUAGE plpgsql
AS $$
BEGIN
    IF p_account IS NULL OR p_account ->> 'Id' IS NULL THEN
        RETURN NULL;
    END IF;
    INSERT INTO books.account_map AS m (tenant_id, role, account_id, account_name, source)
    VALUES (p_tenant_id, p_role, p_account ->> 'Id', p_account ->> 'Name', 'discovered')
    ON CONFLICT (tenant_id, role, processor, currency) DO UPDATE
        SET account_id = excluded.account_id, account_name = excluded.account_name, updated_at = now()
        WHERE m.source = 'discovered';
    RETURN p_account ->> 'Id';
END;
$$;

COMMENT ON FUNCTION logic.account_map__discovered(text, text, jsonb) IS
'Stores a discovered account for a role (tenant-wide row); a manual row for the role is kept.';

CREATE FUNCTION api.tenant__apply_company_facts(p_tenant_id text, p_facts jsonb)
RETURNS jsonb
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_accounts jsonb := coalesce(p_facts -> 'accounts', '[]');
    v_items jsonb := coalesce(p_facts -> 'items', '[]');
    v_codes jsonb := coalesce(p_facts -> 'tax_codes', '[]');
    v_prefs jsonb := coalesce(p_facts -> 'preferences', '{}');
    v_info jsonb := coalesce(p_facts -> 'company_info', '{}');
    v_found jsonb := '{}';
    v_missing text[] := '{}';
    v_role text;
    v_acct jsonb;
    v_home text;
    v_allow_shipping boolean;
    v_item jsonb;
    v_realm text;
    v_close jsonb := '{}';
BEGIN
    IF p_facts IS NULL OR jsonb_typeof(p_facts) <> 'object' THEN
        RAISE EXCEPTION 'company facts for tenant % must be a JSON object', p_tenant_id
            USING ERRCODE = 'PB501', HINT = 'Pass {"accounts": [...], "items": [...], "tax_codes": [...], '
            '"preferences": {...}, "company_info": {...}} as read from QuickBooks.';
    END IF;
    IF jsonb_typeof(v_accounts) <> 'array' OR jsonb_typeof(v_items) <> 'array' OR jsonb_typeof(v_codes) <> 'array' THEN
        RAISE EXCEPTION 'company facts for tenant %: accounts, items and tax_codes must be arrays', p_tenant_id
            USING ERRCODE = 'PB501';
    END IF;
    PERFORM logic.tenant_settings__ensure(p_tenant_id);

    -- Accounts by role: one rule per role, first match wins (lowest numeric Id for stability).
    FOREACH v_role IN ARRAY ARRAY[
        'undeposited_funds', 'uncategorized_income', 'uncategorized_expense', 'income', 'discounts',
        'shipping_income', 'sales_tax_payable', 'processor_fees', 'bank', 'refunds', 'clearing',
        'accounts_receivable', 'gift_card_liability'
    ] LOOP
        SELECT a.value INTO v_acct
        FROM jsonb_array_elements(v_accounts) AS a (value)
        WHERE coalesce((a.value ->> 'Active')::boolean, TRUE)
          AND CASE v_role
              WHEN 'undeposited_funds' THEN a.value ->> 'AccountSubType' = 'UndepositedFunds'
              WHEN 'uncategorized_income' THEN a.value ->> 'Name' = 'Uncategorized Income'
              WHEN 'uncategorized_expense' THEN a.value ->> 'Name' = 'Uncategorized Expense'
              WHEN 'income' THEN a.value ->> 'AccountSubType' = 'SalesOfProductIncome'
                  OR a.value ->> 'Name' = 'Uncategorized Income'
              WHEN 'discounts' THEN a.value ->> 'Id' = v_prefs #>> '{SalesFormsPrefs,DefaultDiscountAccount}'
                  OR a.value ->> 'Name' ILIKE 'discount%'
              WHEN 'shipping_income' THEN a.value ->> 'Id' = v_prefs #>> '{SalesFormsPrefs,DefaultShippingAccount}'
                  OR a.value ->> 'Name' ILIKE 'shipping%income%'
              WHEN 'sales_tax_payable' THEN a.value ->> 'AccountSubType' = 'SalesTaxPayable'
              WHEN 'processor_fees' THEN a.value ->> 'Name' ILIKE '%merchant%fee%'
                  OR a.value ->> 'AccountSubType' = 'BankCharges'
              WHEN 'bank' THEN a.value ->> 'AccountType' = 'Bank'
              WHEN 'refunds' THEN a.value ->> 'Name' ILIKE 'refund%'
              -- Default clearing account: payouts are deposited out of Undeposited Funds,
              -- where sales receipts and payments land.
              WHEN 'clearing' THEN a.value ->> 'AccountSubType' = 'UndepositedFunds'
              WHEN 'accounts_receivable' THEN a.value ->> 'AccountType' = 'Accounts Receivable'
              -- Gift cards sold are a liability; without a "gift card" liability account, the
              -- account of the company's gift-card item (what per-order documents credit).
              WHEN 'gift_card_liability' THEN (a.value ->> 'Name' ILIKE '%gift card%'
                      AND a.value ->> 'AccountType' IN ('Other Current Liability', 'Long Term Liability'))
                  OR a.value ->> 'Id' = (
                      SELECT i.value #>> '{IncomeAccountRef,value}' FROM jsonb_array_elements(v_items) AS i (value)
                      WHERE i.value ->> 'Name' ILIKE 'gift card%' ORDER BY i.value ->> 'Id' LIMIT 1)
          END
        ORDER BY
            CASE
                WHEN v_role = 'income' AND a.value ->> 'AccountSubType' = 'SalesOfProductIncome' THEN 0
                WHEN v_role = 'gift_card_liability' AND a.value ->> 'Name' ILIKE '%gift card%' THEN 0
                WHEN v_role IN ('discounts', 'shipping_income') AND a.value ->> 'Id' IN (
                    v_prefs #>> '{SalesFormsPrefs,DefaultDiscountAccount}',
                    v_prefs #>> '{SalesFormsPrefs,DefaultShippingAccount}'
                ) THEN 0
                ELSE 1
            END,
            CASE WHEN a.value ->> 'Id' ~ '^[0-9]+$' THEN (a.value ->> 'Id')::bigint END NULLS LAST
        LIMIT 1;
        IF v_acct IS NULL THEN
            v_missing := v_missing || v_role;
        ELSE
            PERFORM logic.account_map__discovered(p_tenant_id, v_role, v_acct);
            v_found := v_found || jsonb_build_object(v_role, v_acct ->> 'Id');
        END IF;
        v_acct := NULL;
    END LOOP;

    -- Items: every item with a Sku is a discovered SKU mapping (manual rows win).
    INSERT INTO books.item_map AS m (tenant_id, sku, item_id, item_name, source)
    SELECT DISTINCT ON (i.value ->> 'Sku') p_tenant_id, i.value ->> 'Sku', i.value ->> 'Id', i.value ->> 'Name', 'discovered'
    FROM jsonb_array_elements(v_items) AS i (value)
    WHERE nullif(btrim(i.value ->> 'Sku'), '') IS NOT NULL AND coalesce((i.value ->> 'Active')::boolean, TRUE)
    ORDER BY i.value ->> 'Sku', i.value ->> 'Id'
    ON CONFLICT (tenant_id, sku) DO UPDATE
        SET item_id = excluded.item_id, item_name = excluded.item_name, updated_at = now()
        WHERE m.source = 'discovered';

    -- Tax codes by name (per_line_codes keys), plus the exempt pseudo code.
    INSERT INTO books.tax_code_map AS m (tenant_id, tax_key, tax_code_id, tax_code_name, source)
    SELECT p_tenant_id, c.value ->> 'Name', c.value ->> 'Id', c.value ->> 'Name', 'discovered'
    FROM jsonb_array_elements(v_codes) AS c (value)
    WHERE nullif(btrim(c.value ->> 'Name'), '') IS NOT NULL AND coalesce((c.value ->> 'Active')::boolean, TRUE)
    UNION ALL
    SELECT p_tenant_id, 'exempt', 'NON', 'Non-taxable', 'discovered'
    ON CONFLICT (tenant_id, tax_key) DO UPDATE
        SET tax_code_id = excluded.tax_code_id, tax_code_name = excluded.tax_code_name, updated_at = now()
        WHERE m.source = 'discovered';

    v_home := coalesce(v_prefs #>> '{CurrencyPrefs,HomeCurrency,value}', v_info ->> 'HomeCurrency');
    v_allow_shipping := coalesce((v_prefs #>> '{SalesFormsPrefs,AllowShipping}')::boolean, FALSE);

    -- Settings: discovered facts fill what is NULL or was itself discovered.
    UPDATE books.tenant_settings AS s
    SET home_currency = coalesce(v_home, s.home_currency),
        multicurrency_enabled = coalesce(
            (v_prefs #>> '{CurrencyPrefs,MultiCurrencyEnabled}')::boolean, s.multicurrency_enabled
        ),
        custom_txn_numbers = coalesce(
            (v_prefs #>> '{SalesFormsPrefs,CustomTxnNumbers}')::boolean, s.custom_txn_numbers
        ),
        allow_shipping = v_allow_shipping,
        shipping_item_id = coalesce(
            s.shipping_item_id,
            CASE WHEN v_allow_shipping THEN 'SHIPPING_ITEM_ID' END,
            (SELECT i.value ->> 'Id' FROM jsonb_array_elements(v_items) AS i (value)
             WHERE i.value ->> 'Name' ILIKE 'shipping%' ORDER BY i.value ->> 'Id' LIMIT 1)
        ),
        gift_card_item_id = coalesce(
            s.gift_card_item_id,
            (SELECT i.value ->> 'Id' FROM jsonb_array_elements(v_items) AS i (value)
             WHERE i.value ->> 'Name' ILIKE 'gift card%' ORDER BY i.value ->> 'Id' LIMIT 1)
        ),
        default_item_id = coalesce(
            s.default_item_id,
            (SELECT i.value ->> 'Id' FROM jsonb_array_elements(v_items) AS i (value)
             WHERE i.value ->> 'Type' IN ('NonInventory', 'Service', 'Inventory')
               AND coalesce((i.value ->> 'Active')::boolean, TRUE)
             ORDER BY (i.value ->> 'Name' = 'Sales') DESC, (i.value ->> 'Type' = 'NonInventory') DESC,
                 i.value ->> 'Id' LIMIT 1)
        ),
        us_tax_code_id = coalesce(
            s.us_tax_code_id,
            v_prefs #>> '{TaxPrefs,TaxGroupCodeRef,value}',
            (SELECT c.value ->> 'Id' FROM jsonb_array_elements(v_codes) AS c (value)
             WHERE coalesce((c.value ->> 'Taxable')::boolean, FALSE) ORDER BY c.value ->> 'Id' LIMIT 1)
        ),
        discovered_at = now(),
        updated_at = now()
    WHERE s.tenant_id = p_tenant_id;

    -- QuickBooks books closing date (AccountingInfoPrefs.BookCloseDate): stored per realm and
    -- honoured like a local close (sql/code/close/qbo_close.sql).
    v_realm := coalesce(nullif(p_facts ->> 'realm_id', ''),
        (SELECT c.realm_id FROM sync.connections AS c WHERE c.tenant_id = p_tenant_id), nullif(v_info ->> 'Id', ''));
    IF v_realm IS NOT NULL THEN
        PERFORM logic.qbo_close__record(p_tenant_id, v_realm, logic.qbo_close__parse(v_prefs), 'discovery');
        v_close := jsonb_build_object('book_close_date', logic.qbo_close__parse(v_prefs))
            || logic.qbo_close__redecide(p_tenant_id);
    END IF;

    SELECT v_found || v_close || jsonb_build_object(
        'home_currency', s.home_currency, 'multicurrency_enabled', s.multicurrency_enabled,
        'custom_txn_numbers', s.custom_txn_numbers, 'shipping_item_id', s.shipping_item_id,
        'gift_card_item_id', s.gift_card_item_id, 'default_item_id', s.default_item_id,
        'us_tax_code_id', s.us_tax_code_id, 'missing_roles', to_jsonb(v_missing)
    ) INTO v_item
    FROM books.tenant_settings AS s WHERE s.tenant_id = p_tenant_id;
    RETURN v_item;
END;
$$;

COMMENT ON FUNCTION api.tenant__apply_company_facts(text, jsonb) IS
'Stores defaults discovered from the QuickBooks company (accounts by role, SKU items, tax codes, home currency, '
'multicurrency, custom txn numbers, shipping item, QuickBooks books closing date); manual rows are kept. Returns what '
'was found and missing_roles.';

GRANT EXECUTE ON FUNCTION api.tenant__apply_company_facts(text, jsonb) TO pgbooks_worker, pgbooks_operator;
