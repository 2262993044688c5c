-- Receiving a delivery: the receiver (Python) reads the bytes, checks the signature with the
-- channel's secrets, then hands everything to api.raw_event__receive, which decides the outcome,
-- stores the delivery verbatim and answers the HTTP status. One row per delivery, whatever happens.

CREATE FUNCTION logic.raw_event__channel(
    p_tenant_id text, p_channel_id text, p_platform text
) RETURNS TABLE (channel_state text, secrets text[])
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT
        CASE
            WHEN c.platform IS NULL THEN 'unknown'
            WHEN c.platform <> p_platform THEN 'platform_mismatch'
            ELSE 'ok'
        END,
        array_remove(ARRAY[nullif(c.webhook_secret, ''), nullif(c.webhook_secret_previous, '')], NULL)
    FROM (SELECT 1) AS one
    LEFT JOIN orders.channels AS c ON c.tenant_id = p_tenant_id AND c.channel_id = p_channel_id;
$$;

COMMENT ON FUNCTION logic.raw_event__channel(text, text, text) IS
'Channel lookup: ok / unknown / platform_mismatch, and its webhook secrets (current first, then previous).';

CREATE FUNCTION api.raw_event__channel_secrets(
    p_tenant_id text, p_channel_id text, p_platform text
) RETURNS TABLE (channel_state text, secrets text[])
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT c.channel_state, c.secrets FROM logic.raw_event__channel(p_tenant_id, p_channel_id, p_platform) AS c;
$$;

COMMENT ON FUNCTION api.raw_event__channel_secrets(text, text, text) IS
'For the receiver: whether the addressed channel exists on that platform, and the secrets to verify its signatures.';

CREATE FUNCTION logic.raw_event__reject(
    p_signature_result text, p_channel_state text, p_body_truncated boolean
) RETURNS TABLE (reason_code text, message text, http_status integer)
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT r.reason_code, r.message, r.http_status
    FROM (
        VALUES
        (1, p_body_truncated, 'BODY_TOO_LARGE', 'request body exceeds the receiver''s size limit', 413),
        (
            2, p_channel_state = 'unknown', 'UNKNOWN_CHANNEL',
            'no channel with this tenant_id and channel_id exists', 404
        ),
        (
            3, p_channel_state = 'platform_mismatch', 'PLATFORM_MISMATCH',
            'the channel exists but belongs to another platform than the route', 404
        ),
        (
            4, p_channel_state = 'unknown_account', 'UNKNOWN_ACCOUNT',
            'no channel of this platform has the external account the delivery names', 404
        ),
        (
            5, p_channel_state = 'no_account', 'ACCOUNT_NOT_NAMED',
            'the delivery names no account (X-Shopify-Shop-Domain, X-WC-Webhook-Source, or the Stripe event '
            '"account" with no default account configured): it cannot be routed', 400
        ),
        (
            6, p_signature_result = 'missing', 'SIGNATURE_MISSING',
            'signature header is missing', 401
        ),
        (
            7, p_signature_result = 'invalid', 'SIGNATURE_INVALID',
            'signature does not match the body with the channel''s current or previous secret', 401
        ),
        (
            8, p_signature_result = 'stale_timestamp', 'SIGNATURE_STALE_TIMESTAMP',
            'Stripe-Signature timestamp is more than 300 s away from now (replay?)', 401
        ),
        (
            9, p_signature_result = 'no_secret', 'SIGNATURE_NO_SECRET',
            'the channel has no webhook secret: deliveries cannot be verified', 401
        )
    ) AS r (rank, hit, reason_code, message, http_status)
    WHERE r.hit
    ORDER BY r.rank
    LIMIT 1;
$$;

COMMENT ON FUNCTION logic.raw_event__reject(text, text, boolean) IS
'First reason (if any) to reject a delivery before parsing it: size, channel, then signature; with its HTTP status.';

CREATE FUNCTION logic.raw_event__header(p_headers jsonb, VARIADIC p_names text[])
RETURNS text
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT nullif(btrim(p_headers ->> n.name), '')
    FROM unnest(p_names) WITH ORDINALITY AS n (name, ord)
    WHERE nullif(btrim(p_headers ->> n.name), '') IS NOT NULL
    ORDER BY n.ord
    LIMIT 1;
