-- Totals check and order events, run at COMMIT.
--
-- Why deferred: an app (or a normalizer) inserts an order header, then its lines, discounts,
-- shipping and tax lines, in separate statements. Checking the stated totals after the header
-- alone would always fail, so the check is a DEFERRABLE INITIALLY DEFERRED constraint trigger:
-- it runs once the transaction commits, when the order is complete. An order whose stated
-- totals disagree with its parts is still stored: the check raises (or updates) a
-- TOTALS_MISMATCH flag in orders.order_flags with the stated and computed values and their
-- difference, and resolves the flag when a later write makes the order consistent. Nothing is
-- rejected, nothing is plugged. The same commit-time trigger records OrderCreated /
-- OrderUpdated / OrderCancelled, so consumers see the complete order, lines included.
--
-- Rule (all in the order currency, line amounts = gross_amount or round(quantity x unit_price)):
--   subtotal = sum(line amounts) - discounts on lines or on the whole order
--   shipping = sum(shipping prices) - discounts on shipping lines
--   tax      = sum(tax lines)            discounts = sum(all discount allocations)
--   total    = subtotal + shipping + (tax unless taxes_included)
-- Each stated_* column that is not NULL is compared with its computed value.

-- PL/pgSQL (cached plans) rather than SQL: this runs for every order at every commit.
CREATE FUNCTION logic.order__computed_totals(p_tenant_id text, p_channel_id text, p_order_id text)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
AS $$
DECLARE
    v_result jsonb;
BEGIN
    -- one statement (header, lines, discounts, shipping, taxes): this runs for every order at
    -- every commit, and each statement costs an executor start-up
    SELECT jsonb_build_object(
        'currency', o.currency,
        'minor_units', c.minor_units,
        'line_mismatches', li.mismatches,
        'lines', li.amount,
        'subtotal', li.amount - di.on_lines,
        'total_discounts', di.on_lines + di.on_shipping,
        'total_shipping', sh.amount - di.on_shipping,
        'total_tax', tx.amount,
        'total', li.amount - di.on_lines + sh.amount - di.on_shipping
        + CASE WHEN o.taxes_included THEN 0 ELSE tx.amount END
    )
    INTO v_result
    FROM orders.orders AS o
    JOIN orders.currencies AS c ON c.currency_code = o.currency
    CROSS JOIN LATERAL (
        SELECT
            coalesce(sum(coalesce(l.gross_amount, round(l.quantity * l.unit_price, c.minor_units))), 0) AS amount,
            count(*) FILTER (WHERE l.gross_amount <> round(l.quantity * l.unit_price, c.minor_units)) AS mismatches
        FROM orders.order_lines AS l
        WHERE l.tenant_id = o.tenant_id AND l.channel_id = o.channel_id AND l.order_id = o.order_id
    ) AS li
    CROSS JOIN LATERAL (
        SELECT
            coalesce(sum(d.amount) FILTER (WHERE d.shipping_line_id IS NULL), 0) AS on_lines,
            coalesce(sum(d.amount) FILTER (WHERE d.shipping_line_id IS NOT NULL), 0) AS on_shipping
        FROM orders.discount_allocations AS d
        WHERE d.tenant_id = o.tenant_id AND d.channel_id = o.channel_id AND d.order_id = o.order_id
    ) AS di
    CROSS JOIN LATERAL (
        SELECT coalesce(sum(s.price), 0) AS amount
        FROM orders.shipping_lines AS s
        WHERE s.tenant_id = o.tenant_id AND s.channel_id = o.channel_id AND s.order_id = o.order_id
    ) AS sh
    CROSS JOIN LATERAL (
        SELECT coalesce(sum(t.amount), 0) AS amount
        FROM orders.tax_lines AS t
        WHERE t.tenant_id = o.tenant_id AND t.channel_id = o.channel_id AND t.order_id = o.order_id
    ) AS tx
    WHERE o.tenant_id = p_tenant_id AND o.channel_id = p_channel_id AND o.order_id = p_order_id;
    RETURN v_result;
END;
$$;

COMMENT ON FUNCTION logic.order__computed_totals(text, text, text) IS
'Totals of an order computed from its lines, discounts, shipping and tax lines (rule in sql/code/orders/totals.sql).';

CREATE FUNCTION logic.order__totals_mismatch(
    p_tenant_id text, p_channel_id text, p_order_id text, p_computed jsonb DEFAULT NULL, p_row jsonb DEFAULT NULL
)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
AS $$
DECLARE
    v_row jsonb := p_row;
    v_computed jsonb;
    v_fields jsonb := '{}';
    v_lines jsonb;
    v_minor smallint;
    v_field text;
    v_stated numeric;
    v_calc numeric;
