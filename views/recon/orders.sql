-- Order <-> accounting document reconciliation, and accuracy per tenant and month. The main
-- document of an order is books.documents (source_type order, source_id channel:order, role
-- main). An order is reconciled when it has a deliverable document whose total equals the
-- order's stated total to the cent; everything else says why (no document, blocked by an
-- exception, draft, amount difference, test order not booked, per-payout posting). The per-tenant summary
-- (rpt_recon_summary, rpt_recon_accuracy) is fast by design: a rollup per day plus a live
-- recomputation of the days changed since the last refresh (sql/code/bank/rollup.sql marks them).

CREATE VIEW analytics.rpt_order_reconciliation AS
SELECT
    o.tenant_id,
    o.channel_id,
    o.order_id,
    o.order_number,
    o.currency,
    o.placed_at,
    o.stated_total AS order_total,
    o.stated_total_tax AS order_tax,
    d.document_id,
    d.doc_type AS document_type,
    d.status AS document_status,
    d.total_amount AS document_total,
    d.total_amount - o.stated_total AS difference,
    CASE
        -- a test order books decided to book (books.tenant_settings.test_orders) reconciles as any other
        WHEN o.is_test AND d.document_id IS NULL THEN 'test_order'
        WHEN d.document_id IS NULL AND s.posting_mode = 'per_payout' THEN 'booked_in_payout_summary'
        WHEN d.document_id IS NULL THEN 'no_document'
        WHEN d.status = 'blocked' THEN 'blocked'
        WHEN d.status IN ('draft', 'cancelled') THEN d.status
        WHEN d.total_amount <> o.stated_total THEN 'amount_difference'
        ELSE 'reconciled'
    END AS recon_state,
    now() - coalesce(o.placed_at, o.recorded_at) AS age,
    date_trunc('month', analytics.order__recon_day(o.placed_at, o.recorded_at))::date AS period,
    analytics.order__recon_day(o.placed_at, o.recorded_at) AS day,
    (coalesce(o.placed_at, o.recorded_at) AT TIME ZONE 'UTC') AS placed_utc
FROM orders.orders AS o
LEFT JOIN books.tenant_settings AS s ON o.tenant_id = s.tenant_id
-- At most one main document per order (documents_one_per_source_role); LIMIT 1 keeps this an
-- index lookup per order, so a day of orders never scans all of the tenant's documents.
LEFT JOIN LATERAL (
    SELECT
        x.document_id,
        x.doc_type,
        x.status,
        x.total_amount
    FROM books.documents AS x
    WHERE
        x.tenant_id = o.tenant_id AND x.source_type = 'order'
        AND x.source_id = o.channel_id || ':' || o.order_id AND x.source_role = 'main'
    ORDER BY x.document_id
    LIMIT 1
) AS d ON TRUE;

COMMENT ON VIEW analytics.rpt_order_reconciliation IS
'One row per order: its main accounting document, status, amounts (order total and tax vs document total), '
'difference, age and recon_state (reconciled, amount_difference, blocked, no_document, draft, cancelled, '
'test_order, booked_in_payout_summary); day and period = UTC day and month of placed_at (else recorded_at), '
'placed_utc = that instant in UTC (the range the summary recomputes).';

CREATE VIEW analytics.rpt_recon_summary AS
SELECT
    r.tenant_id,
    date_trunc('month', r.day)::date AS period,
    r.day,
    r.currency,
    r.recon_state,
    r.orders,
    r.order_amount,
    'rollup' AS computed
FROM books.recon_rollup AS r
WHERE NOT EXISTS (
        SELECT 1 FROM books.recon_dirty AS m
        WHERE m.tenant_id = r.tenant_id AND m.day = r.day
    )
UNION ALL
-- Live part: per marked day, that day's orders by index range (OFFSET 0 keeps the lateral
-- subquery a per-day index scan whatever the statistics of the marks say).
SELECT
    m.tenant_id,
    o.period,
    m.day,
    o.currency,
    o.recon_state,
    count(*) AS orders,
    sum(o.order_total) AS order_amount,
    'live' AS computed
FROM (
    SELECT DISTINCT
        d.tenant_id,
        d.day
    FROM books.recon_dirty AS d
) AS m
CROSS JOIN
    LATERAL (
        SELECT
            r.period,
            r.currency,
            r.recon_state,
            r.order_total
        FROM analytics.rpt_order_reconciliation AS r
        WHERE
            r.tenant_id = m.tenant_id
            AND r.placed_utc >= m.day::timestamp
            AND r.placed_utc < m.day::timestamp + interval '1 day'
        ORDER BY r.placed_utc
        OFFSET 0
    ) AS o
GROUP BY m.tenant_id, o.period, m.day, o.currency, o.recon_state;

COMMENT ON VIEW analytics.rpt_recon_summary IS
'Orders and amounts per tenant, day (and its month), currency and recon_state (of rpt_order_reconciliation), '
'fast by design: days unchanged since api.recon_rollup__refresh come from books.recon_rollup (computed = rollup), '
'days changed since are recomputed live (computed = live); either way equal to grouping rpt_order_reconciliation.';

