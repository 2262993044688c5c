-- Shared building blocks of the accounting rules: rounding, exceptions, exchange rates and the
-- one function that writes a document (so "a change bumps version, no change keeps it" holds
-- for every rule).

CREATE FUNCTION logic.money__round_half_up(p_amount numeric, p_scale integer DEFAULT 2)
RETURNS numeric
LANGUAGE sql
IMMUTABLE
STRICT
AS $$
    -- numeric round() is half away from zero: for positive amounts that is QuickBooks' half-up.
    SELECT round(p_amount, p_scale)
$$;

COMMENT ON FUNCTION logic.money__round_half_up(numeric, integer) IS
'Half-up rounding to p_scale decimals, as QuickBooks computes round_half_up(qty × unit_price, 2).';

CREATE FUNCTION logic.books_exception__raise(
    p_tenant_id text,
    p_source_type text,
    p_source_id text,
    p_document_id bigint,
    p_reason_code text,
    p_category text,
    p_message text,
    p_detail jsonb DEFAULT '{}',
    p_diff jsonb DEFAULT NULL
)
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    INSERT INTO sync.exceptions AS e (
        tenant_id, document_id, source_type, source_id, reason_code, category, message, detail, diff
    )
    VALUES (
        p_tenant_id, p_document_id, p_source_type, p_source_id, p_reason_code, p_category, p_message,
        coalesce(p_detail, '{}'), p_diff
    )
    ON CONFLICT (
        tenant_id, reason_code, coalesce(document_id, -1), coalesce(source_type, ''), coalesce(source_id, '')
    ) WHERE status = 'open'
    DO UPDATE SET
        occurrences = e.occurrences + 1, last_seen_at = now(), message = excluded.message,
        detail = excluded.detail, diff = excluded.diff;
END;
$$;

COMMENT ON FUNCTION logic.books_exception__raise(text, text, text, bigint, text, text, text, jsonb, jsonb) IS
'Opens (or bumps) a sync.exceptions row raised by the accounting rules for a source fact / document.';

CREATE FUNCTION logic.books_exceptions__resolve_fixed(
    p_tenant_id text, p_source_type text, p_source_id text, p_still_open text[]
)
RETURNS void
LANGUAGE sql
AS $$
    -- Exceptions the rules raised earlier for this source that no longer occur are resolved.
    UPDATE sync.exceptions
    SET status = 'resolved', resolved_at = now(), resolved_by = 'books.rules',
        resolution = 'source or settings fixed; re-derived without this problem'
    WHERE tenant_id = p_tenant_id AND source_type = p_source_type AND source_id = p_source_id
      AND status = 'open' AND NOT (reason_code = ANY(p_still_open))
      AND category IN ('source_data', 'mapping', 'config')
$$;

COMMENT ON FUNCTION logic.books_exceptions__resolve_fixed(text, text, text, text[]) IS
'Resolves rule exceptions of a source that a fresh derivation no longer raises.';

CREATE FUNCTION logic.exchange_rate__for(p_tenant_id text, p_currency text, p_on date)
RETURNS numeric
LANGUAGE sql
STABLE
AS $$
    SELECT r.rate FROM books.exchange_rates AS r
    WHERE r.tenant_id = p_tenant_id AND r.currency = p_currency AND r.rate_date <= p_on
    ORDER BY r.rate_date DESC
    LIMIT 1
$$;

COMMENT ON FUNCTION logic.exchange_rate__for(text, text, date) IS
'Latest rate (home units per 1 foreign unit) on or before a day; NULL when none is stored.';

CREATE FUNCTION logic.document__put(
    p_tenant_id text,
    p_doc_type text,
    p_source_type text,
    p_source_id text,
    p_source_role text,
    p_body jsonb,
    p_total numeric,
    p_currency text,
    p_txn_date date,
    p_depends_on bigint[],
    p_status text DEFAULT 'ready',
    p_action text DEFAULT 'upsert',
    p_lines jsonb DEFAULT '[]'
)
RETURNS bigint
LANGUAGE plpgsql
AS $$
DECLARE
    v_old books.documents;
    v_id bigint;
    v_doc_number text := p_body ->> 'DocNumber';
    v_deps bigint[] := ARRAY(SELECT DISTINCT d FROM unnest(p_depends_on) AS d WHERE d IS NOT NULL ORDER BY d);
