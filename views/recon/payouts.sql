-- Payout reconciliation: payout <-> its balance transactions <-> accounting document (QuickBooks
-- deposit or journal entry) <-> bank deposit; the processor clearing balance; and the variance
-- of every payout attributed to causes. Amounts are in the payout's currency.

CREATE VIEW analytics.fct_payout_sources AS
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
WHERE b.payout_id IS NOT NULL AND b.type <> 'payout'
GROUP BY b.tenant_id, b.channel_id, b.payout_id, b.currency;

COMMENT ON VIEW analytics.fct_payout_sources IS
'Per payout: its balance transactions summed by kind (charges gross, processor fees, refunds, chargebacks, '
'adjustments), the net they compute (amount - fee) and the net the provider states; the payout row itself excluded.';

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
        b.net AS settled_net,
        0 AS paid_out,
        0 AS arrived_in_bank
    FROM orders.balance_transactions AS b
    WHERE b.type <> 'payout'
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

GRANT SELECT ON analytics.fct_payout_sources, analytics.rpt_payout_reconciliation, analytics.rpt_clearing_balance
TO pgbooks_analyst, pgbooks_operator;
