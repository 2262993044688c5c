-- Shopify normalizer: Admin REST / webhook payloads (orders, refunds, transactions, Shopify
-- Payments payouts and balance transactions) into orders.*. Called by INGEST as
-- logic.shopify__normalize(tenant, channel, topic, payload); payloads may also be wrapped as
-- the REST API returns them ({"order": {...}}). Convergence: an order is written only when its
-- updated_at is later than the stored one (a stale or repeated delivery changes nothing);
-- children (lines, discounts, shipping, taxes) are replaced with the header.

CREATE FUNCTION logic.shopify__status(p_value text, p_allowed text[])
RETURNS text
LANGUAGE sql
IMMUTABLE
AS $$
    SELECT CASE WHEN p_value = ANY(p_allowed) THEN p_value END;
$$;

COMMENT ON FUNCTION logic.shopify__status(text, text[]) IS
'The value when it is one of the allowed statuses, else NULL (informative platform statuses only).';

CREATE FUNCTION logic.shopify__transaction_upsert(
    p_tenant_id text, p_channel_id text, p_txn jsonb, p_currency text
)
RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
    v_id text := logic.payload__text(p_txn -> 'id', 'transaction.id', true);
    v_kind text := logic.payload__text(p_txn -> 'kind', 'transaction.kind', true);
    v_status text := coalesce(logic.payload__text(p_txn -> 'status', 'transaction.status'), 'success');
BEGIN
    IF v_kind NOT IN ('authorization', 'capture', 'sale', 'void', 'refund') THEN
        PERFORM logic.payload__fail('transaction.kind', 'expected authorization, capture, sale, void or refund', p_txn -> 'kind');
    END IF;
    IF v_status NOT IN ('pending', 'success', 'failure', 'error') THEN
        PERFORM logic.payload__fail('transaction.status', 'expected pending, success, failure or error', p_txn -> 'status');
    END IF;
    -- Status only moves forward: a late "pending" never overwrites a final outcome.
    INSERT INTO orders.transactions AS t (
        tenant_id, channel_id, transaction_id, order_id, parent_transaction_id, kind, status, amount, currency,
        gateway, processed_at, error_code
    ) VALUES (
        p_tenant_id, p_channel_id, v_id,
        logic.payload__text(p_txn -> 'order_id', 'transaction.order_id'),
        logic.payload__text(p_txn -> 'parent_id', 'transaction.parent_id'),
        v_kind, v_status,
        logic.payload__amount(p_txn -> 'amount', 'transaction.amount', true),
        logic.payload__currency(p_txn -> 'currency', 'transaction.currency', p_currency),
        logic.payload__text(p_txn -> 'gateway', 'transaction.gateway'),
        coalesce(
            logic.payload__timestamp(p_txn -> 'processed_at', 'transaction.processed_at'),
            logic.payload__timestamp(p_txn -> 'created_at', 'transaction.created_at')
        ),
        logic.payload__text(p_txn -> 'error_code', 'transaction.error_code')
    )
    ON CONFLICT (tenant_id, channel_id, transaction_id) DO UPDATE SET
        status = excluded.status,
        amount = excluded.amount,
        error_code = excluded.error_code,
        processed_at = excluded.processed_at,
        recorded_at = now()
    WHERE t.status = 'pending' AND excluded.status <> 'pending';
    RETURN 'transaction:' || v_id;
END;
$$;

COMMENT ON FUNCTION logic.shopify__transaction_upsert(text, text, jsonb, text) IS
'Writes one Shopify order transaction; a final status (success/failure/error) is never overwritten.';

CREATE FUNCTION logic.shopify__refund_upsert(p_tenant_id text, p_channel_id text, p_refund jsonb, p_currency text)
RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
    v_id text := logic.payload__text(p_refund -> 'id', 'refund.id', true);
    v_txns jsonb := logic.payload__array(p_refund -> 'transactions', 'refund.transactions');
    v_lines jsonb := logic.payload__array(p_refund -> 'refund_line_items', 'refund.refund_line_items');
    v_adjustments jsonb := logic.payload__array(p_refund -> 'order_adjustments', 'refund.order_adjustments');
    v_currency text;
    v_amount numeric := 0;
    v_item jsonb;
    v_n integer;