BEGIN
    v_computed := coalesce(p_computed, logic.order__computed_totals(p_tenant_id, p_channel_id, p_order_id));
    IF v_computed IS NULL THEN
        RETURN NULL;  -- the order does not exist (any more)
    END IF;
    IF v_row IS NULL THEN
        SELECT to_jsonb(o.*) INTO v_row FROM orders.orders AS o
        WHERE o.tenant_id = p_tenant_id AND o.channel_id = p_channel_id AND o.order_id = p_order_id;
    END IF;
    v_minor := (v_computed ->> 'minor_units')::smallint;
    FOREACH v_field IN ARRAY ARRAY['subtotal', 'total_discounts', 'total_shipping', 'total_tax', 'total'] LOOP
        v_stated := (v_row ->> ('stated_' || v_field))::numeric;
        v_calc := (v_computed ->> v_field)::numeric;
        IF v_stated IS NOT NULL AND v_stated <> v_calc THEN
            v_fields := v_fields || jsonb_build_object(
                v_field, jsonb_build_object('stated', v_stated, 'computed', v_calc, 'difference', v_stated - v_calc)
            );
        END IF;
    END LOOP;
    IF (v_computed ->> 'line_mismatches')::integer > 0 THEN
        SELECT jsonb_agg(jsonb_build_object(
        'line_id', l.line_id, 'stated', l.gross_amount, 'computed', round(l.quantity * l.unit_price, v_minor),
        'difference', l.gross_amount - round(l.quantity * l.unit_price, v_minor)
    ) ORDER BY l.line_id)
    INTO v_lines
    FROM orders.order_lines AS l
    WHERE l.tenant_id = p_tenant_id AND l.channel_id = p_channel_id AND l.order_id = p_order_id
        AND l.gross_amount <> round(l.quantity * l.unit_price, v_minor);
    END IF;
    IF v_fields = '{}' AND v_lines IS NULL THEN
        RETURN NULL;
    END IF;
    RETURN jsonb_build_object('currency', v_computed ->> 'currency', 'fields', v_fields)
        || CASE WHEN v_lines IS NULL THEN '{}' ELSE jsonb_build_object('lines', v_lines) END;
END;
$$;

COMMENT ON FUNCTION logic.order__totals_mismatch(text, text, text, jsonb, jsonb) IS
'NULL when stated totals agree with the parts, else {currency, fields: {f: {stated, computed, difference}}, lines}.';

CREATE FUNCTION logic.event__record(
    p_tenant_id text, p_channel_id text, p_event_type text, p_subject_type text, p_subject_id text,
    p_payload jsonb, p_schema_version smallint DEFAULT 1
)
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    INSERT INTO orders.events (tenant_id, channel_id, event_type, schema_version, subject_type, subject_id, payload)
    VALUES (p_tenant_id, p_channel_id, p_event_type, p_schema_version, p_subject_type, p_subject_id, p_payload);
END;
$$;

COMMENT ON FUNCTION logic.event__record(text, text, text, text, text, jsonb, smallint) IS
'Appends one canonical event to orders.events (called by the orders triggers only).';

CREATE FUNCTION logic.order__settle(p_tenant_id text, p_channel_id text, p_order_id text, p_event_type text)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    v_row jsonb;
    v_detail jsonb;
    v_flag_id bigint;
    v_old_detail jsonb;
    v_computed jsonb;
