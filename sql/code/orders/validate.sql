-- Row validation of the orders schema that a CHECK constraint cannot express because it needs
-- another row: amounts no finer than their currency's minor units (PB102), and platform
-- versions that never go backwards (PB105). Errors name the table and the offending column.

-- PL/pgSQL rather than SQL on purpose: a non-inlinable SQL function is planned on every call,
-- a PL/pgSQL one caches its plan for the session (this runs once per money row).
CREATE FUNCTION logic.currency__minor_units(p_currency text)
RETURNS smallint
LANGUAGE plpgsql
STABLE
PARALLEL SAFE
AS $$
BEGIN
    RETURN (SELECT c.minor_units FROM orders.currencies AS c WHERE c.currency_code = p_currency);
END;
$$;

COMMENT ON FUNCTION logic.currency__minor_units(text) IS
'Minor units (decimal places) of an ISO 4217 currency; NULL when the code is unknown.';

CREATE FUNCTION logic.money__check_precision(
    p_table text, p_column text, p_amount numeric, p_currency text, p_minor smallint
)
RETURNS void
LANGUAGE plpgsql
IMMUTABLE
AS $$
BEGIN
    IF p_amount IS NOT NULL AND p_minor IS NOT NULL AND p_amount <> round(p_amount, p_minor) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'PB102',
            MESSAGE = format(
                '%s.%s = %s has more decimals than %s allows (%s)', p_table, p_column, trim_scale(p_amount), p_currency, p_minor
            ),
            HINT = 'Amounts are stored in the currency''s minor units; round at the source, pgbooks never does.',
            COLUMN = p_column,
            TABLE = p_table;
    END IF;
END;
$$;

COMMENT ON FUNCTION logic.money__check_precision(text, text, numeric, text, smallint) IS
'Raises PB102 naming table.column when an amount has more decimals than its currency allows.';

