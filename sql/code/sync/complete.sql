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

CREATE FUNCTION api.outbox__complete_many(
    p_claim_ids uuid[],
    p_entities jsonb,
    p_worker text DEFAULT NULL
)
RETURNS TABLE (claim_id uuid, state text)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_entries sync.outbox [];
    v_entities jsonb [];
    v_row record;
BEGIN
    -- Set-based: one statement per table for the whole set (the audit triggers are per
    -- statement, so a batch of 30 costs about what one entry cost). Claims that are not held any
    -- more (released by the janitor, already closed) are reported as 'lost' and left alone: their
    -- replay (same requestid) will find the object QuickBooks already holds.
    IF jsonb_typeof(p_entities) IS DISTINCT FROM 'array'
        OR cardinality(p_claim_ids) IS DISTINCT FROM jsonb_array_length(p_entities) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'PB614',
            MESSAGE = format('p_entities must be a JSON array of one entity per claim (%s claim(s), got %s)',
                cardinality(p_claim_ids), left(p_entities::text, 60));
    END IF;
    v_entities := ARRAY(
        SELECT e.value FROM jsonb_array_elements(p_entities) WITH ORDINALITY AS e (value, n) ORDER BY e.n
    );
    SELECT x.claim_id INTO v_row FROM unnest(p_claim_ids, v_entities) AS x (claim_id, entity)
    WHERE x.entity ->> 'Id' IS NULL LIMIT 1;
    IF found THEN
        RAISE EXCEPTION USING
            ERRCODE = 'PB612',
            MESSAGE = format('claim %s: the QuickBooks answer has no Id; pass the entity object', v_row.claim_id);
    END IF;

    v_entries := ARRAY(
        SELECT o FROM sync.outbox AS o
        WHERE o.claim_id = ANY(p_claim_ids) AND o.state = 'claimed'
        ORDER BY o.tenant_id, o.document_id
        FOR UPDATE
    );

    -- Updates and creates as separate statements, each only when it has rows: an INSERT ... ON
    -- CONFLICT DO UPDATE fires both statement-level audit triggers, an empty statement one.
    IF EXISTS (
        SELECT 1 FROM unnest(v_entries) AS e JOIN sync.remote_objects AS r
            ON r.tenant_id = e.tenant_id AND r.document_id = e.document_id
    ) THEN
        UPDATE sync.remote_objects AS r SET
            remote_id = x.entity ->> 'Id',
            sync_token = coalesce(x.entity ->> 'SyncToken', r.sync_token),
            remote_status = CASE e.request_op WHEN 'void' THEN 'voided' WHEN 'delete' THEN 'deleted' ELSE 'active' END,
            synced_version = e.request_version,
            snapshot = CASE WHEN e.request_op = 'delete' THEN r.snapshot ELSE x.entity END,
            synced_at = now()
        FROM unnest(v_entries) AS e
        JOIN unnest(p_claim_ids, v_entities) AS x (claim_id, entity) ON x.claim_id = e.claim_id
        WHERE r.tenant_id = e.tenant_id AND r.document_id = e.document_id;
    END IF;
    IF EXISTS (
        SELECT 1 FROM unnest(v_entries) AS e WHERE NOT EXISTS (
            SELECT 1 FROM sync.remote_objects AS r
            WHERE r.tenant_id = e.tenant_id AND r.document_id = e.document_id
        )
    ) THEN
        INSERT INTO sync.remote_objects (
            tenant_id, document_id, realm_id, entity, remote_id, sync_token, remote_status,
            synced_version, snapshot
        )
        SELECT e.tenant_id, e.document_id, c.realm_id, e.request_entity, x.entity ->> 'Id',
            coalesce(x.entity ->> 'SyncToken', '0'),
            CASE e.request_op WHEN 'void' THEN 'voided' WHEN 'delete' THEN 'deleted' ELSE 'active' END,
            e.request_version, x.entity
        FROM unnest(v_entries) AS e
        JOIN unnest(p_claim_ids, v_entities) AS x (claim_id, entity) ON x.claim_id = e.claim_id
        JOIN sync.connections AS c ON c.tenant_id = e.tenant_id
        WHERE NOT EXISTS (
            SELECT 1 FROM sync.remote_objects AS r
            WHERE r.tenant_id = e.tenant_id AND r.document_id = e.document_id
        )
        ORDER BY e.tenant_id, e.document_id;
    END IF;

    -- Read-back verification, row by row only where QuickBooks stored something else (rare).
    FOR v_row IN
        SELECT e.tenant_id, e.document_id, e.request_entity, e.request_version, e.request_id,
            x.entity ->> 'Id' AS remote_id, v.diff
        FROM unnest(v_entries) AS e
        JOIN unnest(p_claim_ids, v_entities) AS x (claim_id, entity) ON x.claim_id = e.claim_id
        JOIN books.documents AS d ON d.tenant_id = e.tenant_id AND d.document_id = e.document_id
        CROSS JOIN LATERAL (
            SELECT logic.readback__diff(
                e.request_body, x.entity,
                CASE WHEN e.request_version = d.version THEN d.total_amount END
            ) AS diff
        ) AS v
        WHERE e.request_op IN ('create', 'update') AND jsonb_array_length(v.diff) > 0
    LOOP
        PERFORM logic.exception__raise(
            v_row.tenant_id, v_row.document_id, 'READBACK_DIFF', 'verification',
            format('QuickBooks stored %s %s differently from what was sent (%s field(s) differ)',
                v_row.request_entity, v_row.remote_id, jsonb_array_length(v_row.diff)),
            jsonb_build_object('version', v_row.request_version, 'remote_id', v_row.remote_id),
            NULL, v_row.diff
        );
        PERFORM logic.attempt__log(v_row.tenant_id, v_row.document_id, v_row.request_version,
            'readback_diff', v_row.request_id, 200, p_worker, jsonb_build_object('diff', v_row.diff));
    END LOOP;

    -- A newer version arrived while the request was in flight: the entry goes back to pending.
    UPDATE sync.outbox AS o SET
        state = CASE WHEN o.version > o.request_version THEN 'pending' ELSE 'done' END,
        due_at = CASE WHEN o.version > o.request_version THEN now() ELSE o.due_at END,
        done_at = CASE WHEN o.version > o.request_version THEN NULL ELSE now() END,
        attempts = 0, stale_retries = 0, ambiguous = false,
        claim_id = NULL, claimed_by = NULL, claimed_at = NULL, heartbeat_at = NULL,
        request_id = NULL, request_bid = NULL, request_op = NULL, request_entity = NULL,
        request_version = NULL, request_body = NULL,
        last_http_status = 200, last_error = NULL, updated_at = now()
    FROM unnest(v_entries) AS e
    WHERE o.tenant_id = e.tenant_id AND o.document_id = e.document_id;
    PERFORM logic.wakeup__enqueue(t.tenant_id, now())
    FROM (
        SELECT DISTINCT e.tenant_id FROM unnest(v_entries) AS e WHERE e.version > e.request_version
    ) AS t;

    -- Transient trouble of these documents is over once QuickBooks accepted them (the statement
    -- only runs when there is something to resolve: an audited statement is not free).
    IF EXISTS (
        SELECT 1 FROM sync.exceptions AS x JOIN unnest(v_entries) AS e
            ON x.tenant_id = e.tenant_id AND x.document_id = e.document_id
        WHERE x.status = 'open' AND x.category = 'transient'
    ) THEN
        UPDATE sync.exceptions AS x SET
            status = 'resolved', resolved_at = now(), resolved_by = 'sync', resolution = 'delivered'
        FROM unnest(v_entries) AS e
        WHERE x.tenant_id = e.tenant_id AND x.document_id = e.document_id
            AND x.status = 'open' AND x.category = 'transient';
    END IF;

    INSERT INTO sync.attempts (tenant_id, document_id, version, event, request_id, http_status, worker, detail)
    SELECT e.tenant_id, e.document_id, e.request_version, 'accepted', e.request_id, 200, p_worker,
        jsonb_build_object('remote_id', x.entity ->> 'Id', 'sync_token', x.entity ->> 'SyncToken',
            'was_ambiguous', e.ambiguous)
    FROM unnest(v_entries) AS e
    JOIN unnest(p_claim_ids, v_entities) AS x (claim_id, entity) ON x.claim_id = e.claim_id
    ORDER BY e.tenant_id, e.document_id;

    RETURN QUERY
    SELECT x.claim_id,
        CASE
            WHEN e.claim_id IS NULL THEN 'lost'
            WHEN e.version > e.request_version THEN 'pending'
            ELSE 'done'
        END
    FROM unnest(p_claim_ids) AS x (claim_id)
    LEFT JOIN unnest(v_entries) AS e ON e.claim_id = x.claim_id;
