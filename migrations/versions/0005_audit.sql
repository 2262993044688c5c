-- 0005 audit: hash-chained audit log, signed checkpoints, four-eyes overrides, periods.
-- Mirrors sql/tables/audit/LOADORDER exactly (tests/foundation/test_schema_drift.py).

-- audit.events: the append-only, hash-chained audit log, one chain per tenant.
-- Each row links to its predecessor: hash = sha256(prev_hash || canonical encoding of the row)
-- (logic.audit__canonical; genesis prev_hash = 32 zero bytes). seq is assigned under a
-- per-tenant advisory lock and the head is read from the last row (no head table updated per
-- row: that is quadratic under load). UPDATE, DELETE and TRUNCATE are refused by triggers and
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
    row_key jsonb,
    before jsonb,
    after jsonb,
    prev_hash bytea NOT NULL,
    hash bytea NOT NULL,
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
COMMENT ON COLUMN audit.events.row_key IS 'Primary key of the changed row as a JSON object (column -> value).';
COMMENT ON COLUMN audit.events.before IS
'Row before the change: whole row for DELETE, only the changed columns for UPDATE, NULL for INSERT.';
COMMENT ON COLUMN audit.events.after IS
'Row after the change: whole row for INSERT, only the changed columns for UPDATE, NULL for DELETE; '
'action details for ACTION.';
COMMENT ON COLUMN audit.events.prev_hash IS 'hash of the previous event of the tenant chain (32 zero bytes for seq 1).';
COMMENT ON COLUMN audit.events.hash IS
'sha256(prev_hash || utf8 canonical encoding of this row), see logic.audit__canonical.';

-- audit.checkpoints: signed statements "the chain of tenant T had head H at seq N at time X".
-- The Ed25519 key lives outside the database (pgbooks audit checkpoint --key / PGBOOKS_AUDIT_KEY);
-- the database only stores what was signed, so an auditor can check offline, with the public key
-- alone, that a later chain still contains every checkpointed head (the chain only grew).

CREATE TABLE audit.checkpoints (
    tenant_id text NOT NULL,
    seq bigint NOT NULL,
    head_hash bytea NOT NULL,
    signed_at timestamptz NOT NULL,
    statement text NOT NULL,
    public_key bytea NOT NULL,
    signature bytea NOT NULL,
    recorded_by text NOT NULL DEFAULT session_user,
    PRIMARY KEY (tenant_id, seq, public_key),
    CONSTRAINT checkpoints_seq_positive CHECK (seq >= 1),
    CONSTRAINT checkpoints_head_is_sha256 CHECK (octet_length(head_hash) = 32),
    CONSTRAINT checkpoints_public_key_is_ed25519 CHECK (octet_length(public_key) = 32),
    CONSTRAINT checkpoints_signature_is_ed25519 CHECK (octet_length(signature) = 64)
);

COMMENT ON TABLE audit.checkpoints IS
'Signed checkpoints of each tenant chain (Ed25519, key held outside the database); append-only.';
COMMENT ON COLUMN audit.checkpoints.tenant_id IS 'Tenant whose chain is checkpointed.';
COMMENT ON COLUMN audit.checkpoints.seq IS 'Sequence number of the chain head at signing time.';
COMMENT ON COLUMN audit.checkpoints.head_hash IS 'hash of audit.events at (tenant_id, seq) when signed.';
COMMENT ON COLUMN audit.checkpoints.signed_at IS 'When the statement was signed (also inside the statement).';
COMMENT ON COLUMN audit.checkpoints.statement IS
'The exact signed bytes (UTF-8 JSON: v, tenant_id, seq, head, signed_at); verifiers check the signature over it.';
COMMENT ON COLUMN audit.checkpoints.public_key IS 'Raw 32-byte Ed25519 public key of the signer.';
COMMENT ON COLUMN audit.checkpoints.signature IS 'Raw 64-byte Ed25519 signature over statement.';
COMMENT ON COLUMN audit.checkpoints.recorded_by IS 'Database login that stored the checkpoint.';

-- audit.overrides: four-eyes overrides (force-post, ignore exception, reopen or force-close a
-- period). Append-only: a request, then an approval by a different application user, then (once)
-- its use are three rows sharing override_id. The functions in close.* enforce the order.

CREATE TABLE audit.overrides (
    tenant_id text NOT NULL,
    override_id bigint NOT NULL,
    step text NOT NULL,
    action text NOT NULL,
    subject text NOT NULL,
    reason text NOT NULL,
    app_user text NOT NULL,
    db_role text NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (tenant_id, override_id, step),
    CONSTRAINT overrides_step_known CHECK (step IN ('request', 'approve', 'use')),
    CONSTRAINT overrides_action_known CHECK (
        action IN ('force_post', 'ignore_exception', 'reopen_period', 'close_period')
    ),
    CONSTRAINT overrides_reason_not_blank CHECK (btrim(reason) <> ''),
    CONSTRAINT overrides_app_user_not_blank CHECK (btrim(app_user) <> '')
);

