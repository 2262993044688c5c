-- Verification of a tenant chain, in SQL, set-based: every event is checked against its own
-- stored hash (content: sha256 of the stored canonical text; the snapshots are generated from
-- that text and a CHECK binds the scalar columns to its header) and against its predecessor (link:
-- seq + 1 and prev_hash = previous hash), so there is no sequential dependency and the scan
-- runs at index-scan speed. A chain where every link holds is exactly a chain that recomputes
-- from genesis. Signed checkpoints must still sit on the chain: this catches a deleted tail, which links alone cannot.

CREATE FUNCTION logic.audit__schema_problem() RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    -- What verification relies on besides the hashes: row_key/before/after still generated from
    -- canonical, and the CHECK that the scalar columns equal canonical's header still in force
    -- (validated). Definitions compared by the md5 of their pg_get_expr/pg_get_constraintdef
    -- text (sql/tables/audit/events.sql); a PostgreSQL major upgrade that prints them
    -- differently makes verify fail loudly, never pass silently: then update the digests.
    WITH expected (name, digest) AS (
        VALUES
        ('row_key', 'd2825c789de91d63dd3140771cf453d2'),
        ('before', 'b8bc1373229061e9ef6657adf1c6723c'),
        ('after', '32922f2ee578d98cfa53768144d8a9f6'),
        ('events_header_matches', '98375988c1db9652e79b35379e85da46')
    ),
    actual (name, digest) AS (
        SELECT a.attname::text, md5(pg_get_expr(d.adbin, d.adrelid))
        FROM pg_attribute AS a
        INNER JOIN pg_attrdef AS d ON a.attrelid = d.adrelid AND a.attnum = d.adnum
        WHERE a.attrelid = 'audit.events'::regclass AND a.attgenerated = 's' AND NOT a.attisdropped
        UNION ALL
        SELECT c.conname::text, md5(pg_get_constraintdef(c.oid))
        FROM pg_constraint AS c
        WHERE c.conrelid = 'audit.events'::regclass AND c.contype = 'c' AND c.convalidated
    )
    SELECT string_agg(e.name, ', ' ORDER BY e.name)
    FROM expected AS e
    WHERE NOT EXISTS (SELECT FROM actual AS a WHERE a.name = e.name AND a.digest = e.digest)
$$;

COMMENT ON FUNCTION logic.audit__schema_problem() IS
'Names the audit.events generated columns / header CHECK that are missing or altered (NULL when intact).';

CREATE FUNCTION close.audit__verify(
    p_tenant_id text, p_from_seq bigint DEFAULT 1, p_to_seq bigint DEFAULT NULL
) RETURNS TABLE (
    ok boolean, checked bigint, first_bad_seq bigint, problem text, head_seq bigint, head_hash text
)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET timezone = 'UTC'
AS $$
DECLARE
    v_from bigint := greatest(coalesce(p_from_seq, 1), 1);
    v_expected bytea;
    v_bad text;
    v_cp record;