$$;

COMMENT ON FUNCTION logic.raw_event__header(jsonb, text[]) IS
'First non-blank header among the given lower-case names (e.g. the X-Shopify- and bare Shopify- spellings).';

CREATE FUNCTION logic.raw_event__store(
    p_tenant_id text,
    p_platform text,
    p_channel_id text,
    p_source text,
    p_topic text,
    p_delivery_id text,
    p_dedupe_key text,
    p_headers jsonb,
    p_body bytea,
    p_body_bytes bigint,
    p_body_truncated boolean,
    p_sha256 bytea,
    p_signature_result text,
    p_reason text,
    p_message text,
    p_http integer
) RETURNS TABLE (
    raw_event_id bigint, status text, reason_code text, message text, duplicate_of bigint, http_status integer
)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_id bigint;
    v_duplicate_id bigint;
    v_message text;
BEGIN
    -- Refused (p_reason given): kept verbatim with the reason, nothing else happens.
    IF p_reason IS NOT NULL THEN
        INSERT INTO ingest.raw_events AS e (
            tenant_id, platform, channel_id, source, topic, delivery_id, dedupe_key, headers, body,
            body_bytes, body_truncated, body_sha256, signature_result, status, reason_code, message,
            processed_at
        ) VALUES (
            p_tenant_id, p_platform, p_channel_id, p_source, p_topic, p_delivery_id, p_dedupe_key, p_headers,
            p_body, coalesce(p_body_bytes, octet_length(p_body)), p_body_truncated, p_sha256,
            p_signature_result, 'rejected', p_reason, p_message, clock_timestamp()
        ) RETURNING e.raw_event_id INTO v_id;
        RETURN QUERY SELECT v_id, 'rejected'::text, p_reason, p_message, NULL::bigint, p_http;
        RETURN;
    END IF;

    INSERT INTO ingest.raw_events AS e (
        tenant_id, platform, channel_id, source, topic, delivery_id, dedupe_key, headers, body,
        body_bytes, body_truncated, body_sha256, signature_result, status
    ) VALUES (
        p_tenant_id, p_platform, p_channel_id, p_source, p_topic, p_delivery_id, p_dedupe_key, p_headers,
        p_body, coalesce(p_body_bytes, octet_length(p_body)), FALSE, p_sha256, p_signature_result, 'pending'
    )
    ON CONFLICT (tenant_id, platform, channel_id, dedupe_key)
    WHERE status IN ('pending', 'applied', 'quarantined') DO NOTHING
    RETURNING e.raw_event_id INTO v_id;
    IF v_id IS NOT NULL THEN
        RETURN QUERY SELECT v_id, 'pending'::text, NULL::text, NULL::text, NULL::bigint, 200;
        RETURN;
    END IF;

    -- Same delivery already stored (READ COMMITTED: this statement sees the row ON CONFLICT saw).
    SELECT e.raw_event_id INTO v_id
    FROM ingest.raw_events AS e
    WHERE e.tenant_id = p_tenant_id AND e.platform = p_platform AND e.channel_id = p_channel_id
        AND e.dedupe_key = p_dedupe_key AND e.status IN ('pending', 'applied', 'quarantined');
    v_message := format('delivery %s was already received as raw event %s; not applied again', p_dedupe_key, v_id);
    INSERT INTO ingest.raw_events AS e (
        tenant_id, platform, channel_id, source, topic, delivery_id, dedupe_key, headers, body,
        body_bytes, body_truncated, body_sha256, signature_result, status, reason_code, message,
        duplicate_of, processed_at
    ) VALUES (
        p_tenant_id, p_platform, p_channel_id, p_source, p_topic, p_delivery_id, p_dedupe_key, p_headers,
        p_body, coalesce(p_body_bytes, octet_length(p_body)), FALSE, p_sha256, p_signature_result,
        'duplicate', 'DUPLICATE_DELIVERY', v_message, v_id, clock_timestamp()
    ) RETURNING e.raw_event_id INTO v_duplicate_id;
    RETURN QUERY SELECT v_duplicate_id, 'duplicate'::text, 'DUPLICATE_DELIVERY'::text, v_message, v_id, 200;