CREATE SEQUENCE audit.override_ids;

COMMENT ON SEQUENCE audit.override_ids IS 'Source of override_id values.';
COMMENT ON TABLE audit.overrides IS
'Four-eyes overrides: request, approval by a different person, single use; append-only.';
COMMENT ON COLUMN audit.overrides.tenant_id IS 'Tenant the override applies to.';
COMMENT ON COLUMN audit.overrides.override_id IS 'Identifies one override across its request, approve and use rows.';
COMMENT ON COLUMN audit.overrides.step IS
'request (first signature), approve (second, different person), use (consumed once).';
COMMENT ON COLUMN audit.overrides.action IS
'What is overridden: force_post, ignore_exception, reopen_period, close_period.';
COMMENT ON COLUMN audit.overrides.subject IS
'What it applies to: a period (YYYY-MM), a document id or an exception id.';
COMMENT ON COLUMN audit.overrides.reason IS 'Why, in words, as given by the person signing this step.';
COMMENT ON COLUMN audit.overrides.app_user IS 'Application user (session setting pgbooks.user) who signed this step.';
COMMENT ON COLUMN audit.overrides.db_role IS 'Database login that signed this step.';
COMMENT ON COLUMN audit.overrides.recorded_at IS 'When this step was recorded.';

-- books.periods: accounting periods (calendar months) and whether they are closed. A row exists
-- once a period was closed (status closed) or reopened (status open); a month without a row is
-- open. Owned by the audit/close area (listed in sql/tables/audit/LOADORDER, migration 0005);
-- read by delivery through close.period__posting_date.

CREATE TABLE books.periods (
    tenant_id text NOT NULL REFERENCES orders.tenants (tenant_id),
    period_start date NOT NULL,
    period_end date NOT NULL,
    status text NOT NULL DEFAULT 'open',
    late_policy text NOT NULL DEFAULT 'reroute',
    closed_at timestamptz,
    closed_by text,
    override_id bigint,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, period_start),
    CONSTRAINT periods_is_a_month CHECK (
        period_start = date_trunc('month', period_start)::date
        AND period_end = (period_start + interval '1 month' - interval '1 day')::date
    ),
    CONSTRAINT periods_status_known CHECK (status IN ('open', 'closed')),
    CONSTRAINT periods_late_policy_known CHECK (late_policy IN ('reroute', 'refuse')),
    CONSTRAINT periods_closed_has_closer CHECK ((status = 'closed') = (closed_at IS NOT NULL))
);

COMMENT ON TABLE books.periods IS
'Accounting periods (months) per tenant and their close state; a month without a row is open.';
COMMENT ON COLUMN books.periods.tenant_id IS 'Owning tenant.';
COMMENT ON COLUMN books.periods.period_start IS 'First day of the month.';
COMMENT ON COLUMN books.periods.period_end IS 'Last day of the month.';
COMMENT ON COLUMN books.periods.status IS 'open or closed; nothing posts into a closed period.';
COMMENT ON COLUMN books.periods.late_policy IS
'What happens to a document dated in this closed period: reroute (to the first open date) or refuse (PB721).';
COMMENT ON COLUMN books.periods.closed_at IS 'When the period was (last) closed; NULL while open.';
COMMENT ON COLUMN books.periods.closed_by IS 'Application user (or role) who closed it.';
COMMENT ON COLUMN books.periods.override_id IS
'Four-eyes override used to close or reopen it, if any (audit.overrides).';
COMMENT ON COLUMN books.periods.updated_at IS 'When the row last changed.';

-- Privileges on the audit tables and books.periods. Nobody edits audit: no pgbooks role has
-- INSERT, UPDATE, DELETE or TRUNCATE; rows are written only by SECURITY DEFINER functions in
-- logic.* / close.* owned by the migrating role, which gives up UPDATE, DELETE and TRUNCATE on
-- the audit tables itself. Superusers bypass privileges (and can disable triggers): that is
-- what close.audit__verify and the signed checkpoints detect.

REVOKE ALL ON audit.events, audit.checkpoints, audit.overrides FROM public;
REVOKE UPDATE, DELETE, TRUNCATE ON audit.events, audit.checkpoints, audit.overrides FROM current_user;
REVOKE ALL ON SEQUENCE audit.override_ids FROM public;
GRANT USAGE ON SCHEMA audit TO pgbooks_closer;
GRANT SELECT ON audit.events, audit.checkpoints, audit.overrides TO pgbooks_closer;
GRANT USAGE ON SCHEMA books TO pgbooks_closer;
GRANT SELECT ON books.periods TO pgbooks_closer;