BEGIN
    -- The snapshots must still be generated from the hashed text and the scalar columns still
    -- checked against its header: a superuser who dropped either (ALTER TABLE ... DROP
    -- EXPRESSION / DROP CONSTRAINT) could edit a column apart from the hashed bytes.
    v_bad := logic.audit__schema_problem();
    IF v_bad IS NOT NULL THEN
        RETURN QUERY SELECT false, 0::bigint, NULL::bigint,
            format('audit.events %s no longer as defined: columns could be edited apart from the hashed text (schema tampered)', v_bad),
            NULL::bigint, NULL::text;
        RETURN;
    END IF;
    IF v_from = 1 THEN
        v_expected := logic.audit__genesis();
    ELSE
        SELECT e.hash INTO v_expected FROM audit.events AS e WHERE e.tenant_id = p_tenant_id AND e.seq = v_from - 1;
        IF NOT FOUND THEN
            RETURN QUERY SELECT false, 0::bigint, v_from - 1, format('event %s is missing', v_from - 1), NULL::bigint, NULL::text;
            RETURN;
        END IF;
    END IF;

    SELECT
        count(*),
        max(c.seq),
        (array_agg(c.problem ORDER BY c.seq) FILTER (WHERE c.problem IS NOT NULL))[1]
    INTO checked, head_seq, v_bad
    FROM (
        SELECT
            e.seq,
            CASE
                WHEN lag(e.seq) OVER w IS NULL AND e.seq <> v_from
                    THEN format('seq %s: events %s..%s are missing', e.seq, v_from, e.seq - 1)
                WHEN lag(e.seq) OVER w IS NOT NULL AND e.seq <> lag(e.seq) OVER w + 1
                    THEN format(
                        'seq %s: follows seq %s, events in between are missing or re-ordered',
                        e.seq, lag(e.seq) OVER w
                    )
                WHEN e.prev_hash <> coalesce(lag(e.hash) OVER w, v_expected)
                    THEN format('seq %s: prev_hash does not match the hash of seq %s (link broken)', e.seq, e.seq - 1)
                WHEN NOT e.content_ok
                    THEN format('seq %s: content does not match its hash (row edited)', e.seq)
            END AS problem
        FROM (
            -- The content check runs in the scan, below the window (OFFSET 0 keeps the planner
            -- from moving it up): the window's tuple store then holds narrow rows (seq, hashes,
            -- a boolean). Content = the stored canonical text re-hashed; the other columns are
            -- bound to that text by the table (generated columns, header CHECK: checked above).
            SELECT
                x.seq, x.prev_hash, x.hash,
                x.hash = sha256(x.prev_hash || convert_to(x.canonical, 'UTF8')) AS content_ok
            FROM audit.events AS x
            WHERE x.tenant_id = p_tenant_id AND x.seq >= v_from AND (p_to_seq IS NULL OR x.seq <= p_to_seq)
            ORDER BY x.seq
            OFFSET 0
        ) AS e
        WINDOW w AS (ORDER BY e.seq)
    ) AS c;

    IF v_bad IS NOT NULL THEN
        first_bad_seq := split_part(split_part(v_bad, ':', 1), ' ', 2)::bigint;
        problem := v_bad;
        ok := false;
        RETURN NEXT;
        RETURN;
    END IF;
    first_bad_seq := NULL;
    SELECT encode(e.hash, 'hex') INTO head_hash FROM audit.events AS e
    WHERE e.tenant_id = p_tenant_id AND e.seq = head_seq;

    -- Checkpoints in range must match the chain (and none may lie beyond the real head).
    FOR v_cp IN
        SELECT k.seq, k.head_hash, e.hash AS actual
        FROM audit.checkpoints AS k
        LEFT JOIN audit.events AS e ON k.tenant_id = e.tenant_id AND k.seq = e.seq
        WHERE k.tenant_id = p_tenant_id AND k.seq >= v_from AND (p_to_seq IS NULL OR k.seq <= p_to_seq)
        ORDER BY k.seq
    LOOP
        IF v_cp.actual IS NULL OR v_cp.actual <> v_cp.head_hash THEN
            ok := false;
            first_bad_seq := v_cp.seq;
            problem := format(
                'seq %s: signed checkpoint head %s not found on the chain (%s)', v_cp.seq,
                encode(v_cp.head_hash, 'hex'),
                CASE WHEN v_cp.actual IS NULL THEN 'events deleted' ELSE 'chain rewritten' END
            );
            RETURN NEXT;
            RETURN;
        END IF;
    END LOOP;
    ok := true;
    problem := NULL;
    RETURN NEXT;
END
$$;

COMMENT ON FUNCTION close.audit__verify(text, bigint, bigint) IS
'Recomputes a tenant audit chain (optionally seq range) and names the first broken link; checks checkpoints.';

CREATE FUNCTION close.audit__head(p_tenant_id text) RETURNS TABLE (seq bigint, head_hash text)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT e.seq, encode(e.hash, 'hex') FROM audit.events AS e
    WHERE e.tenant_id = p_tenant_id ORDER BY e.seq DESC LIMIT 1
$$;

