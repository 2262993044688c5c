-- 0001 foundation: roles, schemas, privileges revoked from PUBLIC, deploy metadata.
-- Roles are cluster-wide, so they are created only when missing (several databases of one
-- cluster, e.g. the test databases, share them). They are NOLOGIN groups: grant them to the
-- login roles of your app, worker, analysts... (see README "Roles").

DO $roles$
DECLARE
    v_role text;
BEGIN
    FOREACH v_role IN ARRAY ARRAY[
        'pgbooks_owner', 'pgbooks_app', 'pgbooks_worker', 'pgbooks_analyst',
        'pgbooks_operator', 'pgbooks_approver', 'pgbooks_closer'
    ] LOOP
        IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = v_role) THEN
            EXECUTE format('CREATE ROLE %I NOLOGIN', v_role);
        END IF;
    END LOOP;
END
$roles$;

-- Nothing is granted to PUBLIC: every privilege is given to a named role on purpose.
REVOKE ALL ON SCHEMA public FROM public;
ALTER DEFAULT PRIVILEGES REVOKE EXECUTE ON FUNCTIONS FROM public;
ALTER DEFAULT PRIVILEGES REVOKE USAGE ON TYPES FROM public;

DO $db$
BEGIN
    EXECUTE format('REVOKE ALL ON DATABASE %I FROM PUBLIC', current_database());
    EXECUTE format(
        'GRANT CONNECT, TEMPORARY ON DATABASE %I TO pgbooks_owner, pgbooks_app, pgbooks_worker, '
        'pgbooks_analyst, pgbooks_operator, pgbooks_approver, pgbooks_closer',
        current_database()
    );
END
$db$;

-- Data schemas hold only tables (and their types, sequences, indexes).
CREATE SCHEMA IF NOT EXISTS meta;
CREATE SCHEMA orders;
CREATE SCHEMA ingest;
CREATE SCHEMA books;
CREATE SCHEMA sync;
CREATE SCHEMA audit;

COMMENT ON SCHEMA meta IS 'Deploy metadata: alembic version table and the log of code reloads.';
COMMENT ON SCHEMA orders IS
'Canonical commerce facts written by apps and normalizers: tenants, channels, orders, payments, refunds, payouts.';
COMMENT ON SCHEMA ingest IS 'Raw webhook deliveries stored verbatim before parsing, and normalizer state.';
COMMENT ON SCHEMA books IS
'Provider-neutral accounting documents derived from orders, and per-tenant posting settings.';
COMMENT ON SCHEMA sync IS
'Delivery to the accounting provider: outbox, attempts, locks, remote links, rate limits, connections, exceptions.';
COMMENT ON SCHEMA audit IS 'Append-only, hash-chained audit log per tenant and its signed checkpoints.';

CREATE TABLE meta.code_loads (
    load_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    checksum text NOT NULL,
    file_count integer NOT NULL,
    loaded_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    loaded_by text NOT NULL DEFAULT current_user,
    CONSTRAINT code_loads_checksum_is_sha256 CHECK (checksum ~ '^[0-9a-f]{64}$')
);

COMMENT ON TABLE meta.code_loads IS
'One row per reload of the replaceable code (sql/code, views); the newest checksum is what runs.';
COMMENT ON COLUMN meta.code_loads.load_id IS 'Surrogate key, increasing with each reload.';
COMMENT ON COLUMN meta.code_loads.checksum IS 'sha256 over the code files (paths and bytes) in LOADORDER order.';
COMMENT ON COLUMN meta.code_loads.file_count IS 'Number of code files loaded.';
COMMENT ON COLUMN meta.code_loads.loaded_at IS 'When the reload committed.';
COMMENT ON COLUMN meta.code_loads.loaded_by IS 'Database role that ran the reload.';