BEGIN
    SELECT * INTO v_old FROM books.documents
    WHERE tenant_id = p_tenant_id AND source_type = p_source_type AND source_id = p_source_id
      AND source_role = p_source_role
    FOR UPDATE;
    IF NOT found THEN
        INSERT INTO books.documents (
            tenant_id, doc_type, action, source_type, source_id, source_role, status, txn_date, doc_number,
            currency, total_amount, depends_on, body
        )
        VALUES (
            p_tenant_id, p_doc_type, p_action, p_source_type, p_source_id, p_source_role, p_status, p_txn_date,
            v_doc_number, p_currency, p_total, v_deps, p_body
        )
        RETURNING document_id INTO v_id;
    ELSE
        v_id := v_old.document_id;
        IF (v_old.doc_type, v_old.action, v_old.status, v_old.txn_date, v_old.doc_number, v_old.currency,
            v_old.total_amount, v_old.depends_on, v_old.body)
            IS DISTINCT FROM
            (p_doc_type, p_action, p_status, p_txn_date, v_doc_number, p_currency::character(3),
             p_total::numeric(20, 4), v_deps, p_body) THEN
            IF v_old.txn_date IS NOT NULL AND logic.books_period__closed(p_tenant_id, v_old.txn_date)
                -- closed only by the QuickBooks closing date and never sent there: nothing to
                -- reverse, the document is rewritten (delivery still holds it while closed)
                AND NOT (
                    NOT logic.books_period__closed_locally(p_tenant_id, v_old.txn_date)
                    AND NOT EXISTS (SELECT FROM sync.remote_objects AS r
                                    WHERE r.tenant_id = p_tenant_id AND r.document_id = v_old.document_id)
                ) THEN
                -- Booked in a period now closed: never rewritten. Only the date moved (a rule
                -- re-dated it): nothing to book; else the change is adjusted in the open period.
                IF (v_old.doc_type, v_old.action, v_old.status, v_old.currency, v_old.total_amount, v_old.body - 'TxnDate')
                    IS NOT DISTINCT FROM
                    (p_doc_type, p_action, p_status, p_currency::character(3), p_total::numeric(20, 4),
                     p_body - 'TxnDate') THEN
                    RETURN v_id;
                END IF;
                RETURN logic.document__adjust_closed(v_old, p_doc_type, p_body, p_total, p_currency, p_txn_date,
                    v_deps, p_status, p_action, p_lines);
            END IF;
            UPDATE books.documents
            SET doc_type = p_doc_type, action = p_action, status = p_status, txn_date = p_txn_date,
                doc_number = v_doc_number, currency = p_currency, total_amount = p_total,
                depends_on = v_deps, body = p_body, version = version + 1, updated_at = now()
            WHERE tenant_id = p_tenant_id AND document_id = v_id;
        END IF;
    END IF;
    DELETE FROM books.document_lines WHERE tenant_id = p_tenant_id AND document_id = v_id;
    INSERT INTO books.document_lines (
        tenant_id, document_id, line_no, kind, description, sku, qty, unit_price, amount, source_amount,
        account_role, tax_key, rounding_note
    )
    SELECT p_tenant_id, v_id, l.ord::integer, l.value ->> 'kind', l.value ->> 'description', l.value ->> 'sku',
        (l.value ->> 'qty')::numeric, (l.value ->> 'unit_price')::numeric, (l.value ->> 'amount')::numeric,
        (l.value ->> 'source_amount')::numeric, l.value ->> 'account_role', l.value ->> 'tax_key',
        l.value ->> 'rounding_note'
    FROM jsonb_array_elements(coalesce(p_lines, '[]')) WITH ORDINALITY AS l (value, ord);
    RETURN v_id;
END;
$$;

COMMENT ON FUNCTION logic.document__put(
    text, text, text, text, text, jsonb, numeric, text, date, bigint[], text, text, jsonb
) IS
'Creates or updates the document of (source, role); bumps version only when its content changed; rewrites its lines.';

CREATE FUNCTION logic.document__find(
    p_tenant_id text, p_source_type text, p_source_id text, p_source_role text DEFAULT 'main'
)
RETURNS books.documents
LANGUAGE sql
STABLE
AS $$
    SELECT d.* FROM books.documents AS d
    WHERE d.tenant_id = p_tenant_id AND d.source_type = p_source_type AND d.source_id = p_source_id
      AND d.source_role = p_source_role
$$;

COMMENT ON FUNCTION logic.document__find(text, text, text, text) IS
'The document of a source fact and role, if one was derived.';

