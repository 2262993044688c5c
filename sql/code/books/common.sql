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
