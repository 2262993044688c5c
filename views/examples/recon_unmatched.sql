-- What is unmatched on either side, and why.
SELECT
    side,
    key,
    amount,
    currency,
    on_date,
    reason
FROM analytics.rpt_bank_unmatched
WHERE tenant_id = 'demo'
ORDER BY side, on_date, key;
