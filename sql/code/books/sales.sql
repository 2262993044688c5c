-- Per-order sales documents: a paid order becomes a SalesReceipt, an unpaid or authorized one
-- an Invoice with a Payment per later capture. Discounts are one discount line, shipping uses
-- the shipping item, gift cards sold are a liability item and gift cards used are tender (a
-- negative gift-card line), tax follows the tenant's tax model. The document must total the
-- order's stated total to the cent, else it is blocked with an exception (never a plug line).

CREATE FUNCTION logic.tax_code__for(
    p_tenant_id text, p_tax_model text, p_title text, p_rate numeric, p_taxed boolean
)
RETURNS text
LANGUAGE sql
STABLE
AS $$
    SELECT CASE
        WHEN p_tax_model = 'us_automated' THEN CASE WHEN p_taxed THEN 'TAX' ELSE 'NON' END
        WHEN NOT p_taxed THEN
            (SELECT m.tax_code_id FROM books.tax_code_map AS m WHERE m.tenant_id = p_tenant_id AND m.tax_key = 'exempt')
        ELSE coalesce(
            (SELECT m.tax_code_id FROM books.tax_code_map AS m WHERE m.tenant_id = p_tenant_id AND m.tax_key = p_title),
            (SELECT m.tax_code_id FROM books.tax_code_map AS m
             WHERE m.tenant_id = p_tenant_id AND m.tax_key = 'rate:' || trim_scale(p_rate)::text)
        )
    END
$$;

COMMENT ON FUNCTION logic.tax_code__for(text, text, text, numeric, boolean) IS
'TaxCodeRef value of a line: TAX/NON under us_automated; the mapped TaxCode (by title, then rate:<r>, exempt) '
'under per_line_codes; NULL when unmapped.';

CREATE FUNCTION logic.custom_fields__apply(p_tenant_id text, p_body jsonb, p_facts jsonb)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
AS $$
DECLARE
    v_rules jsonb := (SELECT s.custom_field_rules FROM books.tenant_settings AS s WHERE s.tenant_id = p_tenant_id);
    v_rule jsonb;
    v_value text;
    v_body jsonb := p_body;
BEGIN
    FOR v_rule IN SELECT r.value FROM jsonb_array_elements(coalesce(v_rules, '[]')) AS r (value) LOOP
        v_value := p_facts #>> string_to_array(v_rule ->> 'source', '.');
        IF v_value IS NULL THEN
            CONTINUE;
        END IF;
        IF v_rule ? 'map' THEN
            v_value := v_rule -> 'map' ->> v_value;
            CONTINUE WHEN v_value IS NULL;
        END IF;
        v_body := v_body || CASE v_rule ->> 'target'
            WHEN 'DocNumber' THEN jsonb_build_object('DocNumber', left(v_value, 21))
            WHEN 'PrivateNote' THEN jsonb_build_object('PrivateNote', left(v_value, 4000))
            WHEN 'Memo' THEN jsonb_build_object('CustomerMemo', jsonb_build_object('value', left(v_value, 1000)))
            WHEN 'Class' THEN jsonb_build_object('ClassRef', jsonb_build_object('value', v_value))
            WHEN 'Department' THEN jsonb_build_object('DepartmentRef', jsonb_build_object('value', v_value))
            WHEN 'CustomField' THEN jsonb_build_object('CustomField',
                coalesce(v_body -> 'CustomField', '[]') || jsonb_build_array(jsonb_build_object(
                    'DefinitionId', coalesce(v_rule ->> 'definition_id', '1'), 'Type', 'StringType',
                    'StringValue', left(v_value, 31)
                )))
            ELSE '{}'::jsonb
        END;
    END LOOP;
    RETURN v_body;
END;
$$;

COMMENT ON FUNCTION logic.custom_fields__apply(text, jsonb, jsonb) IS
'Applies the tenant''s custom_field_rules (source path in the facts → DocNumber, PrivateNote, Memo, CustomField, '
'Class, Department; optional "map" of values) to a document body.';

