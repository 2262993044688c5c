-- The audit hash chain: canonical encodings, the staging trigger, and the commit-time append.
--
-- Canonical encoding version 2 (every row written since migration 0015) of an event = the text
--   header || '\n' || row_key || '\n' || before || '\n' || after
-- where header = [2, tenant_id, seq, event_time as UTC microseconds since epoch, txid, db_role,
-- app_user, reason_code, table_name, operation] (JSON array text, logic.audit__header) and each
-- snapshot is its jsonb text ('' for SQL NULL). jsonb text never holds a raw newline, so the
-- four lines are unambiguous. The text is stored in audit.events.canonical; row_key, before and
-- after are generated columns parsed from it, so verification re-hashes stored bytes and compares
-- the scalar columns with the header: no jsonb is printed. Version 1 (rows written before 0015)
-- = the text of the jsonb array [1, header fields..., row_key, before, after]; its stored text
-- starts with the same header fields (logic.audit__header(1, ...)).
-- jsonb text output is independent of session settings (keys sorted, numbers exact); the row
-- snapshots are made by to_jsonb under pinned TimeZone/DateStyle/IntervalStyle/
-- extra_float_digits (SET clauses below), so the same change always encodes the same way.
-- hash = sha256(prev_hash || convert_to(canonical, 'UTF8')); genesis prev_hash = 32 zero bytes.
--
-- Write path: the statement triggers only stage the changed rows (audit.pending, one static
-- INSERT ... SELECT over the transition table) and register the transaction once
-- (audit.pending_tx); the deferred constraint trigger on audit.pending_tx runs logic.audit__flush
-- at commit: per tenant it takes the advisory lock, reads the head, renders and hashes the staged
-- rows and inserts them with one INSERT. The lock is held from commit-time append to commit only.

CREATE FUNCTION logic.audit__canonical(
    p_tenant_id text,
    p_seq bigint,
    p_event_time timestamptz,
    p_txid bigint,
    p_db_role text,
    p_app_user text,
    p_reason_code text,
    p_table_name text,
    p_operation text,
    p_row_key jsonb,
    p_before jsonb,
    p_after jsonb
) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    -- Byte for byte the text of jsonb_build_array(1, p_tenant_id, ..., p_after) (elements
    -- separated by ', ', strings escaped like JSON, SQL NULL as null), written out directly:
    -- building the jsonb array first would copy both row snapshots twice before printing them.
    -- tests/audit/test_chain.py checks the equality on hostile strings.
    SELECT '[1, '
        || coalesce(to_json(p_tenant_id)::text, 'null') || ', '
        || coalesce(p_seq::text, 'null') || ', '
        || coalesce(((extract(EPOCH FROM p_event_time) * 1000000)::bigint)::text, 'null') || ', '
        || coalesce(p_txid::text, 'null') || ', '
        || coalesce(to_json(p_db_role)::text, 'null') || ', '
        || coalesce(to_json(p_app_user)::text, 'null') || ', '
        || coalesce(to_json(p_reason_code)::text, 'null') || ', '
        || coalesce(to_json(p_table_name)::text, 'null') || ', '
        || coalesce(to_json(p_operation)::text, 'null') || ', '
        || coalesce(p_row_key::text, 'null') || ', '
        || coalesce(p_before::text, 'null') || ', '
        || coalesce(p_after::text, 'null') || ']'
$$;

COMMENT ON FUNCTION logic.audit__canonical(
    text, bigint, timestamptz, bigint, text, text, text, text, text, jsonb, jsonb, jsonb
) IS
'Canonical encoding v1 of an audit event (JSON array text), the bytes hashed into the chain; session-independent.';

CREATE FUNCTION logic.audit__genesis() RETURNS bytea
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea $$;

COMMENT ON FUNCTION logic.audit__genesis() IS 'prev_hash of the first event of every chain: 32 zero bytes.';

CREATE FUNCTION logic.audit__lock_key(p_tenant_id text) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT hashtextextended('pgbooks.audit:' || p_tenant_id, 0) $$;

COMMENT ON FUNCTION logic.audit__lock_key(text) IS
'Advisory lock key serialising the appends to one tenant chain (held to commit).';

