-- Backfill cursors: `pgbooks backfill` stores a page's records (api.raw_event__receive with
-- p_source 'backfill') and moves the cursor in the same transaction, so a crash between pages
-- resumes at the first page not stored.

CREATE FUNCTION api.backfill_cursor__get(
    p_tenant_id text, p_channel_id text, p_resource text, p_source text
) RETURNS TABLE (cursor text, pages_done integer, records_done bigint, completed boolean)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT b.cursor, b.pages_done, b.records_done, b.completed_at IS NOT NULL
    FROM ingest.backfill_cursors AS b
    WHERE b.tenant_id = p_tenant_id AND b.channel_id = p_channel_id
        AND b.resource = p_resource AND b.source = p_source;
$$;

COMMENT ON FUNCTION api.backfill_cursor__get(text, text, text, text) IS
'Where a backfill stopped: the next-page cursor (NULL = from the start), counters, and whether it completed.';

CREATE FUNCTION api.backfill_cursor__advance(
    p_tenant_id text,
    p_channel_id text,
    p_resource text,
    p_source text,
    p_cursor text,
    p_records integer,
    p_completed boolean DEFAULT FALSE
) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF p_records IS NULL OR p_records < 0 THEN
        RAISE EXCEPTION USING ERRCODE = 'PB404', MESSAGE = format('p_records: must be >= 0 (got %s)', p_records);
    END IF;
    INSERT INTO ingest.backfill_cursors AS b (
        tenant_id, channel_id, resource, source, cursor, pages_done, records_done, completed_at
    ) VALUES (
        p_tenant_id, p_channel_id, p_resource, p_source, p_cursor, 1, p_records,
        CASE WHEN p_completed THEN now() END
    )
    ON CONFLICT (tenant_id, channel_id, resource, source) DO UPDATE SET
        cursor = excluded.cursor,
        pages_done = b.pages_done + 1,
        records_done = b.records_done + excluded.records_done,
        updated_at = now(),
        completed_at = excluded.completed_at;
END
$$;

COMMENT ON FUNCTION api.backfill_cursor__advance(text, text, text, text, text, integer, boolean) IS
'Record that one more page was stored: the cursor of the next page, records added, completed when no page remains.';

CREATE FUNCTION api.backfill_cursor__reset(
    p_tenant_id text, p_channel_id text, p_resource text, p_source text
) RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    DELETE FROM ingest.backfill_cursors AS b
    WHERE b.tenant_id = p_tenant_id AND b.channel_id = p_channel_id
        AND b.resource = p_resource AND b.source = p_source;
    RETURN found;
END
$$;

COMMENT ON FUNCTION api.backfill_cursor__reset(text, text, text, text) IS
'Forget a backfill''s cursor so the next run starts from the first page (records already stored dedupe).';

GRANT EXECUTE ON FUNCTION api.backfill_cursor__get(text, text, text, text) TO pgbooks_worker;
GRANT EXECUTE ON FUNCTION api.backfill_cursor__advance(
    text, text, text, text, text, integer, boolean
) TO pgbooks_worker;
GRANT EXECUTE ON FUNCTION api.backfill_cursor__reset(text, text, text, text) TO pgbooks_operator;
