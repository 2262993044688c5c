-- Operator side of two-way sync: the review actions on a CONFLICT_REVIEW exception
-- (take_ours, take_theirs, merge), conflict policy rows, enabling a realm, status, and the
-- balance of an order (payments recorded in QuickBooks included).

CREATE FUNCTION logic.conflict__open(p_tenant_id text, p_exception_id bigint)
RETURNS sync.exceptions
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_row sync.exceptions;
BEGIN
    SELECT e.* INTO v_row FROM sync.exceptions AS e
    WHERE e.tenant_id = p_tenant_id AND e.exception_id = p_exception_id
    FOR UPDATE;
    IF NOT found THEN
        RAISE EXCEPTION USING
            ERRCODE = 'PB810', MESSAGE = format('exception_id %s does not exist for tenant %L', p_exception_id, p_tenant_id);
    END IF;
    IF v_row.reason_code <> 'CONFLICT_REVIEW' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'PB938',
            MESSAGE = format('exception_id %s is %s, not CONFLICT_REVIEW: take_ours / take_theirs / merge apply to '
                'two-way conflicts only', p_exception_id, v_row.reason_code);
    END IF;
    IF v_row.status <> 'open' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'PB812',
            MESSAGE = format('exception_id %s is already %s (by %s); only open exceptions can be acted on',
                p_exception_id, v_row.status, coalesce(v_row.resolved_by, 'unknown'));
    END IF;
    RETURN v_row;
END
$$;

COMMENT ON FUNCTION logic.conflict__open(text, bigint) IS
'The open CONFLICT_REVIEW exception, locked (PB810 unknown, PB938 other reason, PB812 not open).';

CREATE FUNCTION logic.conflict__settle(
    p_tenant_id text, p_exception_id bigint, p_choices jsonb, p_action text, p_reason text, p_actor text
) RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_row sync.exceptions := logic.conflict__open(p_tenant_id, p_exception_id);
    v_actor text := coalesce(nullif(btrim(p_actor), ''), logic.recon__actor());
    v_remote jsonb := v_row.detail -> 'remote';
    v_item jsonb;
    v_field text;
    v_choice jsonb;
    v_push boolean := jsonb_array_length(coalesce(v_row.detail -> 'pending_push', '[]')) > 0;
    v_doc books.documents;
    v_done jsonb := '{}';
