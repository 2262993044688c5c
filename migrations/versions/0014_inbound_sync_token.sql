-- 0014 inbound sync_token: two QuickBooks changes of one object in the same second (LastUpdatedTime
-- has one-second resolution) are told apart by SyncToken. Mirrors sql/tables/sync/inbound_changes.sql.

ALTER TABLE sync.inbound_changes ADD COLUMN sync_token text;

COMMENT ON COLUMN sync.inbound_changes.sync_token IS
'SyncToken of the version reported (CDC) or processed: QuickBooks stamps LastUpdatedTime to the second, so a '
'processed change reported again with another SyncToken is a second change in that second and is reopened.';
