-- Inbound capture, webhook side: POST /webhooks/quickbooks/<tenant_id>. The receiver (Python)
-- checks intuit-signature with the tenant's verifier tokens and hands the bytes to
-- api.qbo_webhook__receive, which stores them in ingest.raw_events FIRST (whatever happens
-- next), then, in a subtransaction, turns the notification into sync.inbound_changes rows (one
-- per entity change, deduplicated) and answers. Fetching and comparing the entities is the
-- asynchronous part (api.inbound_changes__claim / api.inbound_change__apply).

CREATE FUNCTION logic.qbo_entity__name(p_name text) RETURNS text
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT n.name
    FROM unnest(ARRAY[
        'Account', 'Bill', 'BillPayment', 'Budget', 'Class', 'CreditMemo', 'Currency', 'Customer', 'Department',
        'Deposit', 'Employee', 'Estimate', 'Invoice', 'Item', 'JournalCode', 'JournalEntry', 'Payment',
        'PaymentMethod', 'Preferences', 'Purchase', 'PurchaseOrder', 'RefundReceipt', 'SalesReceipt',
        'TaxAgency', 'Term', 'TimeActivity', 'Transfer', 'Vendor', 'VendorCredit'
    ]) AS n (name)
    WHERE lower(n.name) = lower(btrim(p_name));
$$;

COMMENT ON FUNCTION logic.qbo_entity__name(text) IS
'Canonical spelling of a QuickBooks entity name (any case, e.g. from a CloudEvents type); NULL if unknown.';

CREATE FUNCTION logic.inbound_change__capture(
    p_tenant_id text,
    p_realm_id text,
    p_entity text,
    p_remote_id text,
    p_operation text,
    p_changed_at timestamptz,
    p_source text,
    p_raw_event_id bigint DEFAULT NULL,
    p_event_id text DEFAULT NULL,
    p_sync_token text DEFAULT NULL
) RETURNS boolean
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_id bigint;
    v_status text;
    v_token text;
    v_reopen boolean;
BEGIN
    -- A CloudEvent replayed with its id (another body, another time) is the same change.
    IF p_event_id IS NOT NULL THEN
        UPDATE sync.inbound_changes AS c SET seen = c.seen + 1
        WHERE c.tenant_id = p_tenant_id AND c.event_id = p_event_id;
        IF found THEN
            RETURN FALSE;
        END IF;
    END IF;
    INSERT INTO sync.inbound_changes AS c (
        tenant_id, realm_id, entity, remote_id, operation, changed_at, source, raw_event_id, event_id, sync_token
    ) VALUES (
        p_tenant_id, p_realm_id, p_entity, p_remote_id, p_operation, p_changed_at, p_source, p_raw_event_id,
        p_event_id, p_sync_token
    )
    ON CONFLICT ON CONSTRAINT inbound_changes_one_per_change DO NOTHING
    RETURNING c.change_id INTO v_id;
    IF v_id IS NULL THEN
        -- Same entity, id, second and operation: seen again. QuickBooks stamps LastUpdatedTime to
        -- the second, so a change already processed and now reported with another SyncToken is a
        -- second change in that second: the row is reopened (processed again against the entity).
        SELECT c.change_id, c.status, c.sync_token INTO v_id, v_status, v_token
        FROM sync.inbound_changes AS c
        WHERE c.tenant_id = p_tenant_id AND c.realm_id = p_realm_id AND c.entity = p_entity
            AND c.remote_id = p_remote_id AND c.changed_at = p_changed_at AND c.operation = p_operation
        FOR UPDATE;
        v_reopen := v_status <> 'pending' AND p_sync_token IS NOT NULL AND v_token IS DISTINCT FROM p_sync_token;
        UPDATE sync.inbound_changes AS c SET
            seen = c.seen + 1,
            sync_token = coalesce(p_sync_token, c.sync_token),
            status = CASE WHEN v_reopen THEN 'pending' ELSE c.status END,
            outcome = CASE WHEN v_reopen THEN NULL ELSE c.outcome END,
            attempts = CASE WHEN v_reopen THEN 0 ELSE c.attempts END,
            processed_at = CASE WHEN v_reopen THEN NULL ELSE c.processed_at END
        WHERE c.tenant_id = p_tenant_id AND c.change_id = v_id;
        IF NOT v_reopen THEN
            v_id := NULL;
        END IF;
    END IF;
    IF v_id IS NOT NULL THEN
        PERFORM pg_notify('pgbooks_inbound', p_tenant_id);
    END IF;
    RETURN v_id IS NOT NULL;
