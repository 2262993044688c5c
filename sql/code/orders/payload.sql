-- Payload readers shared by the normalizers. Each reads one JSON value and either returns it
-- typed or raises a PB error naming the field, so that INGEST can quarantine the payload with a
-- message a developer understands:
--   PB101 unknown ISO 4217 currency      PB103 negative quantity
--   PB104 missing or malformed field     PB106 unknown channel / wrong platform
--   PB107 unsupported topic or object    PB100 anything else that stopped a normalizer
-- They never write, and avoid exception blocks, so a normalizer is one plain (sub)transaction.

CREATE FUNCTION logic.payload__fail(p_field text, p_problem text, p_value jsonb)
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    RAISE EXCEPTION USING
        ERRCODE = 'PB104',
        MESSAGE = format('%s: %s (got %s)', p_field, p_problem, coalesce(left(p_value::text, 80), 'nothing')),
        COLUMN = p_field;
END;
$$;

COMMENT ON FUNCTION logic.payload__fail(text, text, jsonb) IS
'Raises PB104 "<field>: <problem> (got <value>)" for a missing or malformed payload field.';

CREATE FUNCTION logic.payload__text(p_value jsonb, p_field text, p_required boolean DEFAULT FALSE)
RETURNS text
LANGUAGE plpgsql
AS $$
BEGIN
    IF p_value IS NULL OR jsonb_typeof(p_value) = 'null' OR p_value #>> '{}' = '' THEN
        IF p_required THEN
            PERFORM logic.payload__fail(p_field, 'is required', p_value);
        END IF;
        RETURN NULL;
    END IF;
    IF jsonb_typeof(p_value) NOT IN ('string', 'number', 'boolean') THEN
        PERFORM logic.payload__fail(p_field, 'expected a string or a number', p_value);
    END IF;
    RETURN p_value #>> '{}';
END;
$$;

COMMENT ON FUNCTION logic.payload__text(jsonb, text, boolean) IS
'A scalar payload field as text (ids may be numbers); NULL when absent unless required (PB104).';

CREATE FUNCTION logic.payload__amount(p_value jsonb, p_field text, p_required boolean DEFAULT FALSE)
RETURNS numeric
LANGUAGE plpgsql
AS $$
DECLARE
    v_text text := logic.payload__text(p_value, p_field, p_required);
BEGIN
    IF v_text IS NULL THEN
        RETURN NULL;
    END IF;
    IF v_text !~ '^\s*-?[0-9]{1,15}(\.[0-9]{1,12})?\s*$' THEN
        PERFORM logic.payload__fail(p_field, 'expected a decimal amount', p_value);
    END IF;
    RETURN v_text::numeric;
END;
$$;

COMMENT ON FUNCTION logic.payload__amount(jsonb, text, boolean) IS
'A decimal amount given as a JSON number or a numeric string (no exponent, no float noise); PB104 otherwise.';

CREATE FUNCTION logic.payload__quantity(p_value jsonb, p_field text)
RETURNS numeric
LANGUAGE plpgsql
AS $$
DECLARE
    v_quantity numeric := coalesce(logic.payload__amount(p_value, p_field), 1);
BEGIN
    IF v_quantity < 0 THEN
        RAISE EXCEPTION USING
            ERRCODE = 'PB103',
            MESSAGE = format('%s: quantity must not be negative (got %s)', p_field, v_quantity),
            HINT = 'Returns are refunds, not negative lines.',
            COLUMN = p_field;
    END IF;
    RETURN v_quantity;
END;
$$;

COMMENT ON FUNCTION logic.payload__quantity(jsonb, text) IS
'A line quantity (default 1); PB103 naming the field when negative.';

CREATE FUNCTION logic.payload__timestamp(p_value jsonb, p_field text, p_assume_utc boolean DEFAULT FALSE)
RETURNS timestamptz
LANGUAGE plpgsql
AS $$
DECLARE
    v_text text := logic.payload__text(p_value, p_field);
