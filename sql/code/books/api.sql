-- The rules' entry points: explicit derivation for apps and operators, the derive queue, and the
-- triggers that queue a re-derivation when an order's (or a payout's) facts change.
--
-- Off the commit path by default: a write to an order records ONE derive request per order per
-- transaction in books.derive_requests (row triggers; the parts of the header just written skip
-- by their WHEN clause), in the writer's transaction, so a committed change always has its request. At commit a
-- deferred trigger on the request wakes the worker (pgqueuer entrypoint books_derive, through
-- the one enqueue wrapper logic.wakeup__enqueue); the worker calls api.books__derive_pending,
-- which derives each pending order or payout once, however many requests it has, and deletes
-- them in the transaction that writes the documents. The worker's scheduler sweeps the queue as
-- a safety net (a lost wake-up, a failed derivation). A tenant with
-- books.tenant_settings.derive_at_commit = true derives in the writer's transaction instead, at
-- commit (the old behaviour: documents visible as soon as the order commits, at the cost of
-- the commit time).

CREATE FUNCTION api.order__derive(p_tenant_id text, p_channel_id text, p_order_id text)
RETURNS bigint[]
LANGUAGE sql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT logic.order__derive(p_tenant_id, p_channel_id, p_order_id)
$$;

COMMENT ON FUNCTION api.order__derive(text, text, text) IS
'(Re-)derives the accounting documents of one order (and its payments and refunds); returns their ids.';

CREATE FUNCTION api.payout__derive(p_tenant_id text, p_channel_id text, p_payout_id text)
RETURNS bigint[]
LANGUAGE sql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT logic.payout__derive(p_tenant_id, p_channel_id, p_payout_id)
$$;

COMMENT ON FUNCTION api.payout__derive(text, text, text) IS
'(Re-)derives the Deposit or payout-summary JournalEntry of one payout; returns its id.';

CREATE FUNCTION api.tenant__rederive(p_tenant_id text)
RETURNS integer
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_r record;
    v_n integer := 0;
BEGIN
    FOR v_r IN SELECT o.channel_id, o.order_id FROM orders.orders AS o WHERE o.tenant_id = p_tenant_id
        ORDER BY o.placed_at, o.order_id LOOP
        PERFORM logic.order__derive(p_tenant_id, v_r.channel_id, v_r.order_id);
        v_n := v_n + 1;
    END LOOP;
    FOR v_r IN SELECT p.channel_id, p.payout_id FROM orders.payouts AS p WHERE p.tenant_id = p_tenant_id LOOP
        PERFORM logic.payout__derive(p_tenant_id, v_r.channel_id, v_r.payout_id);
        v_n := v_n + 1;
    END LOOP;
    RETURN v_n;
END;
$$;

COMMENT ON FUNCTION api.tenant__rederive(text) IS
'Re-derives every order and payout of a tenant (after a settings or mapping change); returns how many.';

GRANT EXECUTE ON FUNCTION api.order__derive(text, text, text) TO pgbooks_app, pgbooks_operator;
GRANT EXECUTE ON FUNCTION api.payout__derive(text, text, text) TO pgbooks_app, pgbooks_operator;
GRANT EXECUTE ON FUNCTION api.tenant__rederive(text) TO pgbooks_operator;

-- ------------------------------------------------------------------ the derive queue

CREATE FUNCTION logic.derive_request__lock(
    p_tenant_id text, p_subject_type text, p_channel_id text, p_subject_id text
)
RETURNS void
LANGUAGE sql
VOLATILE
AS $$
    -- one derivation of a subject at a time (two workers, or a worker and an at-commit writer)
    SELECT pg_advisory_xact_lock(
        hashtextextended('pgbooks.derive:' || p_tenant_id || ':' || p_subject_type || ':' || p_channel_id
            || ':' || p_subject_id, 0)
    )
$$;

COMMENT ON FUNCTION logic.derive_request__lock(text, text, text, text) IS
'Transaction advisory lock serialising derivations of one order or payout.';

CREATE FUNCTION logic.derive_request__run(
    p_tenant_id text, p_subject_type text, p_channel_id text, p_subject_id text
)
RETURNS void
LANGUAGE plpgsql
VOLATILE
AS $$
BEGIN
    PERFORM logic.derive_request__lock(p_tenant_id, p_subject_type, p_channel_id, p_subject_id);
    IF p_subject_type = 'payout' THEN
        PERFORM logic.payout__derive(p_tenant_id, p_channel_id, p_subject_id);
    ELSE
        PERFORM logic.order__derive(p_tenant_id, p_channel_id, p_subject_id);
    END IF;
END;
$$;

COMMENT ON FUNCTION logic.derive_request__run(text, text, text, text) IS
'Derives one queued subject (order or payout) under its advisory lock.';

CREATE FUNCTION api.books__derive_pending(p_tenant_id text DEFAULT NULL, p_limit integer DEFAULT 1000)
RETURNS integer
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_r record;
    v_n integer := 0;