END
$$;

COMMENT ON FUNCTION logic.raw_event__store(
    text, text, text, text, text, text, text, jsonb, bytea, bigint, boolean, bytea, text, text, text, integer
) IS
'The storage core of every delivery (platform webhooks, QuickBooks notifications): rejected with its reason, '
'pending, or duplicate of the live row with the same dedupe key; returns the row and the HTTP status to answer.';


-- Routing by account (POST /webhooks/<platform>): the delivery names its account, the account
-- names one channel (orders.channels_external_account_unique), the channel gives tenant and secrets.

CREATE FUNCTION logic.channel__account_key(p_platform text, p_account text)
RETURNS text
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    -- Must stay the expression of the generated column orders.channels.external_account_key
    -- (tests/ingest/test_routing.py compares them).
    SELECT CASE p_platform
        WHEN 'shopify' THEN nullif(lower(btrim(p_account)), '')
        WHEN 'woocommerce' THEN nullif(rtrim(regexp_replace(lower(btrim(p_account)), '^https?://', ''), '/'), '')
        ELSE nullif(btrim(p_account), '')
    END;
$$;

COMMENT ON FUNCTION logic.channel__account_key(text, text) IS
'An external account id in its matching form (= orders.channels.external_account_key): shop domain lower-cased, '
'WooCommerce site URL without scheme and trailing slash, Stripe account as is.';

CREATE FUNCTION logic.raw_event__account(
    p_platform text, p_headers jsonb, p_body bytea, p_default_account text
) RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_account text;
BEGIN
    IF p_platform = 'shopify' THEN
        RETURN logic.raw_event__header(p_headers, 'x-shopify-shop-domain', 'shopify-shop-domain');
    ELSIF p_platform = 'woocommerce' THEN
        RETURN logic.raw_event__header(p_headers, 'x-wc-webhook-source');
    ELSIF p_platform = 'stripe' THEN
        -- Connect: an event of a connected account carries "account" at its top level; otherwise
        -- it is the endpoint owner's (the receiver's configured default account). The body is
        -- parsed only when the word occurs at all.
        IF p_body IS NOT NULL AND position('"account"'::bytea IN p_body) > 0 THEN
            BEGIN
                v_account := nullif(btrim(convert_from(p_body, 'UTF8')::json ->> 'account'), '');
            EXCEPTION WHEN OTHERS THEN
                v_account := NULL;  -- malformed: refused later as MALFORMED_JSON or unroutable
            END;
        END IF;
        RETURN coalesce(v_account, nullif(btrim(p_default_account), ''));
    END IF;
    RETURN NULL;
END
$$;

COMMENT ON FUNCTION logic.raw_event__account(text, jsonb, bytea, text) IS
'The account a delivery names: X-Shopify-Shop-Domain, X-WC-Webhook-Source, or the Stripe event''s "account" '
'(Connect) else the receiver''s default Stripe account; NULL when it names none.';

CREATE FUNCTION logic.raw_event__route(
    p_platform text, p_headers jsonb, p_body bytea, p_default_account text
) RETURNS TABLE (route_state text, tenant_id text, channel_id text, external_account_id text, secrets text[])
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT
        CASE
            WHEN a.account IS NULL THEN 'no_account'
            WHEN c.tenant_id IS NULL THEN 'unknown_account'
            ELSE 'ok'
        END,
        c.tenant_id,
        c.channel_id,
        a.account,
        array_remove(ARRAY[nullif(c.webhook_secret, ''), nullif(c.webhook_secret_previous, '')], NULL)
    FROM (SELECT logic.raw_event__account(p_platform, coalesce(p_headers, '{}'), p_body, p_default_account) AS account) AS a
    LEFT JOIN orders.channels AS c
        ON c.platform = p_platform AND c.external_account_key = logic.channel__account_key(p_platform, a.account);
