-- WooCommerce normalizer: REST v3 / webhook order and refund payloads into orders.*.
-- Topics: order.created, order.updated, order.restored (the order, with its refunds summary)
-- and refund.created / order.refunded (a refund object; its order id is read from order_id,
-- parent_id or the _links.up href). Convergence by date_modified_gmt (UTC without offset).
-- WooCommerce line amounts are tax-exclusive: subtotal (before coupons) is the line amount,
-- subtotal - total the line's discount, total_tax its tax. A negative fee line is a discount.
-- Refund line quantities and amounts are negative in WooCommerce: stored as positive.

CREATE FUNCTION logic.woocommerce__financial_status(p_status text)
RETURNS text
LANGUAGE sql
IMMUTABLE
AS $$
    SELECT CASE p_status
        WHEN 'pending' THEN 'pending'
        WHEN 'on-hold' THEN 'pending'
        WHEN 'checkout-draft' THEN 'pending'
        WHEN 'processing' THEN 'paid'
        WHEN 'completed' THEN 'paid'
        WHEN 'cancelled' THEN 'voided'
        WHEN 'refunded' THEN 'refunded'
        WHEN 'failed' THEN 'failed'
    END;
$$;

COMMENT ON FUNCTION logic.woocommerce__financial_status(text) IS
'Maps a WooCommerce order status to orders.orders.financial_status (NULL when it says nothing about payment).';

CREATE FUNCTION logic.woocommerce__refund_upsert(
    p_tenant_id text, p_channel_id text, p_refund jsonb, p_order_id text, p_currency text
)
RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
    v_id text := logic.payload__text(p_refund -> 'id', 'refund.id', true);
    v_amount numeric := abs(coalesce(
        logic.payload__amount(p_refund -> 'amount', 'refund.amount'),
        logic.payload__amount(p_refund -> 'total', 'refund.total', true)
    ));
    v_item jsonb;
    v_n integer;
BEGIN
    INSERT INTO orders.refunds AS r (
        tenant_id, channel_id, refund_id, order_id, amount, currency, reason, processed_at
    ) VALUES (
        p_tenant_id, p_channel_id, v_id, p_order_id, v_amount, p_currency,
        logic.payload__text(p_refund -> 'reason', 'refund.reason'),
        logic.payload__timestamp(p_refund -> 'date_created_gmt', 'refund.date_created_gmt', true)
    )
    ON CONFLICT (tenant_id, channel_id, refund_id) DO UPDATE SET
        order_id = coalesce(excluded.order_id, r.order_id),
        amount = excluded.amount,
        reason = coalesce(excluded.reason, r.reason),
        processed_at = coalesce(excluded.processed_at, r.processed_at),
        recorded_at = now()
    WHERE (r.order_id, r.amount, r.reason, r.processed_at) IS DISTINCT FROM (
        coalesce(excluded.order_id, r.order_id), excluded.amount, coalesce(excluded.reason, r.reason),
        coalesce(excluded.processed_at, r.processed_at)
    );
    IF p_refund ? 'line_items' THEN
        DELETE FROM orders.refund_lines
        WHERE tenant_id = p_tenant_id AND channel_id = p_channel_id AND refund_id = v_id;
        FOR v_item, v_n IN
            SELECT t.value, t.n
            FROM jsonb_array_elements(logic.payload__array(p_refund -> 'line_items', 'refund.line_items')) WITH ORDINALITY AS t (value, n)
        LOOP
            INSERT INTO orders.refund_lines (
                tenant_id, channel_id, refund_id, refund_line_id, line_id, quantity, subtotal, total_tax
            ) VALUES (
                p_tenant_id, p_channel_id, v_id,
                coalesce(logic.payload__text(v_item -> 'id', 'refund.line_items[].id'), v_n::text),
                (
                    SELECT m.value ->> 'value'
                    FROM jsonb_array_elements(CASE jsonb_typeof(v_item -> 'meta_data') WHEN 'array' THEN v_item -> 'meta_data' ELSE '[]' END) AS m (value)
                    WHERE m.value ->> 'key' = '_refunded_item_id'
                    LIMIT 1
                ),
                abs(coalesce(logic.payload__amount(v_item -> 'quantity', 'refund.line_items[].quantity'), 0)),
                abs(coalesce(logic.payload__amount(v_item -> 'subtotal', 'refund.line_items[].subtotal'), 0)),
                abs(coalesce(logic.payload__amount(v_item -> 'total_tax', 'refund.line_items[].total_tax'), 0))
            );
        END LOOP;
    END IF;
    RETURN 'refund:' || v_id;
