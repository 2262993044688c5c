-- The exception queue for analysts: every exception with its remedy, QuickBooks fault, diff
-- preview, repetition count and aging bucket; and a per-tenant summary by reason and bucket.

CREATE VIEW analytics.rpt_exceptions AS
SELECT
    e.tenant_id,
    e.exception_id,
    e.reason_code,
    e.category,
    CASE
        WHEN e.category IN ('source_data') THEN 'source'
        WHEN e.category IN ('mapping', 'config') THEN 'merchant_setup'
        WHEN e.category IN ('remote', 'conflict') THEN 'quickbooks'
        WHEN e.category = 'verification' THEN 'pgbooks'
        ELSE 'none (transient)'
    END AS fault,
    e.status,
    e.document_id,
    e.source_type,
    e.source_id,
    e.message,
    e.qbo_fault ->> 'code' AS qbo_fault_code,
    e.qbo_fault,
    e.diff AS diff_preview,
    e.occurrences AS repetitions,
    analytics.exception__remedy(e.reason_code, e.category) AS remedy,
    e.first_seen_at,
    e.last_seen_at,
    coalesce(e.resolved_at, now()) - e.first_seen_at AS age,
    CASE
        WHEN coalesce(e.resolved_at, now()) - e.first_seen_at < interval '1 hour' THEN '0-1h'
        WHEN coalesce(e.resolved_at, now()) - e.first_seen_at < interval '1 day' THEN '1-24h'
        WHEN coalesce(e.resolved_at, now()) - e.first_seen_at < interval '3 days' THEN '1-3d'
        WHEN coalesce(e.resolved_at, now()) - e.first_seen_at < interval '7 days' THEN '3-7d'
        ELSE '>7d'
    END AS aging_bucket,
    e.resolved_by,
    e.resolution
FROM sync.exceptions AS e;

COMMENT ON VIEW analytics.rpt_exceptions IS
'Every exception: reason code, category, fault (who must act), QuickBooks fault, diff preview (what we would send '
'vs what is there), repetitions, remedy text, age and aging bucket (0-1h, 1-24h, 1-3d, 3-7d, >7d).';

CREATE VIEW analytics.rpt_exceptions_summary AS
SELECT
    x.tenant_id,
    x.reason_code,
    x.category,
    x.aging_bucket,
    count(*) AS open_exceptions,
    sum(x.repetitions) AS repetitions,
    min(x.first_seen_at) AS oldest
FROM analytics.rpt_exceptions AS x
WHERE x.status = 'open'
GROUP BY x.tenant_id, x.reason_code, x.category, x.aging_bucket;

COMMENT ON VIEW analytics.rpt_exceptions_summary IS
'Open exceptions per tenant, reason code and aging bucket, with repetitions and the oldest first-seen time.';

GRANT SELECT ON analytics.rpt_exceptions, analytics.rpt_exceptions_summary TO pgbooks_analyst, pgbooks_operator;