BEGIN
    -- Take up to p_limit requests (rows another worker holds are skipped), delete them, and
    -- derive each distinct subject once, in subject order (advisory locks in one order: two
    -- workers cannot deadlock). A derivation that raises is rolled back alone and its request
    -- put back with the error (attempts + 1; retried by the sweep, given up after 10).
    FOR v_r IN
        WITH picked AS (
            SELECT q.tenant_id, q.request_id FROM books.derive_requests AS q
            WHERE (p_tenant_id IS NULL OR q.tenant_id = p_tenant_id) AND q.attempts < 10
            ORDER BY q.request_id
            LIMIT p_limit
            FOR UPDATE SKIP LOCKED
        ),
        gone AS (
            DELETE FROM books.derive_requests AS d
            USING picked AS p
            WHERE d.tenant_id = p.tenant_id AND d.request_id = p.request_id
            RETURNING d.tenant_id, d.subject_type, d.channel_id, d.subject_id, d.attempts
        )
        SELECT g.tenant_id, g.subject_type, g.channel_id, g.subject_id, max(g.attempts) AS attempts
        FROM gone AS g
        GROUP BY g.tenant_id, g.subject_type, g.channel_id, g.subject_id
        ORDER BY g.tenant_id, g.subject_type, g.channel_id, g.subject_id
    LOOP
        BEGIN
            PERFORM logic.derive_request__run(v_r.tenant_id, v_r.subject_type, v_r.channel_id, v_r.subject_id);
            v_n := v_n + 1;
        EXCEPTION WHEN OTHERS THEN
            INSERT INTO books.derive_requests (tenant_id, subject_type, channel_id, subject_id, attempts, last_error)
            VALUES (
                v_r.tenant_id, v_r.subject_type, v_r.channel_id, v_r.subject_id, v_r.attempts + 1,
                SQLSTATE || ': ' || SQLERRM
            );
        END;
    END LOOP;
    RETURN v_n;
END;
$$;

COMMENT ON FUNCTION api.books__derive_pending(text, integer) IS
'Derives the queued orders and payouts (one tenant, or all when NULL; at most p_limit requests), each once; '
'returns how many subjects were derived.';

CREATE FUNCTION api.books__derive_backlog()
RETURNS TABLE (tenant_id text, pending integer, failing integer, oldest_at timestamptz)
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT
        q.tenant_id,
        (count(DISTINCT (q.subject_type, q.channel_id, q.subject_id)) FILTER (WHERE q.attempts = 0))::integer,
        (count(DISTINCT (q.subject_type, q.channel_id, q.subject_id)) FILTER (WHERE q.attempts > 0))::integer,
        min(q.requested_at)
    FROM books.derive_requests AS q
    GROUP BY q.tenant_id
    ORDER BY q.tenant_id
$$;

COMMENT ON FUNCTION api.books__derive_backlog() IS
'Derive queue per tenant: subjects waiting, subjects whose derivation raised (retried), oldest request time.';

CREATE FUNCTION api.books__derive_failures(p_tenant_id text DEFAULT NULL, p_limit integer DEFAULT 20)
RETURNS TABLE (
    tenant_id text, subject_type text, channel_id text, subject_id text, attempts integer, last_error text,
    requested_at timestamptz
)
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT q.tenant_id, q.subject_type, q.channel_id, q.subject_id, q.attempts, q.last_error, q.requested_at
    FROM books.derive_requests AS q
    WHERE q.attempts > 0 AND (p_tenant_id IS NULL OR q.tenant_id = p_tenant_id)
    ORDER BY q.tenant_id, q.request_id
    LIMIT p_limit
$$;

COMMENT ON FUNCTION api.books__derive_failures(text, integer) IS
'Queued derivations that raised (one tenant, or all when NULL), oldest first, with their error: what '
'pgbooks books derive and pgbooks status point an operator at.';

GRANT EXECUTE ON FUNCTION api.books__derive_pending(text, integer) TO pgbooks_worker, pgbooks_operator;
GRANT EXECUTE ON FUNCTION api.books__derive_failures(text, integer) TO pgbooks_worker, pgbooks_operator;
GRANT EXECUTE ON FUNCTION api.books__derive_backlog() TO pgbooks_worker, pgbooks_operator;

