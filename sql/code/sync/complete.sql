-- Closing an outbox entry after QuickBooks accepted the request: the remote id and SyncToken are
-- written in the same transaction that closes the entry (no window where QuickBooks holds an
-- object we do not know about), then the answer is verified against what we sent.

CREATE FUNCTION logic.readback__diff(p_sent jsonb, p_stored jsonb, p_total numeric)
RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE
AS $$
DECLARE
    v_diff jsonb := '[]';
    v_key text;
    v_sent jsonb;
    v_stored jsonb;
    v_sent_lines jsonb;
    v_stored_lines jsonb;
    v_i integer;
BEGIN
    -- Fields we sent must come back as sent (QuickBooks may add fields such as a Ref's name).
    FOR v_key, v_sent IN SELECT e.key, e.value FROM jsonb_each(p_sent) AS e LOOP
        CONTINUE WHEN v_key IN ('Id', 'SyncToken', 'sparse', 'Line', 'TxnTaxDetail', 'TotalAmt', 'domain');
        v_stored := p_stored -> v_key;
        IF v_stored IS NULL
            OR jsonb_typeof(v_sent) = 'object' AND NOT v_stored @> v_sent
            OR jsonb_typeof(v_sent) IS DISTINCT FROM 'object' AND v_stored IS DISTINCT FROM v_sent THEN
            v_diff := v_diff || jsonb_build_object('path', v_key, 'sent', v_sent, 'stored', v_stored);
        END IF;
    END LOOP;
    -- Lines: same count and, in order, same amount and detail (server-added subtotal lines aside).
    IF p_sent ? 'Line' THEN
        SELECT coalesce(jsonb_agg(l.value ORDER BY l.n), '[]') INTO v_sent_lines
        FROM jsonb_array_elements(p_sent -> 'Line') WITH ORDINALITY AS l (value, n)
        WHERE l.value ->> 'DetailType' IS DISTINCT FROM 'SubTotalLineDetail';
        SELECT coalesce(jsonb_agg(l.value ORDER BY l.n), '[]') INTO v_stored_lines
        FROM jsonb_array_elements(coalesce(p_stored -> 'Line', '[]')) WITH ORDINALITY AS l (value, n)
        WHERE l.value ->> 'DetailType' IS DISTINCT FROM 'SubTotalLineDetail';
        IF jsonb_array_length(v_sent_lines) <> jsonb_array_length(v_stored_lines) THEN
            v_diff := v_diff || jsonb_build_object(
                'path', 'Line', 'sent', jsonb_array_length(v_sent_lines),
                'stored', jsonb_array_length(v_stored_lines)
            );
        ELSE
            FOR v_i IN 0 .. jsonb_array_length(v_sent_lines) - 1 LOOP
                v_sent := (v_sent_lines -> v_i) - 'Id' - 'LineNum';
                v_stored := v_stored_lines -> v_i;
                IF (v_sent ->> 'Amount')::numeric IS DISTINCT FROM (v_stored ->> 'Amount')::numeric
                    OR NOT v_stored @> (v_sent - 'Amount') THEN
                    v_diff := v_diff || jsonb_build_object(
                        'path', 'Line[' || v_i || ']', 'sent', v_sent, 'stored', v_stored
                    );
                END IF;
            END LOOP;
        END IF;
    END IF;
    IF p_total IS NOT NULL AND p_stored ? 'TotalAmt'
        AND (p_stored ->> 'TotalAmt')::numeric <> p_total THEN
        v_diff := v_diff || jsonb_build_object(
            'path', 'TotalAmt', 'sent', p_total, 'stored', p_stored -> 'TotalAmt'
        );
    END IF;
    RETURN v_diff;
END;
$$;

COMMENT ON FUNCTION logic.readback__diff(jsonb, jsonb, numeric) IS
'Differences between the payload sent and the object QuickBooks stored (fields, lines, total); [] when equal.';

CREATE FUNCTION logic.outbox__claimed(p_claim_id uuid)
RETURNS sync.outbox
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    v_entry sync.outbox;
BEGIN
    SELECT o.* INTO v_entry FROM sync.outbox AS o
    WHERE o.claim_id = p_claim_id AND o.state = 'claimed'
    FOR UPDATE;
    IF NOT found THEN
        RAISE EXCEPTION USING
            ERRCODE = 'PB611',
            MESSAGE = format('claim_id %s is not held any more (expired and released, or already closed)',
                p_claim_id),
            HINT = 'The janitor released it; the entry will be replayed with the same requestid.';
    END IF;
    RETURN v_entry;
END;
$$;

COMMENT ON FUNCTION logic.outbox__claimed(uuid) IS
'The outbox entry held by a claim, locked (PB611 when the claim is not held any more).';

CREATE FUNCTION api.outbox__complete(p_claim_id uuid, p_entity jsonb, p_worker text DEFAULT NULL)
RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_entry sync.outbox := logic.outbox__claimed(p_claim_id);
    v_doc books.documents;
    v_realm_id text;
    v_diff jsonb := '[]';
    v_state text;
BEGIN
    SELECT d.* INTO v_doc FROM books.documents AS d
    WHERE d.tenant_id = v_entry.tenant_id AND d.document_id = v_entry.document_id;
    SELECT c.realm_id INTO v_realm_id FROM sync.connections AS c WHERE c.tenant_id = v_entry.tenant_id;
    IF p_entity ->> 'Id' IS NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = 'PB612',
            MESSAGE = format('claim %s: the QuickBooks answer has no Id; pass the entity object', p_claim_id);
    END IF;

    INSERT INTO sync.remote_objects AS r (
        tenant_id, document_id, realm_id, entity, remote_id, sync_token, remote_status,
        synced_version, snapshot
    )
    VALUES (
        v_entry.tenant_id, v_entry.document_id, v_realm_id, v_entry.request_entity, p_entity ->> 'Id',
        coalesce(p_entity ->> 'SyncToken', '0'),
        CASE v_entry.request_op WHEN 'void' THEN 'voided' WHEN 'delete' THEN 'deleted' ELSE 'active' END,
        v_entry.request_version, p_entity
    )
    ON CONFLICT (tenant_id, document_id) DO UPDATE SET
        remote_id = excluded.remote_id,
        sync_token = coalesce(p_entity ->> 'SyncToken', r.sync_token),
        remote_status = excluded.remote_status,
        synced_version = excluded.synced_version,
        snapshot = CASE WHEN v_entry.request_op = 'delete' THEN r.snapshot ELSE excluded.snapshot END,
        synced_at = now();

    IF v_entry.request_op IN ('create', 'update') THEN
        v_diff := logic.readback__diff(
            v_entry.request_body, p_entity,
            CASE WHEN v_entry.request_version = v_doc.version THEN v_doc.total_amount END
        );
        IF jsonb_array_length(v_diff) > 0 THEN
            PERFORM logic.exception__raise(
                v_entry.tenant_id, v_entry.document_id, 'READBACK_DIFF', 'verification',
                format('QuickBooks stored %s %s differently from what was sent (%s field(s) differ)',
                    v_entry.request_entity, p_entity ->> 'Id', jsonb_array_length(v_diff)),
                jsonb_build_object('version', v_entry.request_version, 'remote_id', p_entity ->> 'Id'),
                NULL, v_diff
            );
            PERFORM logic.attempt__log(v_entry.tenant_id, v_entry.document_id, v_entry.request_version,
                'readback_diff', v_entry.request_id, 200, p_worker, jsonb_build_object('diff', v_diff));
        END IF;
    END IF;

    v_state := CASE WHEN v_entry.version > v_entry.request_version THEN 'pending' ELSE 'done' END;
    UPDATE sync.outbox AS o SET
        state = v_state,
        due_at = CASE WHEN v_state = 'pending' THEN now() ELSE o.due_at END,
        done_at = CASE WHEN v_state = 'done' THEN now() END,
        attempts = 0, stale_retries = 0, ambiguous = false,
        claim_id = NULL, claimed_by = NULL, claimed_at = NULL, heartbeat_at = NULL,
        request_id = NULL, request_bid = NULL, request_op = NULL, request_entity = NULL,
        request_version = NULL, request_body = NULL,
        last_http_status = 200, last_error = NULL, updated_at = now()
    WHERE o.tenant_id = v_entry.tenant_id AND o.document_id = v_entry.document_id;
    IF v_state = 'pending' THEN
        PERFORM logic.wakeup__enqueue(v_entry.tenant_id, now());
    END IF;

    -- Transient trouble of this document is over once QuickBooks accepted it.
    UPDATE sync.exceptions AS e SET
        status = 'resolved', resolved_at = now(), resolved_by = 'sync', resolution = 'delivered'
    WHERE e.tenant_id = v_entry.tenant_id AND e.document_id = v_entry.document_id
        AND e.status = 'open' AND e.category = 'transient';

    PERFORM logic.attempt__log(v_entry.tenant_id, v_entry.document_id, v_entry.request_version,
        'accepted', v_entry.request_id, 200, p_worker,
        jsonb_build_object('remote_id', p_entity ->> 'Id', 'sync_token', p_entity ->> 'SyncToken',
            'was_ambiguous', v_entry.ambiguous));
    RETURN v_state;
END;
$$;

COMMENT ON FUNCTION api.outbox__complete(uuid, jsonb, text) IS
'Records QuickBooks'' acceptance of a claimed request (remote id + SyncToken), verifies it, closes the entry.';

REVOKE ALL ON FUNCTION api.outbox__complete(uuid, jsonb, text) FROM public;
GRANT EXECUTE ON FUNCTION api.outbox__complete(uuid, jsonb, text) TO pgbooks_worker;
