-- (Re)post a date range of historical orders (pgbooks qbo repost): the orders of a tenant placed
-- in [from, to) are re-derived by the books rules, their documents (and the customers / items they
-- depend on) are linked to what the imported mirror already holds, and what still has to reach
-- QuickBooks is armed in the normal outbox. Step by step, each step one transaction that also moves
-- the checkpoint, so a killed run resumes after the last order it committed. Never a duplicate:
-- a document already posted is not re-armed, a document found in QuickBooks is linked, and
-- delivery itself keeps its deterministic requestid.

CREATE FUNCTION logic.qbo_repost__check(p_tenant_id text, p_from date, p_to date)
RETURNS text
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    IF NOT EXISTS (SELECT FROM orders.tenants AS t WHERE t.tenant_id = p_tenant_id) THEN
        RAISE EXCEPTION USING ERRCODE = 'PB905', MESSAGE = format('tenant_id %s does not exist', p_tenant_id);
    END IF;
    IF p_from IS NULL OR p_to IS NULL OR p_from >= p_to THEN
        RAISE EXCEPTION USING
            ERRCODE = 'PB906',
            MESSAGE = format('date range from %s to %s is empty: from must be before to (to is excluded)',
                coalesce(p_from::text, 'NULL'), coalesce(p_to::text, 'NULL'));
    END IF;
    RETURN p_from::text || '..' || p_to::text;
END;
$$;

COMMENT ON FUNCTION logic.qbo_repost__check(text, date, date) IS
'Validates a repost (PB905 unknown tenant, PB906 empty range) and returns its checkpoint scope <from>..<to>.';

CREATE FUNCTION api.qbo_repost__plan(p_tenant_id text, p_from date, p_to date)
RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_scope text := logic.qbo_repost__check(p_tenant_id, p_from, p_to);
    v_k sync.qbo_backfill_checkpoints;
    v_total bigint;
BEGIN
    SELECT k.* INTO v_k FROM sync.qbo_backfill_checkpoints AS k
    WHERE k.tenant_id = p_tenant_id AND k.kind = 'repost' AND k.scope = v_scope;
    SELECT count(*) INTO v_total FROM orders.orders AS o
    WHERE o.tenant_id = p_tenant_id AND NOT o.is_test
        AND coalesce(o.placed_at, o.recorded_at) >= p_from::timestamp AT TIME ZONE 'UTC'
        AND coalesce(o.placed_at, o.recorded_at) < p_to::timestamp AT TIME ZONE 'UTC';
    RETURN jsonb_build_object(
        'scope', v_scope, 'total', v_total, 'done', coalesce(v_k.done_count, 0),
        'completed', coalesce(v_k.completed, FALSE), 'started_at', v_k.started_at
    );
END;
$$;

COMMENT ON FUNCTION api.qbo_repost__plan(text, date, date) IS
'What a repost of [from, to) covers: orders in the range (total), orders already handled (done), completed.';

CREATE FUNCTION api.qbo_repost__reset(p_tenant_id text, p_from date, p_to date)
RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_scope text := logic.qbo_repost__check(p_tenant_id, p_from, p_to);
BEGIN
    DELETE FROM sync.qbo_backfill_checkpoints AS k
    WHERE k.tenant_id = p_tenant_id AND k.kind = 'repost' AND k.scope = v_scope;
    RETURN found;
END;
$$;

COMMENT ON FUNCTION api.qbo_repost__reset(text, date, date) IS
'Forgets the checkpoint of a repost range (the next repost handles every order again; nothing is duplicated).';

CREATE FUNCTION logic.qbo_repost__document(p_tenant_id text, p_document_id bigint, p_realm_id text)
RETURNS text
LANGUAGE plpgsql VOLATILE
AS $$
-- One document of a reposted order: link, then arm if it still has to reach QuickBooks.
-- Returns linked, posted (QuickBooks has this version), queued (already armed or in flight),
-- armed, attention (failed / held / blocked: an open exception says why) or skipped (draft,
-- cancelled, nothing to send).
DECLARE
    v_doc books.documents;
    v_remote sync.remote_objects;
    v_state text;