BEGIN
    v_currency := logic.payload__currency(v_txns -> 0 -> 'currency', 'refund.transactions[0].currency', p_currency);
    IF jsonb_array_length(v_txns) > 0 THEN
        -- Money returned = the successful refund transactions (what the gateway moved).
        FOR v_item IN SELECT t.value FROM jsonb_array_elements(v_txns) AS t (value) LOOP
            PERFORM logic.shopify__transaction_upsert(
                p_tenant_id, p_channel_id,
                v_item || jsonb_build_object('order_id', coalesce(v_item -> 'order_id', p_refund -> 'order_id')),
                v_currency
            );
            IF coalesce(v_item ->> 'kind', 'refund') = 'refund' AND coalesce(v_item ->> 'status', 'success') = 'success' THEN
                v_amount := v_amount + logic.payload__amount(v_item -> 'amount', 'refund.transactions[].amount', true);
            END IF;
        END LOOP;
    ELSE
        -- No transactions listed: the refund is what its lines and adjustments state.
        FOR v_item IN SELECT t.value FROM jsonb_array_elements(v_lines) AS t (value) LOOP
            v_amount := v_amount
                + coalesce(logic.payload__amount(v_item -> 'subtotal', 'refund.refund_line_items[].subtotal'), 0)
                + coalesce(logic.payload__amount(v_item -> 'total_tax', 'refund.refund_line_items[].total_tax'), 0);
        END LOOP;
        FOR v_item IN SELECT t.value FROM jsonb_array_elements(v_adjustments) AS t (value) LOOP
            v_amount := v_amount - coalesce(logic.payload__amount(v_item -> 'amount', 'refund.order_adjustments[].amount'), 0);
        END LOOP;
        v_amount := greatest(v_amount, 0);
    END IF;

    INSERT INTO orders.refunds AS r (
        tenant_id, channel_id, refund_id, order_id, transaction_id, amount, currency, reason, restock, processed_at
    ) VALUES (
        p_tenant_id, p_channel_id, v_id,
        logic.payload__text(p_refund -> 'order_id', 'refund.order_id'),
        logic.payload__text(v_txns -> 0 -> 'parent_id', 'refund.transactions[0].parent_id'),
        v_amount, v_currency,
        logic.payload__text(p_refund -> 'note', 'refund.note'),
        logic.payload__bool(p_refund -> 'restock', 'restock', false),
        coalesce(
            logic.payload__timestamp(p_refund -> 'processed_at', 'refund.processed_at'),
            logic.payload__timestamp(p_refund -> 'created_at', 'refund.created_at')
        )
    )
    ON CONFLICT (tenant_id, channel_id, refund_id) DO UPDATE SET
        order_id = excluded.order_id,
        transaction_id = excluded.transaction_id,
        amount = excluded.amount,
        reason = excluded.reason,
        restock = excluded.restock,
        processed_at = excluded.processed_at,
        recorded_at = now()
    WHERE (r.order_id, r.transaction_id, r.amount, r.reason, r.restock, r.processed_at)
        IS DISTINCT FROM (excluded.order_id, excluded.transaction_id, excluded.amount, excluded.reason,
                          excluded.restock, excluded.processed_at);

    DELETE FROM orders.refund_lines WHERE tenant_id = p_tenant_id AND channel_id = p_channel_id AND refund_id = v_id;
    DELETE FROM orders.order_adjustments
    WHERE tenant_id = p_tenant_id AND channel_id = p_channel_id AND refund_id = v_id;
    FOR v_item, v_n IN SELECT t.value, t.n FROM jsonb_array_elements(v_lines) WITH ORDINALITY AS t (value, n) LOOP
        INSERT INTO orders.refund_lines (
            tenant_id, channel_id, refund_id, refund_line_id, line_id, quantity, subtotal, total_tax
        ) VALUES (
            p_tenant_id, p_channel_id, v_id,
            coalesce(logic.payload__text(v_item -> 'id', 'refund.refund_line_items[].id'), v_n::text),
            logic.payload__text(v_item -> 'line_item_id', 'refund.refund_line_items[].line_item_id'),
            logic.payload__quantity(v_item -> 'quantity', 'refund.refund_line_items[].quantity'),
            abs(coalesce(logic.payload__amount(v_item -> 'subtotal', 'refund.refund_line_items[].subtotal'), 0)),
            abs(coalesce(logic.payload__amount(v_item -> 'total_tax', 'refund.refund_line_items[].total_tax'), 0))
        );
    END LOOP;
    FOR v_item, v_n IN SELECT t.value, t.n FROM jsonb_array_elements(v_adjustments) WITH ORDINALITY AS t (value, n) LOOP
        INSERT INTO orders.order_adjustments (
            tenant_id, channel_id, refund_id, adjustment_id, kind, amount, tax_amount, reason
        ) VALUES (
            p_tenant_id, p_channel_id, v_id,
            coalesce(logic.payload__text(v_item -> 'id', 'refund.order_adjustments[].id'), v_n::text),
            CASE WHEN v_item ->> 'kind' IN ('shipping_refund', 'refund_discrepancy') THEN v_item ->> 'kind' ELSE 'other' END,
            coalesce(logic.payload__amount(v_item -> 'amount', 'refund.order_adjustments[].amount'), 0),
            coalesce(logic.payload__amount(v_item -> 'tax_amount', 'refund.order_adjustments[].tax_amount'), 0),
            logic.payload__text(v_item -> 'reason', 'refund.order_adjustments[].reason')
        );
    END LOOP;
    RETURN 'refund:' || v_id;
