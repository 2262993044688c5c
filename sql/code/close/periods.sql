-- Period close. Periods are calendar months named 'YYYY-MM' (books.periods). Closing refuses
-- while documents dated in the month are not posted or exceptions about them are open, unless a
-- four-eyes override (action close_period, subject the month) is given. Once closed nothing
-- posts into it: a document dated inside is refused (policy refuse, PB721) or moved to the
-- first open date (policy reroute, the default), recorded as LATE_POSTING_REROUTED with its
-- original date. Delivery asks close.period__posting_date before it sends.

CREATE FUNCTION logic.period__start(p_period text) RETURNS date
LANGUAGE plpgsql IMMUTABLE
AS $$
BEGIN
    IF p_period IS NULL OR p_period !~ '^\d{4}-(0[1-9]|1[0-2])$' THEN
        RAISE EXCEPTION USING ERRCODE = 'PB720',
            MESSAGE = format('period %L is not a month written YYYY-MM (e.g. 2026-01)', p_period);
    END IF;
    RETURN to_date(p_period || '-01', 'YYYY-MM-DD');
END
$$;

COMMENT ON FUNCTION logic.period__start(text) IS 'First day of a period written YYYY-MM (PB720 otherwise).';

CREATE FUNCTION logic.period__is_closed(p_tenant_id text, p_date date) RETURNS boolean
LANGUAGE sql STABLE
AS $$
    SELECT EXISTS (
        SELECT FROM books.periods AS p
        WHERE p.tenant_id = p_tenant_id AND p.period_start = date_trunc('month', p_date)::date
            AND p.status = 'closed'
    )
$$;

COMMENT ON FUNCTION logic.period__is_closed(text, date) IS 'True when the month of p_date is closed for the tenant.';

CREATE FUNCTION close.period__posting_date(p_tenant_id text, p_date date) RETURNS date
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_date date := p_date;
    v_qbo date := logic.qbo_close__date(p_tenant_id);
BEGIN
    -- The QuickBooks books closing date closes every day up to it (QuickBooks answers 6210).
    IF v_date <= v_qbo THEN
        v_date := v_qbo + 1;
    END IF;
    WHILE v_date IS NOT NULL AND logic.period__is_closed(p_tenant_id, v_date) LOOP
        v_date := (date_trunc('month', v_date) + interval '1 month')::date;
    END LOOP;
    RETURN v_date;
END
$$;

COMMENT ON FUNCTION close.period__posting_date(text, date) IS
'The date a transaction dated p_date may be posted on: itself if its month is open and it is after the QuickBooks '
'books closing date, else the first open date after.';

CREATE FUNCTION logic.period__blockers(p_tenant_id text, p_start date) RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    v_end date := (p_start + interval '1 month' - interval '1 day')::date;
    v_unposted bigint[];
    v_exceptions bigint[];
BEGIN
    -- Posted = the document has a remote object (sync.remote_objects, when delivery exists).
    IF to_regclass('sync.remote_objects') IS NOT NULL THEN
        EXECUTE
            'SELECT array_agg(d.document_id ORDER BY d.document_id) FROM books.documents AS d '
            'WHERE d.tenant_id = $1 AND d.txn_date BETWEEN $2 AND $3 AND d.status <> ''cancelled'' '
            || format('AND NOT EXISTS (SELECT FROM %I.%I AS r ', 'sync', 'remote_objects')
            || 'WHERE r.tenant_id = d.tenant_id AND r.document_id = d.document_id)'
        INTO v_unposted USING p_tenant_id, p_start, v_end;
    ELSE
        SELECT array_agg(d.document_id ORDER BY d.document_id) INTO v_unposted
        FROM books.documents AS d
        WHERE d.tenant_id = p_tenant_id AND d.txn_date BETWEEN p_start AND v_end AND d.status <> 'cancelled';
    END IF;
    SELECT array_agg(x.exception_id ORDER BY x.exception_id) INTO v_exceptions
    FROM sync.exceptions AS x
    LEFT JOIN books.documents AS d ON x.tenant_id = d.tenant_id AND x.document_id = d.document_id
    WHERE x.tenant_id = p_tenant_id AND x.status = 'open'
        AND (d.txn_date BETWEEN p_start AND v_end
            OR (x.document_id IS NULL AND x.first_seen_at::date BETWEEN p_start AND v_end));
    RETURN jsonb_build_object(
        'unposted_documents', coalesce(to_jsonb(v_unposted), '[]'),
        'open_exceptions', coalesce(to_jsonb(v_exceptions), '[]')
    );
END
$$;

COMMENT ON FUNCTION logic.period__blockers(text, date) IS
'Unposted documents and open exceptions of a month: what stops a close.';

CREATE FUNCTION close.close_period(
    p_tenant_id text, p_period text, p_override_id bigint DEFAULT NULL, p_late_policy text DEFAULT 'reroute'
) RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_start date := logic.period__start(p_period);
    v_blockers jsonb := logic.period__blockers(p_tenant_id, v_start);
    v_user text := logic.audit__app_user();
    v_reason text := current_setting('pgbooks.reason', true);
