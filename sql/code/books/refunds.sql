-- Refunds: a RefundReceipt when the order was a SalesReceipt, a CreditMemo when it was an
-- Invoice. Lines are the refunded product lines (partial by line) and shipping refunds, the
-- refunded tax goes to TxnTaxDetail; an amount-only refund is one line on the default item.
-- Restocking moves no money and is ignored. The document must total the refunded amount:
-- only platform order adjustments may explain a difference, else it is an exception.
-- A CreditMemo credits the buyer; when the invoice had been paid, the money sent back is booked
-- too (logic.refund__credit_money): the credit is refunded out of the clearing account and
-- applied, so neither the credit nor the refund stays open on the customer.

CREATE FUNCTION logic.refund__credit_money(
    p_tenant_id text, p_channel_id text, p_refund_id text, p_credit_memo_id bigint
)
RETURNS bigint[]
LANGUAGE plpgsql
AS $$
DECLARE
    v_rf orders.refunds;
    v_cm books.documents;
    v_src text := p_channel_id || ':' || p_refund_id;
    v_paid numeric;
    v_before numeric;
    v_money numeric;
    v_gateway text;
    v_clearing text;
    v_ar text;
    v_cust bigint;
    v_status text;
    v_body jsonb;
    v_je bigint;
    v_ids bigint[] := '{}';
    v_old books.documents;
    v_role text;