CREATE VIEW analytics.rpt_recon_accuracy AS
SELECT
    s.tenant_id,
    s.period,
    s.currency,
    sum(s.orders)::bigint AS orders,
    coalesce(sum(s.orders) FILTER (WHERE s.recon_state = 'reconciled'), 0)::bigint AS reconciled,
    coalesce(
        sum(s.orders) FILTER (WHERE s.recon_state NOT IN ('reconciled', 'test_order', 'booked_in_payout_summary')), 0
    )::bigint AS not_reconciled,
    sum(s.order_amount) FILTER (WHERE s.recon_state <> 'test_order') AS order_amount,
    sum(s.order_amount) FILTER (WHERE s.recon_state = 'reconciled') AS reconciled_amount,
    round(
        100.0 * coalesce(sum(s.orders) FILTER (WHERE s.recon_state = 'reconciled'), 0)
        / nullif(sum(s.orders) FILTER (WHERE s.recon_state NOT IN ('test_order', 'booked_in_payout_summary')), 0),
        2
    ) AS accuracy_pct
FROM analytics.rpt_recon_summary AS s
GROUP BY s.tenant_id, s.period, s.currency;

COMMENT ON VIEW analytics.rpt_recon_accuracy IS
'Reconciliation accuracy per tenant, month (UTC, of placed_at) and currency: orders, reconciled, not reconciled, '
'amounts, and accuracy_pct = reconciled / bookable orders (test orders and payout-summary orders excluded). '
'Reads analytics.rpt_recon_summary (rollup + live recomputation of changed days).';

CREATE FUNCTION api.recon_rollup__refresh(p_tenant_id text, p_all boolean DEFAULT FALSE)
RETURNS integer
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_days integer;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM orders.tenants AS t WHERE t.tenant_id = p_tenant_id) THEN
        RAISE EXCEPTION USING ERRCODE = 'PB801', MESSAGE = format('unknown tenant %L', p_tenant_id);
    END IF;
    -- one refresher per tenant at a time; the statement below then starts with a fresh snapshot
    PERFORM pg_advisory_xact_lock(hashtext('pgbooks.recon_rollup'), hashtext(p_tenant_id));
    -- One statement, one snapshot: the marks it removes are exactly those whose changes it sees;
    -- a mark committed meanwhile survives and its day stays live.
    WITH days AS (
        SELECT m.day FROM books.recon_dirty AS m WHERE m.tenant_id = p_tenant_id
        UNION
        SELECT analytics.order__recon_day(o.placed_at, o.recorded_at) AS day
        FROM orders.orders AS o
        WHERE p_all AND o.tenant_id = p_tenant_id
        UNION
        SELECT r.day FROM books.recon_rollup AS r WHERE p_all AND r.tenant_id = p_tenant_id
    ),

    cleared AS (
        DELETE FROM books.recon_dirty AS m
        WHERE m.tenant_id = p_tenant_id AND m.day IN (SELECT x.day FROM days AS x)
        RETURNING m.day
    ),

    dropped AS (
        DELETE FROM books.recon_rollup AS r
        WHERE r.tenant_id = p_tenant_id AND r.day IN (SELECT x.day FROM days AS x)
        RETURNING r.day
    ),

    fresh AS (
        -- per day, that day's orders by index range (day = the UTC date of placed_utc)
        INSERT INTO books.recon_rollup (tenant_id, day, currency, recon_state, orders, order_amount)
        SELECT p_tenant_id, x.day, o.currency, o.recon_state, count(*), sum(o.order_total)
        FROM days AS x
        CROSS JOIN LATERAL (
            SELECT r.currency, r.recon_state, r.order_total
            FROM analytics.rpt_order_reconciliation AS r
            WHERE
                r.tenant_id = p_tenant_id
                AND r.placed_utc >= x.day::timestamp
                AND r.placed_utc < x.day::timestamp + interval '1 day'
            ORDER BY r.placed_utc
            OFFSET 0
        ) AS o
        GROUP BY x.day, o.currency, o.recon_state
        RETURNING day
    )

    SELECT count(*) INTO v_days FROM days;
    RETURN v_days;
END;
$$;

COMMENT ON FUNCTION api.recon_rollup__refresh(text, boolean) IS
'Recomputes the rollup of a tenant''s changed days (p_all: every day, e.g. after a bulk load with triggers '
'off) from analytics.rpt_order_reconciliation and clears their marks, in one statement; returns the number of '
'days recomputed. Safe to run concurrently with writers (pgbooks recon refresh).';

CREATE FUNCTION api.recon_rollup__refresh_due()
RETURNS integer
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_tenant text;
    v_days integer := 0;
BEGIN
    FOR v_tenant IN SELECT DISTINCT m.tenant_id FROM books.recon_dirty AS m ORDER BY 1 LOOP
        v_days := v_days + api.recon_rollup__refresh(v_tenant);
    END LOOP;
    -- the payout rollup (views/recon/payouts.sql): changed payouts, counted with the days
    FOR v_tenant IN SELECT DISTINCT m.tenant_id FROM books.payout_dirty AS m ORDER BY 1 LOOP
        v_days := v_days + api.payout_rollup__refresh(v_tenant);
    END LOOP;
    RETURN v_days;
END;
$$;

COMMENT ON FUNCTION api.recon_rollup__refresh_due() IS
'Refreshes the rollup of every tenant with changed days (api.recon_rollup__refresh per tenant, in tenant order) '
'and the payout rollup of every tenant with changed payouts (api.payout_rollup__refresh); returns the days plus '
'payouts recomputed. Run by the worker on pgqueuer''s scheduler (schedule recon_refresh).';

GRANT SELECT ON analytics.rpt_order_reconciliation, analytics.rpt_recon_summary, analytics.rpt_recon_accuracy
TO pgbooks_analyst, pgbooks_operator;
GRANT EXECUTE ON FUNCTION api.recon_rollup__refresh(text, boolean), api.recon_rollup__refresh_due()
TO pgbooks_worker, pgbooks_operator;
