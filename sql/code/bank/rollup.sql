-- The per-tenant reconciliation summary and the payout views, fast by design (tables:
-- sql/tables/books/recon_rollup.sql, sql/tables/books/payout_rollup.sql).
-- Every statement that can move an order's recon_state marks the day it lands on (and the one
-- it leaves) in books.recon_dirty: orders themselves, their main accounting documents, and the
-- tenant's posting mode. analytics.rpt_recon_summary reads books.recon_rollup for clean days and
-- recomputes marked days live from analytics.rpt_order_reconciliation; the refresh
-- (api.recon_rollup__refresh, views/recon/orders.sql) folds marked days back in.
-- The trigger functions read their transition tables through EXECUTE (plpgsql_check cannot see
-- transition tables in static SQL) and run as the owner (SECURITY DEFINER): a writer such as
-- pgbooks_app needs no right on books.recon_dirty.

CREATE FUNCTION analytics.order__recon_day(p_placed_at timestamptz, p_recorded_at timestamptz)
RETURNS date
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN (coalesce(p_placed_at, p_recorded_at) AT TIME ZONE 'UTC')::date;

COMMENT ON FUNCTION analytics.order__recon_day(timestamptz, timestamptz) IS
'The reconciliation day of an order: the UTC day of placed_at, else recorded_at.';

-- the analytics views call it with the reader's rights
GRANT EXECUTE ON FUNCTION analytics.order__recon_day(timestamptz, timestamptz) TO pgbooks_analyst, pgbooks_operator;

CREATE FUNCTION logic.tg_orders__recon_dirty()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_table text;
BEGIN
    FOREACH v_table IN ARRAY CASE TG_OP
        WHEN 'INSERT' THEN ARRAY['recon_new'] WHEN 'DELETE' THEN ARRAY['recon_old']
        ELSE ARRAY['recon_old', 'recon_new']
    END LOOP
        EXECUTE format(
            'INSERT INTO books.recon_dirty (tenant_id, day) '
            'SELECT DISTINCT t.tenant_id, analytics.order__recon_day(t.placed_at, t.recorded_at) FROM %I AS t',
            v_table
        );
    END LOOP;
    RETURN NULL;
END;
$$;

COMMENT ON FUNCTION logic.tg_orders__recon_dirty() IS
'AFTER statement on orders.orders: marks the days of the inserted, updated (before and after) and deleted '
'orders stale in books.recon_dirty (one mark per tenant and day per statement).';

CREATE TRIGGER tg_orders__recon_dirty_insert
AFTER INSERT ON orders.orders REFERENCING NEW TABLE AS recon_new
FOR EACH STATEMENT EXECUTE FUNCTION logic.tg_orders__recon_dirty();

CREATE TRIGGER tg_orders__recon_dirty_update
AFTER UPDATE ON orders.orders REFERENCING OLD TABLE AS recon_old NEW TABLE AS recon_new
FOR EACH STATEMENT EXECUTE FUNCTION logic.tg_orders__recon_dirty();

CREATE TRIGGER tg_orders__recon_dirty_delete
AFTER DELETE ON orders.orders REFERENCING OLD TABLE AS recon_old
FOR EACH STATEMENT EXECUTE FUNCTION logic.tg_orders__recon_dirty();

CREATE FUNCTION logic.tg_documents__recon_dirty()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_sources text;
BEGIN
    -- main documents of orders; source_id is channel_id || ':' || order_id and a channel id may
    -- itself contain ':', so the channel is found among the tenant's channels by prefix
    v_sources := CASE TG_OP
        WHEN 'INSERT' THEN format('SELECT * FROM %I', 'recon_new')
        WHEN 'DELETE' THEN format('SELECT * FROM %I', 'recon_old')
        ELSE format('SELECT * FROM %I UNION ALL SELECT * FROM %I', 'recon_new', 'recon_old')
    END;
    EXECUTE 'INSERT INTO books.recon_dirty (tenant_id, day) '
        'SELECT DISTINCT o.tenant_id, analytics.order__recon_day(o.placed_at, o.recorded_at) '
        'FROM (' || v_sources || ') AS d '
        'INNER JOIN orders.channels AS c ON c.tenant_id = d.tenant_id '
        '    AND left(d.source_id, length(c.channel_id) + 1) = c.channel_id || '':'' '
        'INNER JOIN orders.orders AS o ON o.tenant_id = d.tenant_id AND o.channel_id = c.channel_id '
        '    AND o.order_id = substr(d.source_id, length(c.channel_id) + 2) '
        'WHERE d.source_type = ''order'' AND d.source_role = ''main''';
    RETURN NULL;