$$;

COMMENT ON FUNCTION logic.raw_event__route(text, jsonb, bytea, text) IS
'Route a delivery by the account it names: ok (tenant, channel, secrets), unknown_account or no_account.';

CREATE FUNCTION api.raw_event__route(
    p_platform text, p_headers jsonb, p_body bytea DEFAULT NULL, p_default_account text DEFAULT NULL
) RETURNS TABLE (route_state text, tenant_id text, channel_id text, external_account_id text, secrets text[])
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT r.route_state, r.tenant_id, r.channel_id, r.external_account_id, r.secrets
    FROM logic.raw_event__route(p_platform, p_headers, p_body, p_default_account) AS r;
$$;

COMMENT ON FUNCTION api.raw_event__route(text, jsonb, bytea, text) IS
'For the receiver''s per-platform route: which tenant and channel a delivery is for (by the account it names), '
'and the secrets to verify it. p_body is needed for Stripe only (Connect "account").';

CREATE FUNCTION logic.raw_event__receive(
    p_tenant_id text,
    p_platform text,
    p_channel_id text,
    p_channel_state text,
    p_account text,
    p_headers jsonb,
    p_body bytea,
    p_signature_result text,
    p_body_bytes bigint,
    p_body_truncated boolean,
    p_source text,
    p_topic text,
    p_delivery_id text
) RETURNS TABLE (
    raw_event_id bigint, status text, reason_code text, message text, duplicate_of bigint, http_status integer
)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_headers jsonb := coalesce(p_headers, '{}');
    v_payload json;
    v_sha256 bytea := sha256(p_body);
    v_signature_result text := p_signature_result;
    v_topic text := p_topic;
    v_delivery_id text := p_delivery_id;
    v_dedupe_key text;
    v_reason text;
    v_message text;
    v_http integer;
    v_stored record;
BEGIN
    -- A backfill is addressed by the operator, not by an unauthenticated request: no signature.
    IF p_source = 'backfill' THEN
        v_signature_result := 'not_applicable';
    END IF;

    SELECT r.reason_code, r.message, r.http_status INTO v_reason, v_message, v_http
    FROM logic.raw_event__reject(v_signature_result, p_channel_state, p_body_truncated) AS r;
    IF v_reason = 'UNKNOWN_ACCOUNT' THEN
        v_message := format('no %s channel has external account %L (orders.channels.external_account_id)',
            p_platform, p_account);
    END IF;

    -- Validate as json (a syntax check, several times cheaper than building a jsonb); only a body
    -- containing the escape \u0000, which jsonb (used by the normalizers) refuses, is also
    -- parsed as jsonb, so that such a body is refused here rather than quarantined later.
    IF v_reason IS NULL THEN
        BEGIN
            v_payload := convert_from(p_body, 'UTF8')::json;
            IF json_typeof(v_payload) <> 'object' THEN
                v_reason := 'MALFORMED_JSON';
                v_message := format('body is JSON but not an object (got %s)', json_typeof(v_payload));
                v_http := 400;
                v_payload := NULL;
            ELSIF position('\x5c7530303030'::bytea IN p_body) > 0 THEN  -- the 6 bytes \u0000
                PERFORM v_payload::jsonb;
            END IF;
        EXCEPTION WHEN OTHERS THEN
            v_reason := 'MALFORMED_JSON';
            v_message := 'body is not valid UTF-8 JSON: ' || SQLERRM;
            v_http := 400;
            v_payload := NULL;
        END;
    END IF;

    IF p_platform = 'shopify' THEN
        v_topic := coalesce(v_topic, logic.raw_event__header(v_headers, 'x-shopify-topic', 'shopify-topic'));
        v_delivery_id := coalesce(
            v_delivery_id,
            logic.raw_event__header(
                v_headers, 'x-shopify-webhook-id', 'shopify-webhook-id', 'x-shopify-event-id', 'shopify-event-id'
            )
        );
    ELSIF p_platform = 'woocommerce' THEN
        v_topic := coalesce(v_topic, logic.raw_event__header(v_headers, 'x-wc-webhook-topic'));
        v_delivery_id := coalesce(v_delivery_id, logic.raw_event__header(v_headers, 'x-wc-webhook-delivery-id'));
    ELSIF p_platform = 'stripe' THEN
        v_topic := coalesce(v_topic, v_payload ->> 'type');
        IF v_payload ->> 'object' = 'event' THEN
            v_delivery_id := coalesce(v_delivery_id, v_payload ->> 'id');
        END IF;
    END IF;
    v_dedupe_key := coalesce(v_delivery_id, 'sha256:' || encode(v_sha256, 'hex'));

    SELECT st.* INTO v_stored FROM logic.raw_event__store(
        p_tenant_id, p_platform, p_channel_id, p_source, v_topic, v_delivery_id, v_dedupe_key, v_headers, p_body,
        p_body_bytes, p_body_truncated, v_sha256, v_signature_result, v_reason, v_message, v_http
    ) AS st;
    IF v_stored.status = 'pending' THEN
        -- Wake the processors (LISTEN pgbooks_ingest); delivered at commit, coalesced per transaction.
        PERFORM pg_notify('pgbooks_ingest', p_tenant_id);
    END IF;
    RETURN QUERY SELECT v_stored.raw_event_id, v_stored.status, v_stored.reason_code, v_stored.message,
        v_stored.duplicate_of, v_stored.http_status;
