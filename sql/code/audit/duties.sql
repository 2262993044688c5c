-- Segregation of duties: the table and schema privileges of each role, re-applied on every
-- reload (tables created by later migrations are covered by the next reload). Function grants
-- live next to each function. The matrix (tests/audit/test_privileges.py):
--   pgbooks_app       reads and writes orders.* (the canonical facts it owns); nothing else
--   pgbooks_worker    no table privilege: executes api.* functions only
--   pgbooks_analyst   SELECT on analytics views only
--   pgbooks_operator  exception/override functions (api.*, close.override__request, receipts)
--   pgbooks_approver  close.override__approve (second signature)
--   pgbooks_closer    close.* functions, SELECT on audit.* and books.periods
--   everyone          no INSERT, UPDATE, DELETE or TRUNCATE on audit.* (definer functions write)
-- Row-level security (attach.sql) further limits app, analyst, operator, approver and closer
-- sessions to the tenant in pgbooks.tenant_id.

GRANT USAGE ON SCHEMA orders TO pgbooks_app;
GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA orders TO pgbooks_app;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA orders TO pgbooks_app;
REVOKE DELETE, TRUNCATE ON ALL TABLES IN SCHEMA orders FROM pgbooks_app;

-- Views are created after this file (views/ loads last): default privileges for what the
-- reloading role creates in analytics. The schema is recreated on each reload, and so is this.
ALTER DEFAULT PRIVILEGES IN SCHEMA analytics GRANT SELECT ON TABLES TO pgbooks_analyst;
