-- Privileges on the audit tables and books.periods. Nobody edits audit: no pgbooks role has
-- INSERT, UPDATE, DELETE or TRUNCATE; rows are written only by SECURITY DEFINER functions in
-- logic.* / close.* owned by the migrating role, which gives up UPDATE, DELETE and TRUNCATE on
-- the audit tables itself. Superusers bypass privileges (and can disable triggers): that is
-- what close.audit__verify and the signed checkpoints detect.

REVOKE ALL ON audit.events, audit.checkpoints, audit.overrides, audit.pending, audit.pending_tx FROM public;
REVOKE UPDATE, DELETE, TRUNCATE ON audit.events, audit.checkpoints, audit.overrides FROM current_user;
REVOKE ALL ON SEQUENCE audit.override_ids FROM public;
GRANT USAGE ON SCHEMA audit TO pgbooks_closer;
GRANT SELECT ON audit.events, audit.checkpoints, audit.overrides TO pgbooks_closer;
GRANT USAGE ON SCHEMA books TO pgbooks_closer;
GRANT SELECT ON books.periods TO pgbooks_closer;
