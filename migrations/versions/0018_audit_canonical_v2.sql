-- 0018 audit canonical v2 (issue 7): every audit event stores the exact text it hashed
-- (audit.events.canonical) and a per-row encoding version; row_key/before/after become stored
-- generated columns parsed from that text, so they cannot be edited apart from the hashed bytes;
-- a CHECK makes the scalar columns equal the text's header; verification re-hashes stored bytes
-- (no jsonb printing) and checks that these definitions are intact. Existing rows get version 1 and
-- their v1 canonical text, rendered here exactly as logic.audit__canonical rendered it when they
-- were hashed: their hashes are unchanged (a row edited before this migration still fails).
-- Also the per-transaction staging tables of the commit-time append (audit.pending, .pending_tx).
-- Mirrors sql/tables/audit/events.sql and sql/tables/audit/pending.sql.

ALTER TABLE audit.events ADD COLUMN version smallint NOT NULL DEFAULT 1, ADD COLUMN canonical text;

-- the owner gave up UPDATE on the audit tables (grants.sql): taken back for this one backfill
GRANT UPDATE ON audit.events TO current_user;
ALTER TABLE audit.events DISABLE TRIGGER USER;
UPDATE audit.events
SET
    canonical = '[1, '
    || coalesce(to_json(tenant_id)::text, 'null') || ', '
    || coalesce(seq::text, 'null') || ', '
    || coalesce(((extract(EPOCH FROM event_time) * 1000000)::bigint)::text, 'null') || ', '
    || coalesce(txid::text, 'null') || ', '
    || coalesce(to_json(db_role)::text, 'null') || ', '
    || coalesce(to_json(app_user)::text, 'null') || ', '
    || coalesce(to_json(reason_code)::text, 'null') || ', '
    || coalesce(to_json(table_name)::text, 'null') || ', '
    || coalesce(to_json(operation)::text, 'null') || ', '
    || coalesce(row_key::text, 'null') || ', '
    || coalesce(before::text, 'null') || ', '
    || coalesce(after::text, 'null') || ']';
ALTER TABLE audit.events ENABLE TRIGGER USER;
REVOKE UPDATE ON audit.events FROM current_user;

ALTER TABLE audit.events ALTER COLUMN version DROP DEFAULT, ALTER COLUMN canonical SET NOT NULL;
ALTER TABLE audit.events DROP COLUMN row_key, DROP COLUMN before, DROP COLUMN after;
ALTER TABLE audit.events
ADD COLUMN row_key jsonb GENERATED ALWAYS AS (
    CASE
        WHEN version = 1 THEN nullif((canonical::jsonb) -> 10, 'null'::jsonb)
        ELSE nullif(split_part(canonical, E'\n', 2), '')::jsonb
    END
) STORED,
ADD COLUMN before jsonb GENERATED ALWAYS AS (
    CASE
        WHEN version = 1 THEN nullif((canonical::jsonb) -> 11, 'null'::jsonb)
        ELSE nullif(split_part(canonical, E'\n', 3), '')::jsonb
    END
) STORED,
ADD COLUMN after jsonb GENERATED ALWAYS AS (
    CASE
        WHEN version = 1 THEN nullif((canonical::jsonb) -> 12, 'null'::jsonb)
        ELSE nullif(split_part(canonical, E'\n', 4), '')::jsonb
    END
) STORED,
ADD CONSTRAINT events_version_known CHECK (version IN (1, 2)),
-- the scalar columns equal the header of the hashed text, checked at every write
ADD CONSTRAINT events_header_matches CHECK (starts_with(
    canonical, '[' || version::text || ', '
    || coalesce(to_json(tenant_id)::text, 'null') || ', '
    || seq::text || ', '
    || ((extract(EPOCH FROM event_time) * 1000000)::bigint)::text || ', '
    || txid::text || ', '
    || coalesce(to_json(db_role)::text, 'null') || ', '
    || coalesce(to_json(app_user)::text, 'null') || ', '
    || coalesce(to_json(reason_code)::text, 'null') || ', '
    || coalesce(to_json(table_name)::text, 'null') || ', '
    || coalesce(to_json(operation)::text, 'null')
    || CASE WHEN version = 1 THEN ', ' ELSE E']\n' END
));

COMMENT ON TABLE audit.events IS
'Append-only audit log: every state change of orders, ingest, books and sync rows (and every override, close '
'and checkpoint), hash-chained per tenant.';
COMMENT ON COLUMN audit.events.hash IS
'sha256(prev_hash || utf8 bytes of canonical): the stored text is what was hashed.';
COMMENT ON COLUMN audit.events.version IS
'Canonical encoding of the row: 1 = JSON array text (rows written before migration 0018), 2 = header line + '
'three snapshot lines (logic.audit__canonical_v2). A chain may switch from 1 to 2 at any link.';
COMMENT ON COLUMN audit.events.canonical IS
'The exact text hashed into the chain (UTF-8). row_key/before/after are generated from it; verification '
're-hashes it and checks that the scalar columns equal its header.';
COMMENT ON COLUMN audit.events.row_key IS
'Primary key of the changed row as a JSON object (column -> value); generated from canonical.';
COMMENT ON COLUMN audit.events.before IS
'Row before the change: whole row for DELETE, only the changed columns for UPDATE, NULL for INSERT; '
'generated from canonical.';
COMMENT ON COLUMN audit.events.after IS
'Row after the change: whole row for INSERT, only the changed columns for UPDATE, NULL for DELETE; '
'action details for ACTION; generated from canonical.';

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

REVOKE ALL ON audit.pending, audit.pending_tx FROM public;
