-- Unmatched on either side: payouts that should have reached the bank but have no matched
-- deposit, and bank deposits no payout explains (yet). Both with an age and a reason.

CREATE VIEW analytics.rpt_bank_unmatched AS
SELECT
    r.tenant_id,
    'payout' AS side,
    r.channel_id || ':' || r.payout_id AS key,
    r.payout_amount AS amount,
    r.currency::text AS currency,
    r.expected_on AS on_date,
    current_date - r.expected_on AS age_days,
    CASE r.recon_state
        WHEN 'inconsistent_source_data' THEN 'balance transactions do not sum to the payout: not matched'
        ELSE 'no bank deposit of this amount within the window'
    END AS reason
FROM analytics.rpt_payout_reconciliation AS r
WHERE r.recon_state IN ('unmatched', 'inconsistent_source_data')
UNION ALL
SELECT
    l.tenant_id,
    'bank' AS side,
    l.account_id || ':' || l.bank_line_id AS key,
    l.amount,
    l.currency::text AS currency,
    l.booking_date AS on_date,
    current_date - l.booking_date AS age_days,
    'no payout matches this deposit' AS reason
FROM ingest.bank_lines AS l
WHERE
    l.amount > 0
    AND NOT EXISTS (
        SELECT FROM ingest.bank_matches AS m
        WHERE m.tenant_id = l.tenant_id AND m.bank_line_id = l.bank_line_id
    );

COMMENT ON VIEW analytics.rpt_bank_unmatched IS
'Payouts without a matched bank deposit (side payout, key channel:payout) and bank deposits without a payout '
'(side bank, key account:line), with amount, date, age in days and the reason.';

GRANT SELECT ON analytics.rpt_bank_unmatched TO pgbooks_analyst, pgbooks_operator;
