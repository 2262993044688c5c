-- Export of a closed period: the files of the bundle, as (file_name, content) rows; the CLI
-- (pgbooks close export) writes them, signs a checkpoint and adds manifest.json with the sha256
-- of every file. Tables of other areas are read by convention, when present: books.* tables with
-- a document_id column are lines, sync.* ones are delivery (remote ids, requests), analytics
-- views named *residual* / *reconcil* with a tenant_id column are the reconciliation residuals.

CREATE FUNCTION close.export_period(p_tenant_id text, p_period text) RETURNS TABLE (
    file_name text, content text
)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET timezone = 'UTC'
SET datestyle = 'ISO, YMD'
SET extra_float_digits = '1'
AS $$
DECLARE
    v_start date := logic.period__start(p_period);
    v_end date := (logic.period__start(p_period) + interval '1 month' - interval '1 day')::date;
    v_period books.periods;
    v_doc_ids bigint [];
    v_t record;
    v_lines text := '';
    v_delivery text := '';
    v_residuals text := '';
    v_part text;
    v_from bigint;
    v_head bigint;
BEGIN
    SELECT * INTO v_period FROM books.periods AS p
    WHERE p.tenant_id = p_tenant_id AND p.period_start = v_start AND p.status = 'closed';
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'PB724',
            MESSAGE = format('period %s of tenant %s is not closed: only a closed period is exported', p_period, p_tenant_id);
    END IF;
    PERFORM logic.audit__append(
        p_tenant_id, 'PERIOD_EXPORTED', 'close.export_period', jsonb_build_object('period', p_period),
        jsonb_build_object('exported_by', coalesce(nullif(current_setting('pgbooks.user', true), ''), logic.audit__actor()))
    );

    SELECT coalesce(array_agg(d.document_id ORDER BY d.document_id), '{}') INTO v_doc_ids
    FROM books.documents AS d
    WHERE d.tenant_id = p_tenant_id AND d.txn_date BETWEEN v_start AND v_end;

    file_name := 'documents.jsonl';
    SELECT coalesce(string_agg(to_jsonb(d)::text || E'\n', '' ORDER BY d.document_id), '') INTO content
    FROM books.documents AS d WHERE d.tenant_id = p_tenant_id AND d.document_id = ANY(v_doc_ids);
    RETURN NEXT;

    FOR v_t IN
        SELECT c.table_name, split_part(c.table_name, '.', 1) AS schema_name FROM logic.audit__coverage() AS c
        WHERE split_part(c.table_name, '.', 1) IN ('books', 'sync') AND c.table_name <> 'books.documents'
            AND EXISTS (
                SELECT FROM pg_catalog.pg_attribute AS a
                WHERE a.attrelid = c.table_name::regclass AND a.attname = 'document_id' AND NOT a.attisdropped
            )
        ORDER BY 1
    LOOP
        EXECUTE format(
            'SELECT string_agg(jsonb_build_object(''table'', %L, ''row'', to_jsonb(r))::text || E''\n'', '''' '
            'ORDER BY to_jsonb(r)::text) FROM %s AS r WHERE r.tenant_id = $1 AND r.document_id = ANY($2)',
            v_t.table_name, v_t.table_name
        ) INTO v_part USING p_tenant_id, v_doc_ids;
        IF v_t.schema_name = 'books' THEN
            v_lines := v_lines || coalesce(v_part, '');
        ELSE
            v_delivery := v_delivery || coalesce(v_part, '');
        END IF;
    END LOOP;
    file_name := 'lines.jsonl';
    content := v_lines;
    RETURN NEXT;
    file_name := 'delivery.jsonl';
    content := v_delivery;
    RETURN NEXT;

    FOR v_t IN
        SELECT format('%I.%I', n.nspname, c.relname) AS view_name
        FROM pg_catalog.pg_class AS c INNER JOIN pg_catalog.pg_namespace AS n ON c.relnamespace = n.oid
        WHERE n.nspname = 'analytics' AND c.relkind IN ('v', 'm')
            AND (c.relname LIKE '%residual%' OR c.relname LIKE '%reconcil%')
            AND EXISTS (
                SELECT FROM pg_catalog.pg_attribute AS a
                WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
            )
        ORDER BY 1
    LOOP
        EXECUTE format(
            'SELECT string_agg(jsonb_build_object(''view'', %L, ''row'', to_jsonb(r))::text || E''\n'', '''' '
            'ORDER BY to_jsonb(r)::text) FROM %s AS r WHERE r.tenant_id = $1',
            v_t.view_name, v_t.view_name
        ) INTO v_part USING p_tenant_id;
        v_residuals := v_residuals || coalesce(v_part, '');
    END LOOP;
    file_name := 'residuals.jsonl';
    content := v_residuals;
    RETURN NEXT;

    file_name := 'exceptions.jsonl';
    SELECT coalesce(string_agg(to_jsonb(x)::text || E'\n', '' ORDER BY x.exception_id), '') INTO content
    FROM sync.exceptions AS x
    WHERE x.tenant_id = p_tenant_id AND (x.document_id = ANY(v_doc_ids)
        OR (x.document_id IS NULL AND x.first_seen_at::date BETWEEN v_start AND v_end));
    RETURN NEXT;

    -- Audit range: from the first event recorded since the period began to the head (the
    -- PERIOD_EXPORTED event above); the first line's prev_hash anchors it to the earlier chain.
    SELECT coalesce(min(e.seq) FILTER (WHERE e.event_time >= v_start), max(e.seq)), max(e.seq)
    INTO v_from, v_head
    FROM audit.events AS e WHERE e.tenant_id = p_tenant_id;
    -- start at the latest signed checkpoint at the latest, so the bundle carries one
    SELECT least(v_from, max(k.seq)) INTO v_from FROM audit.checkpoints AS k WHERE k.tenant_id = p_tenant_id;
    v_from := coalesce(v_from, 1);
    file_name := 'audit_events.jsonl';
    SELECT string_agg(jsonb_build_object(
        'seq', x.seq, 'prev_hash', x.prev_hash, 'hash', x.hash, 'canonical', x.canonical
    )::text || E'\n', '' ORDER BY x.seq) INTO content
    FROM close.audit__export(p_tenant_id, v_from, v_head) AS x;
    RETURN NEXT;

    file_name := 'checkpoints.jsonl';
    SELECT coalesce(string_agg(to_jsonb(k)::text || E'\n', '' ORDER BY k.seq, k.statement), '') INTO content
    FROM close.checkpoint__list(p_tenant_id) AS k WHERE k.seq BETWEEN v_from AND v_head;
    RETURN NEXT;

    file_name := 'period.json';
    content := jsonb_build_object(
        'format', 'pgbooks-period-bundle/1', 'tenant_id', p_tenant_id, 'period', p_period,
        'period_start', v_start, 'period_end', v_end, 'status', v_period.status,
        'closed_at', v_period.closed_at, 'closed_by', v_period.closed_by,
        'override_id', v_period.override_id, 'document_count', cardinality(v_doc_ids),
        'audit_from_seq', v_from, 'audit_head_seq', v_head
    )::text || E'\n';
    RETURN NEXT;
END
$$;

COMMENT ON FUNCTION close.export_period(text, text) IS
'Files of the sealed bundle of a closed month: documents, lines, delivery, residuals, exceptions, audit, checkpoints.';
