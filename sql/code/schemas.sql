-- Code schemas hold only functions and views. They are dropped and recreated on every
-- reload (one transaction), so no stale function or overload survives a deploy. Nothing in a
-- data schema may depend on them (no column default, constraint or index calls logic.*):
-- the reload would drop it. Triggers are code too: their CREATE TRIGGER lives in sql/code.

DROP SCHEMA IF EXISTS api CASCADE;
DROP SCHEMA IF EXISTS analytics CASCADE;
DROP SCHEMA IF EXISTS close CASCADE;
DROP SCHEMA IF EXISTS logic CASCADE;

CREATE SCHEMA logic;
CREATE SCHEMA api;
CREATE SCHEMA analytics;
CREATE SCHEMA close;

COMMENT ON SCHEMA logic IS 'Internal functions and trigger functions; not called by clients.';
COMMENT ON SCHEMA api IS
'The only functions the worker and the CLI call (claim, complete, fail, ...); a leaf schema.';
COMMENT ON SCHEMA analytics IS
'The analyst contract: reconciliation, exception, health and completeness views (additive only).';
COMMENT ON SCHEMA close IS 'Period close and export functions for DBAs and controllers.';

GRANT USAGE ON SCHEMA api TO pgbooks_worker, pgbooks_operator, pgbooks_approver, pgbooks_closer;
GRANT USAGE ON SCHEMA analytics TO pgbooks_analyst, pgbooks_operator;
GRANT USAGE ON SCHEMA close TO pgbooks_closer;