END
$$;

COMMENT ON FUNCTION logic.inbound_change__capture(
    text, text, text, text, text, timestamptz, text, bigint, text, text
) IS
'Records one QuickBooks change once (same entity, id, time and operation, or same CloudEvents id = seen again; '
'a processed change reported with another SyncToken is reopened); true when it is new or reopened.';

CREATE FUNCTION logic.inbound__tenant_of(p_tenant_id text, p_realm_id text)
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT c.tenant_id
    FROM sync.connections AS c
    INNER JOIN sync.inbound_realms AS r ON r.tenant_id = c.tenant_id AND r.enabled
    WHERE c.realm_id = p_realm_id AND (p_tenant_id IS NULL OR c.tenant_id = p_tenant_id)
    ORDER BY c.tenant_id
    LIMIT 1;
$$;

COMMENT ON FUNCTION logic.inbound__tenant_of(text, text) IS
'Tenant receiving the changes of a realm: the given tenant when it is connected to that realm, or (NULL given) '
'the tenant connected to it with two-way sync enabled; NULL = not ours.';

CREATE FUNCTION logic.quickbooks__capture(p_tenant_id text, p_payload jsonb, p_raw_event_id bigint)
RETURNS text
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_realm text;
    v_tenant text;
    v_note jsonb;
    v_ent jsonb;
    v_entity text;
    v_op text;
    v_new integer := 0;
    v_seen integer := 0;
    v_other integer := 0;
    v_parts text[];
