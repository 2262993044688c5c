-- Payouts. per_order mode: a Deposit into the bank from the clearing account (charges, minus
-- refunds), with the processor fees and adjustments as their own lines, netting to the amount
-- the bank received. per_payout mode: one balanced JournalEntry per payout summarising the
-- orders it settles (sales, discounts, shipping, tax, refunds, fees, adjustments, bank).
-- A payout whose parts do not net to its amount is blocked with an exception, never plugged.

CREATE FUNCTION logic.payout__derive(p_tenant_id text, p_channel_id text, p_payout_id text)
RETURNS bigint[]
LANGUAGE plpgsql
AS $$
DECLARE
    v_s books.tenant_settings := logic.tenant_settings__ensure(p_tenant_id);
    v_po orders.payouts;
    v_src text := p_channel_id || ':' || p_payout_id;
    v_old books.documents;
    v_proc text;
    v_charges numeric;
    v_refunds numeric;
    v_fees numeric;
    v_adjust numeric;
    v_items numeric := 0;
    v_ship numeric := 0;
    v_disc numeric := 0;
    v_tax numeric := 0;
    v_gift numeric := 0;
    v_redeemed numeric := 0;
    v_lines jsonb := '[]';
    v_dlines jsonb := '[]';
    v_problems jsonb := '[]';
    v_net numeric;
    v_debits numeric;
    v_credits numeric;
    v_acct text;
    v_body jsonb;
    v_id bigint;
    v_p jsonb;
    v_home text;
    v_rate numeric;
    v_r record;
    v_pdate date;
    v_post date;
