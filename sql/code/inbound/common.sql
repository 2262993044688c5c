-- Two-way sync (changes made in QuickBooks): shared helpers. Area layout: tables in the sync
-- schema (sql/tables/sync/inbound_*.sql, conflict_policies.sql, field_overrides.sql), code here:
-- receive.sql (webhooks), sweep.sql (CDC), apply.sql (three-way compare under the conflict
-- policies, payments, voids and deletions), actions.sql (operator actions, settings).

CREATE FUNCTION logic.inbound__exception(
    p_tenant_id text,
    p_document_id bigint,
    p_source_type text,
    p_source_id text,
    p_reason_code text,
    p_category text,
    p_message text,
    p_detail jsonb,
    p_diff jsonb
) RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_id bigint;
BEGIN
    -- One open exception per subject and reason: a repeat bumps occurrences and refreshes facts.
    INSERT INTO sync.exceptions AS e (
        tenant_id, document_id, source_type, source_id, reason_code, category, message, detail, diff
    ) VALUES (
        p_tenant_id, p_document_id, p_source_type, p_source_id, p_reason_code, p_category, left(p_message, 2000),
        coalesce(p_detail, '{}'), p_diff
    )
    ON CONFLICT (
        tenant_id, reason_code, coalesce(document_id, -1), coalesce(source_type, ''), coalesce(source_id, '')
    ) WHERE status = 'open'
    DO UPDATE SET
        occurrences = e.occurrences + 1, last_seen_at = now(), message = excluded.message,
        detail = excluded.detail, diff = excluded.diff
    RETURNING e.exception_id INTO v_id;
    RETURN v_id;
END
$$;

COMMENT ON FUNCTION logic.inbound__exception(text, bigint, text, text, text, text, text, jsonb, jsonb) IS
'Opens (or bumps) a two-way sync exception on a document or a source (realm, QuickBooks object); returns its id.';