BEGIN
    -- the header and its open TOTALS_MISMATCH flag in one statement (this runs for every order
    -- at every commit)
    SELECT to_jsonb(o.*), f.flag_id, f.detail INTO v_row, v_flag_id, v_old_detail
    FROM orders.orders AS o
    LEFT JOIN orders.order_flags AS f
        ON f.tenant_id = o.tenant_id AND f.channel_id = o.channel_id AND f.order_id = o.order_id
        AND f.reason_code = 'TOTALS_MISMATCH' AND f.resolved_at IS NULL
    WHERE o.tenant_id = p_tenant_id AND o.channel_id = p_channel_id AND o.order_id = p_order_id
    LIMIT 1;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    PERFORM set_config('pgbooks.orders_settled', concat_ws('|', p_tenant_id, p_channel_id, p_order_id), true);
    v_computed := logic.order__computed_totals(p_tenant_id, p_channel_id, p_order_id);
    IF p_event_type IS NOT NULL THEN
        INSERT INTO orders.events (tenant_id, channel_id, event_type, schema_version, subject_type, subject_id, payload)
        VALUES (
            p_tenant_id, p_channel_id, p_event_type, 1, 'order', p_order_id,
            v_row || jsonb_build_object('computed', v_computed - 'currency' - 'minor_units' - 'line_mismatches')
        );
    END IF;
    v_detail := logic.order__totals_mismatch(p_tenant_id, p_channel_id, p_order_id, v_computed, v_row);
    IF v_detail IS NULL THEN
        IF v_flag_id IS NOT NULL THEN
            UPDATE orders.order_flags SET resolved_at = now()
            WHERE tenant_id = p_tenant_id AND flag_id = v_flag_id;
            PERFORM logic.event__record(
                p_tenant_id, p_channel_id, 'OrderFlagResolved', 'order', p_order_id,
                jsonb_build_object('reason_code', 'TOTALS_MISMATCH', 'flag_id', v_flag_id)
            );
        END IF;
    ELSIF v_flag_id IS NULL OR v_old_detail IS DISTINCT FROM v_detail THEN
        IF v_flag_id IS NULL THEN
            INSERT INTO orders.order_flags (tenant_id, channel_id, order_id, reason_code, detail)
            VALUES (p_tenant_id, p_channel_id, p_order_id, 'TOTALS_MISMATCH', v_detail)
            RETURNING flag_id INTO v_flag_id;
        ELSE
            UPDATE orders.order_flags SET detail = v_detail
            WHERE tenant_id = p_tenant_id AND flag_id = v_flag_id;
        END IF;
        PERFORM logic.event__record(
            p_tenant_id, p_channel_id, 'OrderFlagged', 'order', p_order_id,
            jsonb_build_object('reason_code', 'TOTALS_MISMATCH', 'flag_id', v_flag_id, 'detail', v_detail)
        );
    END IF;
END;
$$;

COMMENT ON FUNCTION logic.order__settle(text, text, text, text) IS
'Commit-time work for one order: records the order event (when given), raises/updates/resolves TOTALS_MISMATCH.';

CREATE FUNCTION logic.tg_orders__settle()
RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
    v_event text;
BEGIN
    IF TG_OP = 'INSERT' THEN
        v_event := 'OrderCreated';
    ELSIF OLD.cancelled_at IS NULL AND NEW.cancelled_at IS NOT NULL THEN
        v_event := 'OrderCancelled';
    ELSIF (to_jsonb(OLD) - 'recorded_at') IS DISTINCT FROM (to_jsonb(NEW) - 'recorded_at') THEN
        v_event := 'OrderUpdated';
    END IF;
    PERFORM logic.order__settle(NEW.tenant_id, NEW.channel_id, NEW.order_id, v_event);
    RETURN NULL;
END;
$$;

COMMENT ON FUNCTION logic.tg_orders__settle() IS
'Deferred (commit-time) trigger on orders.orders: order event + totals check of the complete order.';

CREATE CONSTRAINT TRIGGER tg_orders__settle
AFTER INSERT OR UPDATE ON orders.orders
DEFERRABLE INITIALLY DEFERRED
FOR EACH ROW EXECUTE FUNCTION logic.tg_orders__settle();

-- Remembers (transaction-local) the last order header written, so that its parts written right
-- after it do not even queue a deferred event: the header's own deferred trigger settles them.
CREATE FUNCTION logic.tg_orders__mark_written()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM set_config('pgbooks.orders_written', concat_ws('|', NEW.tenant_id, NEW.channel_id, NEW.order_id), true);
    PERFORM set_config('pgbooks.orders_minor', coalesce(logic.currency__minor_units(NEW.currency)::text, ''), true);
    RETURN NULL;
END;
$$;

COMMENT ON FUNCTION logic.tg_orders__mark_written() IS
'AFTER INSERT/UPDATE on orders.orders: sets pgbooks.orders_written and pgbooks.orders_minor (read by the parts '
'triggers'' WHEN clauses).';

CREATE TRIGGER tg_orders__mark_written
AFTER INSERT OR UPDATE ON orders.orders
FOR EACH ROW EXECUTE FUNCTION logic.tg_orders__mark_written();

-- Child rows changed without their header: settle the order once. Skipped when the header
-- was written by this transaction (its own deferred trigger, queued first, settles it) or when
-- the previous deferred event already settled the same order (pgbooks.orders_settled).
CREATE FUNCTION logic.tg_order_parts__settle()
RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
    v_row jsonb;
    v_xmin text;