BEGIN
    IF v_text IS NULL THEN
        RETURN NULL;
    END IF;
    IF jsonb_typeof(p_value) = 'number' THEN
        IF v_text !~ '^[0-9]{1,11}$' THEN
            PERFORM logic.payload__fail(p_field, 'expected a Unix timestamp in seconds', p_value);
        END IF;
        RETURN to_timestamp(v_text::bigint);
    END IF;
    IF v_text !~ '^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])([T ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?)?(Z|[+-][0-9]{2}(:?[0-9]{2})?)?$' THEN
        PERFORM logic.payload__fail(p_field, 'expected an ISO 8601 timestamp', p_value);
    END IF;
    IF p_assume_utc AND v_text !~ '(Z|[+-][0-9]{2}(:?[0-9]{2})?)$' THEN
        v_text := v_text || '+00:00';
    END IF;
    RETURN v_text::timestamptz;
END;
$$;

COMMENT ON FUNCTION logic.payload__timestamp(jsonb, text, boolean) IS
'An ISO 8601 timestamp (or Unix seconds as a JSON number); without an offset it is UTC if p_assume_utc.';

CREATE FUNCTION logic.payload__currency(p_value jsonb, p_field text, p_default text DEFAULT NULL)
RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
    v_code text := upper(logic.payload__text(p_value, p_field));
BEGIN
    IF v_code IS NULL THEN
        v_code := p_default;
    END IF;
    IF v_code IS NULL THEN
        PERFORM logic.payload__fail(p_field, 'is required', p_value);
    END IF;
    IF logic.currency__minor_units(v_code) IS NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = 'PB101',
            MESSAGE = format('%s: "%s" is not an ISO 4217 currency code known to pgbooks', p_field, v_code),
            HINT = 'orders.currencies lists the accepted codes.',
            COLUMN = p_field;
    END IF;
    RETURN v_code;
END;
$$;

COMMENT ON FUNCTION logic.payload__currency(jsonb, text, text) IS
'An ISO 4217 code (case-insensitive, default p_default); PB101 naming the field when unknown.';

CREATE FUNCTION logic.payload__array(p_value jsonb, p_field text)
RETURNS jsonb
LANGUAGE plpgsql
AS $$
BEGIN
    IF p_value IS NULL OR jsonb_typeof(p_value) = 'null' THEN
        RETURN '[]';
    END IF;
    IF jsonb_typeof(p_value) <> 'array' THEN
        PERFORM logic.payload__fail(p_field, 'expected an array', p_value);
    END IF;
    RETURN p_value;
END;
$$;

COMMENT ON FUNCTION logic.payload__array(
    jsonb, text
) IS 'A JSON array field ([] when absent); PB104 when not an array.';

CREATE FUNCTION logic.payload__object(p_value jsonb, p_field text)
RETURNS jsonb
LANGUAGE plpgsql
AS $$
BEGIN
    IF p_value IS NULL OR jsonb_typeof(p_value) <> 'object' THEN
        PERFORM logic.payload__fail(p_field, 'expected a JSON object', p_value);
    END IF;
    RETURN p_value;
END;
$$;

COMMENT ON FUNCTION logic.payload__object(jsonb, text) IS 'A JSON object field; PB104 when missing or not an object.';

CREATE FUNCTION logic.channel__currency(p_tenant_id text, p_channel_id text, p_platform text)
RETURNS text
LANGUAGE plpgsql
STABLE
AS $$
DECLARE
    v_platform text;
    v_currency text;
BEGIN
    SELECT c.platform, c.currency INTO v_platform, v_currency
    FROM orders.channels AS c
    WHERE c.tenant_id = p_tenant_id AND c.channel_id = p_channel_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING
            ERRCODE = 'PB106',
            MESSAGE = format('channel_id: no channel "%s" for tenant "%s"', p_channel_id, p_tenant_id),
            COLUMN = 'channel_id';
    END IF;
    IF v_platform <> p_platform THEN
        RAISE EXCEPTION USING
            ERRCODE = 'PB106',
            MESSAGE = format(
                'channel_id: channel "%s" is a %s channel, not %s', p_channel_id, v_platform, p_platform
            ),
            COLUMN = 'channel_id';
    END IF;
    RETURN v_currency;
