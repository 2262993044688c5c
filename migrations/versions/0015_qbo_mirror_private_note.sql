-- 0015 qbo_mirror private_note: documents without a DocNumber are recognised in the imported mirror
-- by the marker pgbooks writes into PrivateNote. Mirrors sql/tables/sync/qbo_mirror.sql.

CREATE INDEX qbo_mirror_private_note ON sync.qbo_mirror (tenant_id, realm_id, entity, (raw ->> 'PrivateNote'))
WHERE raw ->> 'PrivateNote' LIKE 'pgbooks %';
