-- The QuickBooks books closing date (Preferences AccountingInfoPrefs.BookCloseDate), honoured
-- like a local close. It is read at discovery (api.tenant__apply_company_facts), on the worker's
-- schedule (qbo_close_refresh) and after a 6210 "Account Period Closed" fault, and handed to
-- api.qbo_close__apply, which stores it (books.qbo_close_dates, one audited write per change)
-- and then re-decides the documents not yet in QuickBooks that it closes, per the tenant policy
-- (books.tenant_settings.closed_period_policy):
--   hold                  -> the outbox entry is held with a PERIOD_CLOSED exception naming the
--                            QuickBooks closing date;
--   adjust_in_open_period -> the document is moved to the first open day (new version, the note
--                            in PrivateNote names its own date), audited LATE_POSTING_REROUTED.
-- Entries held for a QuickBooks close that no longer covers them are released. New documents
-- are decided by the books rules (logic.books_period__closed_through), and delivery never sends
-- one dated on or before the date (close.period__posting_date).

CREATE FUNCTION logic.qbo_close__parse(p_preferences jsonb) RETURNS date
LANGUAGE plpgsql IMMUTABLE
AS $$
DECLARE
    v_text text := nullif(btrim(p_preferences #>> '{AccountingInfoPrefs,BookCloseDate}'), '');
BEGIN
    IF p_preferences IS NULL OR jsonb_typeof(p_preferences) <> 'object' THEN
        RAISE EXCEPTION USING ERRCODE = 'PB725',
            MESSAGE = 'QuickBooks preferences must be a JSON object (the Preferences of GET /preferences)';
    END IF;
    IF v_text IS NULL THEN
        RETURN NULL;
    END IF;
    IF v_text !~ '^\d{4}-\d{2}-\d{2}' THEN
        RAISE EXCEPTION USING ERRCODE = 'PB725',
            MESSAGE = format('QuickBooks BookCloseDate %L is not a date (YYYY-MM-DD)', v_text);
    END IF;
    RETURN left(v_text, 10)::date;
END
$$;

COMMENT ON FUNCTION logic.qbo_close__parse(jsonb) IS
'AccountingInfoPrefs.BookCloseDate of QuickBooks preferences as a date (NULL when unset; PB725 when malformed).';

CREATE FUNCTION logic.qbo_close__record(
    p_tenant_id text, p_realm_id text, p_close_date date, p_source text
) RETURNS boolean
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    v_reason text := current_setting('pgbooks.reason', true);
    v_changed boolean;
BEGIN
    -- Written only when the date differs from the stored one (or was never read): each change is
    -- exactly one audited row change; an unchanged refresh writes nothing.
    PERFORM set_config('pgbooks.reason', 'SETTING_CHANGE', true);
    INSERT INTO books.qbo_close_dates AS q (tenant_id, realm_id, book_close_date, source, changed_at)
    VALUES (p_tenant_id, p_realm_id, p_close_date, p_source, now())
    ON CONFLICT (tenant_id, realm_id) DO UPDATE
        SET book_close_date = excluded.book_close_date, source = excluded.source, changed_at = excluded.changed_at
        WHERE q.book_close_date IS DISTINCT FROM excluded.book_close_date;
    v_changed := found;
    PERFORM set_config('pgbooks.reason', coalesce(v_reason, ''), true);
    RETURN v_changed;
END
$$;

COMMENT ON FUNCTION logic.qbo_close__record(text, text, date, text) IS
'Stores the QuickBooks closing date of a tenant''s realm when it changed (one audited write); true when it did.';

CREATE FUNCTION logic.qbo_close__redecide(p_tenant_id text, p_release boolean DEFAULT TRUE) RETURNS jsonb
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    v_qbo date := logic.qbo_close__date(p_tenant_id);
    v_policy text := (logic.tenant_settings__ensure(p_tenant_id)).closed_period_policy;
    v_reason text := current_setting('pgbooks.reason', true);
    v_d record;
    v_open date;
    v_from date;
    v_note text;
    v_moved jsonb := '[]';
    v_held jsonb := '[]';
    v_released jsonb := '[]';
BEGIN
    -- 1. Documents not in QuickBooks yet, dated on or before the QuickBooks closing date. Months
    --    closed locally keep their own rules (close.close_period's late policy).
    FOR v_d IN
        SELECT d.document_id, d.doc_type, d.txn_date, d.body, d.version,
            (SELECT x.qbo_fault FROM sync.exceptions AS x
             WHERE x.tenant_id = d.tenant_id AND x.document_id = d.document_id
                 AND x.reason_code = 'PERIOD_CLOSED' AND x.status = 'open') AS qbo_fault,
            EXISTS (
                SELECT FROM sync.exceptions AS x
                INNER JOIN sync.outbox AS o ON x.tenant_id = o.tenant_id AND x.document_id = o.document_id
                WHERE x.tenant_id = d.tenant_id AND x.document_id = d.document_id
                    AND x.reason_code = 'PERIOD_CLOSED' AND x.status = 'open' AND o.state = 'held'
                    AND x.detail ->> 'qbo_book_close_date' = v_qbo::text
            ) AS already_held
        FROM books.documents AS d
        WHERE d.tenant_id = p_tenant_id AND d.txn_date <= v_qbo AND d.action = 'upsert'
            AND d.status = 'ready' AND d.doc_type NOT IN ('customer', 'item')
            AND NOT logic.period__is_closed(d.tenant_id, d.txn_date)
            AND NOT EXISTS (
                SELECT FROM sync.remote_objects AS r
                WHERE r.tenant_id = d.tenant_id AND r.document_id = d.document_id AND r.remote_id IS NOT NULL
            )
        ORDER BY d.document_id
        FOR UPDATE OF d
    LOOP
        v_open := logic.books_period__open_date(p_tenant_id, v_d.txn_date);
        IF v_policy = 'hold' AND v_d.already_held THEN
            CONTINUE;  -- held for this very date already: an unchanged refresh writes nothing
        ELSIF v_policy = 'hold' THEN
            UPDATE sync.outbox AS o SET state = 'held', updated_at = now()
            WHERE o.tenant_id = p_tenant_id AND o.document_id = v_d.document_id AND o.state = 'pending';
            PERFORM logic.exception__raise(p_tenant_id, v_d.document_id, 'PERIOD_CLOSED', 'config',
                format('%s %s is dated %s, on or before the QuickBooks books closing date %s; held, not sent '
                    '(policy hold)', logic.doc_type__qbo_entity(v_d.doc_type), v_d.document_id, v_d.txn_date, v_qbo),
                logic.books_period__closed_detail(p_tenant_id, v_d.txn_date) || jsonb_build_object(
                    'version', v_d.version, 'taxonomy', 'data',
                    'remedy', 'Reopen the period in QuickBooks (the worker re-reads the closing date) or switch the '
                        'tenant policy to adjust_in_open_period, then retry the exception.'),
                v_d.qbo_fault);
            v_held := v_held || to_jsonb(v_d.document_id);
        ELSE
            -- the note names the document's own date (kept when it moves again)
            v_from := coalesce(substring(v_d.body ->> 'PrivateNote'
                FROM ' \(dated (\d{4}-\d{2}-\d{2}) in a closed period; booked on \d{4}-\d{2}-\d{2}\)')::date,
                v_d.txn_date);
            v_note := regexp_replace(coalesce(v_d.body ->> 'PrivateNote', ''),
                ' \(dated \d{4}-\d{2}-\d{2} in a closed period; booked on \d{4}-\d{2}-\d{2}\)', '');
            PERFORM set_config('pgbooks.reason', 'LATE_POSTING_REROUTED', true);
            UPDATE books.documents AS d SET
                txn_date = v_open,
                body = d.body || jsonb_build_object('TxnDate', v_open,
                    'PrivateNote', left(v_note || logic.books_period__moved_note(v_from, v_open), 4000)),
                version = d.version + 1, updated_at = now()
            WHERE d.tenant_id = p_tenant_id AND d.document_id = v_d.document_id;
            PERFORM set_config('pgbooks.reason', 'EXCEPTION_ACTION', true);
            UPDATE sync.exceptions AS x SET
                status = 'resolved', resolved_at = now(), resolved_by = 'pgbooks',
                resolution = format('moved to %s, after the QuickBooks books closing date %s', v_open, v_qbo)
            WHERE x.tenant_id = p_tenant_id AND x.document_id = v_d.document_id
                AND x.reason_code = 'PERIOD_CLOSED' AND x.status = 'open';
            PERFORM set_config('pgbooks.reason', coalesce(v_reason, ''), true);
            v_moved := v_moved || jsonb_build_object('document_id', v_d.document_id, 'from', v_d.txn_date,
                'to', v_open);
        END IF;
    END LOOP;

    -- 2. Entries held for a closed period (PERIOD_CLOSED: ours, a 6210 answer, or the claim's
    --    check) whose date is open again by every rule (the closing date moved back): sent again. Not right after a 6210 (p_release
    --    false): QuickBooks refused although its preferences say open, and sending again at once
    --    would loop; the next scheduled read releases it.
    FOR v_d IN
        SELECT d.document_id, d.version, x.exception_id
        FROM sync.exceptions AS x
        INNER JOIN sync.outbox AS o ON x.tenant_id = o.tenant_id AND x.document_id = o.document_id
        INNER JOIN books.documents AS d ON x.tenant_id = d.tenant_id AND x.document_id = d.document_id
        WHERE p_release AND x.tenant_id = p_tenant_id AND x.reason_code = 'PERIOD_CLOSED' AND x.status = 'open'
            AND o.state = 'held' AND d.status = 'ready'
            AND NOT logic.books_period__closed(p_tenant_id, d.txn_date)
            AND close.period__posting_date(p_tenant_id, d.txn_date) = d.txn_date
        ORDER BY d.document_id
    LOOP
        PERFORM set_config('pgbooks.reason', 'EXCEPTION_ACTION', true);
        UPDATE sync.exceptions AS x SET
            status = 'resolved', resolved_at = now(), resolved_by = 'pgbooks',
            resolution = format('the QuickBooks books closing date is now %s: sent again',
                coalesce(v_qbo::text, 'unset'))
        WHERE x.tenant_id = p_tenant_id AND x.exception_id = v_d.exception_id;
        PERFORM set_config('pgbooks.reason', coalesce(v_reason, ''), true);
        PERFORM logic.outbox__touch(p_tenant_id, v_d.document_id, v_d.version);
        v_released := v_released || to_jsonb(v_d.document_id);
    END LOOP;
    RETURN jsonb_build_object('policy', v_policy, 'moved', v_moved, 'held', v_held, 'released', v_released);
END
$$;

COMMENT ON FUNCTION logic.qbo_close__redecide(text, boolean) IS
'Applies the QuickBooks closing date to documents not in QuickBooks yet: hold with PERIOD_CLOSED or move to the '
'first open day (tenant policy); with p_release, releases entries held for a QuickBooks close that no longer '
'covers them.';

CREATE FUNCTION api.qbo_close__apply(
    p_tenant_id text, p_realm_id text, p_preferences jsonb, p_source text DEFAULT 'schedule'
) RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_close date := logic.qbo_close__parse(p_preferences);
    v_previous date;
    v_changed boolean;
    v_decided jsonb;
BEGIN
    IF p_tenant_id IS NULL OR p_realm_id IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'PB725', MESSAGE = 'api.qbo_close__apply needs a tenant and a realm';
    END IF;
    SELECT q.book_close_date INTO v_previous FROM books.qbo_close_dates AS q
    WHERE q.tenant_id = p_tenant_id AND q.realm_id = p_realm_id;
    v_changed := logic.qbo_close__record(p_tenant_id, p_realm_id, v_close, p_source);
    v_decided := logic.qbo_close__redecide(p_tenant_id, p_source IS DISTINCT FROM 'fault_6210');
    RETURN jsonb_build_object('tenant_id', p_tenant_id, 'realm_id', p_realm_id, 'book_close_date', v_close,
        'previous', v_previous, 'changed', v_changed, 'source', p_source) || v_decided;
END
$$;

COMMENT ON FUNCTION api.qbo_close__apply(text, text, jsonb, text) IS
'Stores the QuickBooks books closing date read from the company preferences (audited when it changes) and '
're-decides the documents it closes per tenant policy; source discovery, schedule, fault_6210 or manual.';

CREATE FUNCTION api.qbo_close__realms() RETURNS TABLE (
    tenant_id text, realm_id text, base_url text, paused boolean, book_close_date date, source text,
    changed_at timestamptz
)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT c.tenant_id, c.realm_id, c.base_url, c.paused, q.book_close_date, q.source, q.changed_at
    FROM sync.connections AS c
    LEFT JOIN books.qbo_close_dates AS q ON c.tenant_id = q.tenant_id AND c.realm_id = q.realm_id
    ORDER BY c.tenant_id
$$;

COMMENT ON FUNCTION api.qbo_close__realms() IS
'Connected realms with the QuickBooks closing date stored for each (what qbo_close_refresh re-reads, pgbooks status).';

REVOKE ALL ON FUNCTION api.qbo_close__apply(text, text, jsonb, text) FROM public;
REVOKE ALL ON FUNCTION api.qbo_close__realms() FROM public;
GRANT EXECUTE ON FUNCTION api.qbo_close__apply(text, text, jsonb, text), api.qbo_close__realms()
TO pgbooks_worker, pgbooks_operator;