BEGIN
    IF coalesce(btrim(p_reason), '') = '' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'PB811', MESSAGE = format('%s of exception %s needs a reason (p_reason is empty)', p_action,
                p_exception_id);
    END IF;
    PERFORM set_config('pgbooks.user', v_actor, true);
    PERFORM set_config('pgbooks.reason', 'EXCEPTION_ACTION', true);
    FOR v_item IN SELECT d.value FROM jsonb_array_elements(coalesce(v_row.diff, '[]')) AS d (value) LOOP
        v_field := v_item ->> 'path';
        v_choice := p_choices -> v_field;
        IF v_choice IS NULL THEN
            RAISE EXCEPTION USING
                ERRCODE = 'PB939',
                MESSAGE = format('p_choices: field %s of exception %s has no choice (ours, theirs or {"value": ...})',
                    v_field, p_exception_id);
        END IF;
        IF v_choice = '"ours"' THEN
            DELETE FROM sync.field_overrides AS f
            WHERE f.tenant_id = p_tenant_id AND f.document_id = v_row.document_id AND f.field = v_field;
            v_push := TRUE;
        ELSIF v_choice = '"theirs"' OR jsonb_typeof(v_choice) = 'object' AND v_choice ? 'value' THEN
            INSERT INTO sync.field_overrides AS f (
                tenant_id, document_id, field, value, origin, change_id, accepted_by
            ) VALUES (
                p_tenant_id, v_row.document_id, v_field,
                CASE WHEN v_choice = '"theirs"' THEN coalesce(v_item -> 'quickbooks', 'null') ELSE v_choice -> 'value' END,
                CASE WHEN v_choice = '"theirs"' THEN 'take_theirs' ELSE 'merge' END,
                (v_row.detail ->> 'change_id')::bigint, v_actor
            )
            ON CONFLICT (tenant_id, document_id, field) DO UPDATE SET
                value = excluded.value, origin = excluded.origin, change_id = excluded.change_id,
                accepted_at = now(), accepted_by = excluded.accepted_by;
            IF v_choice <> '"theirs"' AND v_choice -> 'value' IS DISTINCT FROM v_item -> 'quickbooks' THEN
                v_push := TRUE;
            END IF;
        ELSE
            RAISE EXCEPTION USING
                ERRCODE = 'PB939',
                MESSAGE = format('p_choices: field %s: choice must be "ours", "theirs" or {"value": ...} (got %s)',
                    v_field, v_choice);
        END IF;
        v_done := v_done || jsonb_build_object(v_field, v_choice);
    END LOOP;

    -- QuickBooks' version becomes the base; ours is sent again when any field takes our value.
    UPDATE sync.remote_objects AS r SET
        snapshot = coalesce(v_remote, r.snapshot),
        sync_token = coalesce(v_row.detail ->> 'remote_sync_token', r.sync_token),
        synced_version = CASE WHEN v_push THEN 0 ELSE r.synced_version END,
        synced_at = now()
    WHERE r.tenant_id = p_tenant_id AND r.document_id = v_row.document_id;
    PERFORM logic.exception__act(p_tenant_id, p_exception_id, 'resolve', p_action || ': ' || p_reason, v_actor);
    -- A delivery that met the same QuickBooks edit (5010 -> REMOTE_CHANGED) is settled with it.
    UPDATE sync.exceptions AS e SET
        status = 'resolved', resolved_at = now(), resolved_by = v_actor,
        resolution = format('settled by %s of conflict %s: %s', p_action, p_exception_id, p_reason)
    WHERE e.tenant_id = p_tenant_id AND e.document_id = v_row.document_id AND e.status = 'open'
        AND e.reason_code = 'REMOTE_CHANGED';
    UPDATE sync.exceptions AS e SET resolution = p_action || ': ' || p_reason,
        detail = e.detail || jsonb_build_object('choices', v_done)
    WHERE e.tenant_id = p_tenant_id AND e.exception_id = p_exception_id;
    SELECT d.* INTO v_doc FROM books.documents AS d
    WHERE d.tenant_id = p_tenant_id AND d.document_id = v_row.document_id;
    IF v_push AND v_doc.status = 'ready' THEN
        PERFORM logic.outbox__touch(p_tenant_id, v_doc.document_id, v_doc.version);
    END IF;
    RETURN jsonb_build_object(
        'exception_id', p_exception_id, 'action', p_action, 'actor', v_actor, 'document_id', v_row.document_id,
        'choices', v_done, 'sent_again', v_push
    );
END
$$;

COMMENT ON FUNCTION logic.conflict__settle(text, bigint, jsonb, text, text, text) IS
'Settles a CONFLICT_REVIEW field by field (ours / theirs / a merged value), resolves the exception (actor, '
'reason audited) and sends the document again when any field keeps our value.';

CREATE FUNCTION logic.conflict__all(p_tenant_id text, p_exception_id bigint, p_choice text)
RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce(jsonb_object_agg(d.value ->> 'path', to_jsonb(p_choice)), '{}')
    FROM sync.exceptions AS e
    CROSS JOIN LATERAL jsonb_array_elements(coalesce(e.diff, '[]')) AS d (value)
    WHERE e.tenant_id = p_tenant_id AND e.exception_id = p_exception_id;
$$;

COMMENT ON FUNCTION logic.conflict__all(text, bigint, text) IS 'The same choice for every field of a conflict.';

CREATE FUNCTION api.conflict__take_ours(
    p_tenant_id text, p_exception_id bigint, p_reason text, p_actor text DEFAULT NULL
) RETURNS jsonb
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT logic.conflict__settle(p_tenant_id, p_exception_id,
        logic.conflict__all(p_tenant_id, p_exception_id, 'ours'), 'take_ours', p_reason, p_actor);
$$;

COMMENT ON FUNCTION api.conflict__take_ours(text, bigint, text, text) IS
'Review action: keep pgbooks'' values for every field of the conflict and send the document again.';

CREATE FUNCTION api.conflict__take_theirs(
    p_tenant_id text, p_exception_id bigint, p_reason text, p_actor text DEFAULT NULL
) RETURNS jsonb
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT logic.conflict__settle(p_tenant_id, p_exception_id,
        logic.conflict__all(p_tenant_id, p_exception_id, 'theirs'), 'take_theirs', p_reason, p_actor);
