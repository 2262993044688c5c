-- sync.inbound_changes: every change QuickBooks told us about (webhook) or we found (CDC sweep),
-- one row per (entity, id, change time): a webhook replayed with another body, a retried
-- delivery and a sweep overlapping a webhook all land on the same row and are applied once.

CREATE TABLE sync.inbound_changes (
    tenant_id text NOT NULL REFERENCES sync.inbound_realms (tenant_id),
    change_id bigint GENERATED ALWAYS AS IDENTITY,
    realm_id text NOT NULL,
    entity text NOT NULL,
    remote_id text NOT NULL,
    operation text NOT NULL,
    changed_at timestamptz NOT NULL,
    source text NOT NULL,
    raw_event_id bigint,
    event_id text,
    seen integer NOT NULL DEFAULT 1,
    status text NOT NULL DEFAULT 'pending',
    attempts integer NOT NULL DEFAULT 0,
    outcome text,
    detail jsonb NOT NULL DEFAULT '{}',
    received_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    processed_at timestamptz,
    sync_token text,
    PRIMARY KEY (tenant_id, change_id),
    CONSTRAINT inbound_changes_one_per_change UNIQUE (tenant_id, realm_id, entity, remote_id, changed_at, operation),
    CONSTRAINT inbound_changes_operation_known CHECK (
        operation IN ('Create', 'Update', 'Delete', 'Void', 'Merge', 'Emailed')
    ),
    CONSTRAINT inbound_changes_source_known CHECK (source IN ('webhook', 'cdc', 'manual')),
    CONSTRAINT inbound_changes_status_known CHECK (status IN ('pending', 'applied', 'failed')),
    CONSTRAINT inbound_changes_outcome_when_done CHECK (status = 'pending' OR outcome IS NOT NULL)
);

CREATE INDEX inbound_changes_pending ON sync.inbound_changes (received_at) WHERE status = 'pending';
CREATE INDEX inbound_changes_recent ON sync.inbound_changes (tenant_id, received_at);

COMMENT ON TABLE sync.inbound_changes IS
'Changes made in QuickBooks (webhook or CDC), one row per entity change, applied once under the conflict policy. '
'[audit: skip] a capture queue (webhook and sweep repeats bump seen); every effect it has on the books '
'(exceptions, transactions, overrides, remote links) is audited where it lands.';
COMMENT ON COLUMN sync.inbound_changes.tenant_id IS 'Owning tenant.';
COMMENT ON COLUMN sync.inbound_changes.sync_token IS
'SyncToken of the version reported (CDC) or processed: QuickBooks stamps LastUpdatedTime to the second, so a '
'processed change reported again with another SyncToken is a second change in that second and is reopened.';
COMMENT ON COLUMN sync.inbound_changes.change_id IS 'Surrogate key, increasing in arrival order.';
COMMENT ON COLUMN sync.inbound_changes.realm_id IS 'QuickBooks company the change happened in.';
COMMENT ON COLUMN sync.inbound_changes.entity IS 'QuickBooks entity (Invoice, Payment, Customer, ...).';
COMMENT ON COLUMN sync.inbound_changes.remote_id IS 'QuickBooks Id of the changed object.';
COMMENT ON COLUMN sync.inbound_changes.operation IS
'Create, Update, Delete, Void, Merge or Emailed (CDC: Update or Delete).';
COMMENT ON COLUMN sync.inbound_changes.changed_at IS
'QuickBooks LastUpdatedTime of the change (event time for CloudEvents).';
COMMENT ON COLUMN sync.inbound_changes.source IS 'webhook, cdc (sweep) or manual.';
COMMENT ON COLUMN sync.inbound_changes.raw_event_id IS
'The stored webhook delivery (ingest.raw_events) that reported it.';
COMMENT ON COLUMN sync.inbound_changes.event_id IS 'CloudEvents id, when the notification had one.';
COMMENT ON COLUMN sync.inbound_changes.seen IS 'How many notifications or sweeps reported this same change.';
COMMENT ON COLUMN sync.inbound_changes.status IS 'pending (to fetch and compare), applied, failed (see outcome).';
COMMENT ON COLUMN sync.inbound_changes.attempts IS 'Processing attempts.';
COMMENT ON COLUMN sync.inbound_changes.outcome IS
'What was done: no_change, not_ours, accepted, pushed, review, deleted, voided, payment_recorded, ...';
COMMENT ON COLUMN sync.inbound_changes.detail IS 'Facts of the outcome (fields per policy, exception id, ...).';
COMMENT ON COLUMN sync.inbound_changes.received_at IS 'When the change was captured.';
COMMENT ON COLUMN sync.inbound_changes.processed_at IS 'When it was applied (or last failed).';
