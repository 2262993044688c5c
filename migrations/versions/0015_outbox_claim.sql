-- 0015 outbox claim: api.outbox__claim reads one realm's due entries in its claim order
-- (unresolved requests first, then by due time). Through outbox_due (due_at first) every visit
-- of a realm scanned the due entries of ALL realms: 50 realms with a backlog of 11,000 entries
-- cost ~80 ms per claim. send_at: a claim reserves up to one second of a realm's future tokens;
-- only the requests whose send time has come count against the realm's in-flight cap.
-- Mirrors sql/tables/sync/outbox.sql.

CREATE INDEX outbox_tenant_due ON sync.outbox (tenant_id, (request_id IS NULL), due_at, document_id)
WHERE state = 'pending';

ALTER TABLE sync.outbox ADD COLUMN send_at timestamptz;

COMMENT ON COLUMN sync.outbox.send_at IS
'When the claimed request may leave (its reserved token); a claimed request is in flight from then on.';