$$;

COMMENT ON FUNCTION api.conflict__take_theirs(text, bigint, text, text) IS
'Review action: accept QuickBooks'' values for every field of the conflict (kept as the local record).';

CREATE FUNCTION api.conflict__merge(
    p_tenant_id text, p_exception_id bigint, p_choices jsonb, p_reason text, p_actor text DEFAULT NULL
) RETURNS jsonb
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT logic.conflict__settle(p_tenant_id, p_exception_id, p_choices, 'merge', p_reason, p_actor);
$$;

COMMENT ON FUNCTION api.conflict__merge(text, bigint, jsonb, text, text) IS
'Review action: per field "ours", "theirs" or {"value": ...} (PB939 when a field has no valid choice).';

CREATE FUNCTION api.conflict_policy__set(
    p_tenant_id text, p_entity text, p_field text, p_policy text, p_note text DEFAULT NULL
) RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- NULL or 'default' removes the row (back to review). The table's checks name the rule a bad
    -- row breaks (conflict_policies_money_fields_review for amounts, tax and lines).
    IF p_policy IS NULL OR p_policy = 'default' THEN
        DELETE FROM sync.conflict_policies AS p
        WHERE p.tenant_id = p_tenant_id AND p.entity = p_entity AND p.field = p_field;
        RETURN 'review';
    END IF;
    INSERT INTO sync.conflict_policies AS p (tenant_id, entity, field, policy, note)
    VALUES (p_tenant_id, p_entity, p_field, p_policy, p_note)
    ON CONFLICT (tenant_id, entity, field) DO UPDATE SET
        policy = excluded.policy, note = excluded.note, updated_at = now();
    RETURN p_policy;
END
$$;

COMMENT ON FUNCTION api.conflict_policy__set(text, text, text, text, text) IS
'Sets (or with NULL / default removes) the conflict policy of a tenant, QuickBooks entity and field.';

CREATE FUNCTION api.inbound_realm__configure(
    p_tenant_id text,
    p_verifier_token text DEFAULT NULL,
    p_enabled boolean DEFAULT TRUE,
    p_cdc_overlap interval DEFAULT NULL,
    p_sweep_min interval DEFAULT NULL,
    p_sweep_max interval DEFAULT NULL
) RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_row sync.inbound_realms;
BEGIN
    IF NOT EXISTS (SELECT FROM sync.connections AS c WHERE c.tenant_id = p_tenant_id) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'PB931',
            MESSAGE = format('tenant_id %L has no QuickBooks connection: run pgbooks connect first', p_tenant_id);
    END IF;
    -- A new verifier token keeps the old one valid (rotation); the watermark starts now.
    INSERT INTO sync.inbound_realms AS r (tenant_id, verifier_token, enabled)
    VALUES (p_tenant_id, p_verifier_token, coalesce(p_enabled, TRUE))
    ON CONFLICT (tenant_id) DO UPDATE SET
        verifier_token = coalesce(excluded.verifier_token, r.verifier_token),
        verifier_token_previous = CASE
            WHEN excluded.verifier_token IS DISTINCT FROM r.verifier_token AND excluded.verifier_token IS NOT NULL
                THEN r.verifier_token
            ELSE r.verifier_token_previous
        END,
        enabled = coalesce(p_enabled, r.enabled),
        updated_at = now();
    UPDATE sync.inbound_realms AS r SET
        cdc_overlap = coalesce(p_cdc_overlap, r.cdc_overlap),
        sweep_min = coalesce(p_sweep_min, r.sweep_min),
        sweep_max = coalesce(p_sweep_max, r.sweep_max)
    WHERE r.tenant_id = p_tenant_id
    RETURNING r.* INTO v_row;
    RETURN jsonb_build_object(
        'tenant_id', v_row.tenant_id, 'enabled', v_row.enabled, 'has_verifier_token', v_row.verifier_token IS NOT NULL,
        'cdc_watermark', v_row.cdc_watermark, 'cdc_overlap', v_row.cdc_overlap, 'sweep_min', v_row.sweep_min,
        'sweep_max', v_row.sweep_max
    );
END
$$;

