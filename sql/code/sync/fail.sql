-- Failures, classified here (never in the worker) into the error taxonomy:
--   transient: 429, 5xx, QuickBooks SystemFault, connection errors -> backoff with jitter,
--              honouring Retry-After, bounded by settings.max_attempts;
--   ambiguous: timeout / connection lost after the request left -> QuickBooks may hold the object;
--              the request is kept and replayed with the same requestid (never re-rendered);
--   data:      a ValidationFault -> exception with QuickBooks' message and a remedy, entry failed;
--   auth:      401/403 -> realm paused with an AUTH_EXPIRED exception, entry kept;
--   period:    6210 closed books period -> entry held with a PERIOD_CLOSED exception.

CREATE FUNCTION logic.fault__classify(p_http_status integer, p_fault jsonb, p_transport_error text)
RETURNS text
LANGUAGE sql IMMUTABLE
AS $$
    SELECT CASE
        WHEN p_http_status IS NULL AND p_transport_error = 'connect' THEN 'transient'
        WHEN p_http_status IS NULL THEN 'ambiguous'
        WHEN p_http_status IN (401, 403) THEN 'auth'
        WHEN p_http_status = 429 OR p_http_status >= 500 THEN 'transient'
        WHEN p_fault #>> '{Error,0,code}' = '5010' THEN 'conflict'
        WHEN p_fault #>> '{Error,0,code}' = '6210' THEN 'period'
        WHEN p_fault #>> '{Error,0,code}' IN ('3200', '3100', '100', '120') THEN 'auth'
        WHEN p_fault ->> 'type' = 'SystemFault' THEN 'transient'
        ELSE 'data'
    END
$$;

COMMENT ON FUNCTION logic.fault__classify(integer, jsonb, text) IS
'Taxonomy of a failed request: transient, ambiguous, auth, conflict, period or data.';

CREATE FUNCTION logic.fault__remedy(p_code text)
RETURNS text
LANGUAGE sql IMMUTABLE
AS $$
    SELECT CASE p_code
        WHEN '6240' THEN 'A QuickBooks name already uses this DisplayName/Name: map the document to it or rename.'
        WHEN '6140' THEN 'The DocNumber is already used in QuickBooks: check for a manual entry or renumber.'
        WHEN '2500' THEN 'A reference (account, item, tax code) is unknown in QuickBooks: fix the tenant mapping.'
        WHEN '610' THEN 'A referenced object is inactive or missing in QuickBooks: reactivate it or fix the mapping.'
        WHEN '2020' THEN 'A required field is missing: fix the rule that builds this document.'
        WHEN '2010' THEN 'The payload has a field QuickBooks does not know: fix the rule that builds this document.'
        WHEN '6070' THEN 'A line amount is not Qty x UnitPrice: fix the line rounding in the rule.'
        ELSE 'Read QuickBooks'' message, fix the data or mapping, then retry the exception.'
    END
$$;

COMMENT ON FUNCTION logic.fault__remedy(text) IS 'What the operator should do about a QuickBooks fault code.';

