-- sync.qbo_backfill_checkpoints: where a historical backfill stands, so a run that was killed
-- resumes where the last committed step left it. One row per (tenant, kind, scope): an import
-- step per realm and entity (cursor = next STARTPOSITION), a repost per date range (cursor = the
-- last order handled). The cursor moves in the same transaction as the rows it covers.

CREATE TABLE sync.qbo_backfill_checkpoints (
    tenant_id text NOT NULL REFERENCES orders.tenants (tenant_id),
    kind text NOT NULL,
    scope text NOT NULL,
    cursor jsonb NOT NULL DEFAULT '{}',
    done_count bigint NOT NULL DEFAULT 0,
    completed boolean NOT NULL DEFAULT FALSE,
    started_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    completed_at timestamptz,
    PRIMARY KEY (tenant_id, kind, scope),
    CONSTRAINT qbo_backfill_checkpoints_kind_known CHECK (kind IN ('import', 'repost')),
    CONSTRAINT qbo_backfill_checkpoints_done_count_positive CHECK (done_count >= 0),
    CONSTRAINT qbo_backfill_checkpoints_completed_at CHECK (completed = (completed_at IS NOT NULL))
);

COMMENT ON TABLE sync.qbo_backfill_checkpoints IS
'Resume point of each QuickBooks import (per realm and entity) and order repost (per date range). '
'[audit: skip] coordination state rewritten on every page; what it covers is in sync.qbo_mirror / sync.outbox.';
COMMENT ON COLUMN sync.qbo_backfill_checkpoints.tenant_id IS 'Owning tenant.';
COMMENT ON COLUMN sync.qbo_backfill_checkpoints.kind IS 'import (QuickBooks → mirror) or repost (orders → outbox).';
COMMENT ON COLUMN sync.qbo_backfill_checkpoints.scope IS
'What the row covers: <realm>:<Entity> for an import, <from>..<to> (dates, to excluded) for a repost.';
COMMENT ON COLUMN sync.qbo_backfill_checkpoints.cursor IS
'Resume point: {"start": n} (next STARTPOSITION) or {"at", "channel_id", "order_id"} (last order handled).';
COMMENT ON COLUMN sync.qbo_backfill_checkpoints.done_count IS 'Rows (entities or orders) handled so far.';
COMMENT ON COLUMN sync.qbo_backfill_checkpoints.completed IS 'True once the scope was read to its end.';
COMMENT ON COLUMN sync.qbo_backfill_checkpoints.started_at IS 'When the first step of this scope ran.';
COMMENT ON COLUMN sync.qbo_backfill_checkpoints.updated_at IS 'When the cursor last moved.';
COMMENT ON COLUMN sync.qbo_backfill_checkpoints.completed_at IS 'When the scope was completed.';