BEGIN
    SELECT d.* INTO v_doc FROM books.documents AS d
    WHERE d.tenant_id = p_tenant_id AND d.document_id = p_document_id;
    IF v_doc.status = 'blocked' THEN
        RETURN 'attention';
    ELSIF v_doc.status <> 'ready' THEN
        RETURN 'skipped';
    END IF;
    BEGIN
        IF p_realm_id IS NOT NULL
            AND logic.document__link_existing(p_tenant_id, p_document_id, p_realm_id, TRUE) IS NOT NULL THEN
            RETURN 'linked';
        END IF;
    EXCEPTION WHEN SQLSTATE 'PB911' THEN
        -- Ambiguous DocNumber: delivery meets the same rule and raises the exception.
        RETURN 'attention';
    END;
    SELECT r.* INTO v_remote FROM sync.remote_objects AS r
    WHERE r.tenant_id = p_tenant_id AND r.document_id = p_document_id;
    SELECT o.state INTO v_state FROM sync.outbox AS o
    WHERE o.tenant_id = p_tenant_id AND o.document_id = p_document_id;
    IF v_state IN ('pending', 'claimed') THEN
        RETURN 'queued';
    ELSIF v_state IN ('failed', 'held') THEN
        RETURN 'attention';
    ELSIF v_remote.remote_id IS NOT NULL AND (
        v_doc.action = 'upsert' AND v_remote.synced_version >= v_doc.version
        OR v_doc.action = 'void' AND v_remote.remote_status = 'voided'
        OR v_doc.action = 'delete' AND v_remote.remote_status = 'deleted'
    ) THEN
        RETURN 'posted';
    ELSIF v_remote.remote_id IS NULL AND v_doc.action <> 'upsert' THEN
        RETURN 'skipped';
    END IF;
    PERFORM logic.outbox__touch(p_tenant_id, p_document_id, v_doc.version);
    RETURN 'armed';
END;
$$;

COMMENT ON FUNCTION logic.qbo_repost__document(text, bigint, text) IS
'Links one document of a reposted order to QuickBooks'' copy, or arms it in the outbox when it still has to be '
'sent; returns linked, posted, queued, armed, attention or skipped.';

CREATE FUNCTION api.qbo_repost__step(p_tenant_id text, p_from date, p_to date, p_limit integer DEFAULT 50)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_scope text := logic.qbo_repost__check(p_tenant_id, p_from, p_to);
    v_realm text := (SELECT c.realm_id FROM sync.connections AS c WHERE c.tenant_id = p_tenant_id);
    v_k sync.qbo_backfill_checkpoints;
    v_o record;
    v_ids bigint[];
    v_doc bigint;
    v_outcome text;
    v_counts jsonb := '{}';
    v_dep_counts jsonb := '{}';
    v_seen bigint[] := '{}';
    v_depth integer;
    v_errors jsonb := '[]';
    v_orders integer := 0;
    v_last_at timestamptz;
    v_last_channel text;
    v_last_order text;
    v_err text;