BEGIN
    SELECT * INTO v_po FROM orders.payouts
    WHERE tenant_id = p_tenant_id AND channel_id = p_channel_id AND payout_id = p_payout_id;
    IF NOT found THEN
        RETURN '{}';
    END IF;
    v_old := logic.document__find(p_tenant_id, 'payout', v_src);
    IF v_po.status <> 'paid' THEN
        IF v_old.document_id IS NOT NULL AND v_po.status IN ('failed', 'canceled') THEN
            -- The money never arrived: remove the deposit / summary that was posted.
            v_id := logic.document__put(p_tenant_id, v_old.doc_type, 'payout', v_src, 'main', v_old.body,
                v_old.total_amount, v_old.currency, v_old.txn_date, v_old.depends_on, v_old.status, 'delete');
            RETURN ARRAY[v_id];
        END IF;
        RETURN '{}';
    END IF;
    IF NOT logic.test_orders__booked(p_tenant_id) AND EXISTS (
        SELECT FROM orders.balance_transactions AS b
        JOIN orders.orders AS o ON o.tenant_id = b.tenant_id AND o.channel_id = b.channel_id
            AND o.order_id = coalesce(b.source_order_id, b.source_id)
        WHERE b.tenant_id = p_tenant_id AND b.channel_id = p_channel_id AND b.payout_id = p_payout_id AND o.is_test
    ) THEN
        RETURN '{}';  -- settles test-mode orders: a test payout, booked only where test orders are
    END IF;
    v_home := coalesce(v_s.home_currency, (SELECT t.home_currency FROM orders.tenants AS t
                                           WHERE t.tenant_id = p_tenant_id));
    v_pdate := coalesce(v_po.arrival_date, v_po.payout_date);
    v_post := logic.document__posting_date(p_tenant_id, v_pdate, v_old.txn_date);
    IF v_post IS NULL THEN
        v_problems := v_problems || jsonb_build_object('code', 'PERIOD_CLOSED', 'category', 'config',
            'message', format('payout %s arrived %s, in a closed period%s (policy: hold)', v_src, v_pdate,
                logic.books_period__closed_reason(p_tenant_id, v_pdate)),
            'detail', logic.books_period__closed_detail(p_tenant_id, v_pdate));
    END IF;
    SELECT coalesce(
        (SELECT t.gateway FROM orders.balance_transactions AS b
         JOIN orders.transactions AS t ON t.tenant_id = b.tenant_id AND t.channel_id = b.channel_id
             AND t.order_id = coalesce(b.source_order_id, b.source_id)
             AND t.kind IN ('capture', 'sale') AND t.gateway IS NOT NULL
         WHERE b.tenant_id = p_tenant_id AND b.channel_id = p_channel_id AND b.payout_id = p_payout_id LIMIT 1),
        (SELECT c.platform FROM orders.channels AS c WHERE c.tenant_id = p_tenant_id AND c.channel_id = p_channel_id)
    ) INTO v_proc;
    SELECT coalesce(sum(b.amount) FILTER (WHERE b.type = 'charge'), 0),
        coalesce(sum(b.amount) FILTER (WHERE b.type = 'refund'), 0),
        coalesce(sum(b.fee), 0),
        coalesce(sum(b.amount) FILTER (WHERE b.type NOT IN ('charge', 'refund', 'fee', 'payout')), 0)
    INTO v_charges, v_refunds, v_fees, v_adjust
    FROM orders.balance_transactions AS b
    WHERE b.tenant_id = p_tenant_id AND b.channel_id = p_channel_id AND b.payout_id = p_payout_id
      AND b.type <> 'payout';
    -- A balance transaction of type fee carries its cost in amount (negative) or in fee.
    SELECT v_fees - coalesce(sum(b.amount), 0) INTO v_fees FROM orders.balance_transactions AS b
    WHERE b.tenant_id = p_tenant_id AND b.channel_id = p_channel_id AND b.payout_id = p_payout_id AND b.type = 'fee';
    v_net := v_charges + v_refunds - v_fees + v_adjust;
    IF v_net <> v_po.amount THEN
        v_problems := v_problems || jsonb_build_object('code', 'PAYOUT_MISMATCH', 'category', 'source_data',
            'message', format('payout %s: charges %s + refunds %s - fees %s + adjustments %s = %s, but %s %s was paid out',
                v_src, v_charges, v_refunds, v_fees, v_adjust, v_net, v_po.amount, v_po.currency),
            'detail', jsonb_build_object('charges', v_charges, 'refunds', v_refunds, 'fees', v_fees,
                'adjustments', v_adjust, 'net', v_net, 'payout_amount', v_po.amount, 'difference', v_net - v_po.amount),
            'diff', jsonb_build_object('TotalAmt', jsonb_build_object('ours', v_net, 'source', v_po.amount)));
    END IF;
    IF v_po.currency IS DISTINCT FROM v_home THEN
        v_rate := logic.exchange_rate__for(p_tenant_id, v_po.currency, coalesce(v_po.payout_date, current_date));
        IF NOT v_s.multicurrency_enabled OR v_rate IS NULL THEN
            v_problems := v_problems || jsonb_build_object('code', CASE WHEN v_rate IS NULL THEN 'EXCHANGE_RATE_MISSING'
                    ELSE 'MULTICURRENCY_DISABLED' END, 'category', 'config',
                'message', format('payout in %s needs multicurrency and a rate in books.exchange_rates', v_po.currency),
                'detail', jsonb_build_object('currency', v_po.currency));
        END IF;
    END IF;
    FOREACH v_acct IN ARRAY ARRAY['bank', 'clearing', 'processor_fees'] LOOP
        IF logic.account__for_role(p_tenant_id, v_acct, v_proc, v_po.currency) IS NULL THEN
            v_problems := v_problems || jsonb_build_object('code', 'ACCOUNT_UNMAPPED', 'category', 'config',
                'message', format('no QuickBooks account for role %s (processor %s, %s)', v_acct, v_proc, v_po.currency),
                'detail', jsonb_build_object('role', v_acct, 'processor', v_proc, 'currency', v_po.currency));
        END IF;
    END LOOP;
    v_acct := coalesce(logic.account__for_role(p_tenant_id, 'adjustments', v_proc, v_po.currency),
        logic.account__for_role(p_tenant_id, 'uncategorized_expense'));

    IF v_s.posting_mode = 'per_order' THEN
        SELECT coalesce(jsonb_agg(x.line ORDER BY x.ord), '[]'), coalesce(jsonb_agg(x.dline ORDER BY x.ord), '[]')
        INTO v_lines, v_dlines
        FROM (VALUES
            (1, v_charges, 'clearing', 'Charges settled'),
            (2, v_refunds, 'clearing', 'Refunds'),
            (3, -v_fees, 'processor_fees', 'Processor fees'),
            (4, v_adjust, 'adjustments', 'Adjustments, disputes and reserves')
        ) AS v (ord, amount, role, label)
        CROSS JOIN LATERAL (SELECT
            jsonb_build_object('DetailType', 'DepositLineDetail', 'Amount', v.amount, 'Description', v.label,
                'DepositLineDetail', jsonb_build_object('AccountRef', jsonb_build_object('value',
                    CASE WHEN v.role = 'adjustments' THEN v_acct
                        ELSE logic.account__for_role(p_tenant_id, v.role, v_proc, v_po.currency) END))) AS line,
            jsonb_build_object('kind', CASE v.ord WHEN 1 THEN 'charge' WHEN 2 THEN 'refund' WHEN 3 THEN 'fee'
                ELSE 'adjustment' END, 'description', v.label, 'amount', v.amount, 'source_amount', v.amount,
                'account_role', v.role) AS dline,
            v.ord
        ) AS x
        WHERE v.amount <> 0;
        v_body := jsonb_build_object(
            'TxnDate', coalesce(v_post, v_pdate),
            'DepositToAccountRef', jsonb_build_object('value', logic.account__for_role(p_tenant_id, 'bank', v_proc,
                v_po.currency)),
            'CurrencyRef', jsonb_build_object('value', v_po.currency),
            'PrivateNote', format('pgbooks payout %s %s', v_src, coalesce(v_po.bank_reference, '')),
            'Line', v_lines
        );
        IF v_rate IS NOT NULL THEN
            v_body := v_body || jsonb_build_object('ExchangeRate', v_rate);
        END IF;
        v_id := logic.document__put(p_tenant_id, 'deposit', 'payout', v_src, 'main', v_body, v_net, v_po.currency,
            v_post, '{}',
            CASE WHEN jsonb_array_length(v_problems) > 0 THEN 'blocked' ELSE 'ready' END, 'upsert', v_dlines);
    ELSE
        -- Summary of the orders this payout settles (their charge balance transactions; Stripe
        -- names the charge, which is the order, in source_id).
        FOR v_r IN SELECT DISTINCT o.order_id FROM orders.balance_transactions AS b
            JOIN orders.orders AS o ON o.tenant_id = b.tenant_id AND o.channel_id = b.channel_id
                AND o.order_id = coalesce(b.source_order_id, b.source_id)
            WHERE b.tenant_id = p_tenant_id AND b.channel_id = p_channel_id AND b.payout_id = p_payout_id
              AND b.type = 'charge' LOOP
            SELECT v_items + coalesce(sum(round(l.quantity * l.unit_price, 2)) FILTER (WHERE l.line_kind <> 'gift_card'), 0),
                v_gift + coalesce(sum(round(l.quantity * l.unit_price, 2)) FILTER (WHERE l.line_kind = 'gift_card'), 0)
            INTO v_items, v_gift
            FROM orders.order_lines AS l
            WHERE l.tenant_id = p_tenant_id AND l.channel_id = p_channel_id AND l.order_id = v_r.order_id;
            SELECT v_ship + coalesce(sum(s.price), 0) INTO v_ship FROM orders.shipping_lines AS s
            WHERE s.tenant_id = p_tenant_id AND s.channel_id = p_channel_id AND s.order_id = v_r.order_id;
            SELECT v_disc + coalesce(sum(a.amount), 0) INTO v_disc FROM orders.discount_allocations AS a
            WHERE a.tenant_id = p_tenant_id AND a.channel_id = p_channel_id AND a.order_id = v_r.order_id;
            SELECT v_tax + coalesce(sum(t.amount), 0) INTO v_tax FROM orders.tax_lines AS t
            WHERE t.tenant_id = p_tenant_id AND t.channel_id = p_channel_id AND t.order_id = v_r.order_id;
            -- Gift cards used as tender pay part of the order outside the processor: they reduce
            -- the gift-card liability (a debit), they are not revenue and not in the charge.
            SELECT v_redeemed + coalesce(sum(t.amount), 0) INTO v_redeemed FROM orders.transactions AS t
            WHERE t.tenant_id = p_tenant_id AND t.channel_id = p_channel_id AND t.order_id = v_r.order_id
              AND t.kind IN ('capture', 'sale') AND t.status = 'success' AND t.gateway ILIKE '%gift%card%';
        END LOOP;
        SELECT coalesce(jsonb_agg(x.line ORDER BY x.ord), '[]'), coalesce(jsonb_agg(x.dline ORDER BY x.ord), '[]')
        INTO v_lines, v_dlines
        FROM (VALUES
            (1, v_items, 'Credit', 'income', 'Sales', 'summary'),
            (2, v_gift, 'Credit', 'gift_card_liability', 'Gift cards sold', 'gift_card'),
            (3, v_ship, 'Credit', 'shipping_income', 'Shipping', 'shipping'),
            (4, v_tax, 'Credit', 'sales_tax_payable', 'Sales tax', 'tax'),
            (5, v_disc, 'Debit', 'discounts', 'Discounts', 'discount'),
            (6, v_redeemed, 'Debit', 'gift_card_liability', 'Gift cards redeemed', 'tender'),
            (7, -v_refunds, 'Debit', 'refunds', 'Refunds', 'refund'),
            (8, v_fees, 'Debit', 'processor_fees', 'Processor fees', 'fee'),
            (9, abs(v_adjust), CASE WHEN v_adjust < 0 THEN 'Debit' ELSE 'Credit' END, 'adjustments',
                'Adjustments, disputes and reserves', 'adjustment'),
            (10, v_po.amount, 'Debit', 'bank', 'Payout to bank', 'deposit')
        ) AS v (ord, amount, posting, role, label, kind)
        CROSS JOIN LATERAL (SELECT
            CASE v.role
                WHEN 'adjustments' THEN v_acct
                WHEN 'refunds' THEN coalesce(logic.account__for_role(p_tenant_id, 'refunds'),
                    logic.account__for_role(p_tenant_id, 'discounts'))
                ELSE logic.account__for_role(p_tenant_id, v.role, v_proc, v_po.currency)
            END AS account_id
        ) AS a
        CROSS JOIN LATERAL (SELECT
            jsonb_build_object('DetailType', 'JournalEntryLineDetail', 'Amount', v.amount, 'Description', v.label,
                'JournalEntryLineDetail', jsonb_build_object('PostingType', v.posting,
                    'AccountRef', jsonb_build_object('value', a.account_id))) AS line,
            jsonb_build_object('kind', v.kind, 'description', v.label,
                'amount', CASE v.posting WHEN 'Debit' THEN v.amount ELSE -v.amount END,
                'source_amount', v.amount, 'account_role', v.role) AS dline,
            v.ord
        ) AS x
        WHERE v.amount <> 0;
        SELECT coalesce(sum((l.value ->> 'Amount')::numeric) FILTER (
                WHERE l.value #>> '{JournalEntryLineDetail,PostingType}' = 'Debit'), 0),
            coalesce(sum((l.value ->> 'Amount')::numeric) FILTER (
                WHERE l.value #>> '{JournalEntryLineDetail,PostingType}' = 'Credit'), 0)
        INTO v_debits, v_credits
        FROM jsonb_array_elements(v_lines) AS l (value);
        IF v_debits <> v_credits THEN
            v_problems := v_problems || jsonb_build_object('code', 'PAYOUT_SUMMARY_UNBALANCED', 'category', 'source_data',
                'message', format('payout %s summary: debits %s <> credits %s (orders settled do not match the charges)',
                    v_src, v_debits, v_credits),
                'detail', jsonb_build_object('debits', v_debits, 'credits', v_credits, 'difference', v_debits - v_credits,
                    'charges', v_charges, 'orders_total', v_items + v_gift + v_ship + v_tax - v_disc,
                    'gift_cards_redeemed', v_redeemed),
                'diff', jsonb_build_object('Debits', v_debits, 'Credits', v_credits));
        END IF;
        IF EXISTS (SELECT FROM jsonb_array_elements(v_lines) AS l (value)
                   WHERE l.value #>> '{JournalEntryLineDetail,AccountRef,value}' IS NULL) THEN
            v_problems := v_problems || jsonb_build_object('code', 'ACCOUNT_UNMAPPED', 'category', 'config',
                'message', format('payout %s summary: a line has no QuickBooks account (see books.account_map)', v_src),
                'detail', jsonb_build_object('lines', v_dlines));
        END IF;
        v_body := jsonb_build_object(
            'TxnDate', coalesce(v_post, v_pdate),
            'CurrencyRef', jsonb_build_object('value', v_po.currency),
            'PrivateNote', format('pgbooks payout summary %s %s', v_src, coalesce(v_po.bank_reference, '')),
            'Line', v_lines
        );
        IF v_rate IS NOT NULL THEN
            v_body := v_body || jsonb_build_object('ExchangeRate', v_rate);
        END IF;
        IF v_s.custom_txn_numbers THEN
            v_body := v_body || jsonb_build_object('DocNumber', left('P' || p_payout_id, 21));
        END IF;
        v_id := logic.document__put(p_tenant_id, 'journal_entry', 'payout', v_src, 'main', v_body, v_debits,
            v_po.currency, v_post, '{}',
            CASE WHEN jsonb_array_length(v_problems) > 0 THEN 'blocked' ELSE 'ready' END, 'upsert', v_dlines);
    END IF;
    FOR v_p IN SELECT p.value FROM jsonb_array_elements(v_problems) AS p (value) LOOP
        PERFORM logic.books_exception__raise(p_tenant_id, 'payout', v_src, v_id, v_p ->> 'code', v_p ->> 'category',
            v_p ->> 'message', v_p -> 'detail', v_p -> 'diff');
    END LOOP;
    PERFORM logic.books_exceptions__resolve_fixed(p_tenant_id, 'payout', v_src,
        ARRAY(SELECT p.value ->> 'code' FROM jsonb_array_elements(v_problems) AS p (value)));
    RETURN ARRAY[v_id];
END;
$$;

COMMENT ON FUNCTION logic.payout__derive(text, text, text) IS
'Derives the Deposit (per_order mode) or summary JournalEntry (per_payout mode) of a paid payout; '
'PAYOUT_MISMATCH / PAYOUT_SUMMARY_UNBALANCED block it when its parts do not net to the amount paid.';
