-- api.outbox__claim: the only way a worker gets work. It returns fully decided HTTP requests.
-- Rules, all enforced here for every worker on every machine:
--   * single flight: an entry is claimed by one worker (state claimed, FOR UPDATE SKIP LOCKED);
--   * fairness: realms are served least-recently-served first, and a realm whose bucket row is
--     locked by another claim is skipped, never waited for;
--   * per-realm limits: in-flight requests < max_in_flight, token buckets for requests and batch
--     requests (refilled by elapsed time);
--   * dependencies first: an entry waits until every depends_on document has a QuickBooks id;
--   * an entry carrying an unresolved request re-sends it verbatim (same requestid, same bId) so
--     QuickBooks replays the first answer instead of creating a second object;
--   * with a backlog, up to batch_size fresh entries of a realm go out as one batch request.

CREATE FUNCTION logic.request__id(p_parts text[])
RETURNS text
LANGUAGE sql IMMUTABLE STRICT
AS $$
    -- Deterministic, 34 characters (QuickBooks allows 50; 36 when bIds are appended in a batch).
    SELECT 'pb' || md5(array_to_string(p_parts, ':'))
$$;

COMMENT ON FUNCTION logic.request__id(text[]) IS
'Deterministic requestid from its parts (tenant, document, version, operation, stale retry).';

CREATE FUNCTION logic.outbox__prepare(p_entry sync.outbox, p_realm_id text)
RETURNS sync.outbox
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    v_entry sync.outbox := p_entry;
    v_doc books.documents;
    v_remote sync.remote_objects;
    v_body jsonb;
    v_expected numeric;
    v_refusals bigint;