CREATE FUNCTION logic.test_orders__booked(p_tenant_id text)
RETURNS boolean
LANGUAGE sql
STABLE
AS $$
    -- auto: test-mode orders (e.g. Stripe livemode=false) belong in a test company only. A tenant
    -- connected to any host but Intuit's production API (the sandbox, a local simulator) books
    -- them; a production company or no connection at all does not.
    SELECT CASE s.test_orders
        WHEN 'book' THEN TRUE
        WHEN 'skip' THEN FALSE
        ELSE coalesce((
            SELECT c.base_url !~* '^https://quickbooks\.api\.intuit\.com'
            FROM sync.connections AS c WHERE c.tenant_id = p_tenant_id
        ), FALSE)
    END
    FROM books.tenant_settings AS s
    WHERE s.tenant_id = p_tenant_id
$$;

COMMENT ON FUNCTION logic.test_orders__booked(text) IS
'Whether the tenant books test-mode orders: test_orders = book/skip, or auto (connected to a non-production '
'QuickBooks company).';

CREATE FUNCTION logic.qbo_close__date(p_tenant_id text)
RETURNS date
LANGUAGE plpgsql
STABLE
AS $$
BEGIN
    -- The QuickBooks books closing date of the tenant's company (books.qbo_close_dates): the row
    -- of the connected realm, or, without a connection, the latest read. PL/pgSQL, not SQL: it
    -- runs per derived document, and a non-inlined SQL function is planned again at every call.
    RETURN (
        SELECT q.book_close_date
        FROM books.qbo_close_dates AS q
        LEFT JOIN sync.connections AS c ON q.tenant_id = c.tenant_id
        WHERE q.tenant_id = p_tenant_id AND (c.realm_id IS NULL OR c.realm_id = q.realm_id)
        ORDER BY q.changed_at DESC
        LIMIT 1
    );
END;
$$;

COMMENT ON FUNCTION logic.qbo_close__date(text) IS
'QuickBooks books closing date (Preferences AccountingInfoPrefs.BookCloseDate) of the tenant''s connected company; '
'NULL when none is set or it was never read.';

CREATE FUNCTION logic.books_period__closed_through(p_tenant_id text)
RETURNS date
LANGUAGE plpgsql
STABLE
AS $$
BEGIN
    -- Effective "closed through" day: the later of the tenant setting and the QuickBooks closing
    -- date (greatest ignores NULLs). Months closed with close.close_period come on top.
    RETURN greatest(
        (SELECT s.closed_through FROM books.tenant_settings AS s WHERE s.tenant_id = p_tenant_id),
        logic.qbo_close__date(p_tenant_id)
    );
END;
$$;

COMMENT ON FUNCTION logic.books_period__closed_through(text) IS
'Last closed day of the tenant: max(tenant_settings.closed_through, QuickBooks closing date); NULL when neither.';

CREATE FUNCTION logic.books_period__closed(p_tenant_id text, p_date date)
RETURNS boolean
LANGUAGE plpgsql
STABLE
AS $$
BEGIN
    -- Three ways a date is closed: the two pgbooks itself keeps (the tenant's closed_through, a
    -- month closed with close.close_period) and the QuickBooks books closing date.
    RETURN p_date IS NOT NULL AND (
        logic.books_period__closed_locally(p_tenant_id, p_date)
        OR coalesce(p_date <= logic.qbo_close__date(p_tenant_id), FALSE)
    );
END;
$$;

COMMENT ON FUNCTION logic.books_period__closed(text, date) IS
'True when a date is closed for the tenant: on or before tenant_settings.closed_through or the QuickBooks closing '
'date, or in a closed month.';

CREATE FUNCTION logic.books_period__closed_locally(p_tenant_id text, p_date date)
RETURNS boolean
LANGUAGE plpgsql
STABLE
AS $$
BEGIN
    -- Closed by pgbooks itself (tenant closed_through or a closed month), the QuickBooks date aside.
    RETURN p_date IS NOT NULL AND (
        coalesce(p_date <= (SELECT s.closed_through FROM books.tenant_settings AS s WHERE s.tenant_id = p_tenant_id),
            FALSE)
        OR logic.period__is_closed(p_tenant_id, p_date)
    );
END;
$$;

COMMENT ON FUNCTION logic.books_period__closed_locally(text, date) IS
'True when a date is closed by tenant_settings.closed_through or a closed month (the QuickBooks closing date aside).';

CREATE FUNCTION logic.books_period__closed_reason(p_tenant_id text, p_date date)
RETURNS text
LANGUAGE plpgsql
STABLE
AS $$
DECLARE
    v_qbo date := logic.qbo_close__date(p_tenant_id);
BEGIN
    -- Names the QuickBooks closing date when it is what closes p_date ('' otherwise).
    IF p_date <= v_qbo THEN
        RETURN format(' (QuickBooks books closing date %s)', v_qbo);
    END IF;
    RETURN '';
END;
$$;

COMMENT ON FUNCTION logic.books_period__closed_reason(text, date) IS
'Text naming the QuickBooks books closing date when p_date is on or before it, else the empty string.';