END;
$$;

COMMENT ON FUNCTION logic.woocommerce__refund_upsert(text, text, jsonb, text, text) IS
'Writes one WooCommerce refund (amounts and quantities stored positive).';

CREATE FUNCTION logic.woocommerce__order_upsert(p_tenant_id text, p_channel_id text, p_order jsonb, p_currency text)
RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
    v_id text := logic.payload__text(p_order -> 'id', 'order.id', true);
    v_updated_at timestamptz := coalesce(
        logic.payload__timestamp(p_order -> 'date_modified_gmt', 'order.date_modified_gmt', true),
        logic.payload__timestamp(p_order -> 'date_modified', 'order.date_modified', true)
    );
    v_currency text := logic.payload__currency(p_order -> 'currency', 'order.currency', p_currency);
    v_status text := logic.payload__text(p_order -> 'status', 'order.status');
    v_stored timestamptz;
    v_customer_id text := nullif(logic.payload__text(p_order -> 'customer_id', 'order.customer_id'), '0');
    v_item jsonb;
    v_line_id text;
    v_n integer;
    v_quantity numeric;
    v_subtotal numeric;
    v_total numeric;
    v_tax numeric;
BEGIN
    SELECT o.platform_updated_at INTO v_stored FROM orders.orders AS o
    WHERE o.tenant_id = p_tenant_id AND o.channel_id = p_channel_id AND o.order_id = v_id;
    IF FOUND AND v_stored IS NOT NULL AND (v_updated_at IS NULL OR v_updated_at <= v_stored) THEN
        RETURN 'order:' || v_id;  -- stale or repeated
    END IF;

    IF v_customer_id IS NOT NULL THEN
        INSERT INTO orders.customers (tenant_id, channel_id, customer_id, email, display_name, phone)
        VALUES (
            p_tenant_id, p_channel_id, v_customer_id,
            logic.payload__text(p_order #> '{billing,email}', 'order.billing.email'),
            nullif(concat_ws(' ', p_order #>> '{billing,first_name}', p_order #>> '{billing,last_name}'), ''),
            logic.payload__text(p_order #> '{billing,phone}', 'order.billing.phone')
        )
        ON CONFLICT (tenant_id, channel_id, customer_id) DO UPDATE SET
            email = excluded.email, display_name = excluded.display_name, phone = excluded.phone,
            recorded_at = now();
    END IF;

    INSERT INTO orders.orders AS o (
        tenant_id, channel_id, order_id, order_number, customer_id, email, currency, taxes_included,
        financial_status, fulfillment_status, placed_at, cancelled_at, platform_updated_at,
        stated_total_discounts, stated_total_shipping, stated_total_tax, stated_total
    ) VALUES (
        p_tenant_id, p_channel_id, v_id,
        logic.payload__text(p_order -> 'number', 'order.number'),
        v_customer_id,
        logic.payload__text(p_order #> '{billing,email}', 'order.billing.email'),
        v_currency,
        false,
        logic.woocommerce__financial_status(v_status),
        v_status,
        coalesce(
            logic.payload__timestamp(p_order -> 'date_created_gmt', 'order.date_created_gmt', true),
            logic.payload__timestamp(p_order -> 'date_created', 'order.date_created', true)
        ),
        CASE WHEN v_status = 'cancelled' THEN coalesce(v_updated_at, now()) END,
        v_updated_at,
        logic.payload__amount(p_order -> 'discount_total', 'order.discount_total'),
        logic.payload__amount(p_order -> 'shipping_total', 'order.shipping_total'),
        logic.payload__amount(p_order -> 'total_tax', 'order.total_tax'),
        logic.payload__amount(p_order -> 'total', 'order.total', true)
    )
    ON CONFLICT (tenant_id, channel_id, order_id) DO UPDATE SET
        order_number = excluded.order_number,
        customer_id = excluded.customer_id,
        email = excluded.email,
        currency = excluded.currency,
        financial_status = excluded.financial_status,
        fulfillment_status = excluded.fulfillment_status,
        placed_at = excluded.placed_at,
        cancelled_at = coalesce(o.cancelled_at, excluded.cancelled_at),
        platform_updated_at = excluded.platform_updated_at,
        stated_total_discounts = excluded.stated_total_discounts,
        stated_total_shipping = excluded.stated_total_shipping,
        stated_total_tax = excluded.stated_total_tax,
        stated_total = excluded.stated_total,
        recorded_at = now();

    PERFORM logic.order__clear_parts(p_tenant_id, p_channel_id, v_id);
    PERFORM logic.catalogue__upsert(
        p_tenant_id, p_channel_id, logic.payload__array(p_order -> 'line_items', 'order.line_items'), 'woocommerce'
    );

    FOR v_item, v_n IN
        SELECT t.value, t.n
        FROM jsonb_array_elements(logic.payload__array(p_order -> 'line_items', 'order.line_items')) WITH ORDINALITY AS t (value, n)
    LOOP
        v_line_id := coalesce(logic.payload__text(v_item -> 'id', 'order.line_items[].id'), v_n::text);
        v_quantity := logic.payload__quantity(v_item -> 'quantity', 'order.line_items[].quantity');
        v_total := logic.payload__amount(v_item -> 'total', 'order.line_items[].total', true);
        v_subtotal := coalesce(logic.payload__amount(v_item -> 'subtotal', 'order.line_items[].subtotal'), v_total);
        v_tax := coalesce(logic.payload__amount(v_item -> 'total_tax', 'order.line_items[].total_tax'), 0);
        INSERT INTO orders.order_lines (
            tenant_id, channel_id, order_id, line_id, product_id, variant_id, sku, title, quantity, unit_price,
            gross_amount
        ) VALUES (
            p_tenant_id, p_channel_id, v_id, v_line_id,
            nullif(logic.payload__text(v_item -> 'product_id', 'order.line_items[].product_id'), '0'),
            nullif(logic.payload__text(v_item -> 'variation_id', 'order.line_items[].variation_id'), '0'),
            nullif(logic.payload__text(v_item -> 'sku', 'order.line_items[].sku'), ''),
            coalesce(logic.payload__text(v_item -> 'name', 'order.line_items[].name'), 'line ' || v_line_id),
            v_quantity,
            CASE WHEN v_quantity > 0 THEN v_subtotal / v_quantity ELSE 0 END,
            v_subtotal
        );
        IF v_subtotal > v_total THEN
            INSERT INTO orders.discount_allocations (tenant_id, channel_id, order_id, allocation_id, line_id, amount)
            VALUES (p_tenant_id, p_channel_id, v_id, 'line:' || v_line_id, v_line_id, v_subtotal - v_total);
        END IF;
        IF v_tax <> 0 THEN
            INSERT INTO orders.tax_lines (tenant_id, channel_id, order_id, tax_line_id, line_id, title, amount)
            VALUES (p_tenant_id, p_channel_id, v_id, 'line:' || v_line_id, v_line_id, 'Tax', v_tax);
        END IF;
    END LOOP;

    FOR v_item, v_n IN
        SELECT t.value, t.n
        FROM jsonb_array_elements(logic.payload__array(p_order -> 'fee_lines', 'order.fee_lines')) WITH ORDINALITY AS t (value, n)
    LOOP
        v_line_id := 'fee:' || coalesce(logic.payload__text(v_item -> 'id', 'order.fee_lines[].id'), v_n::text);
        v_total := logic.payload__amount(v_item -> 'total', 'order.fee_lines[].total', true);
        v_tax := coalesce(logic.payload__amount(v_item -> 'total_tax', 'order.fee_lines[].total_tax'), 0);
        IF v_total < 0 THEN
            INSERT INTO orders.discount_allocations (tenant_id, channel_id, order_id, allocation_id, code, amount)
            VALUES (
                p_tenant_id, p_channel_id, v_id, v_line_id,
                logic.payload__text(v_item -> 'name', 'order.fee_lines[].name'), -v_total
            );
        ELSE
            INSERT INTO orders.order_lines (
                tenant_id, channel_id, order_id, line_id, line_kind, title, quantity, unit_price, gross_amount
            ) VALUES (
                p_tenant_id, p_channel_id, v_id, v_line_id, 'fee',
                coalesce(logic.payload__text(v_item -> 'name', 'order.fee_lines[].name'), 'Fee'), 1, v_total, v_total
            );
        END IF;
        IF v_tax <> 0 THEN
            INSERT INTO orders.tax_lines (tenant_id, channel_id, order_id, tax_line_id, title, amount)
            VALUES (p_tenant_id, p_channel_id, v_id, v_line_id, 'Tax', v_tax);
        END IF;
    END LOOP;

    FOR v_item, v_n IN
        SELECT t.value, t.n
        FROM jsonb_array_elements(logic.payload__array(p_order -> 'shipping_lines', 'order.shipping_lines')) WITH ORDINALITY AS t (value, n)
    LOOP
        v_line_id := coalesce(logic.payload__text(v_item -> 'id', 'order.shipping_lines[].id'), v_n::text);
        v_tax := coalesce(logic.payload__amount(v_item -> 'total_tax', 'order.shipping_lines[].total_tax'), 0);
        INSERT INTO orders.shipping_lines (tenant_id, channel_id, order_id, shipping_line_id, title, code, price)
        VALUES (
            p_tenant_id, p_channel_id, v_id, v_line_id,
            logic.payload__text(v_item -> 'method_title', 'order.shipping_lines[].method_title'),
            logic.payload__text(v_item -> 'method_id', 'order.shipping_lines[].method_id'),
            logic.payload__amount(v_item -> 'total', 'order.shipping_lines[].total', true)
        );
        IF v_tax <> 0 THEN
            INSERT INTO orders.tax_lines (tenant_id, channel_id, order_id, tax_line_id, shipping_line_id, title, amount)
            VALUES (p_tenant_id, p_channel_id, v_id, 'shipping:' || v_line_id, v_line_id, 'Tax', v_tax);
        END IF;
    END LOOP;

    FOR v_item IN
        SELECT t.value FROM jsonb_array_elements(logic.payload__array(p_order -> 'refunds', 'order.refunds')) AS t (value)
    LOOP
        PERFORM logic.woocommerce__refund_upsert(p_tenant_id, p_channel_id, v_item, v_id, v_currency);
    END LOOP;
    RETURN 'order:' || v_id;
END;
$$;

COMMENT ON FUNCTION logic.woocommerce__order_upsert(text, text, jsonb, text) IS
'Writes one WooCommerce order (header, customer, lines, fees, discounts, shipping, taxes, refunds) if newer.';

CREATE FUNCTION logic.woocommerce__dispatch(p_tenant_id text, p_channel_id text, p_topic text, p_payload jsonb)
RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
    v_currency text := logic.channel__currency(p_tenant_id, p_channel_id, 'woocommerce');
    v_body jsonb := logic.payload__object(p_payload, 'payload');
    v_order_id text;
BEGIN
    IF p_topic IN ('order.created', 'order.updated', 'order.restored') THEN
        RETURN logic.woocommerce__order_upsert(p_tenant_id, p_channel_id, v_body, v_currency);
    ELSIF p_topic IN ('refund.created', 'refund.updated', 'order.refunded', 'order_refund.created') THEN
        v_order_id := coalesce(
            logic.payload__text(v_body -> 'order_id', 'refund.order_id'),
            nullif(logic.payload__text(v_body -> 'parent_id', 'refund.parent_id'), '0'),
            substring(v_body #>> '{_links,up,0,href}' FROM '/orders/([0-9]+)/?$')
        );
        IF v_order_id IS NULL THEN
            PERFORM logic.payload__fail('refund.order_id', 'is required (or parent_id, or _links.up)', NULL);
        END IF;
        RETURN logic.woocommerce__refund_upsert(
            p_tenant_id, p_channel_id, v_body, v_order_id,
            logic.payload__currency(v_body -> 'currency', 'refund.currency', v_currency)
        );
    END IF;
    PERFORM logic.payload__unsupported('woocommerce', p_topic, 'order.created, order.updated, order.restored, refund.created');
    RETURN NULL;
END;
$$;

COMMENT ON FUNCTION logic.woocommerce__dispatch(text, text, text, jsonb) IS
'WooCommerce topic dispatch: writes an order or refund payload into orders.*, returns its key.';

CREATE FUNCTION logic.woocommerce__normalize(p_tenant_id text, p_channel_id text, p_topic text, p_payload jsonb)
RETURNS text
LANGUAGE sql
AS $$
    SELECT logic.normalize__guarded('woocommerce', p_tenant_id, p_channel_id, p_topic, p_payload);
$$;

COMMENT ON FUNCTION logic.woocommerce__normalize(text, text, text, jsonb) IS
'WooCommerce normalizer called by INGEST: writes the payload into orders.*, returns its key; PB1xx errors only.';
