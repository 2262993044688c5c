-- Payout reconciliation: payout <-> its balance transactions <-> accounting document (QuickBooks
-- deposit or journal entry) <-> bank deposit; the processor clearing balance; and the variance
-- of every payout attributed to causes. Amounts are in the payout's currency.

CREATE VIEW analytics.fct_balance_sources_live AS
SELECT
    b.tenant_id,
    b.channel_id,
    b.payout_id,
    b.currency,
    count(*) AS bt_count,
    sum(b.amount) FILTER (WHERE b.type = 'charge') AS charges_gross,
    sum(b.fee) + coalesce(-sum(b.amount) FILTER (WHERE b.type = 'fee'), 0) AS processor_fees,
    coalesce(-sum(b.amount) FILTER (WHERE b.type = 'refund'), 0) AS refunds,
    coalesce(-sum(b.amount) FILTER (WHERE b.type = 'dispute'), 0) AS chargebacks,
    coalesce(-sum(b.amount) FILTER (WHERE b.type NOT IN ('charge', 'fee', 'refund', 'dispute')), 0) AS adjustments,
    sum(b.amount) - sum(b.fee) AS computed_net,
    sum(b.net) AS stated_net
FROM orders.balance_transactions AS b
WHERE b.type <> 'payout'
GROUP BY b.tenant_id, b.channel_id, b.payout_id, b.currency;

COMMENT ON VIEW analytics.fct_balance_sources_live IS
'Slow path (every balance transaction per query): per tenant, channel, payout (NULL: not yet paid out) and '
'currency, the balance transactions summed by kind (charges gross, processor fees, refunds, chargebacks, '
'adjustments), the net they compute (amount - fee) and the net the provider states; the payout row itself '
'excluded. Defines books.payout_rollup; read analytics.fct_balance_sources instead.';