END;
$$;

COMMENT ON FUNCTION api.outbox__complete_many(uuid[], jsonb, text) IS
'Records QuickBooks'' acceptance of many claimed requests in one transaction (remote id + SyncToken, '
'read-back check, entry closed); returns per claim done, pending (newer version waiting) or lost.';

CREATE FUNCTION api.outbox__complete(p_claim_id uuid, p_entity jsonb, p_worker text DEFAULT NULL)
RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_state text;
BEGIN
    SELECT m.state INTO v_state
    FROM api.outbox__complete_many(ARRAY[p_claim_id], jsonb_build_array(p_entity), p_worker) AS m;
    IF v_state = 'lost' THEN
        PERFORM logic.outbox__claimed(p_claim_id);  -- raises PB611 with the explanation
    END IF;
    RETURN v_state;
END;
$$;

COMMENT ON FUNCTION api.outbox__complete(uuid, jsonb, text) IS
'Records QuickBooks'' acceptance of one claimed request (see api.outbox__complete_many); PB611 when not held.';

REVOKE ALL ON FUNCTION api.outbox__complete_many(uuid[], jsonb, text) FROM public;
GRANT EXECUTE ON FUNCTION api.outbox__complete_many(uuid[], jsonb, text) TO pgbooks_worker;
REVOKE ALL ON FUNCTION api.outbox__complete(uuid, jsonb, text) FROM public;
GRANT EXECUTE ON FUNCTION api.outbox__complete(uuid, jsonb, text) TO pgbooks_worker;