CREATE FUNCTION api.outbox__fail(
    p_claim_id uuid,
    p_http_status integer,
    p_fault jsonb DEFAULT NULL,
    p_retry_after numeric DEFAULT NULL,
    p_transport_error text DEFAULT NULL,
    p_worker text DEFAULT NULL
)
RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_entry sync.outbox := logic.outbox__claimed(p_claim_id);
    v_settings sync.settings := logic.settings__get(v_entry.tenant_id);
    v_class text := logic.fault__classify(p_http_status, p_fault, p_transport_error);
    v_code text := coalesce(p_fault #>> '{Error,0,code}', p_http_status::text, p_transport_error);
    v_message text := coalesce(
        nullif(concat_ws(': ', p_fault #>> '{Error,0,Message}', p_fault #>> '{Error,0,Detail}'), ''),
        CASE WHEN p_http_status IS NULL THEN 'no answer: ' || coalesce(p_transport_error, 'unknown')
            ELSE 'HTTP ' || p_http_status END
    );
    v_attempts integer := v_entry.attempts + 1;
    v_delay double precision;
    v_due_at timestamptz;
BEGIN
    IF v_class IN ('transient', 'ambiguous') AND v_attempts < v_settings.max_attempts THEN
        -- Exponential backoff 0.25 s x 2^n capped at 60 s, full jitter in [50 %, 100 %],
        -- never earlier than Retry-After.
        v_delay := greatest(
            least(60.0, 0.25 * 2 ^ (v_attempts - 1)) * (0.5 + random() / 2),
            coalesce(p_retry_after, 0)
        );
        v_due_at := now() + make_interval(secs => v_delay);
        -- Lock order: the rate bucket before any audited write (the audit chain's per-tenant
        -- advisory lock), the same order as api.outbox__claim; the reverse deadlocks.
        IF p_http_status = 429 THEN
            UPDATE sync.rate_buckets AS b SET
                blocked_until = greatest(b.blocked_until, now() + make_interval(secs => coalesce(p_retry_after, v_delay)))
            WHERE b.tenant_id = v_entry.tenant_id;
        END IF;
        UPDATE sync.outbox AS o SET
            state = 'pending', due_at = v_due_at, attempts = v_attempts,
            ambiguous = o.ambiguous OR v_class = 'ambiguous',
            claim_id = NULL, claimed_by = NULL, claimed_at = NULL, heartbeat_at = NULL,
            last_http_status = p_http_status, last_error = v_message, updated_at = now()
        WHERE o.tenant_id = v_entry.tenant_id AND o.document_id = v_entry.document_id;
        PERFORM logic.wakeup__enqueue(v_entry.tenant_id, v_due_at);
        PERFORM logic.attempt__log(v_entry.tenant_id, v_entry.document_id, v_entry.request_version,
            v_class, v_entry.request_id, p_http_status, p_worker,
            jsonb_build_object('error', v_message, 'attempt', v_attempts, 'delay_s', v_delay));
    ELSIF v_class IN ('transient', 'ambiguous') THEN
        -- Bounded: the entry stops and an operator sees it. The request is kept: if the outcome
        -- was ambiguous, a retry must still replay it rather than send a new one.
        UPDATE sync.outbox AS o SET
            state = 'failed', attempts = v_attempts, ambiguous = o.ambiguous OR v_class = 'ambiguous',
            claim_id = NULL, claimed_by = NULL, claimed_at = NULL, heartbeat_at = NULL,
            last_http_status = p_http_status, last_error = v_message, updated_at = now()
        WHERE o.tenant_id = v_entry.tenant_id AND o.document_id = v_entry.document_id;
        PERFORM logic.exception__raise(v_entry.tenant_id, v_entry.document_id, 'RETRY_EXHAUSTED', 'transient',
            format('%s %s failed %s times, last: %s', v_entry.request_entity, v_entry.request_op,
                v_attempts, v_message),
            jsonb_build_object('version', v_entry.request_version, 'request_id', v_entry.request_id,
                'taxonomy', 'system', 'remedy', 'Check QuickBooks status, then retry the exception.'),
            p_fault);
        PERFORM logic.attempt__log(v_entry.tenant_id, v_entry.document_id, v_entry.request_version,
            'exhausted', v_entry.request_id, p_http_status, p_worker, jsonb_build_object('error', v_message));
    ELSIF v_class = 'auth' THEN
        UPDATE sync.outbox AS o SET
            state = 'pending', due_at = now(),
            claim_id = NULL, claimed_by = NULL, claimed_at = NULL, heartbeat_at = NULL,
            last_http_status = p_http_status, last_error = v_message, updated_at = now()
        WHERE o.tenant_id = v_entry.tenant_id AND o.document_id = v_entry.document_id;
        PERFORM logic.connection__pause(v_entry.tenant_id, 'QuickBooks refused the credentials: ' || v_message);
        PERFORM logic.attempt__log(v_entry.tenant_id, v_entry.document_id, v_entry.request_version,
            'auth_fault', v_entry.request_id, p_http_status, p_worker, jsonb_build_object('error', v_message));
    ELSIF v_class = 'period' THEN
        UPDATE sync.outbox AS o SET
            state = 'held', attempts = 0,
            claim_id = NULL, claimed_by = NULL, claimed_at = NULL, heartbeat_at = NULL,
            request_id = NULL, request_bid = NULL, request_op = NULL, request_entity = NULL,
            request_version = NULL, request_body = NULL, ambiguous = false,
            last_http_status = p_http_status, last_error = v_message, updated_at = now()
        WHERE o.tenant_id = v_entry.tenant_id AND o.document_id = v_entry.document_id;
        PERFORM logic.exception__raise(v_entry.tenant_id, v_entry.document_id, 'PERIOD_CLOSED', 'config',
            format('%s is dated in a closed QuickBooks books period; held (policy %s)',
                v_entry.request_entity, v_settings.closed_period_policy),
            jsonb_build_object('version', v_entry.request_version, 'taxonomy', 'data',
                'remedy', 'Reopen the period in QuickBooks or redate the document as an adjustment, then retry.'),
            p_fault);
        PERFORM logic.attempt__log(v_entry.tenant_id, v_entry.document_id, v_entry.request_version,
            'held', v_entry.request_id, p_http_status, p_worker, jsonb_build_object('error', v_message));
    ELSIF v_class = 'data' AND v_entry.ambiguous THEN
        -- A refusal answering the replay of an ambiguous request proves that this requestid created
        -- nothing (e.g. the first send was cut off mid-body). Send the current version once more
        -- under a new requestid (the logged refusal changes it) before calling it a data fault.
        UPDATE sync.outbox AS o SET
            state = 'pending', due_at = now(), attempts = v_attempts,
            claim_id = NULL, claimed_by = NULL, claimed_at = NULL, heartbeat_at = NULL,
            request_id = NULL, request_bid = NULL, request_op = NULL, request_entity = NULL,
            request_version = NULL, request_body = NULL, ambiguous = false,
            last_http_status = p_http_status, last_error = v_message, updated_at = now()
        WHERE o.tenant_id = v_entry.tenant_id AND o.document_id = v_entry.document_id;
        PERFORM logic.wakeup__enqueue(v_entry.tenant_id, now());
        PERFORM logic.attempt__log(v_entry.tenant_id, v_entry.document_id, v_entry.request_version,
            'data_fault', v_entry.request_id, p_http_status, p_worker,
            jsonb_build_object('error', v_message, 'after_ambiguous', true, 'resent', true));
    ELSE
        -- data or conflict: QuickBooks answered definitively, so the request is resolved (not sent
        -- again). A new document version, or an operator retry, starts a fresh request.
        UPDATE sync.outbox AS o SET
            state = 'failed', attempts = 0,
            claim_id = NULL, claimed_by = NULL, claimed_at = NULL, heartbeat_at = NULL,
            request_id = NULL, request_bid = NULL, request_op = NULL, request_entity = NULL,
            request_version = NULL, request_body = NULL, ambiguous = false,
            last_http_status = p_http_status, last_error = v_message, updated_at = now()
        WHERE o.tenant_id = v_entry.tenant_id AND o.document_id = v_entry.document_id;
        PERFORM logic.exception__raise(v_entry.tenant_id, v_entry.document_id,
            CASE WHEN v_class = 'conflict' THEN 'STALE_OBJECT' ELSE 'QBO_FAULT_' || v_code END,
            CASE
                WHEN v_class = 'conflict' THEN 'conflict'
                WHEN v_code IN ('2500', '610') THEN 'mapping'
                ELSE 'remote'
            END,
            format('QuickBooks refused %s %s: %s', v_entry.request_entity, v_entry.request_op, v_message),
            jsonb_build_object('version', v_entry.request_version, 'taxonomy', 'data',
                'element', p_fault #>> '{Error,0,element}', 'remedy', logic.fault__remedy(v_code)),
            p_fault);
        PERFORM logic.attempt__log(v_entry.tenant_id, v_entry.document_id, v_entry.request_version,
            CASE WHEN v_class = 'conflict' THEN 'conflict' ELSE 'data_fault' END,
            v_entry.request_id, p_http_status, p_worker, jsonb_build_object('error', v_message));
    END IF;
    RETURN v_class;
END;
$$;

COMMENT ON FUNCTION api.outbox__fail(uuid, integer, jsonb, numeric, text, text) IS
'Records a failed request and decides what follows (backoff, replay, exception, pause, hold); returns the class.';

REVOKE ALL ON FUNCTION api.outbox__fail(uuid, integer, jsonb, numeric, text, text) FROM public;
GRANT EXECUTE ON FUNCTION api.outbox__fail(uuid, integer, jsonb, numeric, text, text) TO pgbooks_worker;

CREATE FUNCTION api.outbox__reapply(p_claim_id uuid, p_remote jsonb)
RETURNS TABLE (request_id text, body jsonb)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_entry sync.outbox := logic.outbox__claimed(p_claim_id);
    v_remote sync.remote_objects;
    v_key text;
    v_changed jsonb := '[]';
BEGIN
    -- After a 5010 the worker re-read the object. If nobody changed the fields we manage since our
    -- last write, re-apply our change on the fresh SyncToken (new requestid: the 5010 answer may
    -- be cached under the old one). Otherwise never overwrite: conflict exception.
    SELECT r.* INTO v_remote FROM sync.remote_objects AS r
    WHERE r.tenant_id = v_entry.tenant_id AND r.document_id = v_entry.document_id;
    FOR v_key IN SELECT k.key FROM jsonb_object_keys(v_entry.request_body) AS k (key) LOOP
        CONTINUE WHEN v_key IN ('Id', 'SyncToken', 'sparse', 'domain');
        IF (v_remote.snapshot -> v_key) IS DISTINCT FROM (p_remote -> v_key)
            AND v_entry.request_op <> 'void' THEN
            v_changed := v_changed || jsonb_build_object(
                'path', v_key, 'last_synced', v_remote.snapshot -> v_key, 'quickbooks', p_remote -> v_key
            );
        END IF;
    END LOOP;
    IF jsonb_array_length(v_changed) > 0 OR v_entry.stale_retries >= 3 THEN
        UPDATE sync.outbox AS o SET
            state = 'failed', attempts = 0,
            claim_id = NULL, claimed_by = NULL, claimed_at = NULL, heartbeat_at = NULL,
            request_id = NULL, request_bid = NULL, request_op = NULL, request_entity = NULL,
            request_version = NULL, request_body = NULL, ambiguous = false,
            last_http_status = 400, last_error = 'changed in QuickBooks since our last write', updated_at = now()
        WHERE o.tenant_id = v_entry.tenant_id AND o.document_id = v_entry.document_id;
        PERFORM logic.exception__raise(v_entry.tenant_id, v_entry.document_id, 'REMOTE_CHANGED', 'conflict',
            format('%s %s was changed in QuickBooks since our last write; not overwritten',
                v_entry.request_entity, p_remote ->> 'Id'),
            jsonb_build_object('version', v_entry.request_version, 'stale_retries', v_entry.stale_retries,
                'remedy', 'Compare both versions, then take ours or theirs.'),
            NULL, v_changed);
        PERFORM logic.attempt__log(v_entry.tenant_id, v_entry.document_id, v_entry.request_version,
            'conflict', v_entry.request_id, 400, NULL, jsonb_build_object('diff', v_changed));
        RETURN;
    END IF;
    UPDATE sync.outbox AS o SET
        stale_retries = o.stale_retries + 1,
        request_bid = NULL,
        request_body = o.request_body || jsonb_build_object('SyncToken', p_remote ->> 'SyncToken'),
        request_id = logic.request__id(ARRAY[
            o.request_id, o.document_id::text, (o.stale_retries + 1)::text, p_remote ->> 'SyncToken'
        ]),
        updated_at = now()
    WHERE o.tenant_id = v_entry.tenant_id AND o.document_id = v_entry.document_id
    RETURNING o.request_id, o.request_body INTO request_id, body;
    PERFORM logic.attempt__log(v_entry.tenant_id, v_entry.document_id, v_entry.request_version,
        'stale_retry', request_id, 400, NULL, jsonb_build_object('sync_token', p_remote ->> 'SyncToken'));
    RETURN NEXT;
END;
$$;

COMMENT ON FUNCTION api.outbox__reapply(uuid, jsonb) IS
'After a 5010: re-applies the change on the fresh SyncToken when QuickBooks holds no foreign change; else conflict.';

REVOKE ALL ON FUNCTION api.outbox__reapply(uuid, jsonb) FROM public;
GRANT EXECUTE ON FUNCTION api.outbox__reapply(uuid, jsonb) TO pgbooks_worker;