BEGIN
    IF logic.period__is_closed(p_tenant_id, v_start) THEN
        RAISE EXCEPTION USING ERRCODE = 'PB723',
            MESSAGE = format('period %s of tenant %s is already closed', p_period, p_tenant_id);
    END IF;
    IF (jsonb_array_length(v_blockers -> 'unposted_documents') > 0
        OR jsonb_array_length(v_blockers -> 'open_exceptions') > 0) THEN
        IF p_override_id IS NULL THEN
            RAISE EXCEPTION USING ERRCODE = 'PB722',
                MESSAGE = format(
                    'period %s of tenant %s cannot close: %s unposted document(s), %s open exception(s)',
                    p_period, p_tenant_id, jsonb_array_length(v_blockers -> 'unposted_documents'),
                    jsonb_array_length(v_blockers -> 'open_exceptions')
                ),
                DETAIL = v_blockers::text,
                HINT = 'Post or resolve them, or close with a four-eyes override (action close_period).';
        END IF;
        PERFORM logic.override__use(p_tenant_id, p_override_id, 'close_period', p_period);
    ELSIF p_override_id IS NOT NULL THEN
        PERFORM logic.override__use(p_tenant_id, p_override_id, 'close_period', p_period);
    END IF;
    PERFORM set_config('pgbooks.reason', 'PERIOD_CLOSED', true);
    INSERT INTO books.periods AS p (
        tenant_id, period_start, period_end, status, late_policy, closed_at, closed_by, override_id
    )
    VALUES (
        p_tenant_id, v_start, (v_start + interval '1 month' - interval '1 day')::date, 'closed',
        p_late_policy, clock_timestamp(), v_user, p_override_id
    )
    ON CONFLICT (tenant_id, period_start) DO UPDATE SET
        status = 'closed', late_policy = excluded.late_policy, closed_at = excluded.closed_at,
        closed_by = excluded.closed_by, override_id = excluded.override_id, updated_at = now();
    PERFORM set_config('pgbooks.reason', coalesce(v_reason, ''), true);
    RETURN jsonb_build_object(
        'tenant_id', p_tenant_id, 'period', p_period, 'status', 'closed', 'closed_by', v_user,
        'override_id', p_override_id, 'blockers_overridden', v_blockers
    );
END
$$;

COMMENT ON FUNCTION close.close_period(text, text, bigint, text) IS
'Closes a month (YYYY-MM); refuses (PB722) with unposted documents or open exceptions unless a four-eyes override.';

CREATE FUNCTION close.reopen_period(p_tenant_id text, p_period text, p_override_id bigint) RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_start date := logic.period__start(p_period);
    v_reason text := current_setting('pgbooks.reason', true);
BEGIN
    IF NOT logic.period__is_closed(p_tenant_id, v_start) THEN
        RAISE EXCEPTION USING ERRCODE = 'PB724',
            MESSAGE = format('period %s of tenant %s is not closed', p_period, p_tenant_id);
    END IF;
    IF p_override_id IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'PB714',
            MESSAGE = format('reopening period %s needs a four-eyes override (action reopen_period)', p_period);
    END IF;
    PERFORM logic.override__use(p_tenant_id, p_override_id, 'reopen_period', p_period);
    PERFORM set_config('pgbooks.reason', 'PERIOD_REOPENED', true);
    UPDATE books.periods AS p SET
        status = 'open', closed_at = NULL, closed_by = NULL, override_id = p_override_id, updated_at = now()
    WHERE p.tenant_id = p_tenant_id AND p.period_start = v_start;
    PERFORM set_config('pgbooks.reason', coalesce(v_reason, ''), true);
    RETURN jsonb_build_object('tenant_id', p_tenant_id, 'period', p_period, 'status', 'open', 'override_id', p_override_id);
END
$$;

COMMENT ON FUNCTION close.reopen_period(text, text, bigint) IS
'Reopens a closed month; always needs an approved four-eyes override (action reopen_period).';

CREATE FUNCTION logic.tg_documents__closed_period() RETURNS trigger
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_policy text;
    v_date date;
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.txn_date IS NOT NULL AND logic.period__is_closed(OLD.tenant_id, OLD.txn_date)
        AND (to_jsonb(NEW) - 'updated_at') IS DISTINCT FROM (to_jsonb(OLD) - 'updated_at') THEN
        RAISE EXCEPTION USING ERRCODE = 'PB721',
            MESSAGE = format(
                'document %s is dated %s in a closed period of tenant %s: it cannot change',
                OLD.document_id, OLD.txn_date, OLD.tenant_id
            ),
            HINT = 'Book the change as an adjustment in the open period, linked to the original document.';
    END IF;
    IF NEW.txn_date IS NULL OR NOT logic.period__is_closed(NEW.tenant_id, NEW.txn_date) THEN
        RETURN NEW;
    END IF;
    SELECT p.late_policy INTO v_policy FROM books.periods AS p
    WHERE p.tenant_id = NEW.tenant_id AND p.period_start = date_trunc('month', NEW.txn_date)::date;
    IF v_policy = 'refuse' THEN
        RAISE EXCEPTION USING ERRCODE = 'PB721',
            MESSAGE = format('txn_date %s of document %s/%s falls in a closed period of tenant %s',
                NEW.txn_date, NEW.source_type, NEW.source_id, NEW.tenant_id);
    END IF;
    v_date := close.period__posting_date(NEW.tenant_id, NEW.txn_date);
    PERFORM logic.audit__append(
        NEW.tenant_id, 'LATE_POSTING_REROUTED', 'books.documents',
        jsonb_build_object('source_type', NEW.source_type, 'source_id', NEW.source_id, 'source_role', NEW.source_role),
        jsonb_build_object('original_txn_date', NEW.txn_date, 'txn_date', v_date)
    );
    NEW.txn_date := v_date;
    RETURN NEW;
END
$$;

COMMENT ON FUNCTION logic.tg_documents__closed_period() IS
'Nothing posts into a closed period: refuse (PB721) or move the document to the first open date.';

CREATE TRIGGER tg_documents__closed_period BEFORE INSERT OR UPDATE ON books.documents
FOR EACH ROW EXECUTE FUNCTION logic.tg_documents__closed_period();