END
$$;

COMMENT ON FUNCTION logic.raw_event__receive(
    text, text, text, text, text, jsonb, bytea, text, bigint, boolean, text, text, text
) IS
'Decide and store one platform delivery whose channel was looked up (p_channel_state: ok, unknown, '
'platform_mismatch, unknown_account, no_account): parse check, topic, delivery id, dedupe, storage, NOTIFY.';

CREATE FUNCTION api.raw_event__receive(
    p_tenant_id text,
    p_platform text,
    p_channel_id text,
    p_headers jsonb,
    p_body bytea,
    p_signature_result text,
    p_body_bytes bigint DEFAULT NULL,
    p_body_truncated boolean DEFAULT FALSE,
    p_source text DEFAULT 'webhook',
    p_topic text DEFAULT NULL,
    p_delivery_id text DEFAULT NULL
) RETURNS TABLE (
    raw_event_id bigint, status text, reason_code text, message text, duplicate_of bigint, http_status integer
)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_channel_state text;
BEGIN
    IF p_platform IS NULL OR p_platform NOT IN ('shopify', 'woocommerce', 'stripe', 'custom') THEN
        RAISE EXCEPTION USING
            ERRCODE = 'PB401',
            MESSAGE = format('p_platform: unknown platform %L (shopify, woocommerce, stripe or custom)', p_platform);
    END IF;
    IF p_body IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'PB402', MESSAGE = 'p_body: the raw body is required (may be empty, not NULL)';
    END IF;
    SELECT c.channel_state INTO v_channel_state
    FROM logic.raw_event__channel(p_tenant_id, p_channel_id, p_platform) AS c;
    RETURN QUERY SELECT r.raw_event_id, r.status, r.reason_code, r.message, r.duplicate_of, r.http_status
    FROM logic.raw_event__receive(
        p_tenant_id, p_platform, p_channel_id, v_channel_state, NULL, p_headers, p_body, p_signature_result,
        p_body_bytes, p_body_truncated, p_source, p_topic, p_delivery_id
    ) AS r;
END
$$;

COMMENT ON FUNCTION api.raw_event__receive(
    text, text, text, jsonb, bytea, text, bigint, boolean, text, text, text
) IS
'Store one delivery verbatim and decide: pending, duplicate or rejected (reason); returns the HTTP status to answer.';

CREATE FUNCTION api.raw_event__receive_routed(
    p_platform text,
    p_headers jsonb,
    p_body bytea,
    p_signature_result text,
    p_body_bytes bigint DEFAULT NULL,
    p_body_truncated boolean DEFAULT FALSE,
    p_default_account text DEFAULT NULL
) RETURNS TABLE (
    raw_event_id bigint,
    status text,
    reason_code text,
    message text,
    duplicate_of bigint,
    http_status integer,
    tenant_id text,
    channel_id text
)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_route record;
    v_tenant_id text;
    v_channel_id text;