-- One generic BEFORE trigger for every money table. TG_ARGV[0] names the currency column, or
-- is '@order' for child rows of an order (they use the order's currency); the other
-- arguments name the amount columns to check. to_jsonb(NEW) lets one function serve all.
CREATE FUNCTION logic.tg_money__check_precision()
RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
    v_row jsonb := to_jsonb(NEW);
    v_currency text;
    v_minor smallint;
    v_amount numeric;
    v_i integer;
    v_any boolean := false;
BEGIN
    FOR v_i IN 1 .. TG_NARGS - 1 LOOP
        v_any := v_any OR (v_row ->> TG_ARGV[v_i]) IS NOT NULL;
    END LOOP;
    IF NOT v_any THEN
        RETURN NEW;  -- nothing to check (e.g. a line without gross_amount)
    END IF;
    IF TG_ARGV[0] = '@order' THEN
        SELECT o.currency, c.minor_units INTO v_currency, v_minor
        FROM orders.orders AS o
        JOIN orders.currencies AS c ON c.currency_code = o.currency
        WHERE o.tenant_id = v_row ->> 'tenant_id'
            AND o.channel_id = v_row ->> 'channel_id'
            AND o.order_id = v_row ->> 'order_id';
    ELSE
        v_currency := v_row ->> TG_ARGV[0];
        v_minor := logic.currency__minor_units(v_currency);
    END IF;
    FOR v_i IN 1 .. TG_NARGS - 1 LOOP
        v_amount := (v_row ->> TG_ARGV[v_i])::numeric;
        IF v_amount <> round(v_amount, v_minor) THEN
            PERFORM logic.money__check_precision(TG_TABLE_NAME, TG_ARGV[v_i], v_amount, v_currency, v_minor);
        END IF;
    END LOOP;
    RETURN NEW;
END;
$$;

COMMENT ON FUNCTION logic.tg_money__check_precision() IS
'BEFORE INSERT/UPDATE trigger: amounts (TG_ARGV[1..]) no finer than the currency (TG_ARGV[0] or @order) allows.';

CREATE TRIGGER tg_orders__check_precision
BEFORE INSERT OR UPDATE ON orders.orders
FOR EACH ROW EXECUTE FUNCTION logic.tg_money__check_precision(
    'currency', 'stated_subtotal', 'stated_total_discounts', 'stated_total_shipping', 'stated_total_tax',
    'stated_total'
);

-- Parts of an order (lines, shipping, discounts, taxes) use the order's currency. When the
-- order is the header this transaction wrote last (pgbooks.orders_written, with its currency's
-- minor units in pgbooks.orders_minor, both set by tg_orders__mark_written), the WHEN clause
-- checks the amount itself and the function runs only for an amount that is too fine (to raise
-- PB102 with its message); any other part (an order written earlier) looks the currency up.
CREATE TRIGGER tg_order_lines__check_precision
BEFORE INSERT OR UPDATE ON orders.order_lines
FOR EACH ROW
WHEN (
    new.gross_amount IS NOT NULL AND (
        current_setting('pgbooks.orders_written', TRUE)
        IS DISTINCT FROM concat_ws('|', new.tenant_id, new.channel_id, new.order_id)
        OR new.gross_amount
        <> round(new.gross_amount, nullif(current_setting('pgbooks.orders_minor', TRUE), '')::integer)
    )
)
EXECUTE FUNCTION logic.tg_money__check_precision('@order', 'gross_amount');

CREATE TRIGGER tg_shipping_lines__check_precision
BEFORE INSERT OR UPDATE ON orders.shipping_lines
FOR EACH ROW
WHEN (
    new.price IS NOT NULL AND (
        current_setting('pgbooks.orders_written', TRUE)
        IS DISTINCT FROM concat_ws('|', new.tenant_id, new.channel_id, new.order_id)
        OR new.price
        <> round(new.price, nullif(current_setting('pgbooks.orders_minor', TRUE), '')::integer)
    )
)
EXECUTE FUNCTION logic.tg_money__check_precision('@order', 'price');

CREATE TRIGGER tg_discount_allocations__check_precision
BEFORE INSERT OR UPDATE ON orders.discount_allocations
FOR EACH ROW
WHEN (
    new.amount IS NOT NULL AND (
        current_setting('pgbooks.orders_written', TRUE)
        IS DISTINCT FROM concat_ws('|', new.tenant_id, new.channel_id, new.order_id)
        OR new.amount
        <> round(new.amount, nullif(current_setting('pgbooks.orders_minor', TRUE), '')::integer)
    )
)
EXECUTE FUNCTION logic.tg_money__check_precision('@order', 'amount');

CREATE TRIGGER tg_tax_lines__check_precision
BEFORE INSERT OR UPDATE ON orders.tax_lines
FOR EACH ROW
WHEN (
    new.amount IS NOT NULL AND (
        current_setting('pgbooks.orders_written', TRUE)
        IS DISTINCT FROM concat_ws('|', new.tenant_id, new.channel_id, new.order_id)
        OR new.amount
        <> round(new.amount, nullif(current_setting('pgbooks.orders_minor', TRUE), '')::integer)
    )
)
EXECUTE FUNCTION logic.tg_money__check_precision('@order', 'amount');

CREATE TRIGGER tg_transactions__check_precision
BEFORE INSERT OR UPDATE ON orders.transactions
FOR EACH ROW EXECUTE FUNCTION logic.tg_money__check_precision('currency', 'amount');

CREATE TRIGGER tg_refunds__check_precision
BEFORE INSERT OR UPDATE ON orders.refunds
FOR EACH ROW EXECUTE FUNCTION logic.tg_money__check_precision('currency', 'amount');

CREATE TRIGGER tg_payouts__check_precision
BEFORE INSERT OR UPDATE ON orders.payouts
FOR EACH ROW EXECUTE FUNCTION logic.tg_money__check_precision('currency', 'amount');

CREATE TRIGGER tg_balance_transactions__check_precision
BEFORE INSERT OR UPDATE ON orders.balance_transactions
FOR EACH ROW EXECUTE FUNCTION logic.tg_money__check_precision('currency', 'amount', 'fee', 'net');

CREATE TRIGGER tg_gift_cards__check_precision
BEFORE INSERT OR UPDATE ON orders.gift_cards
FOR EACH ROW EXECUTE FUNCTION logic.tg_money__check_precision('currency', 'initial_value', 'balance');

-- Convergence for every writer (apps and normalizers): the platform's own updated-at /
-- version decides, never arrival order. A write that would move either backwards is refused
-- with PB105 (the normalizers skip stale payloads before writing, so they never hit it).
CREATE FUNCTION logic.tg_orders__refuse_stale()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    IF NEW.platform_updated_at < OLD.platform_updated_at THEN
        RAISE EXCEPTION USING
            ERRCODE = 'PB105',
            MESSAGE = format(
                'orders.platform_updated_at = %s is older than the stored %s for order %s: stale update refused',
                NEW.platform_updated_at, OLD.platform_updated_at, OLD.order_id
            ),
            COLUMN = 'platform_updated_at',
            TABLE = 'orders';
    END IF;
    IF NEW.platform_version < OLD.platform_version THEN
        RAISE EXCEPTION USING
            ERRCODE = 'PB105',
            MESSAGE = format(
                'orders.platform_version = %s is lower than the stored %s for order %s: stale update refused',
                NEW.platform_version, OLD.platform_version, OLD.order_id
            ),
            COLUMN = 'platform_version',
            TABLE = 'orders';
    END IF;
    RETURN NEW;
END;
$$;

COMMENT ON FUNCTION logic.tg_orders__refuse_stale() IS
'BEFORE UPDATE trigger on orders.orders: refuses (PB105) an update whose platform_updated_at or version goes back.';

CREATE TRIGGER tg_orders__refuse_stale
BEFORE UPDATE ON orders.orders
FOR EACH ROW EXECUTE FUNCTION logic.tg_orders__refuse_stale();
