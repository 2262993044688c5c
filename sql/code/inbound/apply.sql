-- Applying one inbound change: the worker fetched the entity (api.inbound_changes__claim says
-- which) and hands it to api.inbound_change__apply, which decides everything:
--
--   * not a document we posted: a Payment linked to one of our invoices closes that order's
--     balance (orders.transactions capture, gateway quickbooks: PaymentCaptured event + audit);
--     anything else is not ours (outcome not_ours).
--   * deleted (webhook Delete, CDC tombstone, or the object is gone) or voided in QuickBooks
--     while we did not ask for it: remote_status + exception REMOTE_DELETED / REMOTE_VOIDED;
--     delivery never re-creates it (logic.outbox__prepare refuses, PB607).
--   * same SyncToken as our last write: no change (our own write coming back).
--   * otherwise a three-way compare per top-level field: base = sync.remote_objects.snapshot
--     (what QuickBooks held after our last write), ours = the document rendered now, theirs =
--     the entity now. Only fields QuickBooks changed matter; then, per field:
--       - a field pgbooks never sends: QuickBooks-only, recorded in the snapshot;
--       - theirs already equals ours: converged;
--       - policy (sync.conflict_policies, most specific row; none = review; amounts, tax, lines
--         always review): app_wins -> ours is sent again; qbo_wins -> theirs is accepted
--         (sync.field_overrides, the local record); last_writer_wins -> the later edit wins
--         (QuickBooks LastUpdatedTime vs the document's updated_at when ours changed too);
--         review -> CONFLICT_REVIEW exception with the field diff (take_ours / take_theirs /
--         merge), and nothing is sent while it is open (the SyncToken is not advanced, so a
--         stray update meets QuickBooks' 5010 and api.outbox__reapply's conflict check).

CREATE FUNCTION logic.inbound__money_field(p_field text) RETURNS boolean
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    -- Amounts, tax, lines, currency and dates: always reviewed (sync.conflict_policies'
    -- check conflict_policies_money_fields_review lists the same fields).
    SELECT p_field IN (
        'Line', 'TotalAmt', 'TxnTaxDetail', 'TotalTax', 'Balance', 'HomeTotalAmt', 'HomeBalance', 'ExchangeRate',
        'CurrencyRef', 'ApplyTaxAfterDiscount', 'GlobalTaxCalculation', 'UnappliedAmt', 'Deposit',
        'DepositToAccountRef', 'TxnDate'
    );
$$;

COMMENT ON FUNCTION logic.inbound__money_field(text) IS
'True for amount, tax, line, currency and date fields: a QuickBooks change to them is always reviewed.';

CREATE FUNCTION logic.conflict_policy__for(p_tenant_id text, p_entity text, p_field text)
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE
        WHEN logic.inbound__money_field(p_field) THEN 'review'
        ELSE coalesce((
            SELECT p.policy FROM sync.conflict_policies AS p
            WHERE p.tenant_id = p_tenant_id AND p.entity IN (p_entity, '*') AND p.field IN (p_field, '*')
            ORDER BY p.entity = '*', p.field = '*'
            LIMIT 1
        ), 'review')
    END;
$$;

COMMENT ON FUNCTION logic.conflict_policy__for(text, text, text) IS
'Conflict policy of a field: the most specific sync.conflict_policies row, review when none; always review for '
'amounts, tax, lines, currency and dates.';

CREATE FUNCTION logic.inbound__ignored_field(p_field text) RETURNS boolean
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    -- Bookkeeping fields QuickBooks maintains itself (not edits): never compared.
    SELECT p_field IN (
        'Id', 'SyncToken', 'MetaData', 'domain', 'sparse', 'time', 'status', 'Balance', 'HomeBalance', 'LinkedTxn',
        'EmailStatus', 'PrintStatus', 'DeliveryInfo', 'FullyQualifiedName', 'Level', 'BalanceWithJobs'
    );
$$;

COMMENT ON FUNCTION logic.inbound__ignored_field(text) IS
'True for fields QuickBooks maintains itself (SyncToken, MetaData, Balance, LinkedTxn, ...): not user edits.';

CREATE FUNCTION logic.inbound__voided(p_entity jsonb) RETURNS boolean
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    -- QuickBooks voids a transaction in place: amounts zeroed, PrivateNote "Voided".
    SELECT coalesce(p_entity ->> 'PrivateNote', '') ILIKE 'Voided%'
        AND coalesce((p_entity ->> 'TotalAmt')::numeric, 0) = 0;
$$;

COMMENT ON FUNCTION logic.inbound__voided(jsonb) IS 'True when a QuickBooks transaction object is voided.';

CREATE FUNCTION api.inbound_changes__claim(p_limit integer DEFAULT 20, p_tenant_id text DEFAULT NULL)
RETURNS TABLE (
    tenant_id text, change_id bigint, realm_id text, base_url text, entity text, remote_id text, operation text,
    needs_fetch boolean
)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
BEGIN
    IF p_limit IS NULL OR p_limit < 1 THEN
        RAISE EXCEPTION USING ERRCODE = 'PB935', MESSAGE = format('p_limit: must be >= 1 (got %s)', p_limit);
    END IF;
    -- Changes are claimed by bumping attempts under a row lock (SKIP LOCKED: any number of
    -- workers); one still pending after a crash is retried after 30 s per attempt.
    RETURN QUERY
    WITH picked AS (
        SELECT c.tenant_id, c.change_id
        FROM sync.inbound_changes AS c
        INNER JOIN sync.connections AS k ON k.tenant_id = c.tenant_id AND NOT k.paused
        WHERE c.status = 'pending' AND (p_tenant_id IS NULL OR c.tenant_id = p_tenant_id)
            AND (c.attempts = 0 OR c.processed_at < now() - c.attempts * INTERVAL '30 seconds')
        ORDER BY c.received_at
        LIMIT p_limit
        FOR UPDATE OF c SKIP LOCKED
    ), claimed AS (
        UPDATE sync.inbound_changes AS c SET attempts = c.attempts + 1, processed_at = now()
        FROM picked AS p
        WHERE c.tenant_id = p.tenant_id AND c.change_id = p.change_id
        RETURNING c.tenant_id, c.change_id, c.realm_id, c.entity, c.remote_id, c.operation
    )
    SELECT cl.tenant_id, cl.change_id, cl.realm_id, k.base_url, cl.entity, cl.remote_id, cl.operation,
        cl.operation <> 'Delete'
    FROM claimed AS cl
    INNER JOIN sync.connections AS k ON k.tenant_id = cl.tenant_id
    ORDER BY cl.change_id;
END
$$;

COMMENT ON FUNCTION api.inbound_changes__claim(integer, text) IS
'Hands pending inbound changes to a worker (SKIP LOCKED): which entity to fetch (fetch false for a deletion).';

CREATE FUNCTION logic.inbound__finish(
    p_tenant_id text, p_change_id bigint, p_status text, p_outcome text, p_detail jsonb
) RETURNS text
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
    UPDATE sync.inbound_changes AS c SET
        status = p_status, outcome = p_outcome, detail = coalesce(p_detail, '{}'), processed_at = clock_timestamp()
    WHERE c.tenant_id = p_tenant_id AND c.change_id = p_change_id
    RETURNING c.outcome;
$$;

COMMENT ON FUNCTION logic.inbound__finish(text, bigint, text, text, jsonb) IS
'Closes an inbound change with its outcome and facts.';

CREATE FUNCTION logic.inbound__payment(
    p_tenant_id text, p_realm_id text, p_payment jsonb, p_change_id bigint
) RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_links jsonb;
    v_link jsonb;
    v_doc books.documents;
    v_order orders.orders;
    v_txn_id text := 'qbo-payment:' || (p_payment ->> 'Id');
    v_pay books.documents;
    v_inserted boolean;
BEGIN
    -- Our invoices this payment is applied to, with the amount applied to each.
    SELECT coalesce(jsonb_agg(jsonb_build_object(
        'document_id', r.document_id, 'invoice_id', lt.value ->> 'TxnId', 'amount', (l.value ->> 'Amount')::numeric
    )), '[]')
    INTO v_links
    FROM jsonb_array_elements(coalesce(p_payment -> 'Line', '[]')) AS l (value)
    CROSS JOIN LATERAL jsonb_array_elements(coalesce(l.value -> 'LinkedTxn', '[]')) AS lt (value)
    INNER JOIN sync.remote_objects AS r
        ON r.tenant_id = p_tenant_id AND r.realm_id = p_realm_id AND r.entity = 'Invoice'
        AND r.remote_id = lt.value ->> 'TxnId'
    WHERE lt.value ->> 'TxnType' = 'Invoice';
    IF jsonb_array_length(v_links) = 0 THEN
        RETURN jsonb_build_object('outcome', 'not_ours');
    END IF;
    IF jsonb_array_length(v_links) > 1 THEN
        -- One QuickBooks payment, several of our invoices: the link to our payment documents
        -- (one per order) cannot be one-to-one; flag it rather than guess.
        PERFORM logic.inbound__exception(p_tenant_id, NULL, 'qbo_payment', p_payment ->> 'Id', 'PAYMENT_SPLIT',
            'conflict', format('QuickBooks payment %s is applied to %s invoices posted by pgbooks; record it per order '
                'by hand', p_payment ->> 'Id', jsonb_array_length(v_links)),
            jsonb_build_object('links', v_links, 'change_id', p_change_id), NULL);
        RETURN jsonb_build_object('outcome', 'review', 'links', v_links);
    END IF;
    v_link := v_links -> 0;
    SELECT d.* INTO v_doc FROM books.documents AS d
    WHERE d.tenant_id = p_tenant_id AND d.document_id = (v_link ->> 'document_id')::bigint;
    SELECT o.* INTO v_order FROM orders.orders AS o
    WHERE o.tenant_id = p_tenant_id AND v_doc.source_type = 'order' AND o.channel_id || ':' || o.order_id = v_doc.source_id;
    IF v_order.order_id IS NULL THEN
        PERFORM logic.inbound__exception(p_tenant_id, v_doc.document_id, 'qbo_payment', p_payment ->> 'Id',
            'PAYMENT_UNLINKED', 'conflict',
            format('QuickBooks payment %s is applied to invoice %s, which does not come from an order',
                p_payment ->> 'Id', v_link ->> 'invoice_id'),
            jsonb_build_object('link', v_link, 'change_id', p_change_id), NULL);
        RETURN jsonb_build_object('outcome', 'review', 'link', v_link);
    END IF;

    -- The payment becomes a capture of the order (PaymentCaptured event and audit entry by the
    -- orders triggers). Its document is derived now and linked to the QuickBooks payment, so
    -- delivery never posts it a second time.
    INSERT INTO orders.transactions (
        tenant_id, channel_id, transaction_id, order_id, kind, status, amount, currency, gateway, processed_at
    ) VALUES (
        p_tenant_id, v_order.channel_id, v_txn_id, v_order.order_id, 'capture', 'success',
        (v_link ->> 'amount')::numeric, v_order.currency, 'quickbooks',
        coalesce((p_payment ->> 'TxnDate')::date::timestamptz, now())
    )
    ON CONFLICT (tenant_id, channel_id, transaction_id) DO NOTHING;
    v_inserted := found;
    IF NOT v_inserted THEN
        RETURN jsonb_build_object('outcome', 'payment_already_recorded', 'transaction_id', v_txn_id);
    END IF;
    PERFORM api.order__derive(p_tenant_id, v_order.channel_id, v_order.order_id);
    SELECT d.* INTO v_pay FROM books.documents AS d
    WHERE d.tenant_id = p_tenant_id AND d.source_type = 'order' AND d.source_id = v_doc.source_id
        AND d.source_role = 'payment:' || v_txn_id;
    IF v_pay.document_id IS NOT NULL THEN
        INSERT INTO sync.remote_objects (
            tenant_id, document_id, realm_id, entity, remote_id, sync_token, remote_status, synced_version, snapshot
        ) VALUES (
            p_tenant_id, v_pay.document_id, p_realm_id, 'Payment', p_payment ->> 'Id',
            coalesce(p_payment ->> 'SyncToken', '0'), 'active', v_pay.version, p_payment
        )
        ON CONFLICT (tenant_id, document_id) DO NOTHING;
        UPDATE sync.outbox AS o SET state = 'done', done_at = now(), updated_at = now()
        WHERE o.tenant_id = p_tenant_id AND o.document_id = v_pay.document_id AND o.state = 'pending';
    END IF;
    RETURN jsonb_build_object(
        'outcome', 'payment_recorded', 'transaction_id', v_txn_id, 'order_id', v_order.order_id,
        'channel_id', v_order.channel_id, 'amount', v_link -> 'amount', 'payment_document_id', v_pay.document_id
    );
END
$$;

COMMENT ON FUNCTION logic.inbound__payment(text, text, jsonb, bigint) IS
'A QuickBooks Payment applied to an invoice we posted: records it as a capture of the order (closing its balance) '
'and links the derived payment document to it (never posted again).';

CREATE FUNCTION api.inbound_change__apply(
    p_tenant_id text, p_change_id bigint, p_entity jsonb, p_http_status integer DEFAULT 200
) RETURNS TABLE (outcome text, detail jsonb)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_change sync.inbound_changes;
    v_remote sync.remote_objects;
    v_doc books.documents;
    v_gone boolean;
    v_kind text;
    v_result jsonb;
    v_ours jsonb;
    v_base jsonb;
    v_theirs jsonb := p_entity;
    v_field text;
    v_b jsonb;
    v_t jsonb;
    v_o jsonb;
    v_policy text;
    v_ours_changed boolean;
    v_remote_time timestamptz;
    v_accept jsonb := '{}';
    v_accept_origin jsonb := '{}';
    v_push text[] := '{}';
    v_review jsonb := '[]';
    v_quiet text[] := '{}';
    v_converged text[] := '{}';
    v_exception bigint;
    v_outcome text;
BEGIN
    SELECT c.* INTO v_change FROM sync.inbound_changes AS c
    WHERE c.tenant_id = p_tenant_id AND c.change_id = p_change_id
    FOR UPDATE;
    IF NOT found THEN
        RAISE EXCEPTION USING
            ERRCODE = 'PB936', MESSAGE = format('change_id %s does not exist for tenant %L', p_change_id, p_tenant_id);
    END IF;
    IF v_change.status <> 'pending' THEN
        RETURN QUERY SELECT v_change.outcome, v_change.detail;
        RETURN;
    END IF;
    PERFORM set_config('pgbooks.user', 'quickbooks', true);
    -- the version this change is processed against: a later report with another SyncToken reopens it
    UPDATE sync.inbound_changes AS c SET sync_token = coalesce(p_entity ->> 'SyncToken', c.sync_token)
    WHERE c.tenant_id = p_tenant_id AND c.change_id = p_change_id;

    SELECT r.* INTO v_remote FROM sync.remote_objects AS r
    WHERE r.tenant_id = p_tenant_id AND r.realm_id = v_change.realm_id AND r.entity = v_change.entity
        AND r.remote_id = v_change.remote_id;
    v_gone := v_change.operation = 'Delete' OR p_entity IS NULL AND p_http_status IN (400, 404, 410);
    IF p_entity IS NULL AND NOT v_gone THEN
        RAISE EXCEPTION USING
            ERRCODE = 'PB937',
            MESSAGE = format('p_entity: required for a %s of %s %s (HTTP %s)', v_change.operation, v_change.entity,
                v_change.remote_id, p_http_status);
    END IF;

    -- Not a document we posted.
    IF v_remote.document_id IS NULL THEN
        -- Our own payment whose delivery has not been closed yet (webhook faster than
        -- api.outbox__complete): never record it as a QuickBooks payment; look again later.
        IF v_change.entity = 'Payment' AND NOT v_gone AND p_entity ->> 'PrivateNote' LIKE 'pgbooks payment %'
            AND v_change.attempts >= 8 THEN
            -- Still not linked after 8 looks (about 18 minutes): an operator decides.
            v_result := jsonb_build_object('outcome', 'review', 'exception_id', logic.inbound__exception(
                p_tenant_id, NULL, 'qbo_payment', v_change.remote_id, 'PAYMENT_UNLINKED', 'conflict',
                format('QuickBooks payment %s carries a pgbooks note but no delivered payment document links to it',
                    v_change.remote_id),
                jsonb_build_object('change_id', p_change_id, 'private_note', p_entity ->> 'PrivateNote'), NULL));
            v_outcome := logic.inbound__finish(p_tenant_id, p_change_id, 'applied', 'review', v_result);
            RETURN QUERY SELECT v_outcome, v_result;
            RETURN;
        END IF;
        IF v_change.entity = 'Payment' AND NOT v_gone AND p_entity ->> 'PrivateNote' LIKE 'pgbooks payment %' THEN
            UPDATE sync.inbound_changes AS c SET
                detail = jsonb_build_object('waiting', 'pgbooks payment not linked yet (delivery in flight)')
            WHERE c.tenant_id = p_tenant_id AND c.change_id = p_change_id;
            RETURN QUERY SELECT 'in_flight'::text, jsonb_build_object('remote_id', v_change.remote_id);
            RETURN;
        END IF;
        IF v_change.entity = 'Payment' AND NOT v_gone THEN
            v_result := logic.inbound__payment(p_tenant_id, v_change.realm_id, p_entity, p_change_id);
        ELSE
            v_result := jsonb_build_object('outcome', 'not_ours');
        END IF;
        v_outcome := logic.inbound__finish(p_tenant_id, p_change_id, 'applied', v_result ->> 'outcome', v_result);
        RETURN QUERY SELECT v_outcome, v_result;
        RETURN;
    END IF;

    SELECT d.* INTO v_doc FROM books.documents AS d
    WHERE d.tenant_id = p_tenant_id AND d.document_id = v_remote.document_id;

    -- Deleted or voided in QuickBooks.
    v_kind := CASE WHEN v_gone THEN 'deleted' ELSE 'voided' END;
    IF v_gone OR logic.inbound__voided(p_entity) AND NOT logic.inbound__voided(v_remote.snapshot) THEN
        IF v_gone AND v_doc.action = 'delete' OR NOT v_gone AND v_doc.action = 'void' THEN
            v_outcome := 'own_' || CASE WHEN v_gone THEN 'delete' ELSE 'void' END;
            v_result := jsonb_build_object('document_id', v_doc.document_id);
        ELSIF v_remote.remote_status = v_kind THEN
            v_outcome := 'already_' || v_remote.remote_status;
            v_result := jsonb_build_object('document_id', v_doc.document_id);
        ELSE
            UPDATE sync.remote_objects AS r SET
                remote_status = CASE WHEN v_gone THEN 'deleted' ELSE 'voided' END,
                sync_token = coalesce(p_entity ->> 'SyncToken', r.sync_token),
                synced_at = now()
            WHERE r.tenant_id = p_tenant_id AND r.document_id = v_remote.document_id;
            v_exception := logic.inbound__exception(
                p_tenant_id, v_doc.document_id, NULL, NULL,
                CASE WHEN v_gone THEN 'REMOTE_DELETED' ELSE 'REMOTE_VOIDED' END, 'conflict',
                format('%s %s (document %s, %s %s) was %s in QuickBooks; pgbooks will not re-create it',
                    v_change.entity, v_change.remote_id, v_doc.document_id, v_doc.source_type, v_doc.source_id,
                    CASE WHEN v_gone THEN 'deleted' ELSE 'voided' END),
                jsonb_build_object('change_id', p_change_id, 'entity', v_change.entity, 'remote_id', v_change.remote_id,
                    'detected_by', v_change.source,
                    'remedy', 'Confirm the removal (resolve) or restore the document in QuickBooks; '
                        'pgbooks never re-creates it on its own.'),
                jsonb_build_array(jsonb_build_object('path', '(object)', 'last_synced', v_remote.snapshot,
                    'quickbooks', p_entity))
            );
            v_outcome := CASE WHEN v_gone THEN 'deleted' ELSE 'voided' END;
            v_result := jsonb_build_object('document_id', v_doc.document_id, 'exception_id', v_exception);
        END IF;
        v_outcome := logic.inbound__finish(p_tenant_id, p_change_id, 'applied', v_outcome, v_result);
        RETURN QUERY SELECT v_outcome, v_result;
        RETURN;
    END IF;

    IF p_entity ->> 'SyncToken' = v_remote.sync_token THEN
        v_outcome := logic.inbound__finish(p_tenant_id, p_change_id, 'applied', 'no_change',
            jsonb_build_object('document_id', v_doc.document_id, 'sync_token', v_remote.sync_token));
        RETURN QUERY SELECT v_outcome, jsonb_build_object('document_id', v_doc.document_id);
        RETURN;
    END IF;

    -- Three-way compare.
    BEGIN
        v_ours := logic.document__render_qbo(p_tenant_id, v_doc.document_id);
    EXCEPTION WHEN SQLSTATE 'PB601' THEN
        v_ours := v_doc.body;
    END;
    v_base := v_remote.snapshot;
    v_remote_time := (p_entity #>> '{MetaData,LastUpdatedTime}')::timestamptz;
    FOR v_field IN
        SELECT k FROM jsonb_object_keys(v_base) AS k
        UNION
        SELECT k FROM jsonb_object_keys(v_theirs) AS k
        ORDER BY 1
    LOOP
        CONTINUE WHEN logic.inbound__ignored_field(v_field);
        v_b := v_base -> v_field;
        v_t := v_theirs -> v_field;
        CONTINUE WHEN v_b IS NOT DISTINCT FROM v_t;
        v_o := v_ours -> v_field;
        IF v_o IS NULL AND v_field = 'TotalAmt' THEN
            v_o := to_jsonb(v_doc.total_amount);  -- computed by QuickBooks; ours is the document's
        END IF;
        IF v_o IS NULL AND NOT logic.inbound__money_field(v_field) THEN
            v_quiet := v_quiet || v_field;  -- a field pgbooks never sends: QuickBooks' own
            CONTINUE;
        END IF;
        IF v_t IS NOT NULL AND v_t @> v_o THEN
            v_converged := v_converged || v_field;
            CONTINUE;
        END IF;
        v_ours_changed := v_doc.version > v_remote.synced_version AND (v_b IS NULL OR NOT v_b @> v_o);
        v_policy := logic.conflict_policy__for(p_tenant_id, v_change.entity, v_field);
        IF v_policy = 'app_wins'
            OR v_policy = 'last_writer_wins' AND v_ours_changed
                AND v_doc.updated_at > coalesce(v_remote_time, '-infinity') THEN
            v_push := v_push || v_field;
        ELSIF v_policy IN ('qbo_wins', 'last_writer_wins') THEN
            v_accept := v_accept || jsonb_build_object(v_field, coalesce(v_t, 'null'::jsonb));
            v_accept_origin := v_accept_origin || jsonb_build_object(v_field, v_policy);
        ELSE
            v_review := v_review || jsonb_build_object(
                'path', v_field, 'policy', v_policy, 'last_synced', v_b, 'ours', v_o, 'quickbooks', v_t,
                'ours_changed', v_ours_changed
            );
        END IF;
    END LOOP;

    -- Accepted QuickBooks values: the local record (overrides) and the new base.
    INSERT INTO sync.field_overrides AS f (tenant_id, document_id, field, value, origin, change_id)
    SELECT p_tenant_id, v_doc.document_id, a.key, a.value, v_accept_origin ->> a.key, p_change_id
    FROM jsonb_each(v_accept) AS a
    ON CONFLICT (tenant_id, document_id, field) DO UPDATE SET
        value = excluded.value, origin = excluded.origin, change_id = excluded.change_id,
        accepted_at = now(), accepted_by = 'inbound';
    DELETE FROM sync.field_overrides AS f
    WHERE f.tenant_id = p_tenant_id AND f.document_id = v_doc.document_id AND f.field = ANY(v_push);

    IF jsonb_array_length(v_review) > 0 THEN
        -- Keep the old SyncToken (nothing may overwrite QuickBooks while the review is open);
        -- the base takes what was accepted.
        UPDATE sync.remote_objects AS r SET
            snapshot = r.snapshot || v_accept || (
                SELECT coalesce(jsonb_object_agg(q, v_theirs -> q), '{}')
                FROM unnest(v_quiet || v_converged) AS q WHERE v_theirs ? q
            ),
            synced_at = now()
        WHERE r.tenant_id = p_tenant_id AND r.document_id = v_doc.document_id;
        v_exception := logic.inbound__exception(
            p_tenant_id, v_doc.document_id, NULL, NULL, 'CONFLICT_REVIEW', 'conflict',
            format('%s %s (document %s, %s %s) was changed in QuickBooks: %s field(s) need review (%s)',
                v_change.entity, v_change.remote_id, v_doc.document_id, v_doc.source_type, v_doc.source_id,
                jsonb_array_length(v_review),
                (SELECT string_agg(r.value ->> 'path', ', ') FROM jsonb_array_elements(v_review) AS r (value))),
            jsonb_build_object(
                'change_id', p_change_id, 'entity', v_change.entity, 'remote_id', v_change.remote_id,
                'remote_sync_token', p_entity ->> 'SyncToken', 'remote', p_entity, 'pending_push', to_jsonb(v_push),
                'actions', jsonb_build_array('take_ours', 'take_theirs', 'merge')
            ),
            v_review
        );
        v_outcome := 'review';
    ELSE
        UPDATE sync.remote_objects AS r SET
            snapshot = v_theirs,
            sync_token = coalesce(v_theirs ->> 'SyncToken', r.sync_token),
            -- Ours must be sent again: QuickBooks no longer reflects any version of ours.
            synced_version = CASE WHEN cardinality(v_push) > 0 THEN 0 ELSE r.synced_version END,
            synced_at = now()
        WHERE r.tenant_id = p_tenant_id AND r.document_id = v_doc.document_id;
        IF cardinality(v_push) > 0 AND v_doc.status = 'ready' THEN
            PERFORM logic.outbox__touch(p_tenant_id, v_doc.document_id, v_doc.version);
        END IF;
        v_outcome := CASE
            WHEN cardinality(v_push) > 0 THEN 'pushed'
            WHEN v_accept <> '{}' THEN 'accepted'
            ELSE 'no_change'
        END;
    END IF;
    v_result := jsonb_build_object(
        'document_id', v_doc.document_id, 'accepted', v_accept, 'pushed', to_jsonb(v_push),
        'review', (SELECT coalesce(jsonb_agg(r.value ->> 'path'), '[]') FROM jsonb_array_elements(v_review) AS r (value)),
        'quickbooks_only', to_jsonb(v_quiet), 'converged', to_jsonb(v_converged), 'exception_id', v_exception
    );
    v_outcome := logic.inbound__finish(p_tenant_id, p_change_id, 'applied', v_outcome, v_result);
    RETURN QUERY SELECT v_outcome, v_result;
END
$$;

COMMENT ON FUNCTION api.inbound_change__apply(text, bigint, jsonb, integer) IS
'Applies one QuickBooks change (the fetched entity, or NULL + HTTP status when gone) under the conflict policies: '
'no_change, not_ours, accepted, pushed, review, deleted, voided, payment_recorded, ... Idempotent.';

CREATE FUNCTION api.inbound_change__fail(p_tenant_id text, p_change_id bigint, p_error text)
RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_change sync.inbound_changes;
BEGIN
    -- A fetch that failed (transport, 5xx, 429): retried later (claim backs off 30 s per
    -- attempt); after 8 attempts the change fails and an exception says so.
    SELECT c.* INTO v_change FROM sync.inbound_changes AS c
    WHERE c.tenant_id = p_tenant_id AND c.change_id = p_change_id FOR UPDATE;
    IF NOT found THEN
        RAISE EXCEPTION USING
            ERRCODE = 'PB936', MESSAGE = format('change_id %s does not exist for tenant %L', p_change_id, p_tenant_id);
    END IF;
    IF v_change.attempts < 8 THEN
        UPDATE sync.inbound_changes AS c SET detail = jsonb_build_object('last_error', p_error), processed_at = now()
        WHERE c.tenant_id = p_tenant_id AND c.change_id = p_change_id;
        RETURN 'pending';
    END IF;
    PERFORM logic.inbound__exception(p_tenant_id, NULL, 'qbo_' || lower(v_change.entity), v_change.remote_id,
        'INBOUND_FETCH_FAILED', 'transient',
        format('%s %s changed in QuickBooks could not be read after %s attempts: %s', v_change.entity,
            v_change.remote_id, v_change.attempts, p_error),
        jsonb_build_object('change_id', p_change_id), NULL);
    RETURN logic.inbound__finish(p_tenant_id, p_change_id, 'failed', 'fetch_failed',
        jsonb_build_object('last_error', p_error));
END
$$;

COMMENT ON FUNCTION api.inbound_change__fail(text, bigint, text) IS
'Records a failed fetch of a changed entity: retried later, failed with INBOUND_FETCH_FAILED after 8 attempts.';

GRANT EXECUTE ON FUNCTION api.inbound_changes__claim(integer, text) TO pgbooks_worker;
GRANT EXECUTE ON FUNCTION api.inbound_change__apply(text, bigint, jsonb, integer) TO pgbooks_worker;
GRANT EXECUTE ON FUNCTION api.inbound_change__fail(text, bigint, text) TO pgbooks_worker;