CREATE FUNCTION logic.audit__actor() RETURNS text
LANGUAGE sql STABLE
AS $$
    SELECT CASE
        WHEN coalesce(current_setting('role', true), 'none') = 'none' THEN session_user::text
        ELSE current_setting('role', true)
    END
$$;

COMMENT ON FUNCTION logic.audit__actor() IS
'Database role acting: the SET ROLE role, else the login (unchanged inside SECURITY DEFINER functions).';

CREATE FUNCTION logic.audit__header(
    p_version integer,
    p_tenant_id text,
    p_seq bigint,
    p_event_time timestamptz,
    p_txid bigint,
    p_db_role text,
    p_app_user text,
    p_reason_code text,
    p_table_name text,
    p_operation text
) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    -- Version 2: the whole first line of the canonical text, newline included. Version 1: the
    -- text of the first ten array elements and the separator before row_key (a prefix of the
    -- v1 canonical text).
    SELECT '[' || p_version::text || ', '
        || coalesce(to_json(p_tenant_id)::text, 'null') || ', '
        || coalesce(p_seq::text, 'null') || ', '
        || coalesce(((extract(EPOCH FROM p_event_time) * 1000000)::bigint)::text, 'null') || ', '
        || coalesce(p_txid::text, 'null') || ', '
        || coalesce(to_json(p_db_role)::text, 'null') || ', '
        || coalesce(to_json(p_app_user)::text, 'null') || ', '
        || coalesce(to_json(p_reason_code)::text, 'null') || ', '
        || coalesce(to_json(p_table_name)::text, 'null') || ', '
        || coalesce(to_json(p_operation)::text, 'null')
        || CASE WHEN p_version = 1 THEN ', ' ELSE E']\n' END
$$;

COMMENT ON FUNCTION logic.audit__header(
    integer, text, bigint, timestamptz, bigint, text, text, text, text, text
) IS
'The scalar part of a canonical encoding (v2: first line; v1: prefix): what verify compares the columns with.';

CREATE FUNCTION logic.audit__canonical_v2(
    p_tenant_id text,
    p_seq bigint,
    p_event_time timestamptz,
    p_txid bigint,
    p_db_role text,
    p_app_user text,
    p_reason_code text,
    p_table_name text,
    p_operation text,
    p_row_key jsonb,
    p_before jsonb,
    p_after jsonb
) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT logic.audit__header(
        2, p_tenant_id, p_seq, p_event_time, p_txid, p_db_role, p_app_user, p_reason_code,
        p_table_name, p_operation
    )
        || coalesce(p_row_key::text, '') || E'\n'
        || coalesce(p_before::text, '') || E'\n'
        || coalesce(p_after::text, '')
$$;

COMMENT ON FUNCTION logic.audit__canonical_v2(
    text, bigint, timestamptz, bigint, text, text, text, text, text, jsonb, jsonb, jsonb
) IS
'Canonical encoding v2 of an audit event: header line + row_key, before, after lines; stored and hashed.';

-- The commit-time append: moves every change staged by this transaction into the tenant chains.
-- Tenants in a fixed (sorted) order, so two transactions never wait on each other crosswise; per
-- tenant: advisory lock, head from the last row (primary-key index), seq and canonical text for
-- all its staged rows in one query, the sha256 links in one pass, one INSERT.
CREATE FUNCTION logic.audit__flush() RETURNS bigint
LANGUAGE plpgsql VOLATILE
AS $$
-- Called only by the SECURITY DEFINER functions tg_audit__flush and audit__append (their owner,
-- search_path pinned): no SET clauses of its own, no second privilege switch per transaction.
-- Nothing here depends on TimeZone (µs since the epoch; snapshots are stored jsonb).
DECLARE
    v_txid bigint := pg_current_xact_id()::text::bigint;
    v_tenants text [];
    v_tenant text;
    v_seq bigint;
    v_hash bytea;
    v_ords bigint [];
    v_texts text [];
    v_prevs bytea [];
    v_hashes bytea [];
    v_n integer;
    v_i integer;
    v_total bigint := 0;
