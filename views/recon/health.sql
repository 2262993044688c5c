-- Sync health per realm and completeness per day and source. Sync health is built ON
-- api.realms__status() (sql/code/sync/status.sql), the one definition of backlog, held entries,
-- oldest pending age, accepted/failed requests, last success and token expiry that
-- `pgbooks status` also prints; this view only adds ratios and the rate-limit headroom.

CREATE VIEW analytics.rpt_sync_health AS
SELECT
    s.tenant_id,
    s.realm_id,
    s.paused,
    s.paused_reason,
    s.backlog,
    s.held,
    s.oldest_pending_s,
    s.accepted_5m,
    s.accepted_1h,
    round(s.accepted_1h / 60.0, 2) AS throughput_per_min,
    s.failures_1h,
    round(100.0 * s.failures_1h / nullif(s.accepted_1h + s.failures_1h, 0), 2) AS error_rate_pct,
    s.last_success_at,
    s.access_expires_at,
    s.refresh_hard_expires_at,
    s.refresh_hard_expires_at - now() AS reconnect_within,
    coalesce(st.per_minute, 500) AS rate_limit_per_minute,
    coalesce(r.requests_1m, 0) AS requests_last_minute,
    greatest(coalesce(st.per_minute, 500) - coalesce(r.requests_1m, 0), 0) AS rate_headroom_per_minute,
    round(
        100.0 * greatest(coalesce(st.per_minute, 500) - coalesce(r.requests_1m, 0), 0)
        / coalesce(st.per_minute, 500),
        1
    ) AS rate_headroom_pct,
    CASE WHEN b.blocked_until > now() THEN b.blocked_until END AS throttled_until,
    s.open_exceptions
FROM api.realms__status() AS s
LEFT JOIN sync.settings AS st ON s.tenant_id = st.tenant_id
LEFT JOIN sync.rate_buckets AS b ON s.tenant_id = b.tenant_id
LEFT JOIN LATERAL (
    SELECT count(DISTINCT a.request_id) AS requests_1m
    FROM sync.attempts AS a
    WHERE
        a.tenant_id = s.tenant_id
        AND a.request_id IS NOT NULL
        AND a.created_at > now() - interval '1 minute'
        AND a.event IN (
            'accepted', 'transient', 'ambiguous', 'data_fault', 'auth_fault', 'conflict', 'stale_retry'
        )
) AS r ON TRUE;

COMMENT ON VIEW analytics.rpt_sync_health IS
'Sync health per tenant/realm, on api.realms__status() (the definition `pgbooks status` prints): deliverable '
'backlog, held entries, oldest pending age (s), accepted requests (5 min, 1 h) and throughput per minute, '
'failures and error rate over the last hour, last success, token expiry and time left to reconnect, '
'QuickBooks requests in the last minute against the per-minute limit (headroom), throttled_until after a 429, '
'open exceptions.';

CREATE VIEW analytics.rpt_completeness AS
WITH sources AS (
    SELECT
        o.tenant_id,
        'order' AS source_type,
        o.channel_id,
        o.channel_id || ':' || o.order_id AS source_id,
        analytics.order__recon_day(o.placed_at, o.recorded_at) AS day,
        o.currency,
        o.stated_total AS amount,
        s.posting_mode = 'per_payout' AS summarized
    FROM orders.orders AS o
    LEFT JOIN books.tenant_settings AS s ON o.tenant_id = s.tenant_id
    WHERE NOT o.is_test
    UNION ALL
    SELECT
        r.tenant_id,
        'refund' AS source_type,
        r.channel_id,
        r.channel_id || ':' || r.refund_id AS source_id,
        (coalesce(r.processed_at, r.recorded_at) AT TIME ZONE 'UTC')::date AS day,
        r.currency,
        r.amount,
        FALSE AS summarized
    FROM orders.refunds AS r
    UNION ALL
    SELECT
        p.tenant_id,
        'payout' AS source_type,
        p.channel_id,
        p.channel_id || ':' || p.payout_id AS source_id,
        p.payout_date AS day,
        p.currency,
        p.amount,
        FALSE AS summarized
    FROM orders.payouts AS p
    WHERE p.status = 'paid'
),