COMMENT ON FUNCTION api.inbound_realm__configure(text, text, boolean, interval, interval, interval) IS
'Enables two-way sync for a connected tenant (verifier token, CDC overlap, sweep bounds); PB931 when not connected.';

CREATE FUNCTION api.inbound__status(p_tenant_id text DEFAULT NULL)
RETURNS TABLE (
    tenant_id text, realm_id text, enabled boolean, cdc_watermark timestamptz, next_sweep_at timestamptz,
    sweep_interval interval, pending bigint, failed bigint, applied_24h bigint, outcomes jsonb, open_conflicts bigint
)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT r.tenant_id, c.realm_id, r.enabled, r.cdc_watermark, r.next_sweep_at, r.sweep_interval,
        (SELECT count(*) FROM sync.inbound_changes AS i WHERE i.tenant_id = r.tenant_id AND i.status = 'pending'),
        (SELECT count(*) FROM sync.inbound_changes AS i WHERE i.tenant_id = r.tenant_id AND i.status = 'failed'),
        (SELECT count(*) FROM sync.inbound_changes AS i
         WHERE i.tenant_id = r.tenant_id AND i.status = 'applied' AND i.processed_at > now() - INTERVAL '1 day'),
        (SELECT coalesce(jsonb_object_agg(o.outcome, o.n), '{}') FROM (
            SELECT i.outcome, count(*) AS n FROM sync.inbound_changes AS i
            WHERE i.tenant_id = r.tenant_id AND i.status = 'applied' AND i.processed_at > now() - INTERVAL '1 day'
            GROUP BY i.outcome
        ) AS o),
        (SELECT count(*) FROM sync.exceptions AS e
         WHERE e.tenant_id = r.tenant_id AND e.status = 'open'
           AND e.reason_code IN ('CONFLICT_REVIEW', 'REMOTE_DELETED', 'REMOTE_VOIDED', 'PAYMENT_SPLIT', 'PAYMENT_UNLINKED'))
    FROM sync.inbound_realms AS r
    LEFT JOIN sync.connections AS c ON c.tenant_id = r.tenant_id
    WHERE p_tenant_id IS NULL OR r.tenant_id = p_tenant_id
    ORDER BY r.tenant_id;
$$;

COMMENT ON FUNCTION api.inbound__status(text) IS
'Two-way sync per tenant: watermark, next sweep, pending / failed changes, outcomes of the last day, open conflicts.';

CREATE FUNCTION api.order__balance(p_tenant_id text, p_channel_id text, p_order_id text)
RETURNS TABLE (currency text, total numeric, paid numeric, balance numeric, paid_in_quickbooks numeric)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT o.currency::text, o.stated_total, p.paid, o.stated_total - p.paid, p.qbo
    FROM orders.orders AS o
    CROSS JOIN LATERAL (
        SELECT coalesce(sum(t.amount), 0) AS paid,
            coalesce(sum(t.amount) FILTER (WHERE t.gateway = 'quickbooks'), 0) AS qbo
        FROM orders.transactions AS t
        WHERE t.tenant_id = o.tenant_id AND t.channel_id = o.channel_id AND t.order_id = o.order_id
            AND t.kind IN ('capture', 'sale') AND t.status = 'success'
    ) AS p
    WHERE o.tenant_id = p_tenant_id AND o.channel_id = p_channel_id AND o.order_id = p_order_id;
$$;

COMMENT ON FUNCTION api.order__balance(text, text, text) IS
'Open balance of an order: stated total minus successful captures and sales (payments recorded in QuickBooks '
'included, gateway quickbooks).';

GRANT EXECUTE ON FUNCTION api.conflict__take_ours(text, bigint, text, text) TO pgbooks_operator;
GRANT EXECUTE ON FUNCTION api.conflict__take_theirs(text, bigint, text, text) TO pgbooks_operator;
GRANT EXECUTE ON FUNCTION api.conflict__merge(text, bigint, jsonb, text, text) TO pgbooks_operator;
GRANT EXECUTE ON FUNCTION api.conflict_policy__set(text, text, text, text, text) TO pgbooks_operator;
GRANT EXECUTE ON FUNCTION api.inbound__status(text) TO pgbooks_operator, pgbooks_worker;
GRANT EXECUTE ON FUNCTION api.order__balance(text, text, text) TO pgbooks_operator, pgbooks_worker;
