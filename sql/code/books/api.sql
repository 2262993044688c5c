-- The rules' entry points: explicit derivation for apps and operators, and the triggers that
-- re-derive an order's documents when its facts change. The triggers are deferred constraint
-- triggers: an app writes an order header, then lines, taxes and transactions in the same
-- transaction; deriving at commit sees the whole order once it is complete.

CREATE FUNCTION api.order__derive(p_tenant_id text, p_channel_id text, p_order_id text)
RETURNS bigint[]
LANGUAGE sql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT logic.order__derive(p_tenant_id, p_channel_id, p_order_id)
$$;

COMMENT ON FUNCTION api.order__derive(text, text, text) IS
'(Re-)derives the accounting documents of one order (and its payments and refunds); returns their ids.';

CREATE FUNCTION api.payout__derive(p_tenant_id text, p_channel_id text, p_payout_id text)
RETURNS bigint[]
LANGUAGE sql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT logic.payout__derive(p_tenant_id, p_channel_id, p_payout_id)
$$;

COMMENT ON FUNCTION api.payout__derive(text, text, text) IS
'(Re-)derives the Deposit or payout-summary JournalEntry of one payout; returns its id.';

CREATE FUNCTION api.tenant__rederive(p_tenant_id text)
RETURNS integer
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_r record;
    v_n integer := 0;
BEGIN
    FOR v_r IN SELECT o.channel_id, o.order_id FROM orders.orders AS o WHERE o.tenant_id = p_tenant_id
        ORDER BY o.placed_at, o.order_id LOOP
        PERFORM logic.order__derive(p_tenant_id, v_r.channel_id, v_r.order_id);
        v_n := v_n + 1;
    END LOOP;
    FOR v_r IN SELECT p.channel_id, p.payout_id FROM orders.payouts AS p WHERE p.tenant_id = p_tenant_id LOOP
        PERFORM logic.payout__derive(p_tenant_id, v_r.channel_id, v_r.payout_id);
        v_n := v_n + 1;
    END LOOP;
    RETURN v_n;
END;
$$;

COMMENT ON FUNCTION api.tenant__rederive(text) IS
'Re-derives every order and payout of a tenant (after a settings or mapping change); returns how many.';

GRANT EXECUTE ON FUNCTION api.order__derive(text, text, text) TO pgbooks_app, pgbooks_operator;
GRANT EXECUTE ON FUNCTION api.payout__derive(text, text, text) TO pgbooks_app, pgbooks_operator;
GRANT EXECUTE ON FUNCTION api.tenant__rederive(text) TO pgbooks_operator;

-- One derivation per order (or payout) per transaction, decided in O(1) per queued row:
--   * an order header event derives only if its row is still the current version (a later
--     write of the same header queued a later event, which derives instead);
--   * a part (line, tax, discount, shipping, transaction, refund...) of an order whose header
--     this transaction wrote does not derive: the header's own event, at commit, sees it;
--   * the other parts and payouts are de-duplicated through the transaction-local setting
--     pgbooks.books_derived, which then holds only orders whose header was not written in the
--     transaction (refunds or payments added to an older order, payouts), not every order.
CREATE FUNCTION logic.tg_orders__derive_books()
RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
    v_row jsonb := to_jsonb(coalesce(NEW, OLD));
    v_tenant text := v_row ->> 'tenant_id';
    v_channel text := v_row ->> 'channel_id';
    v_order_id text;
    v_key text;
    v_done text;
    v_xmin text;
    v_current jsonb;
