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
