-- Processing, off the request path: claim pending raw events (FOR UPDATE SKIP LOCKED, so any
-- number of processors can run), run the platform's SQL normalizer on each in its own
-- subtransaction, and record the outcome. A normalizer error never loses the event and never
-- stops the batch: the event is quarantined with a reason code and the error's message, and an
-- open exception is raised for operators.
--
-- Normalizers (logic.<platform>__normalize(tenant, channel, topic, payload) RETURNS text) belong
-- to the orders area and load after this file: they are looked up and called dynamically.
--
-- Wake-up: api.raw_event__receive NOTIFYs channel pgbooks_ingest at commit; processors LISTEN
-- and also poll on a timeout, so a lost notification only delays, never strands, an event.

CREATE FUNCTION logic.raw_event__reason(p_sqlstate text) RETURNS text
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE
        WHEN p_sqlstate LIKE 'PB%' THEN 'NORMALIZER_REJECTED'
        WHEN p_sqlstate LIKE '23%' THEN 'CONSTRAINT_VIOLATED'
        WHEN p_sqlstate LIKE '22%' THEN 'INVALID_VALUE'
        WHEN p_sqlstate = '42883' THEN 'NO_NORMALIZER'
        ELSE 'NORMALIZER_ERROR'
    END;
$$;

COMMENT ON FUNCTION logic.raw_event__reason(text) IS
'Quarantine reason code for a normalizer error SQLSTATE: PB* rejected payload, 23* constraint, 22* bad value, other.';

CREATE FUNCTION logic.raw_event__raise_exception(
    p_tenant_id text, p_raw_event_id bigint, p_reason_code text, p_message text, p_detail jsonb
) RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- sync.exceptions references orders.tenants: a delivery addressed to an unknown tenant has
    -- no queue to land in (it stays visible in ingest.raw_events).
    IF NOT EXISTS (SELECT FROM orders.tenants AS t WHERE t.tenant_id = p_tenant_id) THEN
        RETURN;
    END IF;
    INSERT INTO sync.exceptions AS x (
        tenant_id, source_type, source_id, reason_code, category, message, detail
    ) VALUES (
        p_tenant_id, 'raw_event', p_raw_event_id::text, p_reason_code, 'source_data',
        left(p_message, 2000), coalesce(p_detail, '{}')
    )
    ON CONFLICT (
        tenant_id, reason_code, coalesce(document_id, -1), coalesce(source_type, ''), coalesce(source_id, '')
    ) WHERE status = 'open'
    DO UPDATE SET
        occurrences = x.occurrences + 1,
        last_seen_at = now(),
        message = excluded.message,
        detail = excluded.detail;
END
$$;

COMMENT ON FUNCTION logic.raw_event__raise_exception(text, bigint, text, text, jsonb) IS
'Open (or bump) the operators'' exception for a quarantined raw event (source_type raw_event).';

CREATE FUNCTION api.raw_events__process(p_limit integer DEFAULT 100)
RETURNS TABLE (claimed integer, applied integer, quarantined integer)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_event record;
    v_fn regprocedure;
    v_result text;
    v_state text;
    v_message text;
    v_detail text;
    v_hint text;
    v_context text;
    v_constraint text;
    v_column text;
    v_table text;
    v_reason text;
    v_error jsonb;
    v_deferred text;