CREATE FUNCTION logic.books_period__closed_detail(p_tenant_id text, p_date date)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
AS $$
BEGIN
    RETURN jsonb_build_object(
        'txn_date', p_date,
        'closed_through', (SELECT s.closed_through FROM books.tenant_settings AS s WHERE s.tenant_id = p_tenant_id),
        'qbo_book_close_date', logic.qbo_close__date(p_tenant_id),
        'first_open_date', logic.books_period__open_date(p_tenant_id, p_date)
    );
END;
$$;

COMMENT ON FUNCTION logic.books_period__closed_detail(text, date) IS
'Detail of a PERIOD_CLOSED problem: the date, the tenant closed_through, the QuickBooks closing date, first open day.';

CREATE FUNCTION logic.books_period__moved_note(p_from date, p_to date)
RETURNS text
LANGUAGE sql
IMMUTABLE
AS $$
    -- Appended to the PrivateNote of a document moved out of a closed period: names its own date
    -- (stable, so deriving again produces the same body).
    SELECT CASE WHEN p_from IS DISTINCT FROM p_to AND p_from IS NOT NULL AND p_to IS NOT NULL
        THEN format(' (dated %s in a closed period; booked on %s)', p_from, p_to) ELSE '' END
$$;

COMMENT ON FUNCTION logic.books_period__moved_note(date, date) IS
'PrivateNote suffix of a document moved from p_from (closed) to p_to (first open day); empty when not moved.';

CREATE FUNCTION logic.books_period__open_date(p_tenant_id text, p_date date)
RETURNS date
LANGUAGE plpgsql
STABLE
AS $$
DECLARE
    v_date date := p_date;
    v_through date := logic.books_period__closed_through(p_tenant_id);
BEGIN
    WHILE logic.books_period__closed(p_tenant_id, v_date) LOOP
        v_date := CASE WHEN v_date <= v_through THEN v_through + 1
            ELSE (date_trunc('month', v_date) + interval '1 month')::date END;
    END LOOP;
    RETURN v_date;
END;
$$;

COMMENT ON FUNCTION logic.books_period__open_date(text, date) IS
'The first open date on or after p_date (p_date itself when it is open).';

CREATE FUNCTION logic.books_period__holds(p_tenant_id text, p_date date)
RETURNS boolean
LANGUAGE plpgsql
STABLE
AS $$
BEGIN
    -- Hold (exception) instead of moving to the first open day: the tenant's policy is hold,
    -- or the closed month's late policy is refuse.
    RETURN logic.books_period__closed(p_tenant_id, p_date) AND (
        EXISTS (SELECT FROM books.tenant_settings AS s
                WHERE s.tenant_id = p_tenant_id AND s.closed_period_policy = 'hold'
                  AND p_date <= logic.books_period__closed_through(p_tenant_id))
        OR EXISTS (SELECT FROM books.periods AS p
                   WHERE p.tenant_id = p_tenant_id AND p.period_start = date_trunc('month', p_date)::date
                     AND p.status = 'closed' AND p.late_policy = 'refuse')
    );
END;
$$;

COMMENT ON FUNCTION logic.books_period__holds(text, date) IS
'True when a document dated p_date must be held (PERIOD_CLOSED exception) rather than moved to the first open day.';

CREATE FUNCTION logic.document__adjust_closed(
    p_old books.documents,
    p_doc_type text,
    p_body jsonb,
    p_total numeric,
    p_currency text,
    p_txn_date date,
    p_depends_on bigint[],
    p_status text,
    p_action text,
    p_lines jsonb
)
RETURNS bigint
LANGUAGE plpgsql
AS $$
-- A document dated in a closed period changed (or must be voided): the original stays as it was
-- posted. In the first open period a reversing document cancels it (SalesReceipt ↔ RefundReceipt,
-- Invoice ↔ CreditMemo, JournalEntry with sides swapped) and, unless it was voided, a restated
-- document carries the new content. Both are linked to the original by source and role.
DECLARE
    v_open date := logic.books_period__open_date(
        p_old.tenant_id, greatest(p_old.txn_date, coalesce(p_txn_date, p_old.txn_date))
    );
    v_rev_type text := CASE p_old.doc_type
        WHEN 'sales_receipt' THEN 'refund_receipt' WHEN 'refund_receipt' THEN 'sales_receipt'
        WHEN 'invoice' THEN 'credit_memo' WHEN 'credit_memo' THEN 'invoice'
        WHEN 'journal_entry' THEN 'journal_entry'
    END;
    v_note text := format('pgbooks: reverses document %s (%s dated %s, closed period)',
        p_old.document_id, p_old.doc_type, p_old.txn_date);
    v_body jsonb;
    v_lines jsonb;
    v_restated books.documents;
    v_id bigint;
