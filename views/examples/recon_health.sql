-- Sync health of the demo realm (never connected in the seed: no realm, no requests yet).
SELECT
    tenant_id,
    realm_id,
    paused,
    backlog,
    held,
    accepted_1h,
    throughput_per_min,
    failures_1h,
    error_rate_pct,
    rate_limit_per_minute,
    requests_last_minute,
    rate_headroom_pct,
    throttled_until,
    open_exceptions
FROM analytics.rpt_sync_health
WHERE tenant_id = 'demo';
