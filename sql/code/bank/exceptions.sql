-- Operator functions on the exception queue (sync.exceptions): list, show, retry, resolve,
-- ignore, bulk retry by reason code. Every action names an actor and a reason: both are written
-- on the row (resolved_by, resolution: the audit trigger records the change), and the settings
-- pgbooks.user (actor) and pgbooks.reason (audit reason code EXCEPTION_ACTION) are set for the
-- rest of the transaction so the audit event carries them.

CREATE FUNCTION analytics.exception__remedy(p_reason_code text, p_category text) RETURNS text
LANGUAGE sql IMMUTABLE
AS $$
    SELECT CASE
        WHEN p_reason_code IN ('TOTALS_MISMATCH', 'PAYOUT_MISMATCH', 'PAYOUT_SUMMARY_UNBALANCED', 'INCONSISTENT_SOURCE_DATA')
            THEN 'Source totals do not add up: correct the source rows (or re-fetch them from the platform), then retry.'
        WHEN p_reason_code LIKE '%UNMAPPED%' OR p_category = 'mapping'
            THEN 'Add the missing mapping in the tenant settings, then bulk-retry this reason code.'
        WHEN p_reason_code = 'READBACK_DIFF' OR p_category = 'verification'
            THEN 'QuickBooks holds something else than we sent: compare the diff, fix the document or QuickBooks, retry.'
        WHEN p_category = 'conflict'
            THEN 'Edited on both sides: resolve with take_ours (send ours) or take_theirs (accept QuickBooks).'
        WHEN p_reason_code LIKE 'QBO_FAULT_%' OR p_category = 'remote'
            THEN 'QuickBooks refused the document: read the fault, fix the cause (account, period, tax), then retry.'
        WHEN p_category = 'config'
            THEN 'Fix the configuration (connection, accounts, settings) named in the message, then retry.'
        WHEN p_category = 'transient'
            THEN 'Temporary failure: retry; if it repeats, check QuickBooks status and the rate limits.'
        WHEN p_category = 'source_data'
            THEN 'Correct the source data named in the message, then retry.'
        ELSE 'Read the message and detail, fix the cause, then retry, resolve or ignore with a reason.'
    END
$$;

COMMENT ON FUNCTION analytics.exception__remedy(text, text) IS
'Remedy text for an operator: what to do about an exception of this reason code and category.';

CREATE FUNCTION logic.exception__act(
    p_tenant_id text, p_exception_id bigint, p_action text, p_reason text, p_actor text
) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    v_row sync.exceptions%ROWTYPE;
    v_actor text := coalesce(nullif(btrim(p_actor), ''), logic.recon__actor());
    v_status text := CASE p_action WHEN 'ignore' THEN 'ignored' ELSE 'resolved' END;
    v_unblocked boolean := FALSE;
BEGIN
    IF coalesce(btrim(p_reason), '') = '' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'PB811', MESSAGE = format('%s of exception %s needs a reason (p_reason is empty)', p_action, p_exception_id);
    END IF;
    SELECT * INTO v_row FROM sync.exceptions AS e
    WHERE e.tenant_id = p_tenant_id AND e.exception_id = p_exception_id
    FOR UPDATE;
    IF NOT found THEN
        RAISE EXCEPTION USING
            ERRCODE = 'PB810', MESSAGE = format('exception_id %s does not exist for tenant %L', p_exception_id, p_tenant_id);
    END IF;
    IF v_row.status <> 'open' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'PB812',
            MESSAGE = format('exception_id %s is already %s (by %s); only open exceptions can be acted on',
                p_exception_id, v_row.status, coalesce(v_row.resolved_by, 'unknown'));
    END IF;
    PERFORM set_config('pgbooks.user', v_actor, true);
    PERFORM set_config('pgbooks.reason', 'EXCEPTION_ACTION', true);

    UPDATE sync.exceptions AS e SET
        status = v_status,
        resolved_at = now(),
        resolved_by = v_actor,
        resolution = CASE p_action WHEN 'retry' THEN 'retried: ' WHEN 'ignore' THEN 'ignored: ' ELSE 'resolved: ' END || p_reason
    WHERE e.tenant_id = p_tenant_id AND e.exception_id = p_exception_id;

    -- A retry (or resolve) releases the document it blocked, unless another exception still does.
    IF p_action IN ('retry', 'resolve') AND v_row.document_id IS NOT NULL THEN
        UPDATE books.documents AS d SET status = 'ready', updated_at = now()
        WHERE d.tenant_id = p_tenant_id AND d.document_id = v_row.document_id AND d.status = 'blocked'
          AND NOT EXISTS (
              SELECT FROM sync.exceptions AS o
              WHERE o.tenant_id = p_tenant_id AND o.document_id = v_row.document_id AND o.status = 'open'
          );
        v_unblocked := found;
    END IF;
    IF p_action = 'retry' THEN
        PERFORM pg_notify('pgbooks_exception_retry', json_build_object(
            'tenant_id', p_tenant_id, 'exception_id', p_exception_id, 'document_id', v_row.document_id
        )::text);
    END IF;
    RETURN jsonb_build_object(
        'exception_id', p_exception_id, 'action', p_action, 'status', v_status, 'actor', v_actor,
        'reason', p_reason, 'document_id', v_row.document_id, 'document_released', v_unblocked
    );
END
$$;

COMMENT ON FUNCTION logic.exception__act(text, bigint, text, text, text) IS
'Closes one open exception (retry, resolve or ignore) with actor and reason; a retry or resolve releases the '
'blocked document when no other open exception holds it. Raises PB810 (unknown), PB811 (no reason), PB812 (not open).';

