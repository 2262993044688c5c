-- Shared helpers of the delivery engine: settings with defaults, the exception writer, the
-- QuickBooks entity of a document type, and the ONE wrapper that enqueues pgqueuer wake-ups.

CREATE FUNCTION logic.settings__get(p_tenant_id text)
RETURNS sync.settings
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    v_settings sync.settings;
BEGIN
    SELECT s.* INTO v_settings FROM sync.settings AS s WHERE s.tenant_id = p_tenant_id;
    IF NOT found THEN
        -- Column defaults are the documented defaults: build the row from them.
        v_settings.tenant_id := p_tenant_id;
        v_settings.debounce := INTERVAL '1 second';
        v_settings.max_in_flight := 10;
        v_settings.per_minute := 500;
        v_settings.per_second := 10;
        v_settings.batch_per_minute := 40;
        v_settings.batch_size := 30;
        v_settings.max_attempts := 8;
        v_settings.claim_timeout := INTERVAL '60 seconds';
        v_settings.closed_period_policy := 'hold';
        v_settings.updated_at := now();
    END IF;
    RETURN v_settings;
END;
$$;

COMMENT ON FUNCTION logic.settings__get(text) IS
'Delivery settings of a tenant: its sync.settings row, or the defaults when it has none.';

CREATE FUNCTION logic.rate_bucket__visit_lead()
RETURNS interval
LANGUAGE sql
IMMUTABLE PARALLEL SAFE
AS $$
    -- A busy realm's bucket may be visited again once half of its reservation horizon (0.5 s of
    -- future tokens, api.outbox__claim) is free: its refilled_at at most this far ahead of now.
    SELECT INTERVAL '0.25 seconds'
$$;

COMMENT ON FUNCTION logic.rate_bucket__visit_lead() IS
'How far a rate bucket''s refilled_at (a reservation) may lie ahead of now for the realm to be claimed from again; '
'shared by api.outbox__claim and api.outbox__backlog (when a claim can next hand something out).';

CREATE FUNCTION logic.doc_type__qbo_entity(p_doc_type text)
RETURNS text
LANGUAGE sql IMMUTABLE STRICT
AS $$
    SELECT CASE p_doc_type
        WHEN 'customer' THEN 'Customer'
        WHEN 'item' THEN 'Item'
        WHEN 'sales_receipt' THEN 'SalesReceipt'
        WHEN 'invoice' THEN 'Invoice'
        WHEN 'payment' THEN 'Payment'
        WHEN 'credit_memo' THEN 'CreditMemo'
        WHEN 'refund_receipt' THEN 'RefundReceipt'
        WHEN 'deposit' THEN 'Deposit'
        WHEN 'journal_entry' THEN 'JournalEntry'
        WHEN 'expense' THEN 'Purchase'
        WHEN 'transfer' THEN 'Transfer'
    END
$$;

COMMENT ON FUNCTION logic.doc_type__qbo_entity(text) IS
'QuickBooks entity name of a document type (docs/document-contract.md); NULL when unknown.';

CREATE FUNCTION logic.exception__raise(
    p_tenant_id text,
    p_document_id bigint,
    p_reason_code text,
    p_category text,
    p_message text,
    p_detail jsonb DEFAULT '{}',
    p_qbo_fault jsonb DEFAULT NULL,
    p_diff jsonb DEFAULT NULL
)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    v_exception_id bigint;
BEGIN
    -- One open exception per (document, reason): a repeat bumps occurrences and refreshes facts.
    INSERT INTO sync.exceptions AS e (
        tenant_id, document_id, reason_code, category, message, detail, qbo_fault, diff
    )
    VALUES (
        p_tenant_id, p_document_id, p_reason_code, p_category, p_message,
        coalesce(p_detail, '{}'), p_qbo_fault, p_diff
    )
    ON CONFLICT (
        tenant_id, reason_code, coalesce(document_id, -1), coalesce(source_type, ''), coalesce(source_id, '')
    ) WHERE status = 'open'
    DO UPDATE SET
        occurrences = e.occurrences + 1,
        last_seen_at = now(),
        message = excluded.message,
        detail = excluded.detail,
        qbo_fault = excluded.qbo_fault,
        diff = excluded.diff
    RETURNING e.exception_id INTO v_exception_id;
    RETURN v_exception_id;
END;
$$;

COMMENT ON FUNCTION logic.exception__raise(text, bigint, text, text, text, jsonb, jsonb, jsonb) IS
'Opens (or bumps) the exception of a document for a reason code; returns its id.';

CREATE FUNCTION logic.attempt__log(
    p_tenant_id text,
    p_document_id bigint,
    p_version integer,
    p_event text,
    p_request_id text,
    p_http_status integer,
    p_worker text,
    p_detail jsonb DEFAULT '{}'
)
RETURNS void
LANGUAGE sql VOLATILE
AS $$
    INSERT INTO sync.attempts (tenant_id, document_id, version, event, request_id, http_status, worker, detail)
    VALUES (p_tenant_id, p_document_id, p_version, p_event, p_request_id, p_http_status, p_worker,
        coalesce(p_detail, '{}'));
$$;

COMMENT ON FUNCTION logic.attempt__log(text, bigint, integer, text, text, integer, text, jsonb) IS
'Appends one delivery event to sync.attempts.';

CREATE FUNCTION logic.wakeup__enqueue(
    p_tenant_id text, p_due_at timestamptz, p_entrypoint text DEFAULT 'sync_outbox'
)
RETURNS void
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    -- Wake-ups are rounded up to 100 ms slots per tenant: one pgqueuer job per entrypoint, tenant
    -- and slot, however many documents (or derive requests) fall due in it. The job carries ids
    -- only; the outbox (books.derive_requests for books_derive) is the truth.
    v_slot numeric := ceil(extract(EPOCH FROM p_due_at) * 10) / 10;
    v_key text := CASE WHEN p_entrypoint = 'sync_outbox' THEN 'sync' ELSE p_entrypoint END
        || ':' || p_tenant_id || ':' || v_slot::text;
BEGIN
    -- look first: most calls find the slot's job already queued (many writers per 100 ms), and
    -- a read is cheaper than an insert that conflicts (speculative insertion + NOTIFY trigger)
    IF EXISTS (
        SELECT FROM pgq.pgqueuer AS j
        WHERE j.dedupe_key = v_key AND j.status = 'queued'::pgq.pgqueuer_status
    ) THEN
        RETURN;
    END IF;
    INSERT INTO pgq.pgqueuer (priority, entrypoint, status, execute_after, dedupe_key, payload)
    VALUES (
        0, p_entrypoint, 'queued', to_timestamp(v_slot::double precision), v_key,
        convert_to(json_build_object('tenant_id', p_tenant_id)::text, 'UTF8')
    )
    ON CONFLICT (dedupe_key)
    WHERE status = ANY(ARRAY['queued'::pgq.pgqueuer_status, 'picked'::pgq.pgqueuer_status])
    AND dedupe_key IS NOT NULL
    DO NOTHING;
END;
$$;

COMMENT ON FUNCTION logic.wakeup__enqueue(text, timestamptz, text) IS
'The one wrapper that enqueues a pgqueuer wake-up (entrypoint sync_outbox, or books_derive) for a tenant '
'at a due time.';
