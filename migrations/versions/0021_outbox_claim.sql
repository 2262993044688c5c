-- 0021 outbox claim: api.outbox__claim reads one realm's due entries in its claim order
-- (unresolved requests first, then by due time). Through outbox_due (due_at first) every visit
-- of a realm scanned the due entries of ALL realms: 50 realms with a backlog of 11,000 entries
-- cost ~80 ms per claim. Mirrors sql/tables/sync/outbox.sql.

CREATE INDEX outbox_tenant_due ON sync.outbox (tenant_id, (request_id IS NULL), due_at, document_id)
WHERE state = 'pending';
