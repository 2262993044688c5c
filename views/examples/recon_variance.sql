-- Every cent between sales and the bank, by cause; then the proof that nothing is unexplained.
SELECT
    processor,
    payout_id,
    cause,
    amount,
    detail
FROM analytics.rpt_payout_variance
WHERE tenant_id = 'demo' AND cause <> 'unposted_document'
ORDER BY processor, payout_id NULLS LAST, cause;

SELECT
    count(*) AS payouts,
    sum(total_difference) AS total_difference,
    sum(explained) AS explained,
    sum(total_difference - explained) AS unexplained
FROM analytics.rpt_payout_variance_check
WHERE tenant_id = 'demo';
