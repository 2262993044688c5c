-- QuickBooks connections and OAuth token custody. Tokens arrive encrypted (the key never reaches
-- the database). Exactly one refresher per realm: api.connection__refresh_begin takes a
-- session-level advisory lock (no transaction stays open across the HTTP call); the refresher calls
-- the token endpoint while holding it, stores the rotated pair at once with
-- api.connection__store_tokens in its own short transaction (reconnecting if the database
-- connection was lost meanwhile) BEFORE using it, then api.connection__refresh_end releases the lock.

CREATE FUNCTION logic.connection__pause(p_tenant_id text, p_reason text)
RETURNS void
LANGUAGE plpgsql VOLATILE
AS $$
BEGIN
    UPDATE sync.connections AS c SET paused = true, paused_reason = p_reason, paused_at = now(), updated_at = now()
    WHERE c.tenant_id = p_tenant_id AND NOT c.paused;
    PERFORM logic.exception__raise(p_tenant_id, NULL, 'AUTH_EXPIRED', 'config',
        'QuickBooks access for this tenant is lost; delivery is paused until it is reconnected',
        jsonb_build_object('reason', p_reason, 'taxonomy', 'auth',
            'remedy', 'Run `pgbooks connect --tenant ' || p_tenant_id || '` to authorize again.'));
END;
$$;

COMMENT ON FUNCTION logic.connection__pause(text, text) IS
'Pauses delivery to a tenant''s realm and opens its AUTH_EXPIRED exception.';

CREATE FUNCTION api.connection__upsert(
    p_tenant_id text,
    p_realm_id text,
    p_base_url text,
    p_token_url text,
    p_access_token_enc bytea,
    p_refresh_token_enc bytea,
    p_access_expires_at timestamptz,
    p_refresh_expires_at timestamptz,
    p_refresh_hard_expires_at timestamptz DEFAULT NULL
)
RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_version integer;
BEGIN
    INSERT INTO sync.connections AS c (
        tenant_id, realm_id, base_url, token_url, access_token_enc, refresh_token_enc,
        access_expires_at, refresh_expires_at, refresh_hard_expires_at, token_version
    )
    VALUES (
        p_tenant_id, p_realm_id, p_base_url, p_token_url, p_access_token_enc, p_refresh_token_enc,
        p_access_expires_at, p_refresh_expires_at, p_refresh_hard_expires_at, 1
    )
    ON CONFLICT (tenant_id) DO UPDATE SET
        realm_id = excluded.realm_id, base_url = excluded.base_url, token_url = excluded.token_url,
        access_token_enc = excluded.access_token_enc, refresh_token_enc = excluded.refresh_token_enc,
        access_expires_at = excluded.access_expires_at, refresh_expires_at = excluded.refresh_expires_at,
        refresh_hard_expires_at = excluded.refresh_hard_expires_at,
        token_version = c.token_version + 1,
        paused = false, paused_reason = NULL, paused_at = NULL, connected_at = now(), updated_at = now()
    RETURNING c.token_version INTO v_version;
    INSERT INTO sync.rate_buckets (tenant_id, tokens, batch_tokens) VALUES (p_tenant_id, 1, 1)
    ON CONFLICT (tenant_id) DO NOTHING;
    UPDATE sync.exceptions AS e SET
        status = 'resolved', resolved_at = now(), resolved_by = 'connect', resolution = 'reconnected'
    WHERE e.tenant_id = p_tenant_id AND e.reason_code = 'AUTH_EXPIRED' AND e.status = 'open';
    PERFORM logic.wakeup__enqueue(p_tenant_id, now());
    RETURN v_version;
END;
$$;

COMMENT ON FUNCTION api.connection__upsert(
    text, text, text, text, bytea, bytea, timestamptz, timestamptz, timestamptz
) IS
'Stores a (re)authorized QuickBooks connection with encrypted tokens, unpauses it; returns token_version.';

CREATE FUNCTION api.connection__get(p_tenant_id text)
RETURNS SETOF sync.connections
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT c.* FROM sync.connections AS c WHERE c.tenant_id = p_tenant_id
$$;

COMMENT ON FUNCTION api.connection__get(text) IS 'The connection of a tenant (tokens still encrypted).';

CREATE FUNCTION api.connection__refresh_begin(p_tenant_id text)
RETURNS SETOF sync.connections
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- Held by the session until api.connection__refresh_end (or the session ends): exactly one
    -- refresher per realm at a time. A waiting worker then sees the new token_version and uses the
    -- fresh token instead of refreshing.
    PERFORM pg_advisory_lock(hashtextextended('pgbooks.sync.refresh:' || p_tenant_id, 0));
    RETURN QUERY SELECT c.* FROM sync.connections AS c WHERE c.tenant_id = p_tenant_id;
END;
$$;

