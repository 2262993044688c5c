-- Inbound capture, CDC side: the safety net for lost webhooks and the only way to see hard
-- deletes. Per realm, a sweep asks GET /cdc?entities=...&changedSince=<watermark - overlap>;
-- every object (or tombstone) it returns is captured like a webhook change (same dedupe), then
-- the watermark moves to the QuickBooks time of the response.
--
-- Adaptive interval (the rule): n = writes to the realm in the last 15 minutes (our accepted
-- deliveries in sync.attempts + changes captured from QuickBooks); the next sweep is due after
-- sweep_max / (1 + n), clamped to [sweep_min, sweep_max]. Defaults 30 s .. 15 min: a quiet realm
-- is swept every 15 min, one with 29 or more writes in 15 min every 30 s.

CREATE FUNCTION logic.inbound__sweep_interval(p_tenant_id text)
RETURNS interval
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT greatest(r.sweep_min, least(r.sweep_max, r.sweep_max / (1 + w.n)))
    FROM sync.inbound_realms AS r
    CROSS JOIN LATERAL (
        SELECT (
            SELECT count(*) FROM sync.attempts AS a
            WHERE a.tenant_id = r.tenant_id AND a.event = 'accepted' AND a.created_at > now() - INTERVAL '15 minutes'
        ) + (
            SELECT count(*) FROM sync.inbound_changes AS c
            WHERE c.tenant_id = r.tenant_id AND c.received_at > now() - INTERVAL '15 minutes'
        ) AS n
    ) AS w
    WHERE r.tenant_id = p_tenant_id;
$$;

COMMENT ON FUNCTION logic.inbound__sweep_interval(text) IS
'Adaptive CDC sweep interval: sweep_max / (1 + writes in the last 15 minutes), within [sweep_min, sweep_max].';

CREATE FUNCTION api.inbound_sweeps__due(p_tenant_id text DEFAULT NULL, p_force boolean DEFAULT FALSE)
RETURNS TABLE (
    tenant_id text, realm_id text, base_url text, entities text, changed_since timestamptz
)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    -- QuickBooks keeps 30 days of CDC: an older watermark asks for 30 days (and the sweep
    -- record raises CDC_WINDOW_EXCEEDED, since changes may have been missed).
    SELECT r.tenant_id, c.realm_id, c.base_url, array_to_string(r.cdc_entities, ','),
        greatest(r.cdc_watermark - r.cdc_overlap, now() - INTERVAL '30 days' + INTERVAL '1 minute')
    FROM sync.inbound_realms AS r
    INNER JOIN sync.connections AS c ON c.tenant_id = r.tenant_id
    WHERE r.enabled AND NOT c.paused
        AND (p_tenant_id IS NULL OR r.tenant_id = p_tenant_id)
        AND (p_force OR r.next_sweep_at <= now())
    ORDER BY r.next_sweep_at;
$$;

COMMENT ON FUNCTION api.inbound_sweeps__due(text, boolean) IS
'Realms whose CDC sweep is due (or all / one, forced): what to ask QuickBooks (entities, changedSince).';

CREATE FUNCTION api.inbound_sweep__record(
    p_tenant_id text, p_changed_since timestamptz, p_response jsonb
) RETURNS TABLE (objects integer, new_changes integer, next_sweep_at timestamptz)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_realm text;
    v_resp jsonb;
    v_key text;
    v_list jsonb;
    v_obj jsonb;
    v_entity text;
    v_objects integer := 0;
    v_new integer := 0;
    v_now timestamptz := coalesce((p_response ->> 'time')::timestamptz, now());
    v_next timestamptz;
    v_watermark timestamptz;
