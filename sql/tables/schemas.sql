-- Roles, schemas and default privileges: the foundation every other table file assumes.
-- Roles are cluster-wide: created only when missing, as NOLOGIN groups.

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