BEGIN
    IF p_limit IS NULL OR p_limit < 1 THEN
        RAISE EXCEPTION USING ERRCODE = 'PB403', MESSAGE = format('p_limit: must be >= 1 (got %s)', p_limit);
    END IF;
    claimed := 0;
    applied := 0;
    quarantined := 0;
    SELECT string_agg(format('%I.%I', n.nspname, c.conname), ', ') INTO v_deferred
    FROM pg_catalog.pg_constraint AS c
    INNER JOIN pg_catalog.pg_namespace AS n ON n.oid = c.connamespace
    WHERE c.condeferrable AND c.condeferred;
    FOR v_event IN
        SELECT e.tenant_id, e.raw_event_id, e.platform, e.channel_id, e.topic, e.body
        FROM ingest.raw_events AS e
        WHERE e.status = 'pending'
        ORDER BY e.raw_event_id
        LIMIT p_limit
        FOR UPDATE SKIP LOCKED
    LOOP
        claimed := claimed + 1;
        v_result := NULL;
        v_fn := to_regprocedure(format('logic.%I(text, text, text, jsonb)', v_event.platform || '__normalize'));
        BEGIN
            IF v_fn IS NULL THEN
                RAISE EXCEPTION USING
                    ERRCODE = '42883',
                    MESSAGE = format('no normalizer logic.%s__normalize(text, text, text, jsonb) is installed',
                                     v_event.platform);
            END IF;
            EXECUTE format('SELECT %s($1, $2, $3, $4)', v_fn::oid::regproc)
            INTO v_result
            USING v_event.tenant_id, v_event.channel_id, v_event.topic, convert_from(v_event.body, 'UTF8')::jsonb;
            -- Fire the commit-time (deferred) checks the normalizer queued NOW, inside this
            -- subtransaction: an error there quarantines this event instead of aborting the whole
            -- batch at COMMIT (which would retry the same poison batch forever). Then restore
            -- the declared deferral for the next event.
            SET CONSTRAINTS ALL IMMEDIATE;
            IF v_deferred IS NOT NULL THEN
                EXECUTE 'SET CONSTRAINTS ' || v_deferred || ' DEFERRED';
            END IF;
            UPDATE ingest.raw_events AS e SET
                status = 'applied',
                reason_code = NULL,
                message = NULL,
                error_detail = NULL,
                result = v_result,
                attempts = e.attempts + 1,
                processed_at = clock_timestamp()
            WHERE e.tenant_id = v_event.tenant_id AND e.raw_event_id = v_event.raw_event_id;
            applied := applied + 1;
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS
                v_state = RETURNED_SQLSTATE,
                v_message = MESSAGE_TEXT,
                v_detail = PG_EXCEPTION_DETAIL,
                v_hint = PG_EXCEPTION_HINT,
                v_context = PG_EXCEPTION_CONTEXT,
                v_constraint = CONSTRAINT_NAME,
                v_column = COLUMN_NAME,
                v_table = TABLE_NAME;
            v_reason := logic.raw_event__reason(v_state);
            v_error := jsonb_strip_nulls(jsonb_build_object(
                'sqlstate', v_state,
                'detail', nullif(v_detail, ''),
                'hint', nullif(v_hint, ''),
                'constraint', nullif(v_constraint, ''),
                'column', nullif(v_column, ''),
                'table', nullif(v_table, ''),
                'context', nullif(v_context, ''),
                'topic', v_event.topic
            ));
            UPDATE ingest.raw_events AS e SET
                status = 'quarantined',
                reason_code = v_reason,
                message = v_message,
                error_detail = v_error,
                attempts = e.attempts + 1,
                processed_at = clock_timestamp()
            WHERE e.tenant_id = v_event.tenant_id AND e.raw_event_id = v_event.raw_event_id;
            PERFORM logic.raw_event__raise_exception(
                v_event.tenant_id, v_event.raw_event_id, v_reason,
                format('raw event %s (%s %s) quarantined: %s', v_event.raw_event_id, v_event.platform,
                       coalesce(v_event.topic, 'no topic'), v_message),
                v_error
            );
            quarantined := quarantined + 1;
        END;
    END LOOP;
    RETURN NEXT;
END
$$;

COMMENT ON FUNCTION api.raw_events__process(integer) IS
'Claim up to p_limit pending raw events (SKIP LOCKED) and normalize each: applied or quarantined. Returns counts.';

CREATE FUNCTION api.raw_event__retry(p_tenant_id text, p_raw_event_id bigint) RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    UPDATE ingest.raw_events AS e SET status = 'pending'
    WHERE e.tenant_id = p_tenant_id AND e.raw_event_id = p_raw_event_id AND e.status = 'quarantined';
    IF NOT found THEN
        RETURN FALSE;
    END IF;
    PERFORM pg_notify('pgbooks_ingest', p_tenant_id);
    RETURN TRUE;
END
$$;

COMMENT ON FUNCTION api.raw_event__retry(text, bigint) IS
'Put a quarantined raw event back in the queue (e.g. after a normalizer fix); false if it was not quarantined.';

GRANT EXECUTE ON FUNCTION api.raw_events__process(integer) TO pgbooks_worker;
GRANT EXECUTE ON FUNCTION api.raw_event__retry(text, bigint) TO pgbooks_operator;

CREATE FUNCTION api.raw_events__counts()
RETURNS TABLE (platform text, status text, events bigint)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT e.platform, e.status, count(*) FROM ingest.raw_events AS e
    GROUP BY e.platform, e.status
    ORDER BY e.platform, e.status;
$$;

COMMENT ON FUNCTION api.raw_events__counts() IS 'Raw events per platform and status (pgbooks ingest status).';

GRANT EXECUTE ON FUNCTION api.raw_events__counts() TO pgbooks_worker, pgbooks_operator;
