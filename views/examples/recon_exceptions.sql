-- The open exception queue: reason, who must act, remedy.
SELECT
    reason_code,
    category,
    fault,
    source_type,
    source_id,
    status,
    remedy
FROM analytics.rpt_exceptions
WHERE tenant_id = 'demo' AND status = 'open'
ORDER BY exception_id;