COMMENT ON FUNCTION api.connection__refresh_begin(text) IS
'Takes the per-realm refresh lock (session-level, released by api.connection__refresh_end); '
'returns the connection row.';

CREATE FUNCTION api.connection__refresh_end(p_tenant_id text)
RETURNS boolean
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT pg_advisory_unlock(hashtextextended('pgbooks.sync.refresh:' || p_tenant_id, 0))
$$;

COMMENT ON FUNCTION api.connection__refresh_end(text) IS
'Releases the per-realm refresh lock taken by api.connection__refresh_begin in this session.';

CREATE FUNCTION api.connection__store_tokens(
    p_tenant_id text,
    p_expected_version integer,
    p_access_token_enc bytea,
    p_refresh_token_enc bytea,
    p_access_expires_at timestamptz,
    p_refresh_expires_at timestamptz,
    p_refresh_hard_expires_at timestamptz DEFAULT NULL
)
RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_version integer;
BEGIN
    UPDATE sync.connections AS c SET
        access_token_enc = p_access_token_enc, refresh_token_enc = p_refresh_token_enc,
        access_expires_at = p_access_expires_at, refresh_expires_at = p_refresh_expires_at,
        refresh_hard_expires_at = coalesce(p_refresh_hard_expires_at, c.refresh_hard_expires_at),
        token_version = c.token_version + 1, updated_at = now()
    WHERE c.tenant_id = p_tenant_id AND c.token_version = p_expected_version
    RETURNING c.token_version INTO v_version;
    IF v_version IS NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = 'PB621',
            MESSAGE = format('tenant %s: token_version is no longer %s; another refresher stored tokens',
                p_tenant_id, p_expected_version),
            HINT = 'Call api.connection__refresh_begin first and keep its lock until the tokens are stored.';
    END IF;
    RETURN v_version;
END;
$$;

COMMENT ON FUNCTION api.connection__store_tokens(text, integer, bytea, bytea, timestamptz, timestamptz, timestamptz) IS
'Stores a refreshed token pair (compare-and-set on token_version); returns the new version.';

CREATE FUNCTION api.connection__pause(p_tenant_id text, p_reason text)
RETURNS void
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT logic.connection__pause(p_tenant_id, p_reason)
$$;

COMMENT ON FUNCTION api.connection__pause(text, text) IS
'Pauses a realm (invalid_grant, operator) with an AUTH_EXPIRED exception.';

CREATE FUNCTION api.connection__health()
RETURNS TABLE (
    tenant_id text,
    realm_id text,
    paused boolean,
    paused_reason text,
    access_expires_at timestamptz,
    refresh_expires_at timestamptz,
    refresh_hard_expires_at timestamptz,
    reconnect_soon boolean
)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT c.tenant_id, c.realm_id, c.paused, c.paused_reason, c.access_expires_at,
        c.refresh_expires_at, c.refresh_hard_expires_at,
        least(c.refresh_expires_at, c.refresh_hard_expires_at) < now() + INTERVAL '30 days'
    FROM sync.connections AS c
    ORDER BY c.tenant_id
$$;

COMMENT ON FUNCTION api.connection__health() IS
'Connections with pause state and token expiries; reconnect_soon warns 30 days before hard expiry.';

REVOKE ALL ON FUNCTION api.connection__upsert(
    text, text, text, text, bytea, bytea, timestamptz, timestamptz, timestamptz
) FROM public;
REVOKE ALL ON FUNCTION api.connection__get(text) FROM public;
REVOKE ALL ON FUNCTION api.connection__refresh_begin(text) FROM public;
REVOKE ALL ON FUNCTION api.connection__refresh_end(text) FROM public;
REVOKE ALL ON FUNCTION api.connection__store_tokens(
    text, integer, bytea, bytea, timestamptz, timestamptz, timestamptz
) FROM public;
REVOKE ALL ON FUNCTION api.connection__pause(text, text) FROM public;
REVOKE ALL ON FUNCTION api.connection__health() FROM public;
GRANT EXECUTE ON FUNCTION api.connection__upsert(
    text, text, text, text, bytea, bytea, timestamptz, timestamptz, timestamptz
) TO pgbooks_operator, pgbooks_worker;
GRANT EXECUTE ON FUNCTION api.connection__get(text) TO pgbooks_worker;
GRANT EXECUTE ON FUNCTION api.connection__refresh_begin(text) TO pgbooks_worker;
GRANT EXECUTE ON FUNCTION api.connection__refresh_end(text) TO pgbooks_worker;
GRANT EXECUTE ON FUNCTION api.connection__store_tokens(
    text, integer, bytea, bytea, timestamptz, timestamptz, timestamptz
) TO pgbooks_worker;
GRANT EXECUTE ON FUNCTION api.connection__pause(text, text) TO pgbooks_worker, pgbooks_operator;
GRANT EXECUTE ON FUNCTION api.connection__health() TO pgbooks_worker, pgbooks_operator;