BEGIN
    WITH unregistered AS (
        DELETE FROM audit.pending_tx AS x WHERE x.txid = v_txid RETURNING 1
    )
    SELECT array_agg(DISTINCT p.tenant_id) INTO v_tenants
    FROM audit.pending AS p WHERE p.txid = v_txid;
    FOREACH v_tenant IN ARRAY coalesce(v_tenants, '{}') LOOP
        IF v_tenant IS NULL THEN
            RAISE EXCEPTION USING
                ERRCODE = 'PB702',
                MESSAGE = format(
                    'audit: a row of %s has no tenant_id; every audited row needs one',
                    (SELECT p.table_name FROM audit.pending AS p
                        WHERE p.txid = v_txid AND p.tenant_id IS NULL ORDER BY p.ord LIMIT 1)
                );
        END IF;
        -- the head is read by a statement that starts after the lock is granted (READ
        -- COMMITTED: its snapshot sees the previous holder's commit)
        PERFORM pg_advisory_xact_lock(logic.audit__lock_key(v_tenant));
        SELECT e.seq, e.hash INTO v_seq, v_hash
        FROM audit.events AS e
        WHERE e.tenant_id = v_tenant COLLATE "default"
        ORDER BY e.seq DESC
        LIMIT 1;
        IF NOT FOUND THEN
            v_seq := 0;
            v_hash := logic.audit__genesis();
        END IF;
        LOOP
            -- in slices of 10,000 rows: memory stays bounded for a bulk statement of any size
            SELECT
                array_agg(s.ord ORDER BY s.ord),
                array_agg(logic.audit__canonical_v2(
                    s.tenant_id, v_seq + s.n, s.event_time, v_txid, s.db_role, s.app_user, s.reason_code,
                    s.table_name, s.operation, s.row_key, s.before, s.after
                ) ORDER BY s.ord)
            INTO v_ords, v_texts
            FROM (
                SELECT p.*, row_number() OVER (ORDER BY p.ord) AS n
                FROM audit.pending AS p
                WHERE p.txid = v_txid AND p.tenant_id = v_tenant COLLATE "default"
                ORDER BY p.ord
                LIMIT 10000
            ) AS s;
            v_n := coalesce(cardinality(v_ords), 0);
            EXIT WHEN v_n = 0;
            v_prevs := array_fill(NULL::bytea, ARRAY[v_n]);
            v_hashes := v_prevs;
            FOR v_i IN 1..v_n LOOP
                v_prevs[v_i] := v_hash;
                v_hash := sha256(v_hash || convert_to(v_texts[v_i], 'UTF8'));
                v_hashes[v_i] := v_hash;
            END LOOP;
            -- the staged rows leave audit.pending as they enter the chain (one statement)
            WITH moved AS (
                DELETE FROM audit.pending AS p
                WHERE p.txid = v_txid AND p.ord = ANY(v_ords)
                RETURNING p.*
            )
            INSERT INTO audit.events (
                tenant_id, seq, event_time, txid, db_role, app_user, reason_code, table_name, operation,
                prev_hash, hash, version, canonical
            )
            SELECT
                m.tenant_id, v_seq + u.n, m.event_time, v_txid, m.db_role, m.app_user, m.reason_code,
                m.table_name, m.operation, u.prev_hash, u.hash, 2, u.canonical
            FROM unnest(v_ords, v_texts, v_prevs, v_hashes) WITH ORDINALITY AS u (ord, canonical, prev_hash, hash, n)
            INNER JOIN moved AS m ON m.ord = u.ord;
            v_seq := v_seq + v_n;
            v_total := v_total + v_n;
            EXIT WHEN v_n < 10000;
        END LOOP;
    END LOOP;
    RETURN v_total;
END
$$;

COMMENT ON FUNCTION logic.audit__flush() IS
'Appends every change staged by the running transaction to the tenant chains (lock, head, hashes, one insert).';

CREATE FUNCTION logic.tg_audit__flush() RETURNS trigger
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM logic.audit__flush();
    RETURN NULL;
END
$$;

COMMENT ON FUNCTION logic.tg_audit__flush() IS
'Deferred constraint trigger on audit.pending_tx: the one chain append of a transaction, at commit.';

CREATE FUNCTION logic.audit__append(
    p_tenant_id text, p_reason_code text, p_action text, p_row_key jsonb, p_after jsonb
) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET timezone = 'UTC'
AS $$
BEGIN
    -- staged behind the transaction's earlier changes, then appended at once: the caller reads
    -- the new head right away (close.export_period, checkpoints)
    INSERT INTO audit.pending (
        txid, tenant_id, event_time, db_role, app_user, reason_code, table_name, operation, row_key, before, after
    ) VALUES (
        pg_current_xact_id()::text::bigint, p_tenant_id, clock_timestamp(), logic.audit__actor(),
        nullif(current_setting('pgbooks.user', true), ''), p_reason_code, p_action, 'ACTION', p_row_key, NULL, p_after
    );
    PERFORM logic.audit__flush();
END
$$;

COMMENT ON FUNCTION logic.audit__append(text, text, text, jsonb, jsonb) IS
'Appends one ACTION event (override, close, checkpoint...) to a tenant chain, after the changes staged before it.';

CREATE FUNCTION logic.jsonb__changed_from(p_a jsonb, p_b jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT CASE
        WHEN p_b IS NULL THEN p_a
        ELSE (
            SELECT coalesce(jsonb_object_agg(a.key, a.value), '{}')
            FROM jsonb_each(p_a) AS a
            WHERE (p_b -> a.key) IS DISTINCT FROM a.value
        )
    END
$$;

COMMENT ON FUNCTION logic.jsonb__changed_from(jsonb, jsonb) IS
'The keys of p_a whose value differs in p_b (all of p_a when p_b is NULL): one side of a row diff.';

CREATE FUNCTION logic.audit__default_reason(p_schema text, p_table text, p_operation text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT CASE
        WHEN p_table LIKE '%setting%' OR p_table LIKE '%mapping%' THEN 'SETTING_CHANGE'
        WHEN p_schema IN ('orders', 'ingest') THEN 'SOURCE_DATA'
        WHEN p_schema = 'books' THEN 'BOOKS_RULE'
        WHEN p_table = 'outbox' THEN 'OUTBOX_TRANSITION'
        WHEN p_table = 'exceptions' THEN 'EXCEPTION_ACTION'
        WHEN p_table IN ('requests', 'attempts') AND p_operation = 'INSERT' THEN 'REQUEST_SENT'
        WHEN p_table IN ('requests', 'attempts') THEN 'RESPONSE_RECEIVED'
        WHEN p_schema = 'sync' THEN 'SYNC_DELIVERY'
        ELSE 'DATA_CHANGE'
    END
$$;

COMMENT ON FUNCTION logic.audit__default_reason(text, text, text) IS
'Reason code of a row change when the session did not set pgbooks.reason (taxonomy in README "Audit").';

-- Generic statement-level trigger with transition tables (one call per statement, not per row).
-- It only stages: one static INSERT ... SELECT of the changed rows into audit.pending, and the
-- registration of the transaction in audit.pending_tx (ON CONFLICT DO NOTHING: only the first
-- staging statement of a transaction queues the commit-time append). TG_ARGV holds the
-- primary-key columns (set when the trigger is attached by attach.sql); they build row_key and
-- pair the old and new rows of an UPDATE. The queries are static: PL/pgSQL compiles a trigger
-- function once per trigger, so each trigger keeps its own cached plans over its transition
-- tables (no EXECUTE, no re-planning per statement). A statement that changed no row
-- (ON CONFLICT DO NOTHING, an UPDATE that matched nothing) costs one empty scan.
CREATE FUNCTION logic.tg_any__audit() RETURNS trigger
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET timezone = 'UTC'
SET datestyle = 'ISO, YMD'
SET intervalstyle = 'postgres'
SET extra_float_digits = '1'
AS $$
-- @plpgsql_check_options: oldtable = audit_old_rows, newtable = audit_new_rows
DECLARE
    v_txid bigint := pg_current_xact_id()::text::bigint;
    v_time timestamptz := clock_timestamp();
    v_role text := logic.audit__actor();
    v_user text := nullif(current_setting('pgbooks.user', true), '');
    v_table text := (TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME)::text COLLATE "default";
    v_reason text := coalesce(
        nullif(current_setting('pgbooks.reason', true), ''),
        logic.audit__default_reason(TG_TABLE_SCHEMA, TG_TABLE_NAME, TG_OP)
    );
BEGIN
    -- One statement per call: the non-key column list (row_key = the snapshot minus its
    -- non-key members, one jsonb operator per row), the staged rows, and the registration of
    -- the transaction (only when a row was staged).
    IF TG_OP = 'INSERT' THEN
        WITH nk AS (
            SELECT ARRAY(
                SELECT a.attname::text FROM pg_catalog.pg_attribute AS a
                WHERE a.attrelid = TG_RELID AND a.attnum > 0 AND NOT a.attisdropped
                    AND a.attname::text <> ALL(TG_ARGV[0:TG_NARGS - 1])
            ) AS cols
        ),
        staged AS (
            INSERT INTO audit.pending (
                txid, tenant_id, event_time, db_role, app_user, reason_code, table_name, operation,
                row_key, before, after
            )
            SELECT v_txid, n.j ->> 'tenant_id', v_time, v_role, v_user, v_reason, v_table, 'INSERT', n.j - nk.cols, NULL, n.j
            FROM nk, (SELECT to_jsonb(r) AS j FROM audit_new_rows AS r) AS n
            RETURNING 1
        )
        INSERT INTO audit.pending_tx (txid)
        SELECT v_txid WHERE EXISTS (SELECT FROM staged)
        ON CONFLICT DO NOTHING;
    ELSIF TG_OP = 'DELETE' THEN
        WITH nk AS (
            SELECT ARRAY(
                SELECT a.attname::text FROM pg_catalog.pg_attribute AS a
                WHERE a.attrelid = TG_RELID AND a.attnum > 0 AND NOT a.attisdropped
                    AND a.attname::text <> ALL(TG_ARGV[0:TG_NARGS - 1])
            ) AS cols
        ),
        staged AS (
            INSERT INTO audit.pending (
                txid, tenant_id, event_time, db_role, app_user, reason_code, table_name, operation,
                row_key, before, after
            )
            SELECT v_txid, o.j ->> 'tenant_id', v_time, v_role, v_user, v_reason, v_table, 'DELETE', o.j - nk.cols, o.j, NULL
            FROM nk, (SELECT to_jsonb(r) AS j FROM audit_old_rows AS r) AS o
            RETURNING 1
        )
        INSERT INTO audit.pending_tx (txid)
        SELECT v_txid WHERE EXISTS (SELECT FROM staged)
        ON CONFLICT DO NOTHING;
    ELSE
        WITH nk AS (
            SELECT ARRAY(
                SELECT a.attname::text FROM pg_catalog.pg_attribute AS a
                WHERE a.attrelid = TG_RELID AND a.attnum > 0 AND NOT a.attisdropped
                    AND a.attname::text <> ALL(TG_ARGV[0:TG_NARGS - 1])
            ) AS cols
        ),
        staged AS (
            INSERT INTO audit.pending (
                txid, tenant_id, event_time, db_role, app_user, reason_code, table_name, operation,
                row_key, before, after
            )
            SELECT
                v_txid, coalesce(n.j ->> 'tenant_id', o.j ->> 'tenant_id'), v_time, v_role, v_user, v_reason,
                v_table, 'UPDATE', coalesce(n.k, o.k),
                logic.jsonb__changed_from(o.j, n.j), logic.jsonb__changed_from(n.j, o.j)
            FROM (
                SELECT to_jsonb(r) AS j, to_jsonb(r) - nk.cols AS k FROM nk, audit_old_rows AS r
            ) AS o
            FULL JOIN (
                SELECT to_jsonb(r) AS j, to_jsonb(r) - nk.cols AS k FROM nk, audit_new_rows AS r
            ) AS n ON o.k = n.k
            WHERE n.j IS DISTINCT FROM o.j
            RETURNING 1
        )
        INSERT INTO audit.pending_tx (txid)
        SELECT v_txid WHERE EXISTS (SELECT FROM staged)
        ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END
$$;

COMMENT ON FUNCTION logic.tg_any__audit() IS
'Statement trigger on every audited data table: stages each changed row (diff for UPDATE) for the commit-time append.';

CREATE FUNCTION logic.tg_audit__append_only() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    RAISE EXCEPTION USING
        ERRCODE = 'PB701',
        MESSAGE = format('%I.%I is append-only: %s refused', TG_TABLE_SCHEMA, TG_TABLE_NAME, TG_OP),
        HINT = 'Audit rows are never changed; record a correcting event instead.';
END
$$;

COMMENT ON FUNCTION logic.tg_audit__append_only() IS
'Refuses UPDATE, DELETE and TRUNCATE on the audit tables (SQLSTATE PB701), for every role.';