END;
$$;

COMMENT ON FUNCTION logic.channel__currency(text, text, text) IS
'Currency of a channel, checking it exists and belongs to the platform (PB106 otherwise).';

CREATE FUNCTION logic.payload__unsupported(p_platform text, p_topic text, p_what text)
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    RAISE EXCEPTION USING
        ERRCODE = 'PB107',
        MESSAGE = format('topic: %s topic "%s" is not supported (%s)', p_platform, p_topic, p_what),
        COLUMN = 'topic';
END;
$$;

COMMENT ON FUNCTION logic.payload__unsupported(text, text, text) IS
'Raises PB107 for a topic or object type a normalizer does not handle.';

CREATE FUNCTION logic.order__clear_parts(p_tenant_id text, p_channel_id text, p_order_id text)
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    DELETE FROM orders.order_lines WHERE tenant_id = p_tenant_id AND channel_id = p_channel_id AND order_id = p_order_id;
    DELETE FROM orders.discount_allocations
    WHERE tenant_id = p_tenant_id AND channel_id = p_channel_id AND order_id = p_order_id;
    DELETE FROM orders.shipping_lines
    WHERE tenant_id = p_tenant_id AND channel_id = p_channel_id AND order_id = p_order_id;
    DELETE FROM orders.tax_lines WHERE tenant_id = p_tenant_id AND channel_id = p_channel_id AND order_id = p_order_id;
END;
$$;

COMMENT ON FUNCTION logic.order__clear_parts(text, text, text) IS
'Deletes the lines, discounts, shipping and tax lines of an order before a normalizer writes the newer version.';

CREATE FUNCTION logic.payload__bool(p_value jsonb, p_field text, p_default boolean)
RETURNS boolean
LANGUAGE plpgsql
AS $$
BEGIN
    IF p_value IS NULL OR jsonb_typeof(p_value) = 'null' THEN
        RETURN p_default;
    END IF;
    IF jsonb_typeof(p_value) <> 'boolean' THEN
        PERFORM logic.payload__fail(p_field, 'expected true or false', p_value);
    END IF;
    RETURN p_value::boolean;
END;
$$;

COMMENT ON FUNCTION logic.payload__bool(
    jsonb, text, boolean
) IS 'A JSON boolean field (p_default when absent); PB104 otherwise.';

-- Safety net around every normalizer: a payload that breaks something the readers above did not
-- foresee still ends as a PB error (PB100), so INGEST quarantines it with the original message.
CREATE FUNCTION logic.normalize__guarded(
    p_platform text, p_tenant_id text, p_channel_id text, p_topic text, p_payload jsonb
)
RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
    v_result text;
    v_state text;
    v_message text;
    v_column text;
    v_constraint text;
BEGIN
    BEGIN
        v_result := CASE p_platform
            WHEN 'shopify' THEN logic.shopify__dispatch(p_tenant_id, p_channel_id, p_topic, p_payload)
            WHEN 'woocommerce' THEN logic.woocommerce__dispatch(p_tenant_id, p_channel_id, p_topic, p_payload)
            ELSE logic.stripe__dispatch(p_tenant_id, p_channel_id, p_topic, p_payload)
        END;
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS
            v_state = RETURNED_SQLSTATE, v_message = MESSAGE_TEXT, v_column = COLUMN_NAME,
            v_constraint = CONSTRAINT_NAME;
        IF v_state LIKE 'PB%' THEN
            RAISE;
        END IF;
        RAISE EXCEPTION USING
            ERRCODE = 'PB100',
            MESSAGE = format('%s %s payload could not be normalized: %s', p_platform, p_topic, v_message),
            DETAIL = format('SQLSTATE %s', v_state),
            COLUMN = coalesce(v_column, ''),
            CONSTRAINT = coalesce(v_constraint, '');
    END;
    RETURN v_result;
END;
$$;

COMMENT ON FUNCTION logic.normalize__guarded(text, text, text, text, jsonb) IS
'Runs a platform''s dispatcher; re-raises PB errors, turns any other error into PB100 with the original message.';
