-- Order <-> accounting document reconciliation, and accuracy per tenant and month. The main
-- document of an order is books.documents (source_type order, source_id channel:order, role
-- main). An order is reconciled when it has a deliverable document whose total equals the
-- order's stated total to the cent; everything else says why (no document, blocked by an
-- exception, draft, amount difference, test order, per-payout posting).

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
        WHEN o.is_test THEN 'test_order'
        WHEN d.document_id IS NULL AND s.posting_mode = 'per_payout' THEN 'booked_in_payout_summary'
        WHEN d.document_id IS NULL THEN 'no_document'
        WHEN d.status = 'blocked' THEN 'blocked'
        WHEN d.status IN ('draft', 'cancelled') THEN d.status
        WHEN d.total_amount <> o.stated_total THEN 'amount_difference'
        ELSE 'reconciled'
    END AS recon_state,
    now() - coalesce(o.placed_at, o.recorded_at) AS age
FROM orders.orders AS o
LEFT JOIN books.tenant_settings AS s ON o.tenant_id = s.tenant_id
LEFT JOIN books.documents AS d
    ON
        o.tenant_id = d.tenant_id AND d.source_type = 'order'
        AND d.source_id = o.channel_id || ':' || o.order_id AND d.source_role = 'main';

COMMENT ON VIEW analytics.rpt_order_reconciliation IS
'One row per order: its main accounting document, status, amounts (order total and tax vs document total), '
'difference, age and recon_state (reconciled, amount_difference, blocked, no_document, draft, cancelled, '
'test_order, booked_in_payout_summary).';

CREATE VIEW analytics.rpt_recon_accuracy AS
SELECT
    r.tenant_id,
    date_trunc('month', coalesce(r.placed_at, now()))::date AS period,
    r.currency,
    count(*) AS orders,
    count(*) FILTER (WHERE r.recon_state = 'reconciled') AS reconciled,
    count(*) FILTER (WHERE r.recon_state NOT IN ('reconciled', 'test_order', 'booked_in_payout_summary'))
        AS not_reconciled,
    sum(r.order_total) FILTER (WHERE r.recon_state <> 'test_order') AS order_amount,
    sum(r.order_total) FILTER (WHERE r.recon_state = 'reconciled') AS reconciled_amount,
    round(
        100.0 * count(*) FILTER (WHERE r.recon_state = 'reconciled')
        / nullif(count(*) FILTER (WHERE r.recon_state NOT IN ('test_order', 'booked_in_payout_summary')), 0),
        2
    ) AS accuracy_pct
FROM analytics.rpt_order_reconciliation AS r
GROUP BY r.tenant_id, date_trunc('month', coalesce(r.placed_at, now()))::date, r.currency;

COMMENT ON VIEW analytics.rpt_recon_accuracy IS
'Reconciliation accuracy per tenant, month (of placed_at) and currency: orders, reconciled, not reconciled, '
'amounts, and accuracy_pct = reconciled / bookable orders (test orders and payout-summary orders excluded).';

GRANT SELECT ON analytics.rpt_order_reconciliation, analytics.rpt_recon_accuracy TO pgbooks_analyst, pgbooks_operator;