CREATE FUNCTION logic.order__derive(p_tenant_id text, p_channel_id text, p_order_id text)
RETURNS bigint[]
LANGUAGE plpgsql
AS $$
DECLARE
    v_s books.tenant_settings := logic.tenant_settings__ensure(p_tenant_id);
    v_o orders.orders;
    v_src text := p_channel_id || ':' || p_order_id;
    v_home text;
    v_cur text;
    v_rate numeric;
    v_date date;
    v_main books.documents;
    v_doc_type text;
    v_paid boolean;
    v_captured numeric;
    v_gift_tender numeric;
    v_gateway text;
    v_cust bigint;
    v_lines jsonb := '[]';
    v_dlines jsonb := '[]';
    v_deps bigint[] := '{}';
    v_problems jsonb := '[]';
    v_sub numeric := 0;
    v_disc numeric;
    v_ship numeric := 0;
    v_tax numeric;
    v_total numeric;
    v_r record;
    v_item jsonb;
    v_code text;
    v_amount numeric;
    v_body jsonb;
    v_status text;
    v_id bigint;
    v_ids bigint[] := '{}';
    v_p jsonb;
    v_facts jsonb;
    v_refunded boolean;
    v_post date;
    v_moved text;
    v_pay_date date;
BEGIN
    SELECT * INTO v_o FROM orders.orders
    WHERE tenant_id = p_tenant_id AND channel_id = p_channel_id AND order_id = p_order_id;
    IF NOT found OR (v_o.is_test AND NOT logic.test_orders__booked(p_tenant_id))
        OR v_s.posting_mode = 'per_payout' THEN
        -- Test-mode orders are booked only into a test company (tenant_settings.test_orders);
        -- per_payout tenants book orders in the payout summary.
        RETURN v_ids;
    END IF;
    v_main := logic.document__find(p_tenant_id, 'order', v_src);
    v_home := coalesce(v_s.home_currency, (SELECT t.home_currency FROM orders.tenants AS t
                                           WHERE t.tenant_id = p_tenant_id));
    v_cur := v_o.currency;
    v_date := (coalesce(v_o.placed_at, v_o.recorded_at) AT TIME ZONE 'UTC')::date;

    SELECT coalesce(sum(t.amount) FILTER (WHERE t.gateway IS NULL OR t.gateway NOT ILIKE '%gift%card%'), 0),
        coalesce(sum(t.amount) FILTER (WHERE t.gateway ILIKE '%gift%card%'), 0),
        (array_agg(t.gateway ORDER BY t.processed_at, t.transaction_id)
            FILTER (WHERE t.gateway IS NULL OR t.gateway NOT ILIKE '%gift%card%'))[1]
    INTO v_captured, v_gift_tender, v_gateway
    FROM orders.transactions AS t
    WHERE t.tenant_id = p_tenant_id AND t.channel_id = p_channel_id AND t.order_id = p_order_id
      AND t.kind IN ('capture', 'sale') AND t.status = 'success';
    v_refunded := EXISTS (
        SELECT FROM orders.refunds AS r
        WHERE r.tenant_id = p_tenant_id AND r.channel_id = p_channel_id AND r.order_id = p_order_id AND r.amount > 0
    );

    -- Cancellation (or a voided authorization) without money returned: void what was posted.
    IF (v_o.cancelled_at IS NOT NULL OR v_o.financial_status = 'voided') AND NOT v_refunded THEN
        IF v_main.document_id IS NOT NULL THEN
            FOR v_r IN SELECT d.* FROM books.documents AS d
                WHERE d.tenant_id = p_tenant_id AND d.source_type = 'order' AND d.source_id = v_src
                  AND d.source_role NOT LIKE '%:reversal' AND d.source_role NOT LIKE '%:restated' LOOP
                v_id := logic.document__put(
                    p_tenant_id, v_r.doc_type, 'order', v_src, v_r.source_role, v_r.body, v_r.total_amount,
                    v_r.currency, v_r.txn_date, v_r.depends_on, v_r.status, 'void',
                    (SELECT coalesce(jsonb_agg(to_jsonb(l) - 'tenant_id' - 'document_id' ORDER BY l.line_no), '[]')
                     FROM books.document_lines AS l WHERE l.tenant_id = p_tenant_id AND l.document_id = v_r.document_id)
                );
                v_ids := v_ids || v_id;
            END LOOP;
        END IF;
        RETURN v_ids;
    END IF;
    IF v_main.document_id IS NULL AND v_o.financial_status IN ('expired', 'failed') THEN
        RETURN v_ids;
    END IF;

    v_paid := v_o.financial_status IN ('paid', 'partially_refunded', 'refunded')
        OR v_captured + v_gift_tender >= v_o.stated_total;
    v_doc_type := coalesce(v_main.doc_type, CASE WHEN v_paid THEN 'sales_receipt' ELSE 'invoice' END);

    -- Currency: one currency per document, the shop currency; foreign needs multicurrency + a rate.
    IF v_cur IS DISTINCT FROM v_home THEN
        IF NOT v_s.multicurrency_enabled THEN
            v_problems := v_problems || jsonb_build_object('code', 'MULTICURRENCY_DISABLED', 'category', 'config',
                'message', format('order currency %s differs from the home currency %s and the company has '
                    'multicurrency off', v_cur, v_home),
                'detail', jsonb_build_object('currency', v_cur, 'home_currency', v_home));
        END IF;
        v_rate := logic.exchange_rate__for(p_tenant_id, v_cur, v_date);
        IF v_rate IS NULL THEN
            v_problems := v_problems || jsonb_build_object('code', 'EXCHANGE_RATE_MISSING', 'category', 'config',
                'message', format('no exchange rate for %s on or before %s in books.exchange_rates', v_cur, v_date),
                'detail', jsonb_build_object('currency', v_cur, 'date', v_date));
        END IF;
    END IF;

    -- Closed period (tenant closed_through or a month closed by close.close_period): a new
    -- document moves to the first open day or is held per policy; a booked one keeps its date.
    v_post := logic.document__posting_date(p_tenant_id, v_date, v_main.txn_date);
    IF v_post IS NULL THEN
        v_problems := v_problems || jsonb_build_object('code', 'PERIOD_CLOSED', 'category', 'config',
            'message', format('order date %s is in a closed period%s (policy: hold)', v_date,
                logic.books_period__closed_reason(p_tenant_id, v_date)),
            'detail', logic.books_period__closed_detail(p_tenant_id, v_date));
    ELSE
        v_moved := logic.books_period__moved_note(v_date, v_post);
        v_date := v_post;
    END IF;

    -- Open order flags (e.g. TOTALS_MISMATCH raised by the orders checks) block the document,
    -- except a flag that only reports line amounts rounded differently from qty × price (no
    -- order-level field differs): books carries those explicitly (amount-only line + note).
    FOR v_r IN SELECT f.reason_code, f.detail FROM orders.order_flags AS f
        WHERE f.tenant_id = p_tenant_id AND f.channel_id = p_channel_id AND f.order_id = p_order_id
          AND f.resolved_at IS NULL
          AND NOT (f.reason_code = 'TOTALS_MISMATCH' AND f.detail -> 'fields' = '{}'::jsonb
                   AND f.detail ? 'lines') LOOP
        v_problems := v_problems || jsonb_build_object('code', v_r.reason_code, 'category', 'source_data',
            'message', format('order %s is flagged %s by the orders checks', v_src, v_r.reason_code),
            'detail', v_r.detail);
    END LOOP;

    v_cust := logic.customer__document(p_tenant_id, p_channel_id, v_o.customer_id, v_cur);
    v_deps := v_deps || v_cust;

    -- Product (and other) lines.
    FOR v_r IN
        SELECT l.*, round(l.quantity * l.unit_price, 2) AS qbo_amount,
            (SELECT coalesce(sum(t.amount), 0) FROM orders.tax_lines AS t
             WHERE t.tenant_id = l.tenant_id AND t.channel_id = l.channel_id AND t.order_id = l.order_id
               AND t.line_id = l.line_id) AS tax_amount,
            (SELECT t.title FROM orders.tax_lines AS t
             WHERE t.tenant_id = l.tenant_id AND t.channel_id = l.channel_id AND t.order_id = l.order_id
               AND t.line_id = l.line_id AND t.amount > 0 ORDER BY t.tax_line_id LIMIT 1) AS tax_title,
            (SELECT t.rate FROM orders.tax_lines AS t
             WHERE t.tenant_id = l.tenant_id AND t.channel_id = l.channel_id AND t.order_id = l.order_id
               AND t.line_id = l.line_id AND t.amount > 0 ORDER BY t.tax_line_id LIMIT 1) AS tax_rate
        FROM orders.order_lines AS l
        WHERE l.tenant_id = p_tenant_id AND l.channel_id = p_channel_id AND l.order_id = p_order_id
          AND l.quantity > 0
        ORDER BY length(l.line_id), l.line_id
    LOOP
        IF v_r.line_kind = 'gift_card' THEN
            v_item := CASE WHEN v_s.gift_card_item_id IS NULL THEN jsonb_build_object('error', 'GIFT_CARD_ITEM_UNMAPPED')
                ELSE jsonb_build_object('ref', jsonb_build_object('value', v_s.gift_card_item_id)) END;
        ELSE
            v_item := logic.item__resolve(p_tenant_id, coalesce(v_r.sku,
                CASE WHEN v_r.line_kind <> 'product' THEN v_r.line_kind END), v_r.title);
        END IF;
        IF v_item ? 'error' THEN
            v_problems := v_problems || jsonb_build_object('code', v_item ->> 'error', 'category', 'mapping',
                'message', format('line %s (SKU %s, "%s") has no QuickBooks item: %s',
                    v_r.line_id, coalesce(v_r.sku, '-'), v_r.title,
                    coalesce(v_item ->> 'reason', 'the tenant has no gift_card_item_id')),
                'detail', jsonb_build_object('line_id', v_r.line_id, 'sku', v_r.sku, 'title', v_r.title,
                    'reason', v_item ->> 'reason', 'item_strategy', v_s.item_strategy, 'item_strict', v_s.item_strict));
        END IF;
        IF v_item ? 'depends_on' THEN
            v_deps := v_deps || (v_item ->> 'depends_on')::bigint;
        END IF;
        v_code := logic.tax_code__for(p_tenant_id, v_s.tax_model, v_r.tax_title, v_r.tax_rate, v_r.tax_amount > 0);
        IF v_code IS NULL THEN
            v_problems := v_problems || jsonb_build_object('code', 'TAX_CODE_UNMAPPED', 'category', 'mapping',
                'message', format('tax "%s" (rate %s) of line %s has no TaxCode in books.tax_code_map',
                    coalesce(v_r.tax_title, 'exempt'), v_r.tax_rate, v_r.line_id),
                'detail', jsonb_build_object('line_id', v_r.line_id, 'tax_title', v_r.tax_title, 'rate', v_r.tax_rate));
        END IF;
        IF v_r.gross_amount IS NOT NULL AND v_r.gross_amount <> v_r.qbo_amount THEN
            -- The platform rounded qty × price differently from QuickBooks' round_half_up(qty ×
            -- price, 2): send the platform's amount without qty × price (QuickBooks would reject
            -- or recompute it) and record why in document_lines.rounding_note.
            v_amount := v_r.gross_amount - CASE WHEN v_o.taxes_included THEN v_r.tax_amount ELSE 0 END;
            v_lines := v_lines || jsonb_build_object('DetailType', 'SalesItemLineDetail', 'Amount', v_amount,
                'Description', v_r.title || ' (' || trim_scale(v_r.quantity) || ' × ' || trim_scale(v_r.unit_price) || ')',
                'SalesItemLineDetail', jsonb_strip_nulls(jsonb_build_object('ItemRef', v_item -> 'ref',
                    'TaxCodeRef', jsonb_build_object('value', v_code))));
        ELSIF v_o.taxes_included THEN
            -- Tax-inclusive prices: the line is sent net of its tax, amount-only (qty × price
            -- would not reproduce the net amount); the tax goes in TxnTaxDetail.TotalTax.
            v_amount := v_r.qbo_amount - v_r.tax_amount;
            v_lines := v_lines || jsonb_build_object('DetailType', 'SalesItemLineDetail', 'Amount', v_amount,
                'Description', v_r.title || ' (' || trim_scale(v_r.quantity) || ' × ' || v_r.unit_price || ' incl. tax)',
                'SalesItemLineDetail', jsonb_strip_nulls(jsonb_build_object('ItemRef', v_item -> 'ref',
                    'TaxCodeRef', jsonb_build_object('value', v_code))));
        ELSE
            v_amount := v_r.qbo_amount;
            v_lines := v_lines || jsonb_build_object('DetailType', 'SalesItemLineDetail', 'Amount', v_amount,
                'Description', v_r.title,
                'SalesItemLineDetail', jsonb_strip_nulls(jsonb_build_object('ItemRef', v_item -> 'ref',
                    'Qty', trim_scale(v_r.quantity), 'UnitPrice', trim_scale(v_r.unit_price),
                    'TaxCodeRef', jsonb_build_object('value', v_code))));
        END IF;
        v_sub := v_sub + v_amount;
        v_dlines := v_dlines || jsonb_build_object('kind', CASE WHEN v_r.line_kind = 'gift_card' THEN 'gift_card' ELSE 'item' END,
            'description', v_r.title, 'sku', v_r.sku, 'qty', v_r.quantity, 'unit_price', v_r.unit_price,
            'amount', v_amount, 'source_amount', coalesce(v_r.gross_amount, v_r.quantity * v_r.unit_price),
            'tax_key', v_r.tax_title,
            'account_role', CASE WHEN v_r.line_kind = 'gift_card' THEN 'gift_card_liability' ELSE 'income' END,
            'rounding_note', CASE
                WHEN v_r.gross_amount IS NOT NULL AND v_r.gross_amount <> v_r.qbo_amount THEN format(
                    'platform states %s, QuickBooks computes round_half_up(%s × %s, 2) = %s; sent amount-only',
                    v_r.gross_amount, trim_scale(v_r.quantity), trim_scale(v_r.unit_price), v_r.qbo_amount)
                WHEN v_o.taxes_included THEN format('tax-inclusive %s sent net of tax %s', v_r.qbo_amount, v_r.tax_amount)
                WHEN v_r.quantity * v_r.unit_price <> v_r.qbo_amount THEN format(
                    'qty × price = %s; QuickBooks rounds half-up to %s', v_r.quantity * v_r.unit_price, v_r.qbo_amount)
            END);
    END LOOP;

    -- Gift cards used as tender: a negative gift-card line (liability down, revenue unchanged).
    IF v_gift_tender > 0 THEN
        IF v_s.gift_card_item_id IS NULL THEN
            v_problems := v_problems || jsonb_build_object('code', 'GIFT_CARD_ITEM_UNMAPPED', 'category', 'mapping',
                'message', 'order was paid with a gift card but the tenant has no gift_card_item_id',
                'detail', jsonb_build_object('gift_card_amount', v_gift_tender));
        END IF;
        v_lines := v_lines || jsonb_build_object('DetailType', 'SalesItemLineDetail', 'Amount', -v_gift_tender,
            'Description', 'Paid by gift card',
            'SalesItemLineDetail', jsonb_strip_nulls(jsonb_build_object(
                'ItemRef', jsonb_build_object('value', v_s.gift_card_item_id), 'Qty', 1, 'UnitPrice', -v_gift_tender,
                'TaxCodeRef', jsonb_build_object('value', logic.tax_code__for(p_tenant_id, v_s.tax_model, NULL, NULL, FALSE))
            )));
        v_sub := v_sub - v_gift_tender;
        v_dlines := v_dlines || jsonb_build_object('kind', 'tender', 'description', 'Paid by gift card',
            'amount', -v_gift_tender, 'source_amount', -v_gift_tender, 'account_role', 'gift_card_liability');
    END IF;

    -- Discounts: one discount line for every allocation (line, shipping and order level).
    SELECT coalesce(sum(a.amount), v_o.stated_total_discounts, 0) INTO v_disc FROM orders.discount_allocations AS a
    WHERE a.tenant_id = p_tenant_id AND a.channel_id = p_channel_id AND a.order_id = p_order_id;
    IF v_disc > 0 THEN
        v_lines := v_lines || jsonb_build_object('DetailType', 'DiscountLineDetail', 'Amount', v_disc,
            'Description', 'Discounts',
            'DiscountLineDetail', jsonb_build_object('PercentBased', FALSE,
                'DiscountAccountRef', jsonb_build_object('value', logic.account__for_role(p_tenant_id, 'discounts'))));
        v_dlines := v_dlines || jsonb_build_object('kind', 'discount', 'description', 'Discounts', 'amount', -v_disc,
            'source_amount', -v_disc, 'account_role', 'discounts');
    END IF;

    -- Shipping lines through the shipping item.
    FOR v_r IN
        SELECT s.*, (SELECT coalesce(sum(t.amount), 0) FROM orders.tax_lines AS t
                     WHERE t.tenant_id = s.tenant_id AND t.channel_id = s.channel_id AND t.order_id = s.order_id
                       AND t.shipping_line_id = s.shipping_line_id) AS tax_amount,
            (SELECT t.title FROM orders.tax_lines AS t
             WHERE t.tenant_id = s.tenant_id AND t.channel_id = s.channel_id AND t.order_id = s.order_id
               AND t.shipping_line_id = s.shipping_line_id AND t.amount > 0 ORDER BY t.tax_line_id LIMIT 1) AS tax_title,
            (SELECT t.rate FROM orders.tax_lines AS t
             WHERE t.tenant_id = s.tenant_id AND t.channel_id = s.channel_id AND t.order_id = s.order_id
               AND t.shipping_line_id = s.shipping_line_id AND t.amount > 0 ORDER BY t.tax_line_id LIMIT 1) AS tax_rate
        FROM orders.shipping_lines AS s
        WHERE s.tenant_id = p_tenant_id AND s.channel_id = p_channel_id AND s.order_id = p_order_id AND s.price > 0
        ORDER BY s.shipping_line_id
    LOOP
        IF v_s.shipping_item_id IS NULL THEN
            v_problems := v_problems || jsonb_build_object('code', 'SHIPPING_ITEM_UNMAPPED', 'category', 'mapping',
                'message', 'order has shipping but the tenant has no shipping_item_id',
                'detail', jsonb_build_object('shipping_line_id', v_r.shipping_line_id));
        END IF;
        v_code := logic.tax_code__for(p_tenant_id, v_s.tax_model, v_r.tax_title, v_r.tax_rate, v_r.tax_amount > 0);
        IF v_code IS NULL THEN
            v_problems := v_problems || jsonb_build_object('code', 'TAX_CODE_UNMAPPED', 'category', 'mapping',
                'message', format('tax "%s" of shipping line %s has no TaxCode in books.tax_code_map',
                    v_r.tax_title, v_r.shipping_line_id),
                'detail', jsonb_build_object('shipping_line_id', v_r.shipping_line_id, 'tax_title', v_r.tax_title));
        END IF;
        v_amount := v_r.price - CASE WHEN v_o.taxes_included THEN v_r.tax_amount ELSE 0 END;
        v_lines := v_lines || jsonb_build_object('DetailType', 'SalesItemLineDetail', 'Amount', v_amount,
            'Description', coalesce(v_r.title, 'Shipping'),
            'SalesItemLineDetail', jsonb_build_object('ItemRef', jsonb_build_object('value', v_s.shipping_item_id),
                'TaxCodeRef', jsonb_build_object('value', v_code)));
        v_ship := v_ship + v_amount;
        v_dlines := v_dlines || jsonb_build_object('kind', 'shipping', 'description', coalesce(v_r.title, 'Shipping'),
            'amount', v_amount, 'source_amount', v_r.price, 'account_role', 'shipping_income', 'tax_key', v_r.tax_title);
    END LOOP;

    SELECT coalesce(sum(t.amount), v_o.stated_total_tax, 0) INTO v_tax FROM orders.tax_lines AS t
    WHERE t.tenant_id = p_tenant_id AND t.channel_id = p_channel_id AND t.order_id = p_order_id;
    IF v_tax > 0 THEN
        v_dlines := v_dlines || jsonb_build_object('kind', 'tax', 'description', 'Sales tax', 'amount', v_tax,
            'source_amount', v_o.stated_total_tax, 'account_role', 'sales_tax_payable');
    END IF;

    -- What QuickBooks will compute, checked against the platform's stated total (+ gift-card tender).
    v_total := v_sub - v_disc + v_ship + v_tax;
    IF v_total + v_gift_tender <> v_o.stated_total THEN
        v_problems := v_problems || jsonb_build_object('code', 'TOTALS_MISMATCH', 'category', 'source_data',
            'message', format('document would total %s %s but the order states %s (difference %s)',
                v_total + v_gift_tender, v_cur, v_o.stated_total, v_total + v_gift_tender - v_o.stated_total),
            'detail', jsonb_build_object('document_total', v_total + v_gift_tender, 'source_total', v_o.stated_total,
                'difference', v_total + v_gift_tender - v_o.stated_total, 'lines', v_sub + v_gift_tender,
                'discounts', v_disc, 'shipping', v_ship, 'tax', v_tax),
            'diff', jsonb_build_object('TotalAmt', jsonb_build_object('ours', v_total + v_gift_tender,
                'source', v_o.stated_total)));
    END IF;

    v_body := jsonb_build_object(
        'CustomerRef', jsonb_build_object('document_id', v_cust),
        'TxnDate', v_date,
        'CurrencyRef', jsonb_build_object('value', v_cur),
        'PrivateNote', left(format('pgbooks order %s %s', v_src, coalesce(v_o.order_number, ''))
            || CASE WHEN v_o.presentment_currency IS DISTINCT FROM v_cur AND v_o.presentment_currency IS NOT NULL
                THEN format(' (buyer paid %s %s)', v_o.presentment_total, v_o.presentment_currency) ELSE '' END
            || coalesce(v_moved, ''), 4000),
        'Line', v_lines,
        'TxnTaxDetail', jsonb_strip_nulls(jsonb_build_object('TotalTax', v_tax,
            'TxnTaxCodeRef', CASE WHEN v_s.tax_model = 'us_automated' AND v_tax > 0 AND v_s.us_tax_code_id IS NOT NULL
                THEN jsonb_build_object('value', v_s.us_tax_code_id) END))
    );
    IF v_s.tax_model = 'per_line_codes' THEN
        v_body := v_body || jsonb_build_object('GlobalTaxCalculation', 'TaxExcluded');
    END IF;
    IF v_cur IS DISTINCT FROM v_home AND v_rate IS NOT NULL THEN
        v_body := v_body || jsonb_build_object('ExchangeRate', v_rate);
    END IF;
    IF v_s.custom_txn_numbers THEN
        v_body := v_body || jsonb_build_object('DocNumber', left(coalesce(v_o.order_number, v_o.order_id), 21));
    END IF;
    IF v_doc_type = 'sales_receipt' THEN
        v_body := v_body || jsonb_build_object('DepositToAccountRef', jsonb_build_object('value', coalesce(
            logic.account__for_role(p_tenant_id, 'clearing', v_gateway, v_cur),
            logic.account__for_role(p_tenant_id, 'undeposited_funds'))));
    END IF;
    SELECT jsonb_build_object('order', to_jsonb(o), 'customer', to_jsonb(c), 'channel', to_jsonb(ch)) INTO v_facts
    FROM orders.orders AS o
    LEFT JOIN orders.customers AS c ON c.tenant_id = o.tenant_id AND c.channel_id = o.channel_id
        AND c.customer_id = o.customer_id
    LEFT JOIN orders.channels AS ch ON ch.tenant_id = o.tenant_id AND ch.channel_id = o.channel_id
    WHERE o.tenant_id = p_tenant_id AND o.channel_id = p_channel_id AND o.order_id = p_order_id;
    v_body := logic.custom_fields__apply(p_tenant_id, v_body, v_facts);

    v_status := CASE WHEN jsonb_array_length(v_problems) > 0 THEN 'blocked' ELSE 'ready' END;
    v_id := logic.document__put(
        p_tenant_id, v_doc_type, 'order', v_src, 'main', v_body, v_total, v_cur, CASE WHEN v_post IS NOT NULL THEN v_date END,
        v_deps, v_status, 'upsert', v_dlines
    );
    v_ids := v_ids || v_id;
    FOR v_p IN SELECT p.value FROM jsonb_array_elements(v_problems) AS p (value) LOOP
        PERFORM logic.books_exception__raise(p_tenant_id, 'order', v_src, v_id, v_p ->> 'code', v_p ->> 'category',
            v_p ->> 'message', v_p -> 'detail', v_p -> 'diff');
    END LOOP;
    PERFORM logic.books_exceptions__resolve_fixed(p_tenant_id, 'order', v_src,
        ARRAY(SELECT p.value ->> 'code' FROM jsonb_array_elements(v_problems) AS p (value)));

    -- Invoice: each capture / sale is a Payment linked to it.
    IF v_doc_type = 'invoice' THEN
        FOR v_r IN SELECT t.* FROM orders.transactions AS t
            WHERE t.tenant_id = p_tenant_id AND t.channel_id = p_channel_id AND t.order_id = p_order_id
              AND t.kind IN ('capture', 'sale') AND t.status = 'success' AND t.amount > 0
              AND (t.gateway IS NULL OR t.gateway NOT ILIKE '%gift%card%')
            ORDER BY t.processed_at, t.transaction_id
        LOOP
            v_pay_date := greatest(v_date, (coalesce(v_r.processed_at, v_r.recorded_at) AT TIME ZONE 'UTC')::date);
            v_post := logic.document__posting_date(p_tenant_id, v_pay_date,
                (logic.document__find(p_tenant_id, 'order', v_src, 'payment:' || v_r.transaction_id)).txn_date);
            v_body := jsonb_build_object(
                'CustomerRef', jsonb_build_object('document_id', v_cust),
                'TotalAmt', v_r.amount,
                'TxnDate', coalesce(v_post, v_pay_date),
                'CurrencyRef', jsonb_build_object('value', v_cur),
                'PaymentRefNum', left(v_r.transaction_id, 21),
                'PrivateNote', format('pgbooks payment %s:%s for order %s', p_channel_id, v_r.transaction_id, v_src),
                'DepositToAccountRef', jsonb_build_object('value', coalesce(
                    logic.account__for_role(p_tenant_id, 'clearing', v_r.gateway, v_cur),
                    logic.account__for_role(p_tenant_id, 'undeposited_funds'))),
                'Line', jsonb_build_array(jsonb_build_object('Amount', v_r.amount,
                    'LinkedTxn', jsonb_build_array(jsonb_build_object('TxnDocumentId', v_id, 'TxnType', 'Invoice'))))
            );
            IF v_cur IS DISTINCT FROM v_home AND v_rate IS NOT NULL THEN
                v_body := v_body || jsonb_build_object('ExchangeRate', v_rate);
            END IF;
            v_ids := v_ids || logic.document__put(
                p_tenant_id, 'payment', 'order', v_src, 'payment:' || v_r.transaction_id, v_body, v_r.amount, v_cur,
                v_post, ARRAY[v_cust, v_id], CASE WHEN v_post IS NULL THEN 'blocked' ELSE 'ready' END, 'upsert',
                jsonb_build_array(jsonb_build_object('kind', 'payment', 'description', 'Payment ' || v_r.transaction_id,
                    'amount', v_r.amount, 'source_amount', v_r.amount, 'account_role', 'clearing'))
            );
        END LOOP;
    END IF;

    -- Refunds of the order.
    FOR v_r IN SELECT r.refund_id FROM orders.refunds AS r
        WHERE r.tenant_id = p_tenant_id AND r.channel_id = p_channel_id AND r.order_id = p_order_id
        ORDER BY r.processed_at, r.refund_id LOOP
        v_ids := v_ids || logic.refund__derive(p_tenant_id, p_channel_id, v_r.refund_id);
    END LOOP;
    RETURN v_ids;
END;
$$;

COMMENT ON FUNCTION logic.order__derive(text, text, text) IS
'Derives (or re-derives) the documents of one order: customer, SalesReceipt or Invoice (+ Payments), refunds, '
'void on cancellation. Idempotent: unchanged content keeps the version.';