-- Row triggers recording one request per order (payout) per transaction: a request this
-- transaction already wrote for the subject is not repeated (by xact, the top-level transaction
-- id, so savepoints do not matter). The parts of the order header this transaction wrote last
-- (pgbooks.orders_written, set by tg_orders__mark_written after the header's own request) are
-- skipped by the WHEN clause, without a function call: an app writing a header and then its
-- lines pays for one request. Definer functions: the app role writes orders.* only.
CREATE FUNCTION logic.tg_order_rows__request_derive()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_row jsonb := to_jsonb(coalesce(NEW, OLD));
    v_tenant text := v_row ->> 'tenant_id';
    v_channel text := v_row ->> 'channel_id';
    v_type text := 'order';
    v_subject text := v_row ->> 'order_id';
BEGIN
    IF TG_ARGV[0] = 'refund' THEN
        -- refund lines and order adjustments name their refund; the refund names the order
        SELECT r.order_id INTO v_subject FROM orders.refunds AS r
        WHERE r.tenant_id = v_tenant AND r.channel_id = v_channel AND r.refund_id = v_row ->> 'refund_id';
    ELSIF TG_ARGV[0] = 'payout' THEN
        v_type := 'payout';
        v_subject := v_row ->> 'payout_id';
    END IF;
    IF v_subject IS NULL OR EXISTS (
        SELECT FROM books.derive_requests AS q
        WHERE q.tenant_id = v_tenant AND q.subject_type = v_type AND q.channel_id = v_channel
            AND q.subject_id = v_subject AND q.xact = pg_current_xact_id()
    ) THEN
        RETURN NULL;  -- nothing to derive, or this transaction already queued it
    END IF;
    INSERT INTO books.derive_requests (tenant_id, subject_type, channel_id, subject_id)
    VALUES (v_tenant, v_type, v_channel, v_subject);
    RETURN NULL;
END;
$$;

COMMENT ON FUNCTION logic.tg_order_rows__request_derive() IS
'Row trigger on orders, their parts, refunds and payouts: queues one derive request per order (TG_ARGV[0] = '
'order or refund) or payout (payout) per transaction.';

DO $triggers$
DECLARE
    v_t record;
BEGIN
    FOR v_t IN
        SELECT * FROM (VALUES
            ('orders', 'INSERT OR UPDATE', 'order', FALSE),
            ('order_lines', 'INSERT OR UPDATE', 'order', TRUE),
            ('order_lines', 'DELETE', 'order', TRUE),
            ('transactions', 'INSERT OR UPDATE', 'order', TRUE),
            ('refunds', 'INSERT OR UPDATE', 'order', TRUE),
            ('refund_lines', 'INSERT OR UPDATE', 'refund', FALSE),
            ('order_adjustments', 'INSERT OR UPDATE', 'refund', FALSE),
            ('discount_allocations', 'INSERT OR UPDATE', 'order', TRUE),
            ('discount_allocations', 'DELETE', 'order', TRUE),
            ('shipping_lines', 'INSERT OR UPDATE', 'order', TRUE),
            ('shipping_lines', 'DELETE', 'order', TRUE),
            ('tax_lines', 'INSERT OR UPDATE', 'order', TRUE),
            ('tax_lines', 'DELETE', 'order', TRUE),
            ('order_flags', 'INSERT OR UPDATE', 'order', FALSE),
            ('payouts', 'INSERT OR UPDATE', 'payout', FALSE),
            ('balance_transactions', 'INSERT OR UPDATE', 'payout', FALSE)
        ) AS t (rel, ops, kind, skip_written)
    LOOP
        EXECUTE format(
            'CREATE TRIGGER %I AFTER %s ON orders.%I FOR EACH ROW %s EXECUTE FUNCTION '
            'logic.tg_order_rows__request_derive(%L)',
            'tg_' || v_t.rel || '__request_derive' || CASE WHEN v_t.ops = 'DELETE' THEN '_delete' ELSE '' END,
            v_t.ops, v_t.rel,
            CASE WHEN v_t.skip_written THEN format(
                'WHEN (current_setting(''pgbooks.orders_written'', TRUE) IS DISTINCT FROM '
                'concat_ws(''|'', %1$s.tenant_id, %1$s.channel_id, %1$s.order_id))',
                CASE WHEN v_t.ops = 'DELETE' THEN 'old' ELSE 'new' END
            ) ELSE '' END,
            v_t.kind
        );
    END LOOP;
END
$triggers$;

-- At commit, once per new request (one per order per transaction): derive now when the tenant
-- asked for it (derive_at_commit), else wake the worker. A request put back after a failed
-- derivation (attempts > 0) waits for the sweep instead of waking at once.
CREATE FUNCTION logic.tg_derive_requests__dispatch()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF coalesce((SELECT s.derive_at_commit FROM books.tenant_settings AS s WHERE s.tenant_id = NEW.tenant_id), FALSE) THEN
        IF EXISTS (
            SELECT FROM books.derive_requests AS q
            WHERE q.tenant_id = NEW.tenant_id AND q.request_id = NEW.request_id
        ) THEN
            PERFORM logic.derive_request__run(NEW.tenant_id, NEW.subject_type, NEW.channel_id, NEW.subject_id);
            DELETE FROM books.derive_requests AS q
            WHERE q.tenant_id = NEW.tenant_id AND q.request_id = NEW.request_id;
        END IF;
    ELSE
        PERFORM logic.wakeup__enqueue(NEW.tenant_id, now(), 'books_derive');
    END IF;
    RETURN NULL;
END;
$$;

COMMENT ON FUNCTION logic.tg_derive_requests__dispatch() IS
'Deferred trigger on a new derive request: derive at commit (tenant setting derive_at_commit) or wake the worker.';

CREATE CONSTRAINT TRIGGER tg_derive_requests__dispatch AFTER INSERT ON books.derive_requests
DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
WHEN (new.attempts = 0)
EXECUTE FUNCTION logic.tg_derive_requests__dispatch();
