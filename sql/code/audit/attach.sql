-- Attach auditing and tenant isolation to the data tables, at every code reload, so tables that
-- other areas add later are covered without touching this file.
--
-- Audited: every ordinary or partitioned table of orders, ingest, books, sync that has a
-- tenant_id column and a primary key, except the high-churn tables below, orders.events (the
-- canonical event stream is a projection made by triggers from orders rows whose own changes
-- are in the chain: auditing it again doubled the order snapshot per change) and any table
-- whose COMMENT contains "[audit: skip]" (write the reason next to it). close.audit__coverage() lists
-- each table with the decision and why.

CREATE FUNCTION logic.audit__coverage() RETURNS TABLE (
    table_name text, audited boolean, why text, key_columns text[]
)
LANGUAGE sql STABLE
AS $$
    SELECT
        format('%I.%I', n.nspname, c.relname) AS table_name,
        d.why IS NULL AS audited,
        coalesce(d.why, 'audited') AS why,
        k.cols AS key_columns
    FROM pg_catalog.pg_class AS c
    INNER JOIN pg_catalog.pg_namespace AS n ON c.relnamespace = n.oid
    LEFT JOIN LATERAL (
        SELECT array_agg(a.attname::text ORDER BY x.ord) AS cols
        FROM pg_catalog.pg_index AS i
        CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS x (attnum, ord)
        INNER JOIN pg_catalog.pg_attribute AS a ON a.attrelid = c.oid AND a.attnum = x.attnum
        WHERE i.indrelid = c.oid AND i.indisprimary
    ) AS k ON true
    CROSS JOIN LATERAL (
        SELECT CASE
            WHEN c.relispartition
                OR EXISTS (SELECT FROM pg_catalog.pg_inherits AS h WHERE h.inhrelid = c.oid)
                THEN 'partition or inheritance child: audited through its parent'
            WHEN NOT EXISTS (
                SELECT FROM pg_catalog.pg_attribute AS a
                WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
            ) THEN 'no tenant_id column: not tenant data'
            WHEN k.cols IS NULL THEN 'no primary key: rows cannot be identified'
            WHEN format('%I.%I', n.nspname, c.relname) IN (
                'sync.leases', 'sync.locks', 'sync.sync_locks', 'sync.rate_limits',
                'sync.rate_limit_buckets', 'sync.buckets', 'sync.worker_heartbeats'
            ) THEN 'high-churn coordination state (locks, leases, rate-limit buckets)'
            WHEN format('%I.%I', n.nspname, c.relname) = 'orders.events'
                THEN 'derived: written only by the orders triggers, from row changes that are audited'
            WHEN coalesce(obj_description(c.oid, 'pg_class'), '') LIKE '%[audit: skip]%'
                THEN 'opted out by its table comment [audit: skip]'
        END AS why
    ) AS d
    WHERE n.nspname IN ('orders', 'ingest', 'books', 'sync') AND c.relkind IN ('r', 'p')
    ORDER BY 1
$$;

COMMENT ON FUNCTION logic.audit__coverage() IS
'Every data table of orders, ingest, books, sync with whether it is audited, why, and its key columns.';

DO $attach$
DECLARE
    v_t record;
    v_task text;
    v_rel text;
BEGIN
    FOR v_t IN SELECT * FROM logic.audit__coverage() AS c WHERE c.audited LOOP
        v_rel := split_part(v_t.table_name, '.', 2);
        FOREACH v_task IN ARRAY ARRAY['insert', 'update', 'delete'] LOOP
            EXECUTE format(
                'CREATE TRIGGER %I AFTER %s ON %s REFERENCING %s FOR EACH STATEMENT '
                'EXECUTE FUNCTION logic.tg_any__audit(%s)',
                'tg_' || v_rel || '__audit_' || v_task,
                upper(v_task),
                v_t.table_name,
                CASE v_task
                    WHEN 'insert' THEN 'NEW TABLE AS audit_new_rows'
                    WHEN 'delete' THEN 'OLD TABLE AS audit_old_rows'
                    ELSE 'OLD TABLE AS audit_old_rows NEW TABLE AS audit_new_rows'
                END,
                (SELECT string_agg(quote_literal(k), ', ') FROM unnest(v_t.key_columns) AS k)
            );
        END LOOP;
    END LOOP;
