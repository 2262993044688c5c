-- Completeness per day and source: source facts vs documents vs QuickBooks acknowledgements,
-- and where they diverge (a quarantined delivery, a blocked document, documents not yet sent).
SELECT
    day,
    source_type,
    channel_id,
    events_received,
    events_unapplied,
    source_count,
    source_amount,
    documents,
    document_amount,
    acknowledged,
    acknowledged_amount,
    completeness,
    diverges
FROM analytics.rpt_completeness
WHERE tenant_id = 'demo'
ORDER BY day, source_type, channel_id;