END;
$$;

COMMENT ON FUNCTION logic.tg_documents__recon_dirty() IS
'AFTER statement on books.documents: marks the days of the orders whose main document was inserted, updated '
'or deleted stale in books.recon_dirty.';

CREATE TRIGGER tg_documents__recon_dirty_insert
AFTER INSERT ON books.documents REFERENCING NEW TABLE AS recon_new
FOR EACH STATEMENT EXECUTE FUNCTION logic.tg_documents__recon_dirty();

CREATE TRIGGER tg_documents__recon_dirty_update
AFTER UPDATE ON books.documents REFERENCING OLD TABLE AS recon_old NEW TABLE AS recon_new
FOR EACH STATEMENT EXECUTE FUNCTION logic.tg_documents__recon_dirty();

CREATE TRIGGER tg_documents__recon_dirty_delete
AFTER DELETE ON books.documents REFERENCING OLD TABLE AS recon_old
FOR EACH STATEMENT EXECUTE FUNCTION logic.tg_documents__recon_dirty();

CREATE FUNCTION logic.tg_tenant_settings__recon_dirty()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_tenant text;
BEGIN
    IF TG_OP = 'DELETE' THEN
        v_tenant := OLD.tenant_id;
    ELSIF TG_OP = 'UPDATE' AND NEW.posting_mode IS NOT DISTINCT FROM OLD.posting_mode THEN
        RETURN NULL;
    ELSE
        v_tenant := NEW.tenant_id;
    END IF;
    -- the posting mode decides booked_in_payout_summary vs no_document on every day
    INSERT INTO books.recon_dirty (tenant_id, day)
    SELECT DISTINCT r.tenant_id, r.day FROM books.recon_rollup AS r WHERE r.tenant_id = v_tenant;
    RETURN NULL;
END;
$$;

COMMENT ON FUNCTION logic.tg_tenant_settings__recon_dirty() IS
'AFTER row on books.tenant_settings: a posting mode change marks every rolled-up day of the tenant stale.';

CREATE TRIGGER tg_tenant_settings__recon_dirty
AFTER INSERT OR UPDATE OR DELETE ON books.tenant_settings
FOR EACH ROW EXECUTE FUNCTION logic.tg_tenant_settings__recon_dirty();

-- The payout views (views/recon/payouts.sql) read books.payout_rollup for unmarked payouts and
-- recompute marked ones live; every statement on orders.balance_transactions marks the payouts
-- (before and after) of the rows it touches. Rows without a payout are always summed live.
CREATE FUNCTION logic.tg_balance_transactions__payout_dirty()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    EXECUTE 'INSERT INTO books.payout_dirty (tenant_id, channel_id, payout_id) '
        || 'SELECT DISTINCT t.tenant_id, t.channel_id, t.payout_id FROM ('
        || CASE TG_OP
            WHEN 'INSERT' THEN format('SELECT * FROM %I', 'payout_new')
            WHEN 'DELETE' THEN format('SELECT * FROM %I', 'payout_old')
            ELSE format('SELECT * FROM %I UNION ALL SELECT * FROM %I', 'payout_old', 'payout_new')
        END
        || ') AS t WHERE t.payout_id IS NOT NULL';
    RETURN NULL;
END;
$$;

COMMENT ON FUNCTION logic.tg_balance_transactions__payout_dirty() IS
'AFTER statement on orders.balance_transactions: marks the payouts of the inserted, updated (before and after) '
'and deleted rows stale in books.payout_dirty (one mark per payout per statement).';

CREATE TRIGGER tg_balance_transactions__payout_dirty_insert
AFTER INSERT ON orders.balance_transactions REFERENCING NEW TABLE AS payout_new
FOR EACH STATEMENT EXECUTE FUNCTION logic.tg_balance_transactions__payout_dirty();

CREATE TRIGGER tg_balance_transactions__payout_dirty_update
AFTER UPDATE ON orders.balance_transactions REFERENCING OLD TABLE AS payout_old NEW TABLE AS payout_new
FOR EACH STATEMENT EXECUTE FUNCTION logic.tg_balance_transactions__payout_dirty();

CREATE TRIGGER tg_balance_transactions__payout_dirty_delete
AFTER DELETE ON orders.balance_transactions REFERENCING OLD TABLE AS payout_old
FOR EACH STATEMENT EXECUTE FUNCTION logic.tg_balance_transactions__payout_dirty();