END
$attach$;

-- The one chain append per transaction: audit.pending_tx gets one row per transaction that
-- staged changes (logic.tg_any__audit); this deferred trigger fires once for it at commit (and
-- again for changes staged by other commit-time triggers after it ran: PostgreSQL fires the
-- deferred triggers queued while firing deferred triggers before it commits).
CREATE CONSTRAINT TRIGGER tg_pending_tx__flush AFTER INSERT ON audit.pending_tx
DEFERRABLE INITIALLY DEFERRED
FOR EACH ROW EXECUTE FUNCTION logic.tg_audit__flush();

-- Append-only: refused for every role by triggers (superusers too, unless they disable them).
CREATE TRIGGER tg_events__append_only BEFORE UPDATE OR DELETE ON audit.events
FOR EACH ROW EXECUTE FUNCTION logic.tg_audit__append_only();
CREATE TRIGGER tg_events__no_truncate BEFORE TRUNCATE ON audit.events
FOR EACH STATEMENT EXECUTE FUNCTION logic.tg_audit__append_only();
CREATE TRIGGER tg_checkpoints__append_only BEFORE UPDATE OR DELETE ON audit.checkpoints
FOR EACH ROW EXECUTE FUNCTION logic.tg_audit__append_only();
CREATE TRIGGER tg_checkpoints__no_truncate BEFORE TRUNCATE ON audit.checkpoints
FOR EACH STATEMENT EXECUTE FUNCTION logic.tg_audit__append_only();
CREATE TRIGGER tg_overrides__append_only BEFORE UPDATE OR DELETE ON audit.overrides
FOR EACH ROW EXECUTE FUNCTION logic.tg_audit__append_only();
CREATE TRIGGER tg_overrides__no_truncate BEFORE TRUNCATE ON audit.overrides
FOR EACH STATEMENT EXECUTE FUNCTION logic.tg_audit__append_only();

-- Row-level security: every table with a tenant_id in the data schemas (audit included) gets
-- the same two policies. Sessions of app, analyst, operator, approver and closer see and write
-- only the tenant named by the session setting pgbooks.tenant_id (unset: nothing, fail closed);
-- the worker drains every tenant. The table owner (migrations, SECURITY DEFINER functions) and
-- superusers bypass RLS by design: that is how api.*/close.* functions work across tenants.
DO $rls$
DECLARE
    v_t record;
BEGIN
    FOR v_t IN
        SELECT format('%I.%I', n.nspname, c.relname) AS table_name
        FROM pg_catalog.pg_class AS c
        INNER JOIN pg_catalog.pg_namespace AS n ON c.relnamespace = n.oid
        WHERE n.nspname IN ('orders', 'ingest', 'books', 'sync', 'audit') AND c.relkind IN ('r', 'p')
            AND EXISTS (
                SELECT FROM pg_catalog.pg_attribute AS a
                WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
            )
    LOOP
        EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', v_t.table_name);
        EXECUTE format('DROP POLICY IF EXISTS tenant_isolation ON %s', v_t.table_name);
        EXECUTE format('DROP POLICY IF EXISTS worker_all_tenants ON %s', v_t.table_name);
        EXECUTE format(
            'CREATE POLICY tenant_isolation ON %s TO pgbooks_app, pgbooks_analyst, pgbooks_operator, '
            'pgbooks_approver, pgbooks_closer '
            'USING (tenant_id = current_setting(''pgbooks.tenant_id'', true)) '
            'WITH CHECK (tenant_id = current_setting(''pgbooks.tenant_id'', true))',
            v_t.table_name
        );
        EXECUTE format(
            'CREATE POLICY worker_all_tenants ON %s TO pgbooks_worker USING (true) WITH CHECK (true)',
            v_t.table_name
        );
    END LOOP;
END
$rls$;