BEGIN
    IF p_platform IS NULL OR p_platform NOT IN ('shopify', 'woocommerce', 'stripe') THEN
        RAISE EXCEPTION USING
            ERRCODE = 'PB401',
            MESSAGE = format('p_platform: no routed webhooks for platform %L (shopify, woocommerce or stripe)', p_platform);
    END IF;
    IF p_body IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'PB402', MESSAGE = 'p_body: the raw body is required (may be empty, not NULL)';
    END IF;
    -- Looked up again (not taken from the caller): the row records the channel the account names now.
    SELECT r.* INTO v_route FROM logic.raw_event__route(p_platform, p_headers, p_body, p_default_account) AS r;
    -- An unroutable delivery is kept under the reserved tenant '(unrouted)', which no tenant can
    -- be (orders.tenants_tenant_id_format): nothing is lost, no tenant sees it.
    v_tenant_id := coalesce(v_route.tenant_id, '(unrouted)');
    v_channel_id := coalesce(v_route.channel_id, '(unrouted)');
    RETURN QUERY SELECT r.raw_event_id, r.status, r.reason_code, r.message, r.duplicate_of, r.http_status,
        v_tenant_id, v_channel_id
    FROM logic.raw_event__receive(
        v_tenant_id, p_platform, v_channel_id, v_route.route_state, v_route.external_account_id, p_headers, p_body,
        p_signature_result, p_body_bytes, p_body_truncated, 'webhook', NULL, NULL
    ) AS r;
END
$$;

COMMENT ON FUNCTION api.raw_event__receive_routed(text, jsonb, bytea, text, bigint, boolean, text) IS
'Store one delivery of the per-platform route (POST /webhooks/<platform>): routed by the account it names, '
'else rejected UNKNOWN_ACCOUNT (404) / ACCOUNT_NOT_NAMED (400) under tenant ''(unrouted)''.';

CREATE FUNCTION api.receiver_throttle__record(
    p_bucket_kind text[], p_bucket_key text[], p_window_start timestamptz[], p_refused bigint[],
    p_last_refused_at timestamptz[]
) RETURNS integer
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    WITH added AS (
        INSERT INTO ingest.receiver_throttles AS t (bucket_kind, bucket_key, window_start, refused, last_refused_at)
        SELECT u.kind, u.bucket, u.window_start, u.refused, u.last_at
        FROM unnest(p_bucket_kind, p_bucket_key, p_window_start, p_refused, p_last_refused_at)
            AS u (kind, bucket, window_start, refused, last_at)
        ON CONFLICT (bucket_kind, bucket_key, window_start) DO UPDATE
        SET refused = t.refused + excluded.refused,
            last_refused_at = greatest(t.last_refused_at, excluded.last_refused_at)
        RETURNING 1
    )
    SELECT count(*)::integer FROM added;
$$;

COMMENT ON FUNCTION api.receiver_throttle__record(text[], text[], timestamptz[], bigint[], timestamptz[]) IS
'For the receiver: add its 429 counts per bucket (tenant or source ip) and minute; returns the rows touched.';

GRANT EXECUTE ON FUNCTION api.raw_event__channel_secrets(text, text, text) TO pgbooks_worker;
GRANT EXECUTE ON FUNCTION api.raw_event__route(text, jsonb, bytea, text) TO pgbooks_worker;
GRANT EXECUTE ON FUNCTION api.receiver_throttle__record(
    text[], text[], timestamptz[], bigint[], timestamptz[]
) TO pgbooks_worker;
GRANT EXECUTE ON FUNCTION api.raw_event__receive_routed(
    text, jsonb, bytea, text, bigint, boolean, text
) TO pgbooks_worker;
GRANT EXECUTE ON FUNCTION api.raw_event__receive(
    text, text, text, jsonb, bytea, text, bigint, boolean, text, text, text
) TO pgbooks_worker, pgbooks_app;