-- Fast by design: unmarked payouts from books.payout_rollup, marked ones (changed since the last
-- api.payout_rollup__refresh) recomputed live per payout by index range (OFFSET 0 keeps the
-- lateral subquery a per-payout index scan whatever the statistics of the marks say), and the balance
-- transactions not paid out yet (the processor's pending balance) always live, by their partial
-- index (orders.balance_transactions_unpaid).
CREATE VIEW analytics.fct_balance_sources AS
SELECT
    r.tenant_id,
    r.channel_id,
    r.payout_id,
    r.currency,
    r.bt_count,
    r.charges_gross,
    r.processor_fees,
    r.refunds,
    r.chargebacks,
    r.adjustments,
    r.computed_net,
    r.stated_net,
    'rollup' AS computed
FROM books.payout_rollup AS r
WHERE NOT EXISTS (
        SELECT 1 FROM books.payout_dirty AS m
        WHERE m.tenant_id = r.tenant_id AND m.channel_id = r.channel_id AND m.payout_id = r.payout_id
    )
UNION ALL
SELECT
    s.tenant_id,
    s.channel_id,
    s.payout_id,
    s.currency,
    s.bt_count,
    s.charges_gross,
    s.processor_fees,
    s.refunds,
    s.chargebacks,
    s.adjustments,
    s.computed_net,
    s.stated_net,
    'live' AS computed
FROM (
    SELECT DISTINCT
        d.tenant_id,
        d.channel_id,
        d.payout_id
    FROM books.payout_dirty AS d
) AS m
CROSS JOIN
    LATERAL (
        SELECT x.*
        FROM analytics.fct_balance_sources_live AS x
        WHERE x.tenant_id = m.tenant_id AND x.channel_id = m.channel_id AND x.payout_id = m.payout_id
        ORDER BY x.currency
        OFFSET 0
    ) AS s
UNION ALL
SELECT
    u.tenant_id,
    u.channel_id,
    u.payout_id,
    u.currency,
    u.bt_count,
    u.charges_gross,
    u.processor_fees,
    u.refunds,
    u.chargebacks,
    u.adjustments,
    u.computed_net,
    u.stated_net,
    'live' AS computed
FROM analytics.fct_balance_sources_live AS u
WHERE u.payout_id IS NULL;

COMMENT ON VIEW analytics.fct_balance_sources IS
'Equal to analytics.fct_balance_sources_live, fast by design: payouts unchanged since api.payout_rollup__refresh '
'come from books.payout_rollup (computed = rollup); payouts whose balance transactions changed since, and the '
'balance transactions not paid out yet (payout_id NULL), are summed live (computed = live).';

CREATE VIEW analytics.fct_payout_sources AS
SELECT
    s.tenant_id,
    s.channel_id,
    s.payout_id,
    s.currency,
    s.bt_count,
    s.charges_gross,
    s.processor_fees,
    s.refunds,
    s.chargebacks,
    s.adjustments,
    s.computed_net,
    s.stated_net
FROM analytics.fct_balance_sources AS s
WHERE s.payout_id IS NOT NULL;

COMMENT ON VIEW analytics.fct_payout_sources IS
'Per payout: its balance transactions summed by kind (charges gross, processor fees, refunds, chargebacks, '
'adjustments), the net they compute (amount - fee) and the net the provider states; the payout row itself excluded. '
'Reads analytics.fct_balance_sources (rollup + live recomputation of changed payouts).';

CREATE VIEW analytics.rpt_payout_reconciliation AS
SELECT
    p.tenant_id,
    p.channel_id,
    c.platform AS processor,
    p.payout_id,
    p.status AS payout_status,
    p.currency,
    p.payout_date,
    coalesce(p.arrival_date, p.payout_date) AS expected_on,
    p.amount AS payout_amount,
    s.bt_count,
    s.charges_gross,
    s.processor_fees,
    s.stated_net AS balance_transactions_net,
    CASE WHEN s.bt_count IS NOT NULL THEN p.amount - s.computed_net END AS source_difference,
    d.document_id,
    d.doc_type AS document_type,
    d.status AS document_status,
    d.total_amount AS document_amount,
    m.rule AS match_rule,
    l.bank_line_id,
    l.booking_date AS bank_date,
    l.amount AS bank_line_amount,
    l.account_id AS bank_account_id,
    CASE
        WHEN p.status IN ('failed', 'canceled') THEN 'not_paid'
        WHEN s.bt_count IS NOT NULL AND (s.computed_net <> p.amount OR s.stated_net <> p.amount)
            THEN 'inconsistent_source_data'
        WHEN m.payout_id IS NOT NULL THEN 'matched'
        WHEN p.status IN ('scheduled', 'pending') THEN 'pending'
        ELSE 'unmatched'
    END AS recon_state,
    current_date - coalesce(p.arrival_date, p.payout_date) AS age_days
FROM orders.payouts AS p
INNER JOIN orders.channels AS c ON p.tenant_id = c.tenant_id AND p.channel_id = c.channel_id
LEFT JOIN analytics.fct_payout_sources AS s
    ON p.tenant_id = s.tenant_id AND p.channel_id = s.channel_id AND p.payout_id = s.payout_id
LEFT JOIN books.documents AS d
    ON
        p.tenant_id = d.tenant_id AND d.source_type = 'payout'
        AND d.source_id = p.channel_id || ':' || p.payout_id AND d.source_role = 'main'
LEFT JOIN ingest.bank_matches AS m
    ON p.tenant_id = m.tenant_id AND p.channel_id = m.channel_id AND p.payout_id = m.payout_id
LEFT JOIN ingest.bank_lines AS l ON m.tenant_id = l.tenant_id AND m.bank_line_id = l.bank_line_id;

COMMENT ON VIEW analytics.rpt_payout_reconciliation IS
'One row per payout: balance transactions, accounting document, matched bank deposit and recon_state '
'(matched, unmatched, pending, not_paid, inconsistent_source_data), with age in days since expected arrival.';

CREATE VIEW analytics.rpt_clearing_balance AS
WITH flows AS (
    SELECT
        b.tenant_id,
        b.channel_id,
        b.currency,
        b.stated_net AS settled_net,
        0 AS paid_out,
        0 AS arrived_in_bank
    FROM analytics.fct_balance_sources AS b
    UNION ALL
    SELECT
        p.tenant_id,
        p.channel_id,
        p.currency,
        0 AS settled_net,
        p.amount AS paid_out,
        CASE WHEN m.payout_id IS NOT NULL THEN p.amount ELSE 0 END AS arrived_in_bank
    FROM orders.payouts AS p
    LEFT JOIN ingest.bank_matches AS m
        ON p.tenant_id = m.tenant_id AND p.channel_id = m.channel_id AND p.payout_id = m.payout_id
    WHERE p.status IN ('paid', 'in_transit')
)

SELECT
    f.tenant_id,
    c.platform AS processor,
    f.currency,
    sum(f.settled_net) AS settled_net,
    sum(f.paid_out) AS paid_out,
    sum(f.arrived_in_bank) AS arrived_in_bank,
    sum(f.settled_net) - sum(f.paid_out) AS clearing_balance,
    sum(f.paid_out) - sum(f.arrived_in_bank) AS in_transit_to_bank
FROM flows AS f
INNER JOIN orders.channels AS c ON f.tenant_id = c.tenant_id AND f.channel_id = c.channel_id
GROUP BY f.tenant_id, c.platform, f.currency;

COMMENT ON VIEW analytics.rpt_clearing_balance IS
'Processor clearing account per tenant, processor and currency: net settled into the processor balance, paid out, '
'arrived in the bank (matched), the clearing balance still held by the processor and the amount in transit.';

GRANT SELECT ON analytics.fct_balance_sources_live, analytics.fct_balance_sources, analytics.fct_payout_sources,
analytics.rpt_payout_reconciliation, analytics.rpt_clearing_balance
TO pgbooks_analyst, pgbooks_operator;

CREATE FUNCTION api.payout_rollup__refresh(p_tenant_id text, p_all boolean DEFAULT FALSE)
RETURNS integer
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_payouts integer;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM orders.tenants AS t WHERE t.tenant_id = p_tenant_id) THEN
        RAISE EXCEPTION USING ERRCODE = 'PB801', MESSAGE = format('unknown tenant %L', p_tenant_id);
    END IF;
    -- one refresher per tenant at a time; the statement below then starts with a fresh snapshot
    PERFORM pg_advisory_xact_lock(hashtext('pgbooks.payout_rollup'), hashtext(p_tenant_id));
    IF p_all THEN
        -- every payout of the tenant, e.g. after a bulk load with triggers off: one grouping pass
        WITH cleared AS (
            DELETE FROM books.payout_dirty AS m WHERE m.tenant_id = p_tenant_id
            RETURNING m.mark_id
        ),

        dropped AS (
            DELETE FROM books.payout_rollup AS r WHERE r.tenant_id = p_tenant_id
            RETURNING r.rollup_id
        ),

        fresh AS (
            INSERT INTO books.payout_rollup (
                tenant_id, channel_id, payout_id, currency, bt_count, charges_gross, processor_fees,
                refunds, chargebacks, adjustments, computed_net, stated_net
            )
            SELECT
                x.tenant_id, x.channel_id, x.payout_id, x.currency, x.bt_count, x.charges_gross,
                x.processor_fees, x.refunds, x.chargebacks, x.adjustments, x.computed_net, x.stated_net
            FROM analytics.fct_balance_sources_live AS x
            WHERE x.tenant_id = p_tenant_id AND x.payout_id IS NOT NULL
            RETURNING channel_id, payout_id
        )

        SELECT count(*) INTO v_payouts FROM (SELECT DISTINCT f.channel_id, f.payout_id FROM fresh AS f) AS k;
        -- the views plan with these statistics; after a bulk load they would still count none
        ANALYZE books.payout_rollup;
        RETURN v_payouts;
    END IF;
    -- One statement, one snapshot: the marks it removes are exactly those whose changes it sees;
    -- a mark committed meanwhile survives and its payout stays live.
    WITH keys AS (
        SELECT DISTINCT
            m.channel_id,
            m.payout_id
        FROM books.payout_dirty AS m
        WHERE m.tenant_id = p_tenant_id
    ),

    cleared AS (
        DELETE FROM books.payout_dirty AS m WHERE m.tenant_id = p_tenant_id
        RETURNING m.mark_id
    ),

    dropped AS (
        DELETE FROM books.payout_rollup AS r
        USING keys AS k
        WHERE r.tenant_id = p_tenant_id AND r.channel_id = k.channel_id AND r.payout_id = k.payout_id
        RETURNING r.rollup_id
    ),

    fresh AS (
        -- per changed payout, its balance transactions by index range
        INSERT INTO books.payout_rollup (
            tenant_id, channel_id, payout_id, currency, bt_count, charges_gross, processor_fees,
            refunds, chargebacks, adjustments, computed_net, stated_net
        )
        SELECT
            x.tenant_id, x.channel_id, x.payout_id, x.currency, x.bt_count, x.charges_gross,
            x.processor_fees, x.refunds, x.chargebacks, x.adjustments, x.computed_net, x.stated_net
        FROM keys AS k
        CROSS JOIN LATERAL (
            SELECT y.*
            FROM analytics.fct_balance_sources_live AS y
            WHERE y.tenant_id = p_tenant_id AND y.channel_id = k.channel_id AND y.payout_id = k.payout_id
            ORDER BY y.currency
            OFFSET 0
        ) AS x
        RETURNING rollup_id
    )

    SELECT count(*) INTO v_payouts FROM keys;
    RETURN v_payouts;
END;
$$;

COMMENT ON FUNCTION api.payout_rollup__refresh(text, boolean) IS
'Recomputes books.payout_rollup for the tenant''s payouts whose balance transactions changed (p_all: every '
'payout, e.g. after a bulk load with triggers off) from analytics.fct_balance_sources_live and clears their '
'marks, in one statement; returns the number of payouts recomputed. Safe to run concurrently with writers '
'(pgbooks recon refresh).';

GRANT EXECUTE ON FUNCTION api.payout_rollup__refresh(text, boolean) TO pgbooks_worker, pgbooks_operator;
