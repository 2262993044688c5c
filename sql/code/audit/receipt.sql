-- The "receipt" of an order: the whole chain of evidence in one call. It reads whatever tables
-- exist (other areas add them over time), by convention rather than by name:
--   source facts  = rows of orders.* / ingest.* tables with an order_id column equal to the order
--                   (the order itself, lines, payments, refunds, raw events...);
--   documents     = books.documents whose source_id is the order or the key of a source fact;
--   delivery      = rows of sync.* tables with a document_id column among those documents
--                   (outbox, requests with requestid, remote objects with QuickBooks ids, exceptions);
--   audit entries = events of the tenant chain whose key or row names the order or a document.

CREATE FUNCTION close.audit__receipt(p_tenant_id text, p_order_id text) RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET timezone = 'UTC'
AS $$
DECLARE
    v_t record;
    v_rows jsonb;
    v_sources jsonb := '{}';
    v_source_ids text [] := ARRAY[p_order_id];
    v_documents jsonb := '[]';
    v_doc_ids bigint [] := '{}';
    v_delivery jsonb := '{}';
    v_audit jsonb;
BEGIN
    FOR v_t IN
        SELECT c.table_name, c.key_columns FROM logic.audit__coverage() AS c
        WHERE split_part(c.table_name, '.', 1) IN ('orders', 'ingest')
            AND EXISTS (
                SELECT FROM pg_catalog.pg_attribute AS a
                WHERE a.attrelid = c.table_name::regclass AND a.attname = 'order_id' AND NOT a.attisdropped
            )
    LOOP
        EXECUTE format(
            'SELECT jsonb_agg(to_jsonb(r)) FROM %s AS r WHERE r.tenant_id = $1 AND r.order_id::text = $2',
            v_t.table_name
        ) INTO v_rows USING p_tenant_id, p_order_id;
        IF v_rows IS NOT NULL THEN
            v_sources := v_sources || jsonb_build_object(v_t.table_name, v_rows);
            -- the last key column of a source row is how documents refer to it (refund_id...)
            v_source_ids := v_source_ids || ARRAY(
                SELECT r ->> v_t.key_columns[cardinality(v_t.key_columns)] FROM jsonb_array_elements(v_rows) AS r
            );
        END IF;
    END LOOP;

    IF to_regclass('books.documents') IS NOT NULL THEN
        SELECT coalesce(jsonb_agg(to_jsonb(d) ORDER BY d.document_id), '[]'), coalesce(array_agg(d.document_id), '{}')
        INTO v_documents, v_doc_ids
        FROM books.documents AS d
        WHERE d.tenant_id = p_tenant_id AND d.source_id = ANY(v_source_ids);
    END IF;

    FOR v_t IN
        SELECT c.table_name FROM logic.audit__coverage() AS c
        WHERE split_part(c.table_name, '.', 1) = 'sync'
            AND EXISTS (
                SELECT FROM pg_catalog.pg_attribute AS a
                WHERE a.attrelid = c.table_name::regclass AND a.attname = 'document_id' AND NOT a.attisdropped
            )
    LOOP
        EXECUTE format(
            'SELECT jsonb_agg(to_jsonb(r)) FROM %s AS r WHERE r.tenant_id = $1 AND r.document_id = ANY($2)',
            v_t.table_name
        ) INTO v_rows USING p_tenant_id, v_doc_ids;
        IF v_rows IS NOT NULL THEN
            v_delivery := v_delivery || jsonb_build_object(v_t.table_name, v_rows);
        END IF;
    END LOOP;

    SELECT coalesce(jsonb_agg(jsonb_build_object(
        'seq', e.seq, 'event_time', e.event_time, 'table_name', e.table_name, 'operation', e.operation,
        'reason_code', e.reason_code, 'db_role', e.db_role, 'app_user', e.app_user, 'txid', e.txid,
        'row_key', e.row_key, 'before', e.before, 'after', e.after,
        'prev_hash', encode(e.prev_hash, 'hex'), 'hash', encode(e.hash, 'hex')
    ) ORDER BY e.seq), '[]')
    INTO v_audit
    FROM audit.events AS e
    WHERE e.tenant_id = p_tenant_id
        AND (
            e.row_key ->> 'order_id' = p_order_id
            OR e.after ->> 'order_id' = p_order_id
            OR e.before ->> 'order_id' = p_order_id
            OR e.row_key ->> 'document_id' = ANY(v_doc_ids::text [])
            OR e.after ->> 'document_id' = ANY(v_doc_ids::text [])
            OR e.before ->> 'document_id' = ANY(v_doc_ids::text [])
        );

    RETURN jsonb_build_object(
        'tenant_id', p_tenant_id,
        'order_id', p_order_id,
        'sources', v_sources,
        'documents', v_documents,
        'delivery', v_delivery,
        'audit', v_audit
    );
END
$$;

COMMENT ON FUNCTION close.audit__receipt(text, text) IS
'Chain of evidence for one order: source facts, documents, delivery rows (requests, QuickBooks ids), audit entries.';
