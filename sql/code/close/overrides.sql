-- Four-eyes overrides. An override is requested by one person, approved by a different person
-- (application users from pgbooks.user; the approver's login must hold pgbooks_approver), and
-- used once by the function it unlocks. Each step is an append-only row of audit.overrides and
-- an event of the tenant chain.

CREATE FUNCTION logic.audit__app_user() RETURNS text
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    v_user text := nullif(btrim(current_setting('pgbooks.user', true)), '');
BEGIN
    IF v_user IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'PB710',
            MESSAGE = 'pgbooks.user is not set: overrides and period close need a named person',
            HINT = 'SET pgbooks.user = ''alice@example.com'' (or pgbooks --user) before calling.';
    END IF;
    RETURN v_user;
END
$$;

COMMENT ON FUNCTION logic.audit__app_user() IS
'The application user of the session (pgbooks.user); PB710 when unset.';

CREATE FUNCTION close.override__request(
    p_tenant_id text, p_action text, p_subject text, p_reason text
) RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_id bigint := nextval('audit.override_ids');
    v_user text := logic.audit__app_user();
BEGIN
    INSERT INTO audit.overrides (tenant_id, override_id, step, action, subject, reason, app_user, db_role)
    VALUES (p_tenant_id, v_id, 'request', p_action, p_subject, p_reason, v_user, logic.audit__actor());
    PERFORM logic.audit__append(
        p_tenant_id, 'OVERRIDE_REQUESTED', 'audit.override', jsonb_build_object('override_id', v_id),
        jsonb_build_object('action', p_action, 'subject', p_subject, 'reason', p_reason, 'requested_by', v_user)
    );
    RETURN v_id;
END
$$;

COMMENT ON FUNCTION close.override__request(text, text, text, text) IS
'First signature of a four-eyes override (force_post, ignore_exception, reopen_period, close_period); returns its id.';

CREATE FUNCTION close.override__approve(p_tenant_id text, p_override_id bigint, p_reason text) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_req audit.overrides;
    v_user text := logic.audit__app_user();
    v_role text := logic.audit__actor();
BEGIN
    SELECT * INTO v_req FROM audit.overrides AS o
    WHERE o.tenant_id = p_tenant_id AND o.override_id = p_override_id AND o.step = 'request';
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'PB711',
            MESSAGE = format('override %s of tenant %s does not exist', p_override_id, p_tenant_id);
    END IF;
    IF v_req.app_user = v_user THEN
        RAISE EXCEPTION USING ERRCODE = 'PB712',
            MESSAGE = format('override %s: approver %s is the requester; a second, different person must approve',
                p_override_id, v_user);
    END IF;
    IF NOT (pg_has_role(v_role, 'pgbooks_approver', 'MEMBER')
            OR EXISTS (SELECT FROM pg_catalog.pg_roles AS r WHERE r.rolname = v_role AND r.rolsuper)) THEN
        RAISE EXCEPTION USING ERRCODE = 'PB713',
            MESSAGE = format('override %s: role %s is not a member of pgbooks_approver', p_override_id, v_role);
    END IF;
    INSERT INTO audit.overrides (tenant_id, override_id, step, action, subject, reason, app_user, db_role)
    VALUES (p_tenant_id, p_override_id, 'approve', v_req.action, v_req.subject, p_reason, v_user, v_role);
    PERFORM logic.audit__append(
        p_tenant_id, 'OVERRIDE_APPROVED', 'audit.override', jsonb_build_object('override_id', p_override_id),
        jsonb_build_object(
            'action', v_req.action, 'subject', v_req.subject, 'reason', p_reason,
            'requested_by', v_req.app_user, 'approved_by', v_user
        )
    );
END
$$;

COMMENT ON FUNCTION close.override__approve(text, bigint, text) IS
'Second signature of an override: a different application user whose role is in pgbooks_approver (PB712/PB713).';

-- Called by the function an override unlocks: checks it is approved, for this action and
-- subject, and unused; consumes it (a second use is refused by the primary key).
CREATE FUNCTION logic.override__use(
    p_tenant_id text, p_override_id bigint, p_action text, p_subject text
) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_req audit.overrides;
BEGIN
    SELECT * INTO v_req FROM audit.overrides AS o
    WHERE o.tenant_id = p_tenant_id AND o.override_id = p_override_id AND o.step = 'request';
    IF NOT FOUND OR v_req.action <> p_action OR v_req.subject <> p_subject THEN
        RAISE EXCEPTION USING ERRCODE = 'PB711',
            MESSAGE = format('override %s is not a %s override for %s of tenant %s',
                p_override_id, p_action, p_subject, p_tenant_id);
    END IF;
    IF NOT EXISTS (
        SELECT FROM audit.overrides AS o
        WHERE o.tenant_id = p_tenant_id AND o.override_id = p_override_id AND o.step = 'approve'
    ) THEN
        RAISE EXCEPTION USING ERRCODE = 'PB714',
            MESSAGE = format('override %s is not approved yet: a second person must run close.override__approve',
                p_override_id);
    END IF;
    IF EXISTS (
        SELECT FROM audit.overrides AS o
        WHERE o.tenant_id = p_tenant_id AND o.override_id = p_override_id AND o.step = 'use'
    ) THEN
        RAISE EXCEPTION USING ERRCODE = 'PB715', MESSAGE = format('override %s was already used', p_override_id);
    END IF;
    INSERT INTO audit.overrides (tenant_id, override_id, step, action, subject, reason, app_user, db_role)
    VALUES (
        p_tenant_id, p_override_id, 'use', p_action, p_subject, 'used by ' || p_action,
        coalesce(nullif(current_setting('pgbooks.user', true), ''), logic.audit__actor()), logic.audit__actor()
    );
    PERFORM logic.audit__append(
        p_tenant_id, 'OVERRIDE_USED', 'audit.override', jsonb_build_object('override_id', p_override_id),
        jsonb_build_object('action', p_action, 'subject', p_subject)
    );
END
$$;

COMMENT ON FUNCTION logic.override__use(text, bigint, text, text) IS
'Consumes an approved override for one action and subject (PB711 wrong, PB714 unapproved, PB715 used).';

CREATE FUNCTION close.override__check(
    p_tenant_id text, p_override_id bigint, p_action text, p_subject text
) RETURNS void
LANGUAGE sql VOLATILE
AS $$ SELECT logic.override__use(p_tenant_id, p_override_id, p_action, p_subject) $$;

COMMENT ON FUNCTION close.override__check(text, bigint, text, text) IS
'For other areas (force_post, ignore_exception): consume an approved four-eyes override or fail.';