BEGIN
    IF TG_OP = 'DELETE' THEN
        v_row := to_jsonb(OLD);
    ELSE
        v_row := to_jsonb(NEW);
    END IF;
    IF current_setting('pgbooks.orders_settled', true)
        = concat_ws('|', v_row ->> 'tenant_id', v_row ->> 'channel_id', v_row ->> 'order_id') THEN
        RETURN NULL;
    END IF;
    SELECT o.xmin::text INTO v_xmin FROM orders.orders AS o
    WHERE o.tenant_id = v_row ->> 'tenant_id' AND o.channel_id = v_row ->> 'channel_id'
        AND o.order_id = v_row ->> 'order_id';
    IF NOT FOUND OR v_xmin = (pg_current_xact_id()::text::bigint % 4294967296)::text THEN
        RETURN NULL;
    END IF;
    PERFORM logic.order__settle(
        v_row ->> 'tenant_id', v_row ->> 'channel_id', v_row ->> 'order_id', 'OrderUpdated'
    );
    RETURN NULL;
END;
$$;

COMMENT ON FUNCTION logic.tg_order_parts__settle() IS
'Deferred trigger on order lines, discounts, shipping and tax lines: re-settles an order whose parts changed alone.';

CREATE CONSTRAINT TRIGGER tg_order_lines__settle
AFTER INSERT OR UPDATE ON orders.order_lines
DEFERRABLE INITIALLY DEFERRED
FOR EACH ROW
WHEN (
    current_setting('pgbooks.orders_written', TRUE) IS DISTINCT FROM concat_ws(
        '|', new.tenant_id, new.channel_id, new.order_id
    )
)
EXECUTE FUNCTION logic.tg_order_parts__settle();

CREATE CONSTRAINT TRIGGER tg_order_lines__settle_delete
AFTER DELETE ON orders.order_lines
DEFERRABLE INITIALLY DEFERRED
FOR EACH ROW
WHEN (
    current_setting('pgbooks.orders_written', TRUE) IS DISTINCT FROM concat_ws(
        '|', old.tenant_id, old.channel_id, old.order_id
    )
)
EXECUTE FUNCTION logic.tg_order_parts__settle();

CREATE CONSTRAINT TRIGGER tg_discount_allocations__settle
AFTER INSERT OR UPDATE ON orders.discount_allocations
DEFERRABLE INITIALLY DEFERRED
FOR EACH ROW
WHEN (
    current_setting('pgbooks.orders_written', TRUE) IS DISTINCT FROM concat_ws(
        '|', new.tenant_id, new.channel_id, new.order_id
    )
)
EXECUTE FUNCTION logic.tg_order_parts__settle();

CREATE CONSTRAINT TRIGGER tg_discount_allocations__settle_delete
AFTER DELETE ON orders.discount_allocations
DEFERRABLE INITIALLY DEFERRED
FOR EACH ROW
WHEN (
    current_setting('pgbooks.orders_written', TRUE) IS DISTINCT FROM concat_ws(
        '|', old.tenant_id, old.channel_id, old.order_id
    )
)
EXECUTE FUNCTION logic.tg_order_parts__settle();

CREATE CONSTRAINT TRIGGER tg_shipping_lines__settle
AFTER INSERT OR UPDATE ON orders.shipping_lines
DEFERRABLE INITIALLY DEFERRED
FOR EACH ROW
WHEN (
    current_setting('pgbooks.orders_written', TRUE) IS DISTINCT FROM concat_ws(
        '|', new.tenant_id, new.channel_id, new.order_id
    )
)
EXECUTE FUNCTION logic.tg_order_parts__settle();

CREATE CONSTRAINT TRIGGER tg_shipping_lines__settle_delete
AFTER DELETE ON orders.shipping_lines
DEFERRABLE INITIALLY DEFERRED
FOR EACH ROW
WHEN (
    current_setting('pgbooks.orders_written', TRUE) IS DISTINCT FROM concat_ws(
        '|', old.tenant_id, old.channel_id, old.order_id
    )
)
EXECUTE FUNCTION logic.tg_order_parts__settle();

CREATE CONSTRAINT TRIGGER tg_tax_lines__settle
AFTER INSERT OR UPDATE ON orders.tax_lines
DEFERRABLE INITIALLY DEFERRED
FOR EACH ROW
WHEN (
    current_setting('pgbooks.orders_written', TRUE) IS DISTINCT FROM concat_ws(
        '|', new.tenant_id, new.channel_id, new.order_id
    )
)
EXECUTE FUNCTION logic.tg_order_parts__settle();

CREATE CONSTRAINT TRIGGER tg_tax_lines__settle_delete
AFTER DELETE ON orders.tax_lines
DEFERRABLE INITIALLY DEFERRED
FOR EACH ROW
WHEN (
    current_setting('pgbooks.orders_written', TRUE) IS DISTINCT FROM concat_ws(
        '|', old.tenant_id, old.channel_id, old.order_id
    )
)
EXECUTE FUNCTION logic.tg_order_parts__settle();