BEGIN
    IF TG_TABLE_NAME = 'orders' THEN
        SELECT to_jsonb(o) INTO v_current FROM orders.orders AS o
        WHERE o.tenant_id = v_tenant AND o.channel_id = v_channel AND o.order_id = v_row ->> 'order_id';
        IF v_current IS DISTINCT FROM v_row THEN
            RETURN NULL;  -- superseded by a later write of this header (its event derives)
        END IF;
        PERFORM logic.order__derive(v_tenant, v_channel, v_row ->> 'order_id');
        RETURN NULL;
    END IF;
    IF TG_TABLE_NAME = 'order_flags' THEN
        -- A flag is raised by the orders commit-time check, possibly after this order was
        -- derived in the same commit: always derive again (a flag blocks the document).
        PERFORM logic.order__derive(v_tenant, v_channel, v_row ->> 'order_id');
        RETURN NULL;
    END IF;
    v_done := coalesce(current_setting('pgbooks.books_derived', TRUE), '');
    IF TG_TABLE_NAME IN ('payouts', 'balance_transactions') THEN
        v_key := '|p:' || v_tenant || ':' || v_channel || ':' || (v_row ->> 'payout_id') || '|';
        IF v_row ->> 'payout_id' IS NULL OR strpos(v_done, v_key) > 0 THEN
            RETURN NULL;
        END IF;
        PERFORM set_config('pgbooks.books_derived', v_done || v_key, TRUE);
        PERFORM logic.payout__derive(v_tenant, v_channel, v_row ->> 'payout_id');
        RETURN NULL;
    END IF;
    IF TG_TABLE_NAME = 'refund_lines' OR TG_TABLE_NAME = 'order_adjustments' THEN
        SELECT r.order_id INTO v_order_id FROM orders.refunds AS r
        WHERE r.tenant_id = v_tenant AND r.channel_id = v_channel AND r.refund_id = v_row ->> 'refund_id';
    ELSE
        v_order_id := v_row ->> 'order_id';
    END IF;
    IF v_order_id IS NULL THEN
        RETURN NULL;
    END IF;
    SELECT o.xmin::text INTO v_xmin FROM orders.orders AS o
    WHERE o.tenant_id = v_tenant AND o.channel_id = v_channel AND o.order_id = v_order_id;
    IF v_xmin = (pg_current_xact_id()::text::bigint % 4294967296)::text THEN
        RETURN NULL;  -- the header was written by this transaction: its event derives
    END IF;
    v_key := '|o:' || v_tenant || ':' || v_channel || ':' || v_order_id || '|';
    IF strpos(v_done, v_key) = 0 THEN
        PERFORM set_config('pgbooks.books_derived', v_done || v_key, TRUE);
        PERFORM logic.order__derive(v_tenant, v_channel, v_order_id);
    END IF;
    RETURN NULL;
END;
$$;

COMMENT ON FUNCTION logic.tg_orders__derive_books() IS
'Deferred trigger: re-derives the books documents of the order (or payout) a changed row belongs to, at commit.';

CREATE CONSTRAINT TRIGGER tg_orders__derive_books AFTER INSERT OR UPDATE ON orders.orders
DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION logic.tg_orders__derive_books();
CREATE CONSTRAINT TRIGGER tg_order_lines__derive_books AFTER INSERT OR UPDATE OR DELETE ON orders.order_lines
DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION logic.tg_orders__derive_books();
CREATE CONSTRAINT TRIGGER tg_transactions__derive_books AFTER INSERT OR UPDATE ON orders.transactions
DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION logic.tg_orders__derive_books();
CREATE CONSTRAINT TRIGGER tg_refunds__derive_books AFTER INSERT OR UPDATE ON orders.refunds
DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION logic.tg_orders__derive_books();
CREATE CONSTRAINT TRIGGER tg_refund_lines__derive_books AFTER INSERT OR UPDATE ON orders.refund_lines
DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION logic.tg_orders__derive_books();
CREATE CONSTRAINT TRIGGER tg_order_adjustments__derive_books AFTER INSERT OR UPDATE ON orders.order_adjustments
DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION logic.tg_orders__derive_books();
CREATE CONSTRAINT TRIGGER tg_discount_allocations__derive_books AFTER INSERT OR UPDATE OR DELETE
ON orders.discount_allocations
DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION logic.tg_orders__derive_books();
CREATE CONSTRAINT TRIGGER tg_shipping_lines__derive_books AFTER INSERT OR UPDATE OR DELETE ON orders.shipping_lines
DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION logic.tg_orders__derive_books();
CREATE CONSTRAINT TRIGGER tg_tax_lines__derive_books AFTER INSERT OR UPDATE OR DELETE ON orders.tax_lines
DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION logic.tg_orders__derive_books();
CREATE CONSTRAINT TRIGGER tg_balance_transactions__derive_books AFTER INSERT OR UPDATE
ON orders.balance_transactions
DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION logic.tg_orders__derive_books();
CREATE CONSTRAINT TRIGGER tg_order_flags__derive_books AFTER INSERT OR UPDATE ON orders.order_flags
DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION logic.tg_orders__derive_books();
CREATE CONSTRAINT TRIGGER tg_payouts__derive_books AFTER INSERT OR UPDATE ON orders.payouts
DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION logic.tg_orders__derive_books();