COMMENT ON FUNCTION close.audit__head(text) IS 'The head (last seq and its hash, hex) of a tenant chain.';

-- Checkpoints are signed outside the database (pgbooks audit checkpoint); this only checks
-- that the statement speaks of the real chain and stores it, and logs the act in the chain.
CREATE FUNCTION close.checkpoint__record(
    p_tenant_id text, p_statement text, p_public_key bytea, p_signature bytea
) RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_doc jsonb := p_statement::jsonb;
    v_seq bigint := (v_doc ->> 'seq')::bigint;
    v_hash bytea;
BEGIN
    IF v_doc ->> 'tenant_id' IS DISTINCT FROM p_tenant_id THEN
        RAISE EXCEPTION USING ERRCODE = 'PB703',
            MESSAGE = format('checkpoint: statement tenant_id %s is not %s', v_doc ->> 'tenant_id', p_tenant_id);
    END IF;
    SELECT e.hash INTO v_hash FROM audit.events AS e WHERE e.tenant_id = p_tenant_id AND e.seq = v_seq;
    IF v_hash IS NULL OR encode(v_hash, 'hex') IS DISTINCT FROM v_doc ->> 'head' THEN
        RAISE EXCEPTION USING ERRCODE = 'PB703',
            MESSAGE = format('checkpoint: head %s at seq %s is not on the chain of %s', v_doc ->> 'head', v_seq, p_tenant_id);
    END IF;
    INSERT INTO audit.checkpoints (tenant_id, seq, head_hash, signed_at, statement, public_key, signature)
    VALUES (p_tenant_id, v_seq, v_hash, (v_doc ->> 'signed_at')::timestamptz, p_statement, p_public_key, p_signature)
    ON CONFLICT DO NOTHING;
    PERFORM logic.audit__append(
        p_tenant_id, 'CHECKPOINT_SIGNED', 'audit.checkpoint',
        jsonb_build_object('seq', v_seq), jsonb_build_object(
            'head', v_doc ->> 'head', 'public_key', encode(p_public_key, 'hex'),
            'signature', encode(p_signature, 'hex')
        )
    );
    RETURN v_seq;
END
$$;

COMMENT ON FUNCTION close.checkpoint__record(text, text, bytea, bytea) IS
'Stores a checkpoint signed outside the database after checking its head is on the chain (PB703 if not).';

CREATE FUNCTION close.audit__export(
    p_tenant_id text, p_from_seq bigint DEFAULT 1, p_to_seq bigint DEFAULT NULL
) RETURNS TABLE (seq bigint, prev_hash text, hash text, canonical text)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT e.seq, encode(e.prev_hash, 'hex'), encode(e.hash, 'hex'), e.canonical
    FROM audit.events AS e
    WHERE e.tenant_id = p_tenant_id AND e.seq >= coalesce(p_from_seq, 1)
        AND (p_to_seq IS NULL OR e.seq <= p_to_seq)
    ORDER BY e.seq
$$;

COMMENT ON FUNCTION close.audit__export(text, bigint, bigint) IS
'Audit events of a tenant as their stored canonical text (v1 or v2) with hashes: what an offline verifier re-hashes.';

CREATE FUNCTION close.checkpoint__list(p_tenant_id text) RETURNS TABLE (
    seq bigint, head_hash text, statement text, public_key text, signature text
)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT k.seq, encode(k.head_hash, 'hex'), k.statement, encode(k.public_key, 'hex'), encode(k.signature, 'hex')
    FROM audit.checkpoints AS k WHERE k.tenant_id = p_tenant_id ORDER BY k.seq, k.signed_at
$$;

COMMENT ON FUNCTION close.checkpoint__list(text) IS 'Signed checkpoints of a tenant chain, oldest first, hex-encoded.';

CREATE FUNCTION close.audit__coverage() RETURNS TABLE (table_name text, audited boolean, why text)
LANGUAGE sql STABLE
AS $$ SELECT c.table_name, c.audited, c.why FROM logic.audit__coverage() AS c $$;

COMMENT ON FUNCTION close.audit__coverage() IS
'Which data tables carry the audit triggers, and why the others do not.';