BEGIN
    SELECT * INTO STRICT v_rf FROM orders.refunds
    WHERE tenant_id = p_tenant_id AND channel_id = p_channel_id AND refund_id = p_refund_id;
    SELECT * INTO STRICT v_cm FROM books.documents WHERE tenant_id = p_tenant_id AND document_id = p_credit_memo_id;
    -- Money collected on the invoice (its Payments), less what earlier refunds already sent back.
    SELECT coalesce(sum(t.amount), 0),
        (array_agg(t.gateway ORDER BY t.processed_at, t.transaction_id))[1]
    INTO v_paid, v_gateway
    FROM orders.transactions AS t
    WHERE t.tenant_id = p_tenant_id AND t.channel_id = p_channel_id AND t.order_id = v_rf.order_id
      AND t.kind IN ('capture', 'sale') AND t.status = 'success' AND t.amount > 0
      AND (t.gateway IS NULL OR t.gateway NOT ILIKE '%gift%card%');
    SELECT coalesce(sum(r.amount), 0) INTO v_before FROM orders.refunds AS r
    WHERE r.tenant_id = p_tenant_id AND r.channel_id = p_channel_id AND r.order_id = v_rf.order_id
      AND (r.processed_at, r.refund_id) < (v_rf.processed_at, v_rf.refund_id);
    v_money := greatest(0, least(v_rf.amount, v_paid - v_before));

    IF v_money = 0 THEN
        -- Nothing was paid back (an unpaid invoice is only credited): withdraw what an earlier
        -- derivation planned.
        FOREACH v_role IN ARRAY ARRAY['credit_applied', 'credit_refund'] LOOP
            v_old := logic.document__find(p_tenant_id, 'refund', v_src, v_role);
            IF v_old.document_id IS NOT NULL THEN
                v_ids := v_ids || logic.document__put(p_tenant_id, v_old.doc_type, 'refund', v_src, v_role,
                    v_old.body, v_old.total_amount, v_old.currency, v_old.txn_date, v_old.depends_on, v_old.status,
                    'delete');
            END IF;
        END LOOP;
        RETURN v_ids;
    END IF;

    v_cust := (v_cm.body -> 'CustomerRef' ->> 'document_id')::bigint;
    v_clearing := coalesce(logic.account__for_role(p_tenant_id, 'clearing', v_gateway, v_rf.currency),
        logic.account__for_role(p_tenant_id, 'undeposited_funds'));
    v_ar := logic.account__for_role(p_tenant_id, 'accounts_receivable');
    v_status := v_cm.status;
    IF v_ar IS NULL OR v_clearing IS NULL THEN
        v_status := 'blocked';
        PERFORM logic.books_exception__raise(p_tenant_id, 'refund', v_src, p_credit_memo_id, 'ACCOUNT_UNMAPPED',
            'config', format('refund %s of a paid invoice: no QuickBooks account for role %s', v_src,
                CASE WHEN v_ar IS NULL THEN 'accounts_receivable' ELSE 'clearing' END),
            jsonb_build_object('roles', jsonb_build_object('accounts_receivable', v_ar, 'clearing', v_clearing)));
    END IF;

    -- The money: receivable (the buyer's credit) debited, clearing credited.
    v_body := jsonb_build_object(
        'TxnDate', v_cm.txn_date,
        'CurrencyRef', jsonb_build_object('value', v_rf.currency),
        'PrivateNote', format('pgbooks refund %s: money returned on credit memo of order %s:%s', v_src, p_channel_id,
            v_rf.order_id),
        'Line', jsonb_build_array(
            jsonb_build_object('DetailType', 'JournalEntryLineDetail', 'Amount', v_money,
                'Description', 'Refund paid to the buyer',
                'JournalEntryLineDetail', jsonb_build_object('PostingType', 'Debit',
                    'AccountRef', jsonb_build_object('value', v_ar),
                    'Entity', jsonb_build_object('Type', 'Customer',
                        'EntityRef', jsonb_build_object('document_id', v_cust)))),
            jsonb_build_object('DetailType', 'JournalEntryLineDetail', 'Amount', v_money,
                'Description', 'Refund paid to the buyer',
                'JournalEntryLineDetail', jsonb_build_object('PostingType', 'Credit',
                    'AccountRef', jsonb_build_object('value', v_clearing))))
    );
    IF v_cm.body ? 'ExchangeRate' THEN
        v_body := v_body || jsonb_build_object('ExchangeRate', v_cm.body -> 'ExchangeRate');
    END IF;
    v_je := logic.document__put(p_tenant_id, 'journal_entry', 'refund', v_src, 'credit_refund', v_body, v_money,
        v_rf.currency, v_cm.txn_date, ARRAY[v_cust], v_status, 'upsert',
        jsonb_build_array(
            jsonb_build_object('kind', 'refund', 'description', 'Refund paid to the buyer (receivable)',
                'amount', v_money, 'source_amount', v_rf.amount, 'account_role', 'accounts_receivable'),
            jsonb_build_object('kind', 'refund', 'description', 'Refund paid from clearing',
                'amount', -v_money, 'source_amount', v_rf.amount, 'account_role', 'clearing')));

    -- Applies the credit to the refund: a zero Payment linking the CreditMemo and the entry.
    v_body := jsonb_build_object(
        'CustomerRef', jsonb_build_object('document_id', v_cust),
        'TotalAmt', 0,
        'TxnDate', v_cm.txn_date,
        'CurrencyRef', jsonb_build_object('value', v_rf.currency),
        'PrivateNote', format('pgbooks refund %s: credit memo applied to the refund paid', v_src),
        'Line', jsonb_build_array(
            jsonb_build_object('Amount', v_money, 'LinkedTxn', jsonb_build_array(
                jsonb_build_object('TxnDocumentId', p_credit_memo_id, 'TxnType', 'CreditMemo'))),
            jsonb_build_object('Amount', v_money, 'LinkedTxn', jsonb_build_array(
                jsonb_build_object('TxnDocumentId', v_je, 'TxnType', 'JournalEntry'))))
    );
    IF v_cm.body ? 'ExchangeRate' THEN
        v_body := v_body || jsonb_build_object('ExchangeRate', v_cm.body -> 'ExchangeRate');
    END IF;
    RETURN ARRAY[v_je, logic.document__put(p_tenant_id, 'payment', 'refund', v_src, 'credit_applied', v_body, 0,
        v_rf.currency, v_cm.txn_date, ARRAY[v_cust, p_credit_memo_id, v_je], v_status, 'upsert',
        jsonb_build_array(jsonb_build_object('kind', 'payment', 'description', 'Credit memo applied to the refund',
            'amount', 0, 'source_amount', v_money, 'account_role', 'accounts_receivable')))];
END;
$$;

COMMENT ON FUNCTION logic.refund__credit_money(text, text, text, bigint) IS
'Money paid back on a CreditMemo of a paid invoice: a JournalEntry (receivable of the buyer debited, clearing '
'credited) and a zero Payment applying the CreditMemo to it; withdrawn when nothing was paid back.';

CREATE FUNCTION logic.refund__derive(p_tenant_id text, p_channel_id text, p_refund_id text)
RETURNS bigint[]
LANGUAGE plpgsql
AS $$
DECLARE
    v_s books.tenant_settings := logic.tenant_settings__ensure(p_tenant_id);
    v_rf orders.refunds;
    v_main books.documents;
    v_src text := p_channel_id || ':' || p_refund_id;
    v_lines jsonb := '[]';
    v_dlines jsonb := '[]';
    v_deps bigint[];
    v_problems jsonb := '[]';
    v_r record;
    v_item jsonb;
    v_amount numeric;
    v_sub numeric := 0;
    v_tax numeric := 0;
    v_adjust numeric := 0;
    v_other_adjust numeric := 0;
    v_has_other boolean := FALSE;
    v_diff numeric;
    v_total numeric;
    v_body jsonb;
    v_date date;
    v_gateway text;
    v_doc_type text;
    v_id bigint;
    v_p jsonb;
    v_exempt text := logic.tax_code__for(p_tenant_id, v_s.tax_model, NULL, NULL, FALSE);
    v_post date;
BEGIN
    SELECT * INTO v_rf FROM orders.refunds
    WHERE tenant_id = p_tenant_id AND channel_id = p_channel_id AND refund_id = p_refund_id;
    IF NOT found OR v_rf.order_id IS NULL OR v_rf.amount = 0 OR v_s.posting_mode = 'per_payout' THEN
        RETURN '{}';
    END IF;
    v_main := logic.document__find(p_tenant_id, 'order', p_channel_id || ':' || v_rf.order_id);
    IF v_main.document_id IS NULL OR v_main.doc_type NOT IN ('sales_receipt', 'invoice') THEN
        RETURN '{}';  -- derived when its order is (order__derive calls back here)
    END IF;
    v_doc_type := CASE v_main.doc_type WHEN 'sales_receipt' THEN 'refund_receipt' ELSE 'credit_memo' END;
    v_date := greatest(v_main.txn_date, (coalesce(v_rf.processed_at, v_rf.recorded_at) AT TIME ZONE 'UTC')::date);
    v_post := logic.document__posting_date(p_tenant_id, v_date,
        (logic.document__find(p_tenant_id, 'refund', v_src)).txn_date);
    IF v_post IS NULL THEN
        v_problems := v_problems || jsonb_build_object('code', 'PERIOD_CLOSED', 'category', 'config',
            'message', format('refund date %s is in a closed period%s (policy: hold)', v_date,
                logic.books_period__closed_reason(p_tenant_id, v_date)),
            'detail', logic.books_period__closed_detail(p_tenant_id, v_date));
    ELSE
        v_date := v_post;
    END IF;
    v_deps := ARRAY[(v_main.body -> 'CustomerRef' ->> 'document_id')::bigint, v_main.document_id];

    FOR v_r IN
        SELECT rl.*, ol.sku, ol.title, ol.unit_price, ol.line_kind,
            (SELECT t.title FROM orders.tax_lines AS t WHERE t.tenant_id = rl.tenant_id AND t.channel_id = rl.channel_id
               AND t.order_id = v_rf.order_id AND t.line_id = rl.line_id AND t.amount > 0
             ORDER BY t.tax_line_id LIMIT 1) AS tax_title,
            (SELECT t.rate FROM orders.tax_lines AS t WHERE t.tenant_id = rl.tenant_id AND t.channel_id = rl.channel_id
               AND t.order_id = v_rf.order_id AND t.line_id = rl.line_id AND t.amount > 0
             ORDER BY t.tax_line_id LIMIT 1) AS tax_rate
        FROM orders.refund_lines AS rl
        LEFT JOIN orders.order_lines AS ol ON ol.tenant_id = rl.tenant_id AND ol.channel_id = rl.channel_id
            AND ol.order_id = v_rf.order_id AND ol.line_id = rl.line_id
        WHERE rl.tenant_id = p_tenant_id AND rl.channel_id = p_channel_id AND rl.refund_id = p_refund_id
          AND rl.subtotal > 0
        ORDER BY length(rl.refund_line_id), rl.refund_line_id
    LOOP
        v_item := CASE WHEN v_r.line_kind = 'gift_card'
            THEN jsonb_build_object('ref', jsonb_build_object('value', v_s.gift_card_item_id))
            ELSE logic.item__resolve(p_tenant_id, v_r.sku, coalesce(v_r.title, 'Refund')) END;
        IF v_item ? 'error' THEN
            v_problems := v_problems || jsonb_build_object('code', v_item ->> 'error', 'category', 'mapping',
                'message', format('refunded line %s (SKU %s) has no QuickBooks item: %s', v_r.line_id,
                    coalesce(v_r.sku, '-'), v_item ->> 'reason'),
                'detail', jsonb_build_object('line_id', v_r.line_id, 'sku', v_r.sku, 'reason', v_item ->> 'reason'));
        END IF;
        IF v_item ? 'depends_on' THEN
            v_deps := v_deps || (v_item ->> 'depends_on')::bigint;
        END IF;
        -- Partial refund by line: qty × original price when it reproduces the refunded subtotal,
        -- else (discounted line) the subtotal as an amount-only line.
        IF v_r.quantity > 0 AND round(v_r.quantity * v_r.unit_price, 2) = v_r.subtotal THEN
            v_lines := v_lines || jsonb_build_object('DetailType', 'SalesItemLineDetail', 'Amount', v_r.subtotal,
                'Description', 'Refund: ' || coalesce(v_r.title, v_r.line_id),
                'SalesItemLineDetail', jsonb_strip_nulls(jsonb_build_object('ItemRef', v_item -> 'ref',
                    'Qty', trim_scale(v_r.quantity), 'UnitPrice', trim_scale(v_r.unit_price),
                    'TaxCodeRef', jsonb_build_object('value', logic.tax_code__for(p_tenant_id, v_s.tax_model,
                        v_r.tax_title, v_r.tax_rate, v_r.total_tax > 0)))));
        ELSE
            v_lines := v_lines || jsonb_build_object('DetailType', 'SalesItemLineDetail', 'Amount', v_r.subtotal,
                'Description', format('Refund: %s × %s', trim_scale(v_r.quantity), coalesce(v_r.title, v_r.line_id)),
                'SalesItemLineDetail', jsonb_strip_nulls(jsonb_build_object('ItemRef', v_item -> 'ref',
                    'TaxCodeRef', jsonb_build_object('value', logic.tax_code__for(p_tenant_id, v_s.tax_model,
                        v_r.tax_title, v_r.tax_rate, v_r.total_tax > 0)))));
        END IF;
        v_sub := v_sub + v_r.subtotal;
        v_tax := v_tax + v_r.total_tax;
        v_dlines := v_dlines || jsonb_build_object('kind', 'refund', 'description', coalesce(v_r.title, v_r.line_id),
            'sku', v_r.sku, 'qty', v_r.quantity, 'amount', v_r.subtotal, 'source_amount', v_r.subtotal,
            'account_role', 'income', 'tax_key', v_r.tax_title,
            'rounding_note', CASE WHEN round(v_r.quantity * v_r.unit_price, 2) <> v_r.subtotal
                THEN format('refunded subtotal %s differs from qty × price %s (discounts); sent amount-only',
                    v_r.subtotal, round(v_r.quantity * v_r.unit_price, 2)) END);
    END LOOP;

    -- Order adjustments: shipping refunds are shipping lines; other kinds may explain a difference.
    FOR v_r IN SELECT a.* FROM orders.order_adjustments AS a
        WHERE a.tenant_id = p_tenant_id AND a.channel_id = p_channel_id AND a.refund_id = p_refund_id
        ORDER BY a.adjustment_id LOOP
        IF v_r.kind = 'shipping_refund' THEN
            v_amount := abs(v_r.amount);
            IF v_amount > 0 THEN
                v_lines := v_lines || jsonb_build_object('DetailType', 'SalesItemLineDetail', 'Amount', v_amount,
                    'Description', 'Shipping refund',
                    'SalesItemLineDetail', jsonb_build_object('ItemRef', jsonb_build_object('value', v_s.shipping_item_id),
                        'TaxCodeRef', jsonb_build_object('value', logic.tax_code__for(p_tenant_id, v_s.tax_model,
                            NULL, NULL, FALSE))));
                v_adjust := v_adjust + v_amount;
                v_dlines := v_dlines || jsonb_build_object('kind', 'shipping', 'description', 'Shipping refund',
                    'amount', v_amount, 'source_amount', v_r.amount, 'account_role', 'shipping_income');
            END IF;
            v_tax := v_tax + abs(v_r.tax_amount);
        ELSE
            v_has_other := TRUE;
            v_other_adjust := v_other_adjust + v_r.amount;
        END IF;
    END LOOP;

    IF v_sub = 0 AND v_adjust = 0 AND NOT v_has_other THEN
        -- Refund by amount only (no lines): one line on the default item, no tax.
        v_item := logic.item__resolve(p_tenant_id, NULL, 'Refund');
        IF v_item ? 'error' THEN
            v_problems := v_problems || jsonb_build_object('code', 'ITEM_UNMAPPED', 'category', 'mapping',
                'message', 'amount-only refund has no QuickBooks item: ' || (v_item ->> 'reason'),
                'detail', jsonb_build_object('reason', v_item ->> 'reason'));
        END IF;
        v_lines := v_lines || jsonb_build_object('DetailType', 'SalesItemLineDetail', 'Amount', v_rf.amount,
            'Description', 'Refund' || coalesce(': ' || v_rf.reason, ''),
            'SalesItemLineDetail', jsonb_strip_nulls(jsonb_build_object('ItemRef', v_item -> 'ref',
                'TaxCodeRef', jsonb_build_object('value', v_exempt))));
        v_sub := v_rf.amount;
        v_dlines := v_dlines || jsonb_build_object('kind', 'refund', 'description', 'Refund (amount only)',
            'amount', v_rf.amount, 'source_amount', v_rf.amount, 'account_role', 'income');
    END IF;

    v_diff := v_rf.amount - (v_sub + v_adjust + v_tax);
    IF v_diff <> 0 AND v_has_other AND abs(v_other_adjust) = abs(v_diff) THEN
        -- A platform order adjustment (e.g. refund_discrepancy) states this difference: carry it
        -- as its own line, named after the source fact (not a plug).
        v_lines := v_lines || jsonb_build_object('DetailType', 'SalesItemLineDetail', 'Amount', v_diff,
            'Description', 'Refund adjustment (platform order adjustment)',
            'SalesItemLineDetail', jsonb_strip_nulls(jsonb_build_object(
                'ItemRef', jsonb_build_object('value', v_s.default_item_id),
                'TaxCodeRef', jsonb_build_object('value', v_exempt))));
        v_adjust := v_adjust + v_diff;
        v_dlines := v_dlines || jsonb_build_object('kind', 'adjustment', 'description', 'Refund order adjustment',
            'amount', v_diff, 'source_amount', v_other_adjust, 'account_role', 'refunds');
        v_diff := 0;
    END IF;
    IF v_tax > 0 THEN
        v_dlines := v_dlines || jsonb_build_object('kind', 'tax', 'description', 'Refunded tax', 'amount', v_tax,
            'source_amount', v_tax, 'account_role', 'sales_tax_payable');
    END IF;
    v_total := v_sub + v_adjust + v_tax;
    IF v_diff <> 0 THEN
        v_problems := v_problems || jsonb_build_object('code', 'REFUND_TOTALS_MISMATCH', 'category', 'source_data',
            'message', format('refund %s: lines + shipping + tax = %s but %s %s was refunded (difference %s)',
                v_src, v_total, v_rf.amount, v_rf.currency, -v_diff),
            'detail', jsonb_build_object('document_total', v_total, 'source_total', v_rf.amount, 'difference', -v_diff),
            'diff', jsonb_build_object('TotalAmt', jsonb_build_object('ours', v_total, 'source', v_rf.amount)));
    END IF;

    SELECT t.gateway INTO v_gateway FROM orders.transactions AS t
    WHERE t.tenant_id = p_tenant_id AND t.channel_id = p_channel_id
      AND (t.transaction_id = v_rf.transaction_id OR (t.order_id = v_rf.order_id AND t.kind IN ('capture', 'sale')))
    ORDER BY (t.transaction_id = v_rf.transaction_id) DESC LIMIT 1;
    v_body := jsonb_build_object(
        'CustomerRef', v_main.body -> 'CustomerRef',
        'TxnDate', v_date,
        'CurrencyRef', jsonb_build_object('value', v_rf.currency),
        'PrivateNote', format('pgbooks refund %s of order %s:%s', v_src, p_channel_id, v_rf.order_id),
        'Line', v_lines,
        'TxnTaxDetail', jsonb_strip_nulls(jsonb_build_object('TotalTax', v_tax,
            'TxnTaxCodeRef', CASE WHEN v_s.tax_model = 'us_automated' AND v_tax > 0 AND v_s.us_tax_code_id IS NOT NULL
                THEN jsonb_build_object('value', v_s.us_tax_code_id) END))
    );
    IF v_main.body ? 'ExchangeRate' THEN
        v_body := v_body || jsonb_build_object('ExchangeRate', v_main.body -> 'ExchangeRate');
    END IF;
    IF v_s.tax_model = 'per_line_codes' THEN
        v_body := v_body || jsonb_build_object('GlobalTaxCalculation', 'TaxExcluded');
    END IF;
    IF v_doc_type = 'refund_receipt' THEN
        v_body := v_body || jsonb_build_object('DepositToAccountRef', jsonb_build_object('value', coalesce(
            logic.account__for_role(p_tenant_id, 'clearing', v_gateway, v_rf.currency),
            logic.account__for_role(p_tenant_id, 'undeposited_funds'))));
    END IF;
    IF v_s.custom_txn_numbers THEN
        v_body := v_body || jsonb_build_object('DocNumber', left('R' || p_refund_id, 21));
    END IF;
    v_id := logic.document__put(
        p_tenant_id, v_doc_type, 'refund', v_src, 'main', v_body, v_total, v_rf.currency, v_post, v_deps,
        CASE WHEN jsonb_array_length(v_problems) > 0 THEN 'blocked' ELSE 'ready' END, 'upsert', v_dlines
    );
    FOR v_p IN SELECT p.value FROM jsonb_array_elements(v_problems) AS p (value) LOOP
        PERFORM logic.books_exception__raise(p_tenant_id, 'refund', v_src, v_id, v_p ->> 'code', v_p ->> 'category',
            v_p ->> 'message', v_p -> 'detail', v_p -> 'diff');
    END LOOP;
    PERFORM logic.books_exceptions__resolve_fixed(p_tenant_id, 'refund', v_src,
        ARRAY(SELECT p.value ->> 'code' FROM jsonb_array_elements(v_problems) AS p (value)));
    IF v_doc_type = 'credit_memo' THEN
        RETURN ARRAY[v_id] || logic.refund__credit_money(p_tenant_id, p_channel_id, p_refund_id, v_id);
    END IF;
    RETURN ARRAY[v_id];
END;
$$;

COMMENT ON FUNCTION logic.refund__derive(text, text, text) IS
'Derives the RefundReceipt (for a SalesReceipt) or CreditMemo (for an Invoice) of one refund; blocked with '
'REFUND_TOTALS_MISMATCH when its lines cannot reproduce the refunded amount.';