BEGIN
    -- p_tenant_id NULL (the app-wide URL /webhooks/quickbooks): each event's realm picks its
    -- tenant among the connections with two-way sync enabled.
    IF p_tenant_id IS NOT NULL AND NOT EXISTS (
        SELECT FROM sync.connections AS c WHERE c.tenant_id = p_tenant_id
    ) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'PB931',
            MESSAGE = format('tenant_id %L has no QuickBooks connection: run pgbooks connect first', p_tenant_id);
    END IF;
    IF jsonb_typeof(p_payload) = 'object' AND p_payload ? 'eventNotifications' THEN
        FOR v_note IN SELECT n.value FROM jsonb_array_elements(p_payload -> 'eventNotifications') AS n (value) LOOP
            v_realm := v_note ->> 'realmId';
            v_tenant := logic.inbound__tenant_of(p_tenant_id, v_realm);
            IF v_tenant IS NULL THEN
                v_other := v_other + jsonb_array_length(coalesce(v_note #> '{dataChangeEvent,entities}', '[]'));
                CONTINUE;
            END IF;
            FOR v_ent IN SELECT e.value FROM jsonb_array_elements(v_note #> '{dataChangeEvent,entities}') AS e (value)
            LOOP
                v_entity := logic.qbo_entity__name(v_ent ->> 'name');
                IF v_entity IS NULL OR v_ent ->> 'id' IS NULL OR v_ent ->> 'operation' IS NULL THEN
                    RAISE EXCEPTION USING
                        ERRCODE = 'PB932',
                        MESSAGE = format('eventNotifications[].dataChangeEvent.entities[]: name, id and operation '
                            'are required (got %s)', v_ent);
                END IF;
                IF logic.inbound_change__capture(
                    v_tenant, v_realm, v_entity, v_ent ->> 'id', v_ent ->> 'operation',
                    coalesce((v_ent ->> 'lastUpdated')::timestamptz, clock_timestamp()), 'webhook', p_raw_event_id
                ) THEN
                    v_new := v_new + 1;
                ELSE
                    v_seen := v_seen + 1;
                END IF;
            END LOOP;
        END LOOP;
    ELSIF jsonb_typeof(p_payload) = 'array' THEN
        FOR v_ent IN SELECT e.value FROM jsonb_array_elements(p_payload) AS e (value) LOOP
            -- type qbo.<entity>.<past tense>.v<n>
            v_parts := string_to_array(v_ent ->> 'type', '.');
            v_entity := logic.qbo_entity__name(v_parts[2]);
            v_op := CASE v_parts[3]
                WHEN 'created' THEN 'Create' WHEN 'updated' THEN 'Update' WHEN 'deleted' THEN 'Delete'
                WHEN 'voided' THEN 'Void' WHEN 'merged' THEN 'Merge' WHEN 'emailed' THEN 'Emailed'
            END;
            IF v_entity IS NULL OR v_op IS NULL OR v_ent ->> 'intuitentityid' IS NULL OR v_ent ->> 'id' IS NULL THEN
                RAISE EXCEPTION USING
                    ERRCODE = 'PB932',
                    MESSAGE = format('CloudEvents[]: id, type qbo.<entity>.<operation>.v1 and intuitentityid are '
                        'required (got %s)', v_ent);
            END IF;
            v_realm := v_ent ->> 'intuitaccountid';
            v_tenant := logic.inbound__tenant_of(p_tenant_id, v_realm);
            IF v_tenant IS NULL THEN
                v_other := v_other + 1;
                CONTINUE;
            END IF;
            IF logic.inbound_change__capture(
                v_tenant, v_realm, v_entity, v_ent ->> 'intuitentityid', v_op,
                coalesce((v_ent ->> 'time')::timestamptz, clock_timestamp()), 'webhook', p_raw_event_id,
                v_ent ->> 'id'
            ) THEN
                v_new := v_new + 1;
            ELSE
                v_seen := v_seen + 1;
            END IF;
        END LOOP;
    ELSE
        RAISE EXCEPTION USING
            ERRCODE = 'PB932',
            MESSAGE = 'payload: neither an eventNotifications object nor a CloudEvents array';
    END IF;
    RETURN format('changes new=%s seen=%s other_realm=%s', v_new, v_seen, v_other);
END
$$;

COMMENT ON FUNCTION logic.quickbooks__capture(text, jsonb, bigint) IS
'Turns a QuickBooks notification (legacy eventNotifications or CloudEvents) into sync.inbound_changes rows; '
'changes of another realm are counted and skipped. PB931 no connection, PB932 malformed notification.';

CREATE FUNCTION logic.quickbooks__normalize(
    p_tenant_id text, p_channel_id text, p_topic text, p_payload jsonb
) RETURNS text
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
    -- The normalizer the ingest processor calls for platform quickbooks (a retried raw event).
    -- Tenant '' = received on the app-wide URL: each event's realm picks the tenant.
    SELECT logic.quickbooks__capture(nullif(p_tenant_id, ''), p_payload, NULL);
$$;

COMMENT ON FUNCTION logic.quickbooks__normalize(text, text, text, jsonb) IS
'Ingest normalizer of platform quickbooks (used when a quarantined notification is retried): captures its changes.';

CREATE FUNCTION api.qbo_webhook__tokens(p_tenant_id text)
RETURNS TABLE (channel_state text, secrets text[])
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    -- p_tenant_id NULL: the app-wide URL; every enabled tenant's tokens (Intuit signs with the
    -- app's verifier token, the same for every company of the app).
    SELECT
        CASE WHEN count(r.tenant_id) = 0 THEN 'unknown' ELSE 'ok' END,
        coalesce(array_agg(DISTINCT t.token) FILTER (WHERE t.token IS NOT NULL), '{}')
    FROM (SELECT 1) AS one
    LEFT JOIN sync.inbound_realms AS r ON r.enabled AND (p_tenant_id IS NULL OR r.tenant_id = p_tenant_id)
    LEFT JOIN LATERAL unnest(ARRAY[nullif(r.verifier_token, ''), nullif(r.verifier_token_previous, '')]) AS t (token)
        ON TRUE;
$$;

COMMENT ON FUNCTION api.qbo_webhook__tokens(text) IS
'For the receiver: whether the tenant takes QuickBooks notifications, and its verifier tokens (current, previous).';

CREATE FUNCTION api.qbo_webhook__receive(
    p_tenant_id text,
    p_headers jsonb,
    p_body bytea,
    p_signature_result text,
    p_body_bytes bigint DEFAULT NULL,
    p_body_truncated boolean DEFAULT FALSE
) RETURNS TABLE (
    raw_event_id bigint, status text, reason_code text, message text, duplicate_of bigint, http_status integer
)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_headers jsonb := coalesce(p_headers, '{}');
    v_store_tenant text := coalesce(p_tenant_id, '');
    v_state text;
    v_payload jsonb;
    v_sha256 bytea;
    v_dedupe_key text;
    v_delivery_id text := logic.raw_event__header(coalesce(p_headers, '{}'), 'intuit-t-id');
    v_topic text;
    v_reason text;
    v_message text;
    v_http integer;
    v_id bigint;
    v_stored record;
    v_result text;
    v_sqlstate text;
BEGIN
    IF p_body IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'PB402', MESSAGE = 'p_body: the raw body is required (may be empty, not NULL)';
    END IF;
    v_sha256 := sha256(p_body);
    -- Same body = same notification (Intuit retries resend the same bytes).
    v_dedupe_key := 'sha256:' || encode(v_sha256, 'hex');
    SELECT t.channel_state INTO v_state FROM api.qbo_webhook__tokens(p_tenant_id) AS t;
    SELECT r.reason_code, r.message, r.http_status INTO v_reason, v_message, v_http
    FROM logic.raw_event__reject(p_signature_result, v_state, p_body_truncated) AS r;
    IF v_reason = 'UNKNOWN_CHANNEL' THEN
        v_message := 'no tenant with two-way sync enabled here (pgbooks inbound enable)';
    END IF;
    IF v_reason IS NULL THEN
        BEGIN
            v_payload := convert_from(p_body, 'UTF8')::jsonb;
            IF jsonb_typeof(v_payload) NOT IN ('object', 'array') THEN
                v_reason := 'MALFORMED_JSON';
                v_message := format('body is JSON but neither an object nor an array (got %s)', jsonb_typeof(v_payload));
                v_http := 400;
            END IF;
        EXCEPTION WHEN OTHERS THEN
            v_reason := 'MALFORMED_JSON';
            v_message := 'body is not valid UTF-8 JSON: ' || SQLERRM;
            v_http := 400;
            v_payload := NULL;
        END;
    END IF;
    v_topic := CASE jsonb_typeof(v_payload) WHEN 'array' THEN 'cloudevents' WHEN 'object' THEN 'eventNotifications' END;

    SELECT st.* INTO v_stored FROM logic.raw_event__store(
        v_store_tenant, 'quickbooks', 'quickbooks', 'webhook', v_topic, v_delivery_id, v_dedupe_key, v_headers,
        p_body, p_body_bytes, p_body_truncated, v_sha256, p_signature_result, v_reason, v_message, v_http
    ) AS st;
    IF v_stored.status <> 'pending' THEN
        RETURN QUERY SELECT v_stored.raw_event_id, v_stored.status, v_stored.reason_code, v_stored.message,
            v_stored.duplicate_of, v_stored.http_status;
        RETURN;
    END IF;
    v_id := v_stored.raw_event_id;

    -- Stored. Now parse (a subtransaction: a bad notification is quarantined, never lost).
    BEGIN
        v_result := logic.quickbooks__capture(p_tenant_id, v_payload, v_id);
        UPDATE ingest.raw_events AS e SET
            status = 'applied', result = v_result, attempts = 1, processed_at = clock_timestamp()
        WHERE e.tenant_id = v_store_tenant AND e.raw_event_id = v_id;
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS v_sqlstate = RETURNED_SQLSTATE, v_message = MESSAGE_TEXT;
        UPDATE ingest.raw_events AS e SET
            status = 'quarantined', reason_code = logic.raw_event__reason(v_sqlstate), message = v_message,
            error_detail = jsonb_build_object('sqlstate', v_sqlstate), attempts = 1, processed_at = clock_timestamp()
        WHERE e.tenant_id = v_store_tenant AND e.raw_event_id = v_id;
        PERFORM logic.raw_event__raise_exception(
            v_store_tenant, v_id, logic.raw_event__reason(v_sqlstate), v_message,
            jsonb_build_object('sqlstate', v_sqlstate, 'platform', 'quickbooks')
        );
        RETURN QUERY SELECT v_id, 'quarantined'::text, logic.raw_event__reason(v_sqlstate), v_message,
            NULL::bigint, 200;
        RETURN;
    END;
    RETURN QUERY SELECT v_id, 'applied'::text, NULL::text, v_result, NULL::bigint, 200;
END
$$;

COMMENT ON FUNCTION api.qbo_webhook__receive(text, jsonb, bytea, text, bigint, boolean) IS
'Stores a QuickBooks notification verbatim (ingest.raw_events, platform quickbooks) before parsing it, then '
'captures its changes; answers 200 (applied, duplicate body, or quarantined), 401 forged, 404, 400 or 413.';

GRANT EXECUTE ON FUNCTION api.qbo_webhook__tokens(text) TO pgbooks_worker;
GRANT EXECUTE ON FUNCTION api.qbo_webhook__receive(text, jsonb, bytea, text, bigint, boolean) TO pgbooks_worker;