facts AS (
    SELECT
        x.tenant_id,
        x.day,
        x.source_type,
        x.channel_id,
        x.currency,
        count(*) AS source_count,
        sum(x.amount) AS source_amount,
        count(*) FILTER (WHERE x.summarized) AS summarized,
        count(d.document_id) AS documents,
        sum(d.total_amount) AS document_amount,
        count(ro.document_id) AS acknowledged,
        sum(d.total_amount) FILTER (WHERE ro.document_id IS NOT NULL) AS acknowledged_amount
    FROM sources AS x
    LEFT JOIN books.documents AS d
        ON
            x.tenant_id = d.tenant_id AND x.source_type = d.source_type
            AND x.source_id = d.source_id AND d.source_role = 'main' AND d.status <> 'cancelled'
    LEFT JOIN sync.remote_objects AS ro
        ON d.tenant_id = ro.tenant_id AND d.document_id = ro.document_id AND ro.remote_status = 'active'
    GROUP BY x.tenant_id, x.day, x.source_type, x.channel_id, x.currency
),

events AS (
    SELECT
        e.tenant_id,
        (e.received_at AT TIME ZONE 'UTC')::date AS day,
        e.channel_id,
        count(*) FILTER (WHERE e.status <> 'duplicate') AS events_received,
        count(*) FILTER (WHERE e.status = 'applied') AS events_applied,
        count(*) FILTER (WHERE e.status IN ('pending', 'quarantined')) AS events_unapplied
    FROM ingest.raw_events AS e
    GROUP BY e.tenant_id, (e.received_at AT TIME ZONE 'UTC')::date, e.channel_id
)

SELECT
    coalesce(f.tenant_id, e.tenant_id) AS tenant_id,
    coalesce(f.day, e.day) AS day,
    coalesce(f.source_type, 'webhook') AS source_type,
    coalesce(f.channel_id, e.channel_id) AS channel_id,
    f.currency,
    coalesce(e.events_received, 0) AS events_received,
    coalesce(e.events_unapplied, 0) AS events_unapplied,
    coalesce(f.source_count, 0) AS source_count,
    coalesce(f.source_amount, 0) AS source_amount,
    coalesce(f.summarized, 0) AS booked_in_payout_summary,
    coalesce(f.documents, 0) AS documents,
    coalesce(f.document_amount, 0) AS document_amount,
    coalesce(f.acknowledged, 0) AS acknowledged,
    coalesce(f.acknowledged_amount, 0) AS acknowledged_amount,
    CASE
        WHEN coalesce(e.events_unapplied, 0) > 0 THEN 'events_not_applied'
        WHEN coalesce(f.documents, 0) < coalesce(f.source_count, 0) - coalesce(f.summarized, 0)
            THEN 'missing_documents'
        WHEN coalesce(f.document_amount, 0) <> coalesce(f.source_amount, 0) AND coalesce(f.summarized, 0) = 0
            THEN 'amount_mismatch'
        WHEN coalesce(f.acknowledged, 0) < coalesce(f.documents, 0) THEN 'not_acknowledged'
        WHEN coalesce(f.acknowledged_amount, 0) <> coalesce(f.document_amount, 0) THEN 'acknowledged_amount_mismatch'
        ELSE 'complete'
    END AS completeness,
    coalesce(e.events_unapplied, 0) > 0
    OR coalesce(f.documents, 0) < coalesce(f.source_count, 0) - coalesce(f.summarized, 0)
    OR (coalesce(f.document_amount, 0) <> coalesce(f.source_amount, 0) AND coalesce(f.summarized, 0) = 0)
    OR coalesce(f.acknowledged, 0) < coalesce(f.documents, 0)
    OR coalesce(f.acknowledged_amount, 0) <> coalesce(f.document_amount, 0) AS diverges
FROM facts AS f
FULL JOIN events AS e
    ON
        f.tenant_id = e.tenant_id AND f.day = e.day AND f.channel_id = e.channel_id
        AND f.source_type = 'order';

COMMENT ON VIEW analytics.rpt_completeness IS
'Completeness per tenant, day (UTC), source (order, refund, payout; webhook for days with deliveries only) and '
'channel: webhook deliveries received and not applied (pending or quarantined; on the order row of the channel '
'and day), source facts (count and amount, test orders excluded, payouts once paid), their accounting documents '
'and the documents QuickBooks acknowledged (active remote object), with completeness = the first divergence '
'(events_not_applied, missing_documents, amount_mismatch, not_acknowledged, acknowledged_amount_mismatch) or '
'complete, and diverges = any of them (lost-event detection).';

GRANT SELECT ON analytics.rpt_sync_health, analytics.rpt_completeness TO pgbooks_analyst, pgbooks_operator;
GRANT EXECUTE ON FUNCTION api.realms__status() TO pgbooks_analyst;