BEGIN
    SELECT c.realm_id INTO v_realm FROM sync.connections AS c WHERE c.tenant_id = p_tenant_id;
    SELECT r.cdc_watermark INTO v_watermark FROM sync.inbound_realms AS r WHERE r.tenant_id = p_tenant_id FOR UPDATE;
    IF v_realm IS NULL OR v_watermark IS NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = 'PB933',
            MESSAGE = format('tenant_id %L: no QuickBooks connection with two-way sync enabled', p_tenant_id);
    END IF;
    IF jsonb_typeof(p_response -> 'CDCResponse') IS DISTINCT FROM 'array' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'PB934', MESSAGE = format('p_response: no CDCResponse array (got keys %s)',
                (SELECT string_agg(k, ',') FROM jsonb_object_keys(p_response) AS k));
    END IF;
    FOR v_resp IN
        SELECT q.value
        FROM jsonb_array_elements(p_response -> 'CDCResponse') AS cr (value)
        CROSS JOIN LATERAL jsonb_array_elements(coalesce(cr.value -> 'QueryResponse', '[]')) AS q (value)
    LOOP
        FOR v_key, v_list IN SELECT e.key, e.value FROM jsonb_each(v_resp) AS e WHERE jsonb_typeof(e.value) = 'array'
        LOOP
            v_entity := logic.qbo_entity__name(v_key);
            CONTINUE WHEN v_entity IS NULL;
            FOR v_obj IN SELECT o.value FROM jsonb_array_elements(v_list) AS o (value) LOOP
                v_objects := v_objects + 1;
                IF logic.inbound_change__capture(
                    p_tenant_id, v_realm, v_entity, v_obj ->> 'Id',
                    CASE WHEN v_obj ->> 'status' = 'Deleted' THEN 'Delete' ELSE 'Update' END,
                    coalesce((v_obj #>> '{MetaData,LastUpdatedTime}')::timestamptz, v_now), 'cdc',
                    p_sync_token => v_obj ->> 'SyncToken'
                ) THEN
                    v_new := v_new + 1;
                END IF;
            END LOOP;
        END LOOP;
    END LOOP;
    IF v_watermark < now() - INTERVAL '30 days' THEN
        PERFORM logic.inbound__exception(p_tenant_id, NULL, 'realm', p_tenant_id, 'CDC_WINDOW_EXCEEDED', 'remote',
            format('the CDC watermark %s is older than the 30 days QuickBooks keeps: changes before %s may be missed',
                v_watermark, p_changed_since),
            jsonb_build_object('watermark', v_watermark, 'changed_since', p_changed_since), NULL);
    END IF;
    UPDATE sync.inbound_realms AS r SET
        cdc_watermark = greatest(r.cdc_watermark, v_now),
        last_sweep_at = now(),
        last_sweep_changes = v_objects,
        updated_at = now()
    WHERE r.tenant_id = p_tenant_id;
    UPDATE sync.inbound_realms AS r SET
        sweep_interval = logic.inbound__sweep_interval(p_tenant_id),
        next_sweep_at = now() + logic.inbound__sweep_interval(p_tenant_id)
    WHERE r.tenant_id = p_tenant_id
    RETURNING r.next_sweep_at INTO v_next;
    RETURN QUERY SELECT v_objects, v_new, v_next;
END
$$;

COMMENT ON FUNCTION api.inbound_sweep__record(text, timestamptz, jsonb) IS
'Records one CDC answer: captures every object and tombstone once, moves the watermark to the answer''s time, '
'schedules the next sweep by the adaptive rule. PB933 not enabled, PB934 not a CDC answer.';

GRANT EXECUTE ON FUNCTION api.inbound_sweeps__due(text, boolean) TO pgbooks_worker;
GRANT EXECUTE ON FUNCTION api.inbound_sweep__record(text, timestamptz, jsonb) TO pgbooks_worker;

CREATE FUNCTION api.inbound_sweep__postpone(p_tenant_id text, p_error text)
RETURNS timestamptz
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    -- A sweep that failed (transport, 5xx, 429, auth) is retried after sweep_min; the watermark
    -- stays, so nothing is skipped.
    UPDATE sync.inbound_realms AS r SET
        next_sweep_at = now() + r.sweep_min, updated_at = now()
    WHERE r.tenant_id = p_tenant_id AND p_error IS NOT NULL
    RETURNING r.next_sweep_at;
$$;

COMMENT ON FUNCTION api.inbound_sweep__postpone(text, text) IS
'After a failed CDC sweep: retry after sweep_min, watermark unchanged.';

GRANT EXECUTE ON FUNCTION api.inbound_sweep__postpone(text, text) TO pgbooks_worker;