END;
$$;

COMMENT ON FUNCTION logic.shopify__refund_upsert(text, text, jsonb, text) IS
'Writes one Shopify refund with its refund lines, order adjustments and refund transactions.';

CREATE FUNCTION logic.shopify__order_upsert(p_tenant_id text, p_channel_id text, p_order jsonb, p_currency text)
RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
    v_id text := logic.payload__text(p_order -> 'id', 'order.id', true);
    v_updated_at timestamptz := logic.payload__timestamp(p_order -> 'updated_at', 'order.updated_at');
    v_currency text := logic.payload__currency(p_order -> 'currency', 'order.currency', p_currency);
    v_lines jsonb := logic.payload__array(p_order -> 'line_items', 'order.line_items');
    v_shipping jsonb := logic.payload__array(p_order -> 'shipping_lines', 'order.shipping_lines');
    v_stored timestamptz;
    v_customer jsonb := p_order -> 'customer';
    v_customer_id text;
    v_item jsonb;
    v_sub jsonb;
    v_line_id text;
    v_n integer;
    v_m integer;
    v_detailed_tax boolean := false;
BEGIN
    SELECT o.platform_updated_at INTO v_stored FROM orders.orders AS o
    WHERE o.tenant_id = p_tenant_id AND o.channel_id = p_channel_id AND o.order_id = v_id;
    IF FOUND AND v_stored IS NOT NULL AND (v_updated_at IS NULL OR v_updated_at <= v_stored) THEN
        RETURN 'order:' || v_id;  -- stale or repeated: the stored version is as new or newer
    END IF;

    IF jsonb_typeof(v_customer) = 'object' AND v_customer ? 'id' THEN
        v_customer_id := logic.payload__text(v_customer -> 'id', 'order.customer.id', true);
        INSERT INTO orders.customers AS c (
            tenant_id, channel_id, customer_id, email, display_name, phone, platform_updated_at
        ) VALUES (
            p_tenant_id, p_channel_id, v_customer_id,
            logic.payload__text(v_customer -> 'email', 'order.customer.email'),
            nullif(concat_ws(' ', v_customer ->> 'first_name', v_customer ->> 'last_name'), ''),
            logic.payload__text(v_customer -> 'phone', 'order.customer.phone'),
            logic.payload__timestamp(v_customer -> 'updated_at', 'order.customer.updated_at')
        )
        ON CONFLICT (tenant_id, channel_id, customer_id) DO UPDATE SET
            email = excluded.email, display_name = excluded.display_name, phone = excluded.phone,
            platform_updated_at = excluded.platform_updated_at, recorded_at = now()
        WHERE c.platform_updated_at IS NULL OR excluded.platform_updated_at > c.platform_updated_at;
    END IF;

    INSERT INTO orders.orders AS o (
        tenant_id, channel_id, order_id, order_number, customer_id, email, currency, presentment_currency,
        presentment_total, taxes_included, financial_status, fulfillment_status, placed_at, cancelled_at,
        cancel_reason, platform_updated_at, stated_subtotal, stated_total_discounts, stated_total_shipping,
        stated_total_tax, stated_total, is_test
    ) VALUES (
        p_tenant_id, p_channel_id, v_id,
        coalesce(logic.payload__text(p_order -> 'name', 'order.name'), logic.payload__text(p_order -> 'order_number', 'order.order_number')),
        v_customer_id,
        logic.payload__text(p_order -> 'email', 'order.email'),
        v_currency,
        CASE WHEN p_order ? 'presentment_currency' THEN logic.payload__currency(p_order -> 'presentment_currency', 'order.presentment_currency') END,
        logic.payload__amount(p_order #> '{total_price_set,presentment_money,amount}', 'order.total_price_set.presentment_money.amount'),
        logic.payload__bool(p_order -> 'taxes_included', 'taxes_included', false),
        logic.shopify__status(
            p_order ->> 'financial_status',
            ARRAY['pending', 'authorized', 'partially_paid', 'paid', 'partially_refunded', 'refunded', 'voided', 'expired']
        ),
        logic.payload__text(p_order -> 'fulfillment_status', 'order.fulfillment_status'),
        coalesce(
            logic.payload__timestamp(p_order -> 'processed_at', 'order.processed_at'),
            logic.payload__timestamp(p_order -> 'created_at', 'order.created_at')
        ),
        logic.payload__timestamp(p_order -> 'cancelled_at', 'order.cancelled_at'),
        logic.payload__text(p_order -> 'cancel_reason', 'order.cancel_reason'),
        v_updated_at,
        logic.payload__amount(p_order -> 'subtotal_price', 'order.subtotal_price'),
        logic.payload__amount(p_order -> 'total_discounts', 'order.total_discounts'),
        logic.payload__amount(p_order #> '{total_shipping_price_set,shop_money,amount}', 'order.total_shipping_price_set.shop_money.amount'),
        logic.payload__amount(p_order -> 'total_tax', 'order.total_tax'),
        logic.payload__amount(p_order -> 'total_price', 'order.total_price', true),
        logic.payload__bool(p_order -> 'test', 'test', false)
    )
    ON CONFLICT (tenant_id, channel_id, order_id) DO UPDATE SET
        order_number = excluded.order_number,
        customer_id = excluded.customer_id,
        email = excluded.email,
        currency = excluded.currency,
        presentment_currency = excluded.presentment_currency,
        presentment_total = excluded.presentment_total,
        taxes_included = excluded.taxes_included,
        financial_status = excluded.financial_status,
        fulfillment_status = excluded.fulfillment_status,
        placed_at = excluded.placed_at,
        cancelled_at = excluded.cancelled_at,
        cancel_reason = excluded.cancel_reason,
        platform_updated_at = excluded.platform_updated_at,
        stated_subtotal = excluded.stated_subtotal,
        stated_total_discounts = excluded.stated_total_discounts,
        stated_total_shipping = excluded.stated_total_shipping,
        stated_total_tax = excluded.stated_total_tax,
        stated_total = excluded.stated_total,
        is_test = excluded.is_test,
        recorded_at = now();

    PERFORM logic.order__clear_parts(p_tenant_id, p_channel_id, v_id);
    PERFORM logic.catalogue__upsert(p_tenant_id, p_channel_id, v_lines, 'shopify');

    FOR v_item, v_n IN SELECT t.value, t.n FROM jsonb_array_elements(v_lines) WITH ORDINALITY AS t (value, n) LOOP
        v_line_id := coalesce(logic.payload__text(v_item -> 'id', 'order.line_items[].id'), v_n::text);
        INSERT INTO orders.order_lines (
            tenant_id, channel_id, order_id, line_id, line_kind, product_id, variant_id, sku, title, quantity,
            unit_price, taxable
        ) VALUES (
            p_tenant_id, p_channel_id, v_id, v_line_id,
            CASE WHEN logic.payload__bool(v_item -> 'gift_card', 'gift_card', false) THEN 'gift_card' ELSE 'product' END,
            logic.payload__text(v_item -> 'product_id', 'order.line_items[].product_id'),
            logic.payload__text(v_item -> 'variant_id', 'order.line_items[].variant_id'),
            logic.payload__text(v_item -> 'sku', 'order.line_items[].sku'),
            coalesce(
                logic.payload__text(v_item -> 'name', 'order.line_items[].name'),
                logic.payload__text(v_item -> 'title', 'order.line_items[].title'),
                'line ' || v_line_id
            ),
            logic.payload__quantity(v_item -> 'quantity', 'order.line_items[].quantity'),
            logic.payload__amount(v_item -> 'price', 'order.line_items[].price', true),
            logic.payload__bool(v_item -> 'taxable', 'taxable', true)
        );
        FOR v_sub, v_m IN
            SELECT t.value, t.n
            FROM jsonb_array_elements(logic.payload__array(v_item -> 'discount_allocations', 'order.line_items[].discount_allocations')) WITH ORDINALITY AS t (value, n)
        LOOP
            INSERT INTO orders.discount_allocations (tenant_id, channel_id, order_id, allocation_id, line_id, amount)
            VALUES (
                p_tenant_id, p_channel_id, v_id, 'line:' || v_line_id || ':' || v_m, v_line_id,
                logic.payload__amount(v_sub -> 'amount', 'order.line_items[].discount_allocations[].amount', true)
            );
        END LOOP;
        FOR v_sub, v_m IN
            SELECT t.value, t.n
            FROM jsonb_array_elements(logic.payload__array(v_item -> 'tax_lines', 'order.line_items[].tax_lines')) WITH ORDINALITY AS t (value, n)
        LOOP
            v_detailed_tax := true;
            INSERT INTO orders.tax_lines (tenant_id, channel_id, order_id, tax_line_id, line_id, title, rate, amount)
            VALUES (
                p_tenant_id, p_channel_id, v_id, 'line:' || v_line_id || ':' || v_m, v_line_id,
                coalesce(logic.payload__text(v_sub -> 'title', 'order.line_items[].tax_lines[].title'), 'Tax'),
                logic.payload__amount(v_sub -> 'rate', 'order.line_items[].tax_lines[].rate'),
                logic.payload__amount(v_sub -> 'price', 'order.line_items[].tax_lines[].price', true)
            );
        END LOOP;
    END LOOP;

    FOR v_item, v_n IN SELECT t.value, t.n FROM jsonb_array_elements(v_shipping) WITH ORDINALITY AS t (value, n) LOOP
        v_line_id := coalesce(logic.payload__text(v_item -> 'id', 'order.shipping_lines[].id'), v_n::text);
        INSERT INTO orders.shipping_lines (tenant_id, channel_id, order_id, shipping_line_id, title, code, price)
        VALUES (
            p_tenant_id, p_channel_id, v_id, v_line_id,
            logic.payload__text(v_item -> 'title', 'order.shipping_lines[].title'),
            logic.payload__text(v_item -> 'code', 'order.shipping_lines[].code'),
            logic.payload__amount(v_item -> 'price', 'order.shipping_lines[].price', true)
        );
        FOR v_sub, v_m IN
            SELECT t.value, t.n
            FROM jsonb_array_elements(logic.payload__array(v_item -> 'discount_allocations', 'order.shipping_lines[].discount_allocations')) WITH ORDINALITY AS t (value, n)
        LOOP
            INSERT INTO orders.discount_allocations (
                tenant_id, channel_id, order_id, allocation_id, shipping_line_id, amount
            ) VALUES (
                p_tenant_id, p_channel_id, v_id, 'shipping:' || v_line_id || ':' || v_m, v_line_id,
                logic.payload__amount(v_sub -> 'amount', 'order.shipping_lines[].discount_allocations[].amount', true)
            );
        END LOOP;
        FOR v_sub, v_m IN
            SELECT t.value, t.n
            FROM jsonb_array_elements(logic.payload__array(v_item -> 'tax_lines', 'order.shipping_lines[].tax_lines')) WITH ORDINALITY AS t (value, n)
        LOOP
            v_detailed_tax := true;
            INSERT INTO orders.tax_lines (
                tenant_id, channel_id, order_id, tax_line_id, shipping_line_id, title, rate, amount
            ) VALUES (
                p_tenant_id, p_channel_id, v_id, 'shipping:' || v_line_id || ':' || v_m, v_line_id,
                coalesce(logic.payload__text(v_sub -> 'title', 'order.shipping_lines[].tax_lines[].title'), 'Tax'),
                logic.payload__amount(v_sub -> 'rate', 'order.shipping_lines[].tax_lines[].rate'),
                logic.payload__amount(v_sub -> 'price', 'order.shipping_lines[].tax_lines[].price', true)
            );
        END LOOP;
    END LOOP;

    -- The order-level tax_lines summarise the per-line ones: store them only when no line
    -- carries its own, so the tax is never counted twice.
    IF NOT v_detailed_tax THEN
        FOR v_sub, v_m IN
            SELECT t.value, t.n
            FROM jsonb_array_elements(logic.payload__array(p_order -> 'tax_lines', 'order.tax_lines')) WITH ORDINALITY AS t (value, n)
        LOOP
            INSERT INTO orders.tax_lines (tenant_id, channel_id, order_id, tax_line_id, title, rate, amount)
            VALUES (
                p_tenant_id, p_channel_id, v_id, 'order:' || v_m,
                coalesce(logic.payload__text(v_sub -> 'title', 'order.tax_lines[].title'), 'Tax'),
                logic.payload__amount(v_sub -> 'rate', 'order.tax_lines[].rate'),
                logic.payload__amount(v_sub -> 'price', 'order.tax_lines[].price', true)
            );
        END LOOP;
    END IF;

    FOR v_item IN
        SELECT t.value FROM jsonb_array_elements(logic.payload__array(p_order -> 'refunds', 'order.refunds')) AS t (value)
    LOOP
        PERFORM logic.shopify__refund_upsert(
            p_tenant_id, p_channel_id, v_item || jsonb_build_object('order_id', v_id), v_currency
        );
    END LOOP;
    RETURN 'order:' || v_id;
END;
$$;

COMMENT ON FUNCTION logic.shopify__order_upsert(text, text, jsonb, text) IS
'Writes one Shopify order (header, customer, lines, discounts, shipping, taxes, embedded refunds) if newer.';

CREATE FUNCTION logic.shopify__payout_upsert(p_tenant_id text, p_channel_id text, p_payout jsonb, p_currency text)
RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
    v_id text := logic.payload__text(p_payout -> 'id', 'payout.id', true);
    v_status text := logic.payload__text(p_payout -> 'status', 'payout.status', true);
BEGIN
    IF v_status NOT IN ('scheduled', 'pending', 'in_transit', 'paid', 'failed', 'canceled') THEN
        PERFORM logic.payload__fail('payout.status', 'expected scheduled, in_transit, paid, failed or canceled', p_payout -> 'status');
    END IF;
    INSERT INTO orders.payouts AS p (tenant_id, channel_id, payout_id, status, amount, currency, payout_date)
    VALUES (
        p_tenant_id, p_channel_id, v_id, v_status,
        logic.payload__amount(p_payout -> 'amount', 'payout.amount', true),
        logic.payload__currency(p_payout -> 'currency', 'payout.currency', p_currency),
        logic.payload__timestamp(p_payout -> 'date', 'payout.date', true)::date
    )
    ON CONFLICT (tenant_id, channel_id, payout_id) DO UPDATE SET
        status = excluded.status, amount = excluded.amount, payout_date = excluded.payout_date, recorded_at = now()
    -- a final status (paid, failed, canceled) is never overwritten by an earlier one
    WHERE p.status NOT IN ('paid', 'failed', 'canceled')
        AND (p.status, p.amount, p.payout_date) IS DISTINCT FROM (excluded.status, excluded.amount, excluded.payout_date);
    RETURN 'payout:' || v_id;
END;
$$;

COMMENT ON FUNCTION logic.shopify__payout_upsert(text, text, jsonb, text) IS
'Writes one Shopify Payments payout; a final status is never overwritten by an earlier one.';

CREATE FUNCTION logic.balance_transaction__type(p_type text)
RETURNS text
LANGUAGE sql
IMMUTABLE
AS $$
    SELECT CASE
        WHEN p_type IN ('charge', 'payment', 'sale') THEN 'charge'
        WHEN p_type IN ('refund', 'payment_refund', 'refund_failure') THEN 'refund'
        WHEN p_type IN ('fee', 'stripe_fee', 'application_fee', 'tax_fee', 'shopify_fee') THEN 'fee'
        WHEN p_type IN ('dispute', 'chargeback', 'dispute_reversal', 'chargeback_reversal') THEN 'dispute'
        WHEN p_type IN ('reserve', 'reserve_transaction', 'reserved_funds', 'reserve_hold', 'reserve_release')
            THEN 'reserve'
        WHEN p_type IN ('adjustment', 'credit', 'debit') THEN 'adjustment'
        WHEN p_type IN ('payout', 'payout_failure', 'payout_cancellation', 'payout_cancel') THEN 'payout'
        WHEN p_type IN ('transfer', 'transfer_refund', 'transfer_cancel') THEN 'transfer'
        ELSE 'other'
    END;
$$;

COMMENT ON FUNCTION logic.balance_transaction__type(text) IS
'Maps a platform balance transaction type (Shopify Payments, Stripe) to orders.balance_transactions.type.';

CREATE FUNCTION logic.shopify__balance_transaction_upsert(
    p_tenant_id text, p_channel_id text, p_txn jsonb, p_currency text
)
RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
    v_id text := logic.payload__text(p_txn -> 'id', 'balance_transaction.id', true);
    v_amount numeric := logic.payload__amount(p_txn -> 'amount', 'balance_transaction.amount', true);
    v_fee numeric := coalesce(logic.payload__amount(p_txn -> 'fee', 'balance_transaction.fee'), 0);
BEGIN
    INSERT INTO orders.balance_transactions AS b (
        tenant_id, channel_id, balance_transaction_id, payout_id, type, source_id, source_order_id, amount, fee, net,
        currency, processed_at
    ) VALUES (
        p_tenant_id, p_channel_id, v_id,
        logic.payload__text(p_txn -> 'payout_id', 'balance_transaction.payout_id'),
        logic.balance_transaction__type(logic.payload__text(p_txn -> 'type', 'balance_transaction.type', true)),
        logic.payload__text(p_txn -> 'source_id', 'balance_transaction.source_id'),
        logic.payload__text(p_txn -> 'source_order_id', 'balance_transaction.source_order_id'),
        v_amount, abs(v_fee),
        coalesce(logic.payload__amount(p_txn -> 'net', 'balance_transaction.net'), v_amount - abs(v_fee)),
        logic.payload__currency(p_txn -> 'currency', 'balance_transaction.currency', p_currency),
        logic.payload__timestamp(p_txn -> 'processed_at', 'balance_transaction.processed_at')
    )
    ON CONFLICT (tenant_id, channel_id, balance_transaction_id) DO UPDATE SET
        payout_id = coalesce(excluded.payout_id, b.payout_id), recorded_at = now()
    WHERE b.payout_id IS NULL AND excluded.payout_id IS NOT NULL;
    RETURN 'balance_transaction:' || v_id;
END;
$$;

COMMENT ON FUNCTION logic.shopify__balance_transaction_upsert(text, text, jsonb, text) IS
'Writes one Shopify Payments balance transaction (immutable except for its later payout assignment).';

CREATE FUNCTION logic.shopify__dispatch(p_tenant_id text, p_channel_id text, p_topic text, p_payload jsonb)
RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
    v_currency text := logic.channel__currency(p_tenant_id, p_channel_id, 'shopify');
    v_resource text := split_part(coalesce(p_topic, ''), '/', 1);
    v_wrapper text;
    v_body jsonb;
BEGIN
    v_wrapper := CASE v_resource
        WHEN 'orders' THEN 'order'
        WHEN 'refunds' THEN 'refund'
        WHEN 'order_transactions' THEN 'transaction'
        WHEN 'payouts' THEN 'payout'
        WHEN 'balance_transactions' THEN 'balance_transaction'
        WHEN 'disputes' THEN 'dispute'
    END;
    IF v_wrapper IS NULL OR p_topic IN ('orders/delete', 'orders/edited') THEN
        PERFORM logic.payload__unsupported('shopify', p_topic, 'orders/*, refunds/create, order_transactions/create, payouts/*, balance_transactions/*, disputes/*');
    END IF;
    v_body := logic.payload__object(coalesce(p_payload -> v_wrapper, p_payload), v_wrapper);
    RETURN CASE v_wrapper
        WHEN 'order' THEN logic.shopify__order_upsert(p_tenant_id, p_channel_id, v_body, v_currency)
        WHEN 'refund' THEN logic.shopify__refund_upsert(p_tenant_id, p_channel_id, v_body, v_currency)
        WHEN 'transaction' THEN logic.shopify__transaction_upsert(p_tenant_id, p_channel_id, v_body, v_currency)
        WHEN 'payout' THEN logic.shopify__payout_upsert(p_tenant_id, p_channel_id, v_body, v_currency)
        WHEN 'dispute' THEN logic.shopify__dispute_upsert(p_tenant_id, p_channel_id, v_body, v_currency)
        ELSE logic.shopify__balance_transaction_upsert(p_tenant_id, p_channel_id, v_body, v_currency)
    END;
END;
$$;

COMMENT ON FUNCTION logic.shopify__dispatch(text, text, text, jsonb) IS
'Shopify topic dispatch: writes the payload of a topic into orders.*, returns its canonical key.';

CREATE FUNCTION logic.shopify__normalize(p_tenant_id text, p_channel_id text, p_topic text, p_payload jsonb)
RETURNS text
LANGUAGE sql
AS $$
    SELECT logic.normalize__guarded('shopify', p_tenant_id, p_channel_id, p_topic, p_payload);
$$;

COMMENT ON FUNCTION logic.shopify__normalize(text, text, text, jsonb) IS
'shopify normalizer called by INGEST: writes the payload into orders.*, returns its canonical key; PB1xx errors only.';
