-- The audit hash chain: canonical encoding, the append core, and the generic row trigger.
--
-- Canonical encoding (version 1) of an event = the text of the jsonb array
--   [1, tenant_id, seq, event_time as UTC microseconds since epoch, txid, db_role, app_user,
--    reason_code, table_name, operation, row_key, before, after]
-- jsonb text output is independent of session settings (keys sorted, numbers exact); the row
-- snapshots are made by to_jsonb under pinned TimeZone/DateStyle/IntervalStyle/
-- extra_float_digits (SET clauses below), so the same change always encodes the same way.
-- hash = sha256(prev_hash || convert_to(encoding, 'UTF8')); genesis prev_hash = 32 zero bytes.

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

-- The append core. Arrays are parallel and must be sorted by tenant_id: each tenant's advisory
-- lock is taken once, in tenant order (a fixed order, so two statements never wait on each
-- other crosswise), the head is read from the last row (index on the primary key) and the
-- links are computed in one pass; one INSERT writes the batch.
CREATE FUNCTION logic.audit__chain(
    p_table_name text,
    p_operation text,
    p_reason_code text,
    p_tenant_ids text[],
    p_row_keys jsonb[],
    p_befores jsonb[],
    p_afters jsonb[]
) RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET timezone = 'UTC'
AS $$
DECLARE
    v_n integer := coalesce(cardinality(p_tenant_ids), 0);
    v_time timestamptz := clock_timestamp();
    v_txid bigint := pg_current_xact_id()::text::bigint;
    v_role text := logic.audit__actor();
    v_user text := nullif(current_setting('pgbooks.user', true), '');
    v_tenant text;
    v_seq bigint;
    v_hash bytea;
    v_seqs bigint [] := '{}';
    v_prevs bytea [] := '{}';
    v_hashes bytea [] := '{}';
    v_i integer;
BEGIN
    IF v_n = 0 THEN
        RETURN 0;
    END IF;
    FOR v_i IN 1..v_n LOOP
        IF p_tenant_ids[v_i] IS DISTINCT FROM v_tenant THEN
            v_tenant := p_tenant_ids[v_i];
            IF v_tenant IS NULL THEN
                RAISE EXCEPTION USING
                    ERRCODE = 'PB702',
                    MESSAGE = format('audit: a row of %s has no tenant_id; every audited row needs one', p_table_name);
            END IF;
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
        END IF;
        v_seq := v_seq + 1;
        v_prevs[v_i] := v_hash;
        v_hash := sha256(v_hash || convert_to(logic.audit__canonical(
            v_tenant, v_seq, v_time, v_txid, v_role, v_user, p_reason_code, p_table_name, p_operation,
            p_row_keys[v_i], p_befores[v_i], p_afters[v_i]
        ), 'UTF8'));
        v_seqs[v_i] := v_seq;
        v_hashes[v_i] := v_hash;
    END LOOP;
    INSERT INTO audit.events (
        tenant_id, seq, event_time, txid, db_role, app_user, reason_code, table_name, operation,
        row_key, before, after, prev_hash, hash
    )
    SELECT
        u.tenant_id, u.seq, v_time, v_txid, v_role, v_user, p_reason_code, p_table_name, p_operation,
        u.row_key, u.before, u.after, u.prev_hash, u.hash
    FROM unnest(p_tenant_ids, v_seqs, p_row_keys, p_befores, p_afters, v_prevs, v_hashes)
        AS u (tenant_id, seq, row_key, before, after, prev_hash, hash);
    RETURN v_n;
END
$$;

COMMENT ON FUNCTION logic.audit__chain(text, text, text, text[], jsonb[], jsonb[], jsonb[]) IS
'Appends a batch of events (arrays sorted by tenant) to the tenant chains under advisory locks; returns the count.';

CREATE FUNCTION logic.audit__append(
    p_tenant_id text, p_reason_code text, p_action text, p_row_key jsonb, p_after jsonb
) RETURNS void
LANGUAGE sql VOLATILE
AS $$
    SELECT logic.audit__chain(
        p_action, 'ACTION', p_reason_code, ARRAY[p_tenant_id], ARRAY[p_row_key], ARRAY[NULL::jsonb], ARRAY[p_after]
    )
