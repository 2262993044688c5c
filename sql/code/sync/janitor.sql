-- Liveness of claims: workers heartbeat while they hold claims; the janitor (run by every worker
-- on a schedule, and callable by an operator) releases claims whose worker went silent. A released
-- request may have reached QuickBooks, so it is marked ambiguous and replayed with its requestid.

CREATE FUNCTION api.outbox__heartbeat(p_worker text, p_claim_ids uuid[])
RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_count integer;
BEGIN
    -- Only the claims the worker still works on: a claim whose completion was lost (database
    -- restart, crash between HTTP and complete) stops being renewed and the janitor frees it.
    UPDATE sync.outbox AS o SET heartbeat_at = clock_timestamp()
    WHERE o.state = 'claimed' AND o.claimed_by = p_worker AND o.claim_id = ANY(p_claim_ids);
    GET DIAGNOSTICS v_count = ROW_COUNT;
    RETURN v_count;
END;
$$;

COMMENT ON FUNCTION api.outbox__heartbeat(text, uuid[]) IS
'Renews the listed claims of a live worker (the ones it is still working on); returns how many.';

CREATE FUNCTION api.outbox__reap(p_worker text DEFAULT 'janitor')
RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_entry sync.outbox;
    v_count integer := 0;
BEGIN
    FOR v_entry IN
        SELECT o.* FROM sync.outbox AS o
        WHERE o.state = 'claimed'
            AND o.heartbeat_at < clock_timestamp() - (logic.settings__get(o.tenant_id)).claim_timeout
        FOR UPDATE SKIP LOCKED
    LOOP
        UPDATE sync.outbox AS o SET
            state = 'pending', due_at = now(), ambiguous = true,
            claim_id = NULL, claimed_by = NULL, claimed_at = NULL, heartbeat_at = NULL,
            last_error = 'claim of ' || v_entry.claimed_by || ' expired', updated_at = now()
        WHERE o.tenant_id = v_entry.tenant_id AND o.document_id = v_entry.document_id;
        PERFORM logic.attempt__log(v_entry.tenant_id, v_entry.document_id, v_entry.request_version,
            'released', v_entry.request_id, NULL, p_worker,
            jsonb_build_object('claimed_by', v_entry.claimed_by, 'heartbeat_at', v_entry.heartbeat_at));
        PERFORM logic.wakeup__enqueue(v_entry.tenant_id, now());
        v_count := v_count + 1;
    END LOOP;
    RETURN v_count;
END;
$$;

COMMENT ON FUNCTION api.outbox__reap(text) IS
'Janitor: releases claims whose heartbeat is older than claim_timeout (audited in sync.attempts).';

CREATE FUNCTION api.outbox__retry(p_tenant_id text, p_document_id bigint, p_by text)
RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    UPDATE sync.outbox AS o SET state = 'pending', due_at = now(), attempts = 0, updated_at = now()
    WHERE o.tenant_id = p_tenant_id AND o.document_id = p_document_id AND o.state IN ('failed', 'held');
    IF NOT found THEN
        RAISE EXCEPTION USING
            ERRCODE = 'PB613',
            MESSAGE = format('document_id %s of tenant %s has no failed or held outbox entry to retry',
                p_document_id, p_tenant_id);
    END IF;
    UPDATE sync.exceptions AS e SET
        status = 'resolved', resolved_at = now(), resolved_by = p_by, resolution = 'retried'
    WHERE e.tenant_id = p_tenant_id AND e.document_id = p_document_id AND e.status = 'open';
    PERFORM logic.wakeup__enqueue(p_tenant_id, now());
END;
$$;

COMMENT ON FUNCTION api.outbox__retry(text, bigint, text) IS
'Operator: retries a failed or held document now and resolves its open exceptions as retried.';

CREATE FUNCTION api.outbox__backlog()
RETURNS TABLE (due integer, next_due_at timestamptz, in_flight integer, next_ready_at timestamptz)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- Counts stop at 100 (the worker only needs "some" vs "none"): a claim loop asks this after
    -- every empty claim, and counting a backlog of 10,000 entries cost ~15 ms a call. PL/pgSQL
    -- keeps the plan between calls (an SQL function with SET re-plans it each time).
    RETURN QUERY SELECT
        (
            SELECT count(*) FROM (
                SELECT 1 FROM sync.outbox AS o
                JOIN sync.connections AS c ON c.tenant_id = o.tenant_id
                WHERE NOT c.paused AND o.state = 'pending' AND o.due_at <= clock_timestamp()
                LIMIT 100
            ) AS x
        )::integer,
        -- the earliest moment a claim can hand something out: a realm's first due entry, but not
        -- before its bucket may be visited again (api.outbox__claim: half of the reservation
        -- horizon free) nor before a 429's block ends. A throttled realm's loop sleeps until then.
        r.next_due,
        (
            SELECT count(*) FROM (
                SELECT 1 FROM sync.outbox AS o
                JOIN sync.connections AS c ON c.tenant_id = o.tenant_id
                WHERE NOT c.paused AND o.state = 'claimed'
                LIMIT 100
            ) AS y
        )::integer,
        r.next_ready
    FROM (
        -- next_ready_at: the first due entry of a realm that is not throttled at that moment (a
        -- debounce ending: worth waking for at once)
        SELECT
            min(greatest(x.first_due, x.bucket_at)) AS next_due,
            min(x.first_due) FILTER (WHERE x.bucket_at <= x.first_due) AS next_ready
        FROM (
            SELECT
                (
                    SELECT min(o.due_at) FROM sync.outbox AS o
                    WHERE o.tenant_id = b.tenant_id AND o.state = 'pending'
                ) AS first_due,
                greatest(b.refilled_at - logic.rate_bucket__visit_lead(), b.blocked_until) AS bucket_at
            FROM sync.rate_buckets AS b
            JOIN sync.connections AS c ON c.tenant_id = b.tenant_id
            WHERE NOT c.paused
        ) AS x
        WHERE x.first_due IS NOT NULL
    ) AS r;
END;
$$;

COMMENT ON FUNCTION api.outbox__backlog() IS
'Work left for the workers: entries due now, when a claim can next hand one out (an entry due and its '
'realm''s bucket visitable), entries in flight, and the first due time of an entry whose realm is not '
'throttled then (paused realms excluded; counts capped at 100).';

REVOKE ALL ON FUNCTION api.outbox__heartbeat(text, uuid[]) FROM public;
REVOKE ALL ON FUNCTION api.outbox__reap(text) FROM public;
REVOKE ALL ON FUNCTION api.outbox__retry(text, bigint, text) FROM public;
REVOKE ALL ON FUNCTION api.outbox__backlog() FROM public;
GRANT EXECUTE ON FUNCTION api.outbox__heartbeat(text, uuid[]) TO pgbooks_worker;
GRANT EXECUTE ON FUNCTION api.outbox__reap(text) TO pgbooks_worker, pgbooks_operator;
GRANT EXECUTE ON FUNCTION api.outbox__retry(text, bigint, text) TO pgbooks_operator;
GRANT EXECUTE ON FUNCTION api.outbox__backlog() TO pgbooks_worker, pgbooks_operator;
