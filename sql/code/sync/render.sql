-- Rendering a document (schema_version 1) into the QuickBooks payload: placeholders
-- {"document_id": N} and {"TxnDocumentId": N} become QuickBooks ids taken from
-- sync.remote_objects. A placeholder that cannot be resolved is an error, never a guess.

CREATE FUNCTION logic.jsonb__resolve_refs(p_tenant_id text, p_value jsonb, p_path text DEFAULT '')
RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    v_out jsonb;
    v_key text;
    v_child jsonb;
    v_ref bigint;
    v_remote_id text;
    v_index integer := 0;
BEGIN
    -- Fast path: a value whose text holds neither key has no placeholder (jsonb text is C-fast;
    -- the walk below is not). A string that merely contains the word only costs the walk.
    IF strpos(p_value::text, '"document_id"') = 0 AND strpos(p_value::text, '"TxnDocumentId"') = 0 THEN
        RETURN p_value;
    END IF;
    IF jsonb_typeof(p_value) = 'array' THEN
        v_out := '[]';
        FOR v_child IN SELECT a.value FROM jsonb_array_elements(p_value) AS a (value) LOOP
            v_out := v_out || jsonb_build_array(
                logic.jsonb__resolve_refs(p_tenant_id, v_child, p_path || '[' || v_index || ']')
            );
            v_index := v_index + 1;
        END LOOP;
        RETURN v_out;
    ELSIF jsonb_typeof(p_value) IS DISTINCT FROM 'object' THEN
        RETURN p_value;
    END IF;

    v_out := '{}';
    FOR v_key, v_child IN SELECT e.key, e.value FROM jsonb_each(p_value) AS e LOOP
        IF v_key IN ('document_id', 'TxnDocumentId') THEN
            v_ref := (v_child #>> '{}')::bigint;
            SELECT r.remote_id INTO v_remote_id
            FROM sync.remote_objects AS r
            WHERE r.tenant_id = p_tenant_id AND r.document_id = v_ref AND r.remote_status = 'active';
            IF v_remote_id IS NULL THEN
                RAISE EXCEPTION USING
                    ERRCODE = 'PB601',
                    MESSAGE = format(
                        'placeholder %s at %s refers to document %s, which has no QuickBooks id yet',
                        v_key, coalesce(nullif(p_path, ''), '(root)'), v_ref
                    ),
                    HINT = 'List the document in depends_on so it is delivered first.';
            END IF;
            v_out := v_out || jsonb_build_object(
                CASE v_key WHEN 'document_id' THEN 'value' ELSE 'TxnId' END, v_remote_id
            );
        ELSE
            v_out := v_out || jsonb_build_object(
                v_key, logic.jsonb__resolve_refs(p_tenant_id, v_child, p_path || '.' || v_key)
            );
        END IF;
    END LOOP;
    RETURN v_out;
END;
$$;

COMMENT ON FUNCTION logic.jsonb__resolve_refs(text, jsonb, text) IS
'Replaces document placeholders in a body by QuickBooks ids (PB601 when one has no remote id yet).';

CREATE FUNCTION logic.document__render_qbo(p_tenant_id text, p_document_id bigint)
RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    v_doc books.documents;
    v_remote sync.remote_objects;
    v_body jsonb;
BEGIN
    SELECT d.* INTO v_doc FROM books.documents AS d
    WHERE d.tenant_id = p_tenant_id AND d.document_id = p_document_id;
    IF NOT found THEN
        RAISE EXCEPTION USING
            ERRCODE = 'PB602',
            MESSAGE = format('document_id %s does not exist for tenant %s', p_document_id, p_tenant_id);
    END IF;
    IF v_doc.schema_version <> 1 THEN
        RAISE EXCEPTION USING
            ERRCODE = 'PB603',
            MESSAGE = format(
                'document %s has schema_version %s; the QuickBooks renderer knows schema_version 1 only',
                p_document_id, v_doc.schema_version
            );
    END IF;
    SELECT r.* INTO v_remote FROM sync.remote_objects AS r
    WHERE r.tenant_id = p_tenant_id AND r.document_id = p_document_id;

    IF v_doc.action IN ('void', 'delete') THEN
        IF v_remote.remote_id IS NULL THEN
            RAISE EXCEPTION USING
                ERRCODE = 'PB604',
                MESSAGE = format('document %s: action %s needs a QuickBooks object, none was created',
                    p_document_id, v_doc.action);
        END IF;
        RETURN jsonb_build_object('Id', v_remote.remote_id, 'SyncToken', v_remote.sync_token, 'sparse', true);
    END IF;

    v_body := logic.jsonb__resolve_refs(p_tenant_id, v_doc.body);
    -- txn_date is authoritative (period close may have moved it to the first open date).
    IF v_doc.txn_date IS NOT NULL AND v_doc.doc_type NOT IN ('customer', 'item') THEN
        v_body := v_body || jsonb_build_object('TxnDate', v_doc.txn_date);
    END IF;
    -- Two-way sync: QuickBooks values accepted for this document (sync.field_overrides) are the
    -- local record of those fields; an update carries them instead of overwriting them.
    v_body := v_body || coalesce((
        SELECT jsonb_object_agg(f.field, f.value) FROM sync.field_overrides AS f
        WHERE f.tenant_id = p_tenant_id AND f.document_id = p_document_id
    ), '{}');
    IF v_remote.remote_id IS NOT NULL THEN
        v_body := v_body || jsonb_build_object(
            'Id', v_remote.remote_id, 'SyncToken', v_remote.sync_token, 'sparse', true
        );
    END IF;
    RETURN v_body;
END;
$$;

COMMENT ON FUNCTION logic.document__render_qbo(text, bigint) IS
'QuickBooks payload of a document: body with placeholders resolved; Id/SyncToken/sparse added for an update.';

CREATE FUNCTION logic.document__expected_total(p_doc_type text, p_body jsonb)
RETURNS numeric
LANGUAGE sql IMMUTABLE
AS $$
    -- What QuickBooks will compute as TotalAmt for the lines we send (tax included when given).
    SELECT CASE
        WHEN p_body ? 'TotalAmt' AND p_doc_type = 'payment' THEN (p_body ->> 'TotalAmt')::numeric
        WHEN p_doc_type = 'journal_entry' THEN (
            SELECT coalesce(sum((l.value ->> 'Amount')::numeric), 0)
            FROM jsonb_array_elements(coalesce(p_body -> 'Line', '[]')) AS l (value)
            WHERE l.value #>> '{JournalEntryLineDetail,PostingType}' = 'Debit'
        )
        WHEN p_body ? 'Line' THEN (
            SELECT coalesce(sum(
                CASE l.value ->> 'DetailType'
                    WHEN 'SubTotalLineDetail' THEN 0
                    WHEN 'DescriptionOnly' THEN 0
                    WHEN 'DiscountLineDetail' THEN -(l.value ->> 'Amount')::numeric
                    ELSE (l.value ->> 'Amount')::numeric
                END
            ), 0)
            FROM jsonb_array_elements(p_body -> 'Line') AS l (value)
        ) + coalesce((p_body #>> '{TxnTaxDetail,TotalTax}')::numeric, 0)
    END
$$;

COMMENT ON FUNCTION logic.document__expected_total(text, jsonb) IS
'Total QuickBooks will compute for a body (lines - discounts + tax; debits for a journal entry); NULL if none.';
