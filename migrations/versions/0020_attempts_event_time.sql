-- 0020 sync.attempts time index: health over a recent window without scanning the whole log.
-- Mirrors sql/tables/sync/attempts.sql.

-- Health over a recent window (analytics.rpt_sync_health, api.realms__status): accepted and failed
-- requests of the last minute / hour and the last success per tenant are index ranges per event.
CREATE INDEX attempts_event_time ON sync.attempts (tenant_id, event, created_at);