BEGIN
    IF p_limit IS NULL OR p_limit NOT BETWEEN 1 AND 1000 THEN
        RAISE EXCEPTION USING ERRCODE = 'PB907', MESSAGE = format('limit must be 1..1000, got %s', p_limit);
    END IF;
    INSERT INTO sync.qbo_backfill_checkpoints (tenant_id, kind, scope) VALUES (p_tenant_id, 'repost', v_scope)
    ON CONFLICT (tenant_id, kind, scope) DO NOTHING;
    -- One repost of a range at a time: a second run waits here, then continues after the first.
    SELECT k.* INTO v_k FROM sync.qbo_backfill_checkpoints AS k
    WHERE k.tenant_id = p_tenant_id AND k.kind = 'repost' AND k.scope = v_scope
    FOR UPDATE;
    IF v_k.completed THEN
        RETURN jsonb_build_object('orders', 0, 'completed', TRUE, 'done', v_k.done_count, 'outcomes', '{}',
            'dependencies', '{}', 'errors', '[]');
    END IF;

    FOR v_o IN
        SELECT o.channel_id, o.order_id, coalesce(o.placed_at, o.recorded_at) AS at
        FROM orders.orders AS o
        WHERE o.tenant_id = p_tenant_id AND NOT o.is_test
            AND coalesce(o.placed_at, o.recorded_at) >= p_from::timestamp AT TIME ZONE 'UTC'
            AND coalesce(o.placed_at, o.recorded_at) < p_to::timestamp AT TIME ZONE 'UTC'
            -- Keyset after the checkpoint (index orders_placed_idx): one index range per step.
            AND (coalesce(o.placed_at, o.recorded_at), o.channel_id, o.order_id) > (
                coalesce((v_k.cursor ->> 'at')::timestamptz, '-infinity'),
                coalesce(v_k.cursor ->> 'channel_id', ''), coalesce(v_k.cursor ->> 'order_id', '')
            )
        ORDER BY coalesce(o.placed_at, o.recorded_at), o.channel_id, o.order_id
        LIMIT p_limit
    LOOP
        v_orders := v_orders + 1;
        v_last_at := v_o.at;
        v_last_channel := v_o.channel_id;
        v_last_order := v_o.order_id;
        BEGIN
            v_ids := logic.order__derive(p_tenant_id, v_o.channel_id, v_o.order_id);
            -- Dependencies first (customers, items, their parents), then the order's own documents.
            FOR v_doc, v_depth IN
                WITH RECURSIVE deps (document_id, depth) AS (
                    SELECT u.id, 0 FROM unnest(v_ids) AS u (id)
                    UNION
                    SELECT dep.id, deps.depth + 1
                    FROM deps
                    INNER JOIN books.documents AS d ON d.tenant_id = p_tenant_id AND d.document_id = deps.document_id
                    CROSS JOIN LATERAL unnest(d.depends_on) AS dep (id)
                    WHERE deps.depth < 4
                )
                SELECT deps.document_id, min(deps.depth) FROM deps GROUP BY deps.document_id
                ORDER BY max(deps.depth) DESC, deps.document_id
            LOOP
                IF v_depth > 0 AND v_doc = ANY(v_seen) THEN
                    -- A dependency shared by several orders (the web-sales customer): once a step.
                    CONTINUE;
                END IF;
                v_outcome := logic.qbo_repost__document(p_tenant_id, v_doc, v_realm);
                IF v_depth = 0 THEN
                    v_counts := v_counts || jsonb_build_object(
                        v_outcome, coalesce((v_counts ->> v_outcome)::integer, 0) + 1
                    );
                ELSE
                    v_seen := v_seen || v_doc;
                    v_dep_counts := v_dep_counts || jsonb_build_object(
                        v_outcome, coalesce((v_dep_counts ->> v_outcome)::integer, 0) + 1
                    );
                END IF;
            END LOOP;
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS v_err = MESSAGE_TEXT;
            v_errors := v_errors || jsonb_build_object('order', v_o.channel_id || ':' || v_o.order_id, 'error', v_err);
            v_counts := v_counts || jsonb_build_object(
                'attention', coalesce((v_counts ->> 'attention')::integer, 0) + 1
            );
        END;
    END LOOP;

    UPDATE sync.qbo_backfill_checkpoints AS k SET
        cursor = CASE WHEN v_orders > 0 THEN jsonb_build_object(
            'at', v_last_at, 'channel_id', v_last_channel, 'order_id', v_last_order
        ) ELSE k.cursor END,
        done_count = k.done_count + v_orders,
        completed = v_orders < p_limit,
        completed_at = CASE WHEN v_orders < p_limit THEN now() END,
        updated_at = now()
    WHERE k.tenant_id = p_tenant_id AND k.kind = 'repost' AND k.scope = v_scope;
    RETURN jsonb_build_object(
        'orders', v_orders, 'completed', v_orders < p_limit, 'done', v_k.done_count + v_orders,
        'outcomes', v_counts, 'dependencies', v_dep_counts, 'errors', v_errors
    );
END;
$$;

COMMENT ON FUNCTION api.qbo_repost__step(text, date, date, integer) IS
'Reposts the next p_limit orders of [from, to) after the checkpoint (re-derive, link to QuickBooks'' copy, arm '
'the outbox) and moves the checkpoint, in one transaction. Returns orders handled, outcomes of the orders'' own '
'documents and of their dependencies (customers, items; a shared one counted once a step), errors per order, '
'and whether the range is completed.';

GRANT EXECUTE ON FUNCTION api.qbo_repost__plan(text, date, date) TO pgbooks_operator;
GRANT EXECUTE ON FUNCTION api.qbo_repost__reset(text, date, date) TO pgbooks_operator;
GRANT EXECUTE ON FUNCTION api.qbo_repost__step(text, date, date, integer) TO pgbooks_operator;