CREATE FUNCTION api.exception__list(
    p_tenant_id text, p_status text DEFAULT 'open', p_reason_code text DEFAULT NULL, p_limit integer DEFAULT 100
) RETURNS TABLE (
    exception_id bigint,
    reason_code text,
    category text,
    status text,
    occurrences integer,
    document_id bigint,
    source_type text,
    source_id text,
    message text,
    age_hours numeric,
    last_seen_at timestamptz
)
LANGUAGE sql STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT
        e.exception_id, e.reason_code, e.category, e.status, e.occurrences, e.document_id, e.source_type,
        e.source_id, e.message, round(extract(EPOCH FROM now() - e.first_seen_at) / 3600, 1), e.last_seen_at
    FROM sync.exceptions AS e
    WHERE e.tenant_id = p_tenant_id
      AND (p_status IS NULL OR e.status = p_status)
      AND (p_reason_code IS NULL OR e.reason_code = p_reason_code)
    ORDER BY e.first_seen_at, e.exception_id
    LIMIT p_limit
$$;

COMMENT ON FUNCTION api.exception__list(text, text, text, integer) IS
'Exceptions of a tenant (open by default; NULL status for all), oldest first, optionally of one reason code.';

CREATE FUNCTION api.exception__show(p_tenant_id text, p_exception_id bigint) RETURNS jsonb
LANGUAGE plpgsql STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_out jsonb;
BEGIN
    SELECT to_jsonb(e) || jsonb_build_object('remedy', analytics.exception__remedy(e.reason_code, e.category))
    INTO v_out
    FROM sync.exceptions AS e
    WHERE e.tenant_id = p_tenant_id AND e.exception_id = p_exception_id;
    IF v_out IS NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = 'PB810', MESSAGE = format('exception_id %s does not exist for tenant %L', p_exception_id, p_tenant_id);
    END IF;
    RETURN v_out;
END
$$;

COMMENT ON FUNCTION api.exception__show(text, bigint) IS
'One exception in full (message, detail, QuickBooks fault, diff preview) with its remedy text.';

CREATE FUNCTION api.exception__retry(
    p_tenant_id text, p_exception_id bigint, p_reason text, p_actor text DEFAULT NULL
) RETURNS jsonb
LANGUAGE sql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT logic.exception__act(p_tenant_id, p_exception_id, 'retry', p_reason, p_actor)
$$;

COMMENT ON FUNCTION api.exception__retry(text, bigint, text, text) IS
'Marks an open exception retried (actor + reason audited) and releases its blocked document for delivery.';

CREATE FUNCTION api.exception__resolve(
    p_tenant_id text, p_exception_id bigint, p_reason text, p_actor text DEFAULT NULL
) RETURNS jsonb
LANGUAGE sql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT logic.exception__act(p_tenant_id, p_exception_id, 'resolve', p_reason, p_actor)
$$;

COMMENT ON FUNCTION api.exception__resolve(text, bigint, text, text) IS
'Marks an open exception resolved (fixed outside pgbooks), with actor and reason audited.';

CREATE FUNCTION api.exception__ignore(
    p_tenant_id text, p_exception_id bigint, p_reason text, p_actor text DEFAULT NULL
) RETURNS jsonb
LANGUAGE sql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT logic.exception__act(p_tenant_id, p_exception_id, 'ignore', p_reason, p_actor)
$$;

COMMENT ON FUNCTION api.exception__ignore(text, bigint, text, text) IS
'Accepts an open exception without change (reason required, actor and reason audited); the document stays blocked.';

CREATE FUNCTION api.exception__retry_by_reason(
    p_tenant_id text, p_reason_code text, p_reason text, p_actor text DEFAULT NULL
) RETURNS jsonb
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_id bigint;
    v_ids bigint[] := '{}';
BEGIN
    -- Locks in exception_id order so two bulk retries cannot deadlock.
    FOR v_id IN
        SELECT e.exception_id FROM sync.exceptions AS e
        WHERE e.tenant_id = p_tenant_id AND e.reason_code = p_reason_code AND e.status = 'open'
        ORDER BY e.exception_id
        FOR UPDATE
    LOOP
        PERFORM logic.exception__act(p_tenant_id, v_id, 'retry', p_reason, p_actor);
        v_ids := v_ids || v_id;
    END LOOP;
    RETURN jsonb_build_object('reason_code', p_reason_code, 'retried', cardinality(v_ids), 'exception_ids', to_jsonb(v_ids));
END
$$;

COMMENT ON FUNCTION api.exception__retry_by_reason(text, text, text, text) IS
'Bulk retry after a fix (e.g. a mapping added): retries every open exception of one reason code, oldest id first.';

GRANT EXECUTE ON FUNCTION api.exception__list(text, text, text, integer) TO pgbooks_operator, pgbooks_worker;
GRANT EXECUTE ON FUNCTION api.exception__show(text, bigint) TO pgbooks_operator, pgbooks_worker;
GRANT EXECUTE ON FUNCTION api.exception__retry(text, bigint, text, text) TO pgbooks_operator;
GRANT EXECUTE ON FUNCTION api.exception__resolve(text, bigint, text, text) TO pgbooks_operator;
GRANT EXECUTE ON FUNCTION api.exception__ignore(text, bigint, text, text) TO pgbooks_operator;
GRANT EXECUTE ON FUNCTION api.exception__retry_by_reason(text, text, text, text) TO pgbooks_operator;
GRANT EXECUTE ON FUNCTION analytics.exception__remedy(text, text) TO pgbooks_analyst, pgbooks_operator;
