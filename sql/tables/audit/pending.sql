-- audit.pending / audit.pending_tx: the commit-time append (logic.audit__flush). Statement
-- triggers stage changed rows here; the first staged statement of a transaction inserts its
-- pending_tx row, whose deferred constraint trigger appends everything staged to the chains once,
-- at commit. Both tables are unlogged and empty outside running transactions.

CREATE UNLOGGED TABLE audit.pending (
    txid bigint NOT NULL,
    ord bigint GENERATED ALWAYS AS IDENTITY,
    tenant_id text,
    event_time timestamptz NOT NULL,
    db_role text NOT NULL,
    app_user text,
    reason_code text NOT NULL,
    table_name text NOT NULL,
    operation text NOT NULL,
    row_key jsonb,
    before jsonb,
    after jsonb,
    PRIMARY KEY (txid, ord)
);

COMMENT ON TABLE audit.pending IS
'Changes staged by the audit statement triggers of the running transaction; moved into audit.events (and '
'deleted) by one append at commit (logic.audit__flush). Unlogged: never holds committed rows.';
COMMENT ON COLUMN audit.pending.txid IS 'Transaction (pg_current_xact_id) that staged the change.';
COMMENT ON COLUMN audit.pending.ord IS 'Staging order: the order of the events in the chain.';
COMMENT ON COLUMN audit.pending.tenant_id IS 'Tenant of the changed row (NULL is refused at the append, PB702).';
COMMENT ON COLUMN audit.pending.event_time IS 'Time of the statement that made the change.';
COMMENT ON COLUMN audit.pending.db_role IS 'Database role acting at the change.';
COMMENT ON COLUMN audit.pending.app_user IS 'Session setting pgbooks.user at the change.';
COMMENT ON COLUMN audit.pending.reason_code IS 'Reason code at the change (pgbooks.reason or the default).';
COMMENT ON COLUMN audit.pending.table_name IS 'schema.table of the changed row, or the action name.';
COMMENT ON COLUMN audit.pending.operation IS 'INSERT, UPDATE, DELETE or ACTION.';
COMMENT ON COLUMN audit.pending.row_key IS 'Primary key of the changed row.';
COMMENT ON COLUMN audit.pending.before IS 'Row before the change (changed columns for UPDATE).';
COMMENT ON COLUMN audit.pending.after IS 'Row after the change (changed columns for UPDATE), or action details.';

CREATE UNLOGGED TABLE audit.pending_tx (
    txid bigint PRIMARY KEY
);

COMMENT ON TABLE audit.pending_tx IS
'One row per transaction with staged audit changes: its deferred constraint trigger runs the commit-time append.';
COMMENT ON COLUMN audit.pending_tx.txid IS 'Transaction (pg_current_xact_id) with staged changes.';