BEGIN
    -- Decides the request of a fresh entry (no unresolved request). Returns the entry with
    -- request_* filled, or with request_id NULL when there is nothing to send.
    SELECT d.* INTO v_doc FROM books.documents AS d
    WHERE d.tenant_id = v_entry.tenant_id AND d.document_id = v_entry.document_id;
    SELECT r.* INTO v_remote FROM sync.remote_objects AS r
    WHERE r.tenant_id = v_entry.tenant_id AND r.document_id = v_entry.document_id;

    IF v_doc.action IN ('void', 'delete') AND v_remote.remote_id IS NULL
        OR v_doc.action = 'void' AND v_remote.remote_status = 'voided'
        OR v_doc.action = 'delete' AND v_remote.remote_status = 'deleted'
        OR v_doc.action = 'upsert' AND v_remote.synced_version >= v_doc.version THEN
        RETURN v_entry;
    END IF;
    -- Existing-document detection (README "Importing history from QuickBooks"): a document that
    -- QuickBooks already holds per the imported mirror (DocNumber, e-mail / name, Sku) is linked,
    -- not re-created; nothing is sent for this version.
    IF v_doc.action = 'upsert' AND v_remote.remote_id IS NULL
        AND logic.document__link_existing(v_entry.tenant_id, v_entry.document_id, p_realm_id) IS NOT NULL THEN
        RETURN v_entry;
    END IF;

    -- Two-way sync: an object deleted or voided IN QUICKBOOKS (not by our own void/delete) is
    -- never re-created or updated on our own (its REMOTE_DELETED / REMOTE_VOIDED exception).
    IF v_doc.action = 'upsert' AND v_remote.remote_status IN ('deleted', 'voided')
        AND EXISTS (
            SELECT FROM sync.exceptions AS e
            WHERE e.tenant_id = v_doc.tenant_id AND e.document_id = v_doc.document_id
                AND e.reason_code IN ('REMOTE_DELETED', 'REMOTE_VOIDED')
        ) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'PB607',
            MESSAGE = format('document %s: its QuickBooks %s %s was %s in QuickBooks; held, not re-created',
                v_doc.document_id, v_remote.entity, v_remote.remote_id, v_remote.remote_status);
    END IF;

    -- Closed books period (AUDIT's close.period__posting_date): never post into it. Documents are
    -- rerouted by the close rules when they are written; one that was armed before its month
    -- closed is held here with a PERIOD_CLOSED exception (policy hold) instead of failing in QBO.
    IF v_doc.txn_date IS NOT NULL AND v_doc.action = 'upsert'
        AND close.period__posting_date(v_doc.tenant_id, v_doc.txn_date) IS DISTINCT FROM v_doc.txn_date THEN
        RAISE EXCEPTION USING
            ERRCODE = 'PB606',
            MESSAGE = format('document %s is dated %s, in a closed books period; held, not sent',
                v_doc.document_id, v_doc.txn_date);
    END IF;
    v_body := logic.document__render_qbo(v_entry.tenant_id, v_entry.document_id);
    IF v_doc.action = 'upsert' AND v_doc.total_amount IS NOT NULL THEN
        v_expected := logic.document__expected_total(v_doc.doc_type, v_body);
        IF v_expected IS NOT NULL AND v_expected <> v_doc.total_amount THEN
            RAISE EXCEPTION USING
                ERRCODE = 'PB605',
                MESSAGE = format(
                    'document %s: lines total %s but total_amount is %s; nothing is sent (no plug line)',
                    v_doc.document_id, v_expected, v_doc.total_amount
                );
        END IF;
    END IF;

    v_entry.request_entity := logic.doc_type__qbo_entity(v_doc.doc_type);
    v_entry.request_op := CASE
        WHEN v_doc.action IN ('void', 'delete') THEN v_doc.action
        WHEN v_remote.remote_id IS NULL THEN 'create'
        ELSE 'update'
    END;
    v_entry.request_version := v_doc.version;
    v_entry.request_body := v_body;
    v_entry.request_bid := NULL;
    -- QuickBooks caches every answer under its requestid, refusals included: after a definitive
    -- refusal (data fault, conflict, 6210 closed books = event held with an HTTP status) a retry
    -- of the same version must not reuse the old id, or it would be answered with the cached
    -- refusal forever. Count the refusals into the id.
    SELECT count(*) INTO v_refusals FROM sync.attempts AS a
    WHERE a.tenant_id = v_entry.tenant_id AND a.document_id = v_entry.document_id
        AND (a.event IN ('data_fault', 'conflict') OR a.event = 'held' AND a.http_status IS NOT NULL);
    v_entry.request_id := logic.request__id(ARRAY[
        p_realm_id, v_entry.tenant_id, v_entry.document_id::text, v_doc.version::text,
        v_entry.request_op, v_entry.stale_retries::text, coalesce(v_remote.sync_token, '-'),
        v_refusals::text
    ]);
    RETURN v_entry;
END;
$$;

COMMENT ON FUNCTION logic.outbox__prepare(sync.outbox, text) IS
'Decides the request for a fresh outbox entry (operation, payload, requestid); request_id NULL = nothing to send.';

CREATE FUNCTION logic.outbox__prepare_many(p_entries sync.outbox[], p_realm_id text)
RETURNS SETOF sync.outbox
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    v_out sync.outbox [];
    v_mismatch boolean;
BEGIN
    -- Set-based logic.outbox__prepare for the common case: one statement decides every entry.
    -- Anything out of the ordinary (another schema_version, a document dated in a closed period,
    -- lines that do not add up, an unresolvable placeholder, a realm with an imported mirror to
    -- link against) raises PB615, and the caller falls
    -- back to logic.outbox__prepare row by row, which records the precise reason.
    IF EXISTS (
        SELECT 1 FROM unnest(p_entries) AS o
        JOIN books.documents AS d ON d.tenant_id = o.tenant_id AND d.document_id = o.document_id
        WHERE d.schema_version <> 1
            OR d.txn_date IS NOT NULL AND d.action = 'upsert'
            AND close.period__posting_date(d.tenant_id, d.txn_date) IS DISTINCT FROM d.txn_date
            -- an object removed in QuickBooks (two-way sync, PB607) is decided row by row
            OR d.action = 'upsert' AND EXISTS (
                SELECT 1 FROM sync.remote_objects AS r
                WHERE r.tenant_id = o.tenant_id AND r.document_id = o.document_id
                    AND r.remote_status IN ('deleted', 'voided')
            )
            -- the link rule (imported mirror, logic.document__link_existing) applies row by row
            OR d.action = 'upsert' AND EXISTS (
                SELECT 1 FROM sync.qbo_mirror AS m WHERE m.tenant_id = o.tenant_id AND m.realm_id = p_realm_id
            ) AND NOT EXISTS (
                SELECT 1 FROM sync.remote_objects AS r
                WHERE r.tenant_id = o.tenant_id AND r.document_id = o.document_id
            )
    ) THEN
        RAISE EXCEPTION USING ERRCODE = 'PB615', MESSAGE = 'entries need the row-by-row path';
    END IF;
    WITH decided AS (
        SELECT o.*, d.doc_type, d.action, d.version AS doc_version, d.total_amount,
            r.remote_id, r.sync_token,
            d.action IN ('void', 'delete') AND r.remote_id IS NULL
            OR d.action = 'void' AND r.remote_status = 'voided'
            OR d.action = 'delete' AND r.remote_status = 'deleted'
            OR d.action = 'upsert' AND r.synced_version >= d.version AS nothing_to_send,
            CASE
                WHEN d.action IN ('void', 'delete') THEN
                    jsonb_build_object('Id', r.remote_id, 'SyncToken', r.sync_token, 'sparse', true)
                ELSE logic.jsonb__resolve_refs(o.tenant_id, d.body)
                    || CASE WHEN d.txn_date IS NOT NULL AND d.doc_type NOT IN ('customer', 'item')
                        THEN jsonb_build_object('TxnDate', d.txn_date) ELSE '{}' END
                    -- two-way sync: QuickBooks values accepted for this document (as the renderer)
                    || coalesce((
                        SELECT jsonb_object_agg(f.field, f.value) FROM sync.field_overrides AS f
                        WHERE f.tenant_id = o.tenant_id AND f.document_id = o.document_id
                    ), '{}')
                    || CASE WHEN r.remote_id IS NOT NULL
                        THEN jsonb_build_object('Id', r.remote_id, 'SyncToken', r.sync_token, 'sparse', true)
                        ELSE '{}' END
            END AS rendered
        FROM unnest(p_entries) AS o
        JOIN books.documents AS d ON d.tenant_id = o.tenant_id AND d.document_id = o.document_id
        LEFT JOIN sync.remote_objects AS r ON r.tenant_id = o.tenant_id AND r.document_id = o.document_id
    ),
    checked AS (
        SELECT x.*,
            CASE
                WHEN x.nothing_to_send THEN NULL
                WHEN x.action IN ('void', 'delete') THEN x.action
                WHEN x.remote_id IS NULL THEN 'create'
                ELSE 'update'
            END AS op
        FROM decided AS x
    )
    SELECT
        array_agg(ROW(
            c.tenant_id, c.document_id, c.version, c.state, c.pending_since, c.due_at, c.attempts,
            c.stale_retries, c.claim_id, c.claimed_by, c.claimed_at, c.heartbeat_at,
            CASE WHEN c.op IS NOT NULL THEN logic.request__id(ARRAY[
                p_realm_id, c.tenant_id, c.document_id::text, c.doc_version::text, c.op,
                c.stale_retries::text, coalesce(c.sync_token, '-'), (
                    SELECT count(*) FROM sync.attempts AS a
                    WHERE a.tenant_id = c.tenant_id AND a.document_id = c.document_id
                        AND (a.event IN ('data_fault', 'conflict') OR a.event = 'held' AND a.http_status IS NOT NULL)
                )::text
            ]) END,
            NULL,
            c.op,
            CASE WHEN c.op IS NOT NULL THEN logic.doc_type__qbo_entity(c.doc_type) END,
            CASE WHEN c.op IS NOT NULL THEN c.doc_version END,
            CASE WHEN c.op IS NOT NULL THEN c.rendered END,
            c.ambiguous, c.last_http_status, c.last_error, c.done_at, c.updated_at
        )::sync.outbox ORDER BY c.due_at, c.document_id),
        -- Lines that do not add up: the row-by-row path raises PB605 and flags the document.
        coalesce(bool_or(
            c.op IS NOT NULL AND c.action = 'upsert' AND c.total_amount IS NOT NULL
            AND logic.document__expected_total(c.doc_type, c.rendered) <> c.total_amount
        ), false)
    INTO v_out, v_mismatch
    FROM checked AS c;
    IF v_mismatch THEN
        RAISE EXCEPTION USING ERRCODE = 'PB615', MESSAGE = 'entries need the row-by-row path';
    END IF;
    RETURN QUERY SELECT o.* FROM unnest(v_out) AS o;
END;
$$;

COMMENT ON FUNCTION logic.outbox__prepare_many(sync.outbox[], text) IS
'Set-based logic.outbox__prepare for ordinary entries; PB615 when one needs the row-by-row path.';

CREATE FUNCTION logic.outbox__lookup(p_entity text, p_body jsonb)
RETURNS text
LANGUAGE sql IMMUTABLE
AS $$
    -- The QuickBooks query that finds the object an ambiguous create may have made, for when the
    -- requestid replay cache has expired (a replay would then create a second object): by
    -- DocNumber, or by the unique name of a Customer / Item. NULL when the entity has neither.
    SELECT format(
        'select * from %s where %s = ''%s''', p_entity, x.field,
        replace(replace(x.value, '\', '\\'), '''', '\''')
    )
    FROM (
        SELECT
            CASE p_entity WHEN 'Customer' THEN 'DisplayName' WHEN 'Item' THEN 'Name' ELSE 'DocNumber' END AS field,
            CASE p_entity
                WHEN 'Customer' THEN p_body ->> 'DisplayName'
                WHEN 'Item' THEN p_body ->> 'Name'
                ELSE p_body ->> 'DocNumber'
            END AS value
    ) AS x
    WHERE x.value IS NOT NULL
$$;

COMMENT ON FUNCTION logic.outbox__lookup(text, jsonb) IS
'QuickBooks query finding what an ambiguous create may have made (DocNumber, Customer DisplayName, Item Name).';

CREATE FUNCTION api.outbox__claim(p_worker text, p_limit integer DEFAULT 30)
RETURNS TABLE (
    claim_id uuid,
    tenant_id text,
    document_id bigint,
    version integer,
    realm_id text,
    base_url text,
    entity text,
    operation text,
    request_id text,
    bid text,
    body jsonb,
    ambiguous boolean,
    lookup text,
    send_delay numeric
)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_now timestamptz := clock_timestamp();
    v_tenant record;
    v_settings sync.settings;
    v_bucket sync.rate_buckets;
    v_entry sync.outbox;
    v_fresh sync.outbox [];
    v_pending sync.outbox [];
    v_requests integer;
    v_rate numeric;
    v_tokens_before numeric;
    v_batch boolean;
    v_in_flight integer;
    v_taken integer := 0;
    v_taken_before integer;
    v_batch_id text;
    v_batches integer;
    v_i integer;
    v_k integer;
    v_err text;
    v_state text;
BEGIN
    FOR v_tenant IN
        SELECT b.tenant_id, c.realm_id, c.base_url
        FROM sync.rate_buckets AS b
        JOIN sync.connections AS c ON c.tenant_id = b.tenant_id
        WHERE NOT c.paused
            AND (b.blocked_until IS NULL OR b.blocked_until <= v_now)
            -- A busy realm is visited only once half of its reservation horizon (0.5 s, below) is
            -- free again: every visit then hands out at least a quarter second of its tokens,
            -- and the claims of a 50-realm backlog are not spent on realms with one token to give.
            AND b.refilled_at <= v_now + logic.rate_bucket__visit_lead()
            AND EXISTS (
                SELECT 1 FROM sync.outbox AS o
                WHERE o.tenant_id = b.tenant_id AND o.state = 'pending' AND o.due_at <= v_now
            )
        ORDER BY b.last_served_at, b.tenant_id
        FOR UPDATE OF b SKIP LOCKED
    LOOP
        EXIT WHEN v_taken >= p_limit;
        v_settings := logic.settings__get(v_tenant.tenant_id);
        SELECT b.* INTO v_bucket FROM sync.rate_buckets AS b WHERE b.tenant_id = v_tenant.tenant_id;
        -- Refill. Capacity and rate are chosen so that no 1 s window and no 60 s window can
        -- exceed per_second / per_minute: rate r = (per_minute - per_second) / 60 per second,
        -- capacity per_second - r.
        v_bucket.tokens := least(
            greatest(v_settings.per_second - (v_settings.per_minute - v_settings.per_second) / 60.0, 1),
            v_bucket.tokens + extract(EPOCH FROM v_now - v_bucket.refilled_at)
            * (v_settings.per_minute - v_settings.per_second) / 60.0
        );
        -- A refilled_at in the future encodes a reservation (negative tokens, see below).
        -- Batch bucket capacity: one second of its rate, at least one batch (QuickBooks' 40/min:
        -- one; an unthrottled realm: several batches per visit).
        v_bucket.batch_tokens := least(
            greatest(1, v_settings.batch_per_minute / 60.0),
            v_bucket.batch_tokens + greatest(extract(EPOCH FROM v_now - v_bucket.refilled_at), 0)
            * v_settings.batch_per_minute / 60.0
        );
        v_rate := greatest((v_settings.per_minute - v_settings.per_second) / 60.0, 0.001);
        -- In flight: every claimed request, reservations included (a reservation may leave while
        -- earlier requests are still out: counting it keeps the cap strict however slow the
        -- answers are).
        SELECT count(DISTINCT o.request_id) INTO v_in_flight
        FROM sync.outbox AS o WHERE o.tenant_id = v_tenant.tenant_id AND o.state = 'claimed';
        -- Reservations: up to half a second of future tokens is handed out now, each request with
        -- the delay after which the bucket holds its token (send_delay). A busy realm is then
        -- visited about four times a second instead of once per token, at the same sending rate.
        -- (Reservations count against max_in_flight: a longer horizon would hit that cap.)
        v_requests := least(
            floor(v_bucket.tokens + v_rate * 0.5)::integer, v_settings.max_in_flight - v_in_flight
        );
        v_fresh := '{}';
        v_pending := '{}';
        v_taken_before := v_taken;

        FOR v_entry IN
            SELECT o.* FROM sync.outbox AS o
            JOIN books.documents AS d ON d.tenant_id = o.tenant_id AND d.document_id = o.document_id
            WHERE o.tenant_id = v_tenant.tenant_id AND o.state = 'pending' AND o.due_at <= v_now
                AND (d.status = 'ready' OR o.request_id IS NOT NULL)
                AND NOT EXISTS (
                    SELECT 1 FROM unnest(d.depends_on) AS dep (document_id)
                    WHERE NOT EXISTS (
                        SELECT 1 FROM sync.remote_objects AS r
                        WHERE r.tenant_id = o.tenant_id AND r.document_id = dep.document_id
                    )
                )
            ORDER BY o.request_id IS NULL, o.due_at, o.document_id
            LIMIT p_limit - v_taken
            FOR UPDATE OF o SKIP LOCKED
        LOOP
            EXIT WHEN v_requests <= 0;
            EXIT WHEN cardinality(v_pending) >= CASE
                WHEN v_bucket.batch_tokens >= 1 AND v_settings.batch_per_minute > 0
                    THEN v_settings.batch_size * least(floor(v_bucket.batch_tokens), v_requests)
                ELSE v_requests
            END;
            IF v_entry.request_id IS NULL THEN
                v_pending := v_pending || v_entry;  -- fresh: decided below, all at once
                CONTINUE;
            END IF;
            -- Unresolved request: replay it as it was sent (single, or one-item batch).
            IF v_entry.request_bid IS NOT NULL AND v_bucket.batch_tokens < 1 THEN
                CONTINUE;
            END IF;
            v_requests := v_requests - 1;
            IF v_entry.request_bid IS NOT NULL THEN
                v_bucket.batch_tokens := v_bucket.batch_tokens - 1;
            END IF;
            send_delay := round(greatest(1 - v_bucket.tokens, 0) / v_rate, 3);
            v_bucket.tokens := v_bucket.tokens - 1;
            v_taken := v_taken + 1;
            UPDATE sync.outbox AS o SET
                state = 'claimed', claim_id = gen_random_uuid(), claimed_by = p_worker,
                claimed_at = v_now, heartbeat_at = v_now, updated_at = now()
            WHERE o.tenant_id = v_entry.tenant_id AND o.document_id = v_entry.document_id
            RETURNING o.claim_id INTO claim_id;
            tenant_id := v_entry.tenant_id;
            document_id := v_entry.document_id;
            version := v_entry.request_version;
            realm_id := v_tenant.realm_id;
            base_url := v_tenant.base_url;
            entity := v_entry.request_entity;
            operation := v_entry.request_op;
            request_id := v_entry.request_id;
            bid := v_entry.request_bid;
            body := v_entry.request_body;
            ambiguous := v_entry.ambiguous;
            -- An ambiguous create is looked up first: the replay cache may have expired.
            lookup := CASE WHEN v_entry.ambiguous AND v_entry.request_op = 'create'
                THEN logic.outbox__lookup(v_entry.request_entity, v_entry.request_body) END;
            RETURN NEXT;
        END LOOP;

        -- Fresh entries: decided in one statement; row by row only when one of them is unusual.
        IF cardinality(v_pending) > 0 THEN
            BEGIN
                v_fresh := ARRAY(SELECT p FROM logic.outbox__prepare_many(v_pending, v_tenant.realm_id) AS p);
            EXCEPTION WHEN OTHERS THEN
                v_fresh := '{}';
                FOREACH v_entry IN ARRAY v_pending LOOP
                    BEGIN
                        v_entry := logic.outbox__prepare(v_entry, v_tenant.realm_id);
                    EXCEPTION WHEN OTHERS THEN
                        GET STACKED DIAGNOSTICS v_err = MESSAGE_TEXT, v_state = RETURNED_SQLSTATE;
                        UPDATE sync.outbox AS o SET
                            state = CASE WHEN v_state IN ('PB606', 'PB607') THEN 'held' ELSE 'failed' END,
                            last_error = v_err, updated_at = now()
                        WHERE o.tenant_id = v_entry.tenant_id AND o.document_id = v_entry.document_id;
                        PERFORM logic.exception__raise(
                            v_entry.tenant_id, v_entry.document_id,
                            CASE v_state
                                WHEN 'PB605' THEN 'TOTALS_MISMATCH'
                                WHEN 'PB606' THEN 'PERIOD_CLOSED'
                                WHEN 'PB911' THEN 'DOC_NUMBER_AMBIGUOUS'
                                WHEN 'PB607' THEN 'REMOTE_REMOVED'
                                ELSE 'RENDER_FAILED'
                            END,
                            CASE v_state WHEN 'PB606' THEN 'config' WHEN 'PB607' THEN 'conflict' ELSE 'source_data' END,
                            v_err, jsonb_build_object('version', v_entry.version, 'sqlstate', v_state)
                        );
                        PERFORM logic.attempt__log(v_entry.tenant_id, v_entry.document_id, v_entry.version,
                            CASE WHEN v_state IN ('PB606', 'PB607') THEN 'held' ELSE 'render_failed' END,
                            NULL, NULL, p_worker, jsonb_build_object('error', v_err));
                        CONTINUE;
                    END;
                    v_fresh := v_fresh || v_entry;
                END LOOP;
            END;
            -- Nothing to send (already delivered, void of an object never created): done.
            IF EXISTS (SELECT 1 FROM unnest(v_fresh) AS f WHERE f.request_id IS NULL) THEN
                UPDATE sync.outbox AS o SET state = 'done', done_at = now(), updated_at = now()
                FROM unnest(v_fresh) AS f
                WHERE f.request_id IS NULL AND o.tenant_id = f.tenant_id AND o.document_id = f.document_id;
                INSERT INTO sync.attempts (tenant_id, document_id, version, event, worker, detail)
                SELECT f.tenant_id, f.document_id, f.version, 'skipped', p_worker, '{"reason": "nothing to send"}'
                FROM unnest(v_fresh) AS f WHERE f.request_id IS NULL
                ORDER BY f.document_id;
                v_fresh := ARRAY(SELECT f FROM unnest(v_fresh) AS f WHERE f.request_id IS NOT NULL);
            END IF;
        END IF;

        -- Fresh entries: batch requests of up to batch_size when there are several and batch
        -- tokens are left (as many batches as tokens allow), otherwise single requests while
        -- request tokens last.
        IF cardinality(v_fresh) >= 2 AND v_bucket.batch_tokens >= 1 AND v_requests >= 1
            AND v_settings.batch_per_minute > 0 THEN
            v_batches := least(
                floor(v_bucket.batch_tokens)::integer, v_requests,
                ceil(cardinality(v_fresh)::numeric / v_settings.batch_size)::integer
            );
            v_fresh := v_fresh[1:v_batches * v_settings.batch_size];
            v_bucket.batch_tokens := v_bucket.batch_tokens - v_batches;
            v_tokens_before := v_bucket.tokens;
            v_batch := true;
            v_bucket.tokens := v_bucket.tokens - v_batches;
            v_requests := v_requests - v_batches;
            -- chunk k holds entries (k-1)*batch_size+1 .. k*batch_size; bIds 1.. within it
            FOR v_k IN 1 .. v_batches LOOP
                v_batch_id := logic.request__id(ARRAY(
                    SELECT f.request_id FROM unnest(v_fresh) WITH ORDINALITY AS f
                    WHERE (f.ordinality - 1) / v_settings.batch_size + 1 = v_k
                    ORDER BY f.ordinality
                ));
                FOR v_i IN (v_k - 1) * v_settings.batch_size + 1
                    .. least(v_k * v_settings.batch_size, cardinality(v_fresh)) LOOP
                    v_fresh[v_i].request_id := v_batch_id;
                    v_fresh[v_i].request_bid := (v_i - (v_k - 1) * v_settings.batch_size)::text;
                END LOOP;
            END LOOP;
        ELSE
            v_fresh := v_fresh[1:greatest(v_requests, 0)];
            v_tokens_before := v_bucket.tokens;
            v_batch := false;
            v_bucket.tokens := v_bucket.tokens - cardinality(v_fresh);
            v_requests := v_requests - cardinality(v_fresh);
        END IF;
        v_taken := v_taken + cardinality(v_fresh);
        RETURN QUERY
        WITH claimed AS (
            UPDATE sync.outbox AS o SET
                state = 'claimed', claim_id = gen_random_uuid(), claimed_by = p_worker,
                claimed_at = v_now, heartbeat_at = v_now,
                request_id = f.request_id, request_bid = f.request_bid,
                request_op = f.request_op, request_entity = f.request_entity,
                request_version = f.request_version, request_body = f.request_body,
                updated_at = now()
            FROM unnest(v_fresh) WITH ORDINALITY AS f
            WHERE o.tenant_id = f.tenant_id AND o.document_id = f.document_id
            RETURNING o.claim_id, o.tenant_id, o.document_id, o.request_version, o.request_entity,
                o.request_op, o.request_id, o.request_bid, o.request_body,
                -- the n-th single request (or batch) waits until the bucket holds its token
                round(greatest(
                    CASE WHEN v_batch THEN (f.ordinality - 1) / v_settings.batch_size + 1
                        ELSE f.ordinality END - v_tokens_before, 0
                ) / v_rate, 3) AS send_delay
        )
        SELECT c.claim_id, c.tenant_id, c.document_id, c.request_version, v_tenant.realm_id::text,
            v_tenant.base_url::text, c.request_entity, c.request_op, c.request_id, c.request_bid,
            c.request_body, false, NULL::text, c.send_delay
        FROM claimed AS c
        ORDER BY CASE WHEN v_batch THEN c.request_id END, c.request_bid::integer NULLS LAST, c.document_id;

        UPDATE sync.rate_buckets AS b SET
            -- Negative tokens (reservations) are stored as an empty bucket refilled in the future.
            tokens = greatest(v_bucket.tokens, 0),
            batch_tokens = greatest(v_bucket.batch_tokens, 0),
            refilled_at = v_now + make_interval(secs => greatest(-v_bucket.tokens, 0) / v_rate),
            last_served_at = CASE WHEN v_taken > v_taken_before THEN v_now ELSE b.last_served_at END
        WHERE b.tenant_id = v_tenant.tenant_id;
    END LOOP;
END;
$$;

COMMENT ON FUNCTION api.outbox__claim(text, integer) IS
'Claims up to p_limit due outbox entries fairly across realms within their limits; returns decided requests '
'(lookup: a query to run before replaying an ambiguous create; send_delay: seconds to wait before sending).';

REVOKE ALL ON FUNCTION api.outbox__claim(text, integer) FROM public;
GRANT EXECUTE ON FUNCTION api.outbox__claim(text, integer) TO pgbooks_worker;