$$;

COMMENT ON FUNCTION logic.audit__append(text, text, text, jsonb, jsonb) IS
'Appends one ACTION event (override, close, checkpoint...) to a tenant chain.';

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
-- TG_ARGV holds the primary-key columns (set when the trigger is attached by attach.sql); they
-- build row_key and pair the old and new rows of an UPDATE. The queries are static: PL/pgSQL
-- compiles a trigger function once per trigger, so each trigger keeps its own cached plans over
-- its transition tables (no EXECUTE, no re-planning per statement). A statement that changed no
-- row (ON CONFLICT DO NOTHING, an UPDATE that matched nothing) costs one empty scan.
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
    -- row_key = the snapshot minus its non-key members (one jsonb operator, no per-row call)
    v_nonkey text [] := ARRAY(
        SELECT a.attname::text FROM pg_catalog.pg_attribute AS a
        WHERE a.attrelid = TG_RELID AND a.attnum > 0 AND NOT a.attisdropped
            AND a.attname::text <> ALL(TG_ARGV[0:TG_NARGS - 1])
    );
    v_tenants text [];
    v_row_keys jsonb [];
    v_befores jsonb [];
    v_afters jsonb [];
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(s.t ORDER BY s.t, s.i), array_agg(s.k ORDER BY s.t, s.i),
            array_agg(NULL::jsonb ORDER BY s.t, s.i), array_agg(s.j ORDER BY s.t, s.i)
        INTO v_tenants, v_row_keys, v_befores, v_afters
        FROM (
            SELECT n.j ->> 'tenant_id' AS t, n.j - v_nonkey AS k, n.j, n.i
            FROM (SELECT to_jsonb(r) AS j, row_number() OVER () AS i FROM audit_new_rows AS r) AS n
        ) AS s;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT array_agg(s.t ORDER BY s.t, s.i), array_agg(s.k ORDER BY s.t, s.i),
            array_agg(s.j ORDER BY s.t, s.i), array_agg(NULL::jsonb ORDER BY s.t, s.i)
        INTO v_tenants, v_row_keys, v_befores, v_afters
        FROM (
            SELECT o.j ->> 'tenant_id' AS t, o.j - v_nonkey AS k, o.j, o.i
            FROM (SELECT to_jsonb(r) AS j, row_number() OVER () AS i FROM audit_old_rows AS r) AS o
        ) AS s;
    ELSE
        SELECT array_agg(s.t ORDER BY s.t, s.i), array_agg(s.k ORDER BY s.t, s.i),
            array_agg(logic.jsonb__changed_from(s.oj, s.nj) ORDER BY s.t, s.i),
            array_agg(logic.jsonb__changed_from(s.nj, s.oj) ORDER BY s.t, s.i)
        INTO v_tenants, v_row_keys, v_befores, v_afters
        FROM (
            SELECT
                coalesce(n.j ->> 'tenant_id', o.j ->> 'tenant_id') AS t, coalesce(n.k, o.k) AS k,
                o.j AS oj, n.j AS nj, row_number() OVER () AS i
            FROM (
                SELECT to_jsonb(r) AS j, to_jsonb(r) - v_nonkey AS k FROM audit_old_rows AS r
            ) AS o
            FULL JOIN (
                SELECT to_jsonb(r) AS j, to_jsonb(r) - v_nonkey AS k FROM audit_new_rows AS r
            ) AS n ON o.k = n.k
            WHERE n.j IS DISTINCT FROM o.j
        ) AS s;
    END IF;
    IF v_tenants IS NOT NULL THEN
        PERFORM logic.audit__chain(
            (TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME)::text COLLATE "default", TG_OP,
            coalesce(
                nullif(current_setting('pgbooks.reason', true), ''),
                logic.audit__default_reason(TG_TABLE_SCHEMA, TG_TABLE_NAME, TG_OP)
            ),
            v_tenants, v_row_keys, v_befores, v_afters
        );
    END IF;
    RETURN NULL;
END
$$;

COMMENT ON FUNCTION logic.tg_any__audit() IS
'Statement trigger on every audited data table: records each changed row (diff for UPDATE) in the tenant chain.';

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