BEGIN
    IF v_rev_type IS NULL THEN
        PERFORM logic.books_exception__raise(p_old.tenant_id, p_old.source_type, p_old.source_id, p_old.document_id,
            'CLOSED_PERIOD_CHANGE', 'conflict',
            format('%s %s is dated %s in a closed period and changed; a %s cannot be reversed automatically: '
                'adjust it by hand in the open period, then resolve this exception', p_old.doc_type,
                p_old.document_id, p_old.txn_date, p_old.doc_type),
            jsonb_build_object('txn_date', p_old.txn_date, 'first_open_date', v_open, 'new_total', p_total));
        RETURN p_old.document_id;
    END IF;
    IF p_old.status = 'ready' AND p_old.action = 'upsert' THEN
        v_body := (p_old.body - 'DocNumber' - 'TxnDate' - 'PrivateNote')
            || jsonb_build_object('TxnDate', v_open, 'PrivateNote', v_note);
        IF v_rev_type = 'journal_entry' THEN
            v_body := v_body || jsonb_build_object('Line', (
                SELECT jsonb_agg(jsonb_set(l.value, '{JournalEntryLineDetail,PostingType}', to_jsonb(
                    CASE l.value #>> '{JournalEntryLineDetail,PostingType}' WHEN 'Debit' THEN 'Credit' ELSE 'Debit' END
                )) ORDER BY l.ord)
                FROM jsonb_array_elements(p_old.body -> 'Line') WITH ORDINALITY AS l (value, ord)));
        ELSIF v_rev_type IN ('invoice', 'credit_memo') THEN
            v_body := v_body - 'DepositToAccountRef';
        END IF;
        SELECT coalesce(jsonb_agg(to_jsonb(l) - 'tenant_id' - 'document_id' - 'line_no' ORDER BY l.line_no), '[]')
        INTO v_lines FROM books.document_lines AS l
        WHERE l.tenant_id = p_old.tenant_id AND l.document_id = p_old.document_id;
        v_id := logic.document__put(p_old.tenant_id, v_rev_type, p_old.source_type, p_old.source_id,
            p_old.source_role || ':reversal', v_body, p_old.total_amount, p_old.currency, v_open,
            p_old.depends_on || p_old.document_id, 'ready', 'upsert', v_lines);
    END IF;
    v_restated := logic.document__find(p_old.tenant_id, p_old.source_type, p_old.source_id,
        p_old.source_role || ':restated');
    IF p_action = 'upsert' OR v_restated.document_id IS NOT NULL THEN
        v_id := logic.document__put(p_old.tenant_id, p_doc_type, p_old.source_type, p_old.source_id,
            p_old.source_role || ':restated',
            p_body || jsonb_build_object('TxnDate', v_open, 'PrivateNote', left(coalesce(p_body ->> 'PrivateNote', '')
                || format(' (restates document %s dated %s, closed period)', p_old.document_id, p_old.txn_date), 4000)),
            p_total, p_currency, v_open, p_depends_on, p_status, p_action, p_lines);
    END IF;
    RETURN coalesce(v_id, p_old.document_id);
END;
$$;

COMMENT ON FUNCTION logic.document__adjust_closed(
    books.documents, text, jsonb, numeric, text, date, bigint[], text, text, jsonb
) IS
'A change to a document dated in a closed period: a reversing document and (unless voided) a restated one, '
'dated on the first open day and linked to the original by source and role; the original is never touched.';

CREATE FUNCTION logic.document__posting_date(p_tenant_id text, p_date date, p_booked_on date)
RETURNS date
LANGUAGE plpgsql
STABLE
AS $$
BEGIN
    -- p_booked_on: txn_date of the document already derived for this fact (NULL if none).
    IF NOT logic.books_period__closed(p_tenant_id, p_date) THEN
        RETURN p_date;
    ELSIF p_booked_on IS NOT NULL THEN
        RETURN p_booked_on;  -- already booked: keep its date; a change becomes an adjustment
    ELSIF logic.books_period__holds(p_tenant_id, p_date) THEN
        RETURN NULL;  -- held: PERIOD_CLOSED exception
    END IF;
    RETURN logic.books_period__open_date(p_tenant_id, p_date);
END;
$$;

COMMENT ON FUNCTION logic.document__posting_date(text, date, date) IS
'Date a new document for a fact dated p_date is booked on: itself when open, the existing document''s date, '
'the first open day, or NULL when the closed-period policy holds it.';
