-- audit.events: the append-only, hash-chained audit log, one chain per tenant.
-- Each row links to its predecessor: hash = sha256(prev_hash || canonical) where canonical is the
-- stored text of the row (version 2: logic.audit__canonical_v2; version 1, rows written before
-- migration 0018: logic.audit__canonical); genesis prev_hash = 32 zero bytes. row_key, before and
-- after are generated from canonical (they cannot be edited apart from the hashed bytes); the
-- scalar columns must equal canonical's header (constraint events_header_matches). seq is assigned
-- under a per-tenant advisory lock and the head is read from the last row (no head table updated
-- per row: that is quadratic under load). UPDATE, DELETE and TRUNCATE are refused by triggers and
-- by privileges; a superuser who bypasses both is caught by close.audit__verify.

CREATE TABLE audit.events (
    tenant_id text NOT NULL,
    seq bigint NOT NULL,
    event_time timestamptz NOT NULL,
    txid bigint NOT NULL,
    db_role text NOT NULL,
    app_user text,
    reason_code text NOT NULL,
    table_name text NOT NULL,
    operation text NOT NULL,
    prev_hash bytea NOT NULL,
    hash bytea NOT NULL,
    version smallint NOT NULL,
    canonical text NOT NULL,
    row_key jsonb GENERATED ALWAYS AS (
        CASE
            WHEN version = 1 THEN nullif((canonical::jsonb) -> 10, 'null'::jsonb)
            ELSE nullif(split_part(canonical, E'\n', 2), '')::jsonb
        END
    ) STORED,
    before jsonb GENERATED ALWAYS AS (
        CASE
            WHEN version = 1 THEN nullif((canonical::jsonb) -> 11, 'null'::jsonb)
            ELSE nullif(split_part(canonical, E'\n', 3), '')::jsonb
        END
    ) STORED,
    after jsonb GENERATED ALWAYS AS (
        CASE
            WHEN version = 1 THEN nullif((canonical::jsonb) -> 12, 'null'::jsonb)
            ELSE nullif(split_part(canonical, E'\n', 4), '')::jsonb
        END
    ) STORED,
    PRIMARY KEY (tenant_id, seq),
    CONSTRAINT events_seq_positive CHECK (seq >= 1),
    CONSTRAINT events_hash_is_sha256 CHECK (octet_length(hash) = 32 AND octet_length(prev_hash) = 32),
    CONSTRAINT events_operation_known CHECK (operation IN ('INSERT', 'UPDATE', 'DELETE', 'ACTION')),
    CONSTRAINT events_reason_code_known CHECK (reason_code IN (
        'DATA_CHANGE', 'SOURCE_DATA', 'BOOKS_RULE', 'SYNC_DELIVERY', 'OUTBOX_TRANSITION',
        'REQUEST_SENT', 'RESPONSE_RECEIVED', 'EXCEPTION_ACTION', 'SETTING_CHANGE',
        'MANUAL_CORRECTION', 'OVERRIDE_REQUESTED', 'OVERRIDE_APPROVED', 'OVERRIDE_USED',
        'PERIOD_CLOSED', 'PERIOD_REOPENED', 'PERIOD_EXPORTED', 'LATE_POSTING_REROUTED',
        'CHECKPOINT_SIGNED'
    )),
    CONSTRAINT events_version_known CHECK (version IN (1, 2)),
    -- the scalar columns equal the header of the hashed text (logic.audit__header), checked at
    -- every write, so verify need not recompute it (it checks that this constraint still holds)
    CONSTRAINT events_header_matches CHECK (starts_with(
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
    ))
);

COMMENT ON TABLE audit.events IS
'Append-only audit log: every state change of orders, ingest, books and sync rows (and every override, close '
'and checkpoint), hash-chained per tenant.';
COMMENT ON COLUMN audit.events.tenant_id IS 'Tenant whose chain the event belongs to.';
COMMENT ON COLUMN audit.events.seq IS
'Position in the tenant chain: 1, 2, 3... without gaps, assigned under an advisory lock.';
COMMENT ON COLUMN audit.events.event_time IS
'Wall-clock time the event was recorded (hashed as UTC microseconds since the epoch).';
COMMENT ON COLUMN audit.events.txid IS
'Transaction id (pg_current_xact_id) of the change: events of one transaction share it.';
COMMENT ON COLUMN audit.events.db_role IS
'Database role that made the change (session_user/current_user at the change).';
COMMENT ON COLUMN audit.events.app_user IS
'Application user from the session setting pgbooks.user, when the caller set one.';
COMMENT ON COLUMN audit.events.reason_code IS
'Why the change happened (taxonomy: constraint events_reason_code_known, README "Audit"): session setting '
'pgbooks.reason, else derived from the schema.';
COMMENT ON COLUMN audit.events.table_name IS 'schema.table of the changed row, or the action name for ACTION events.';
COMMENT ON COLUMN audit.events.operation IS
'INSERT, UPDATE, DELETE (row changes) or ACTION (override, close, checkpoint).';
COMMENT ON COLUMN audit.events.prev_hash IS 'hash of the previous event of the tenant chain (32 zero bytes for seq 1).';
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
