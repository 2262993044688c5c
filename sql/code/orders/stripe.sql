-- Stripe normalizer: p_payload is the whole Event object ({id, type, created, data: {object}}).
-- Dispatch is on data.object.object: charge, refund, payout, balance_transaction; a balance
-- event (balance.available) carries only totals and writes nothing. Amounts are integers in
-- the currency's minor units and are converted with orders.currencies.
-- A charge is the sale itself: it becomes an order (order_id = charge id, one 'charge' line
-- with the charge description, stated total = amount) plus a sale/authorization transaction.
-- Convergence: charges and payouts are written only when the event is newer (Event.created)
-- than the stored version; transaction and payout statuses never move back from final.

CREATE FUNCTION logic.stripe__amount(p_value jsonb, p_field text, p_currency text, p_required boolean DEFAULT TRUE)
RETURNS numeric
LANGUAGE plpgsql
AS $$
DECLARE
    v_text text := logic.payload__text(p_value, p_field, p_required);
    v_minor integer;
BEGIN
    IF v_text IS NULL THEN
        RETURN NULL;
    END IF;
    IF jsonb_typeof(p_value) <> 'number' OR v_text !~ '^-?[0-9]{1,15}$' THEN
        PERFORM logic.payload__fail(p_field, 'expected an integer amount in minor units', p_value);
    END IF;
    v_minor := logic.currency__minor_units(p_currency);
    RETURN round(v_text::numeric / (10::numeric ^ v_minor), v_minor);
END;
$$;

COMMENT ON FUNCTION logic.stripe__amount(jsonb, text, text, boolean) IS
'A Stripe integer amount in minor units converted to the currency''s major unit (PB104 when not an integer).';

CREATE FUNCTION logic.stripe__id(p_value jsonb, p_field text)
RETURNS text
LANGUAGE sql
AS $$
    -- an expandable field is either an id string or the expanded object
    SELECT CASE WHEN jsonb_typeof(p_value) = 'object'
        THEN logic.payload__text(p_value -> 'id', p_field || '.id')
        ELSE logic.payload__text(p_value, p_field)
    END;
$$;

COMMENT ON FUNCTION logic.stripe__id(
    jsonb, text
) IS 'Id of an expandable Stripe field (an id string or an expanded object).';

CREATE FUNCTION logic.stripe__refund_upsert(
    p_tenant_id text, p_channel_id text, p_refund jsonb, p_default_currency text
)
RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
    v_id text := logic.payload__text(p_refund -> 'id', 'refund.id', true);
    v_currency text := logic.payload__currency(p_refund -> 'currency', 'refund.currency', p_default_currency);
    v_amount numeric := logic.stripe__amount(p_refund -> 'amount', 'refund.amount', v_currency);
    v_charge text := logic.stripe__id(p_refund -> 'charge', 'refund.charge');
    v_status text := coalesce(logic.payload__text(p_refund -> 'status', 'refund.status'), 'succeeded');
    v_txn_status text;
BEGIN
    IF v_amount < 0 THEN
        PERFORM logic.payload__fail('refund.amount', 'must not be negative', p_refund -> 'amount');
    END IF;
    v_txn_status := CASE v_status
        WHEN 'succeeded' THEN 'success' WHEN 'pending' THEN 'pending' WHEN 'requires_action' THEN 'pending'
        ELSE 'failure'
    END;
    INSERT INTO orders.transactions AS t (
        tenant_id, channel_id, transaction_id, order_id, parent_transaction_id, kind, status, amount, currency,
        gateway, processed_at, error_code
    ) VALUES (
        p_tenant_id, p_channel_id, v_id, v_charge, v_charge, 'refund', v_txn_status, v_amount, v_currency, 'stripe',
        logic.payload__timestamp(p_refund -> 'created', 'refund.created'),
        logic.payload__text(p_refund -> 'failure_reason', 'refund.failure_reason')
    )
    ON CONFLICT (tenant_id, channel_id, transaction_id) DO UPDATE SET
        status = excluded.status, error_code = excluded.error_code, recorded_at = now()
    WHERE t.status = 'pending' AND excluded.status <> 'pending';
    -- Only money actually returned is a refund; a pending or failed one is a transaction only.
    IF v_status = 'succeeded' THEN
        INSERT INTO orders.refunds AS r (
            tenant_id, channel_id, refund_id, order_id, transaction_id, amount, currency, reason, processed_at
        ) VALUES (
            p_tenant_id, p_channel_id, v_id, v_charge, v_charge, v_amount, v_currency,
            logic.payload__text(p_refund -> 'reason', 'refund.reason'),
            logic.payload__timestamp(p_refund -> 'created', 'refund.created')
        )
        ON CONFLICT (tenant_id, channel_id, refund_id) DO NOTHING;
    END IF;
    RETURN 'refund:' || v_id;
END;
$$;

COMMENT ON FUNCTION logic.stripe__refund_upsert(text, text, jsonb, text) IS
'Writes a Stripe refund: a refund transaction always, an orders.refunds row once it succeeded.';

CREATE FUNCTION logic.stripe__balance_transaction_upsert(
    p_tenant_id text, p_channel_id text, p_txn jsonb, p_default_currency text
)
RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
    v_id text := logic.payload__text(p_txn -> 'id', 'balance_transaction.id', true);
    v_currency text := logic.payload__currency(p_txn -> 'currency', 'balance_transaction.currency', p_default_currency);
    v_amount numeric := logic.stripe__amount(p_txn -> 'amount', 'balance_transaction.amount', v_currency);
    v_fee numeric := coalesce(logic.stripe__amount(p_txn -> 'fee', 'balance_transaction.fee', v_currency, false), 0);
    v_type text := logic.payload__text(p_txn -> 'type', 'balance_transaction.type', true);
BEGIN
    INSERT INTO orders.balance_transactions AS b (
        tenant_id, channel_id, balance_transaction_id, payout_id, type, source_id, amount, fee, net, currency,
        processed_at, available_on, description
    ) VALUES (
        p_tenant_id, p_channel_id, v_id,
        logic.stripe__id(p_txn -> 'payout', 'balance_transaction.payout'),
        CASE WHEN p_txn ->> 'reporting_category' = 'dispute' THEN 'dispute' ELSE logic.balance_transaction__type(v_type) END,
        logic.stripe__id(p_txn -> 'source', 'balance_transaction.source'),
        v_amount, abs(v_fee),
        coalesce(logic.stripe__amount(p_txn -> 'net', 'balance_transaction.net', v_currency, false), v_amount - abs(v_fee)),
        v_currency,
        logic.payload__timestamp(p_txn -> 'created', 'balance_transaction.created'),
        logic.payload__timestamp(p_txn -> 'available_on', 'balance_transaction.available_on')::date,
        logic.payload__text(p_txn -> 'description', 'balance_transaction.description')
    )
    ON CONFLICT (tenant_id, channel_id, balance_transaction_id) DO UPDATE SET
        payout_id = excluded.payout_id, recorded_at = now()
    WHERE b.payout_id IS NULL AND excluded.payout_id IS NOT NULL;
    RETURN 'balance_transaction:' || v_id;
END;
$$;

COMMENT ON FUNCTION logic.stripe__balance_transaction_upsert(text, text, jsonb, text) IS
'Writes one Stripe balance transaction (type mapped, amounts converted); only a later payout assignment updates it.';

CREATE FUNCTION logic.stripe__charge_upsert(
    p_tenant_id text, p_channel_id text, p_charge jsonb, p_event_at timestamptz, p_default_currency text
)
RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
    v_id text := logic.payload__text(p_charge -> 'id', 'charge.id', true);
    v_currency text := logic.payload__currency(p_charge -> 'currency', 'charge.currency', p_default_currency);
    v_amount numeric := logic.stripe__amount(p_charge -> 'amount', 'charge.amount', v_currency);
    v_refunded numeric := coalesce(
        logic.stripe__amount(p_charge -> 'amount_refunded', 'charge.amount_refunded', v_currency, false), 0
    );
    v_status text := coalesce(logic.payload__text(p_charge -> 'status', 'charge.status'), 'succeeded');
    v_captured boolean := logic.payload__bool(p_charge -> 'captured', 'captured', true);
    v_stored timestamptz;
    v_financial text;
    v_item jsonb;
BEGIN
    IF v_amount < 0 THEN
        PERFORM logic.payload__fail('charge.amount', 'must not be negative', p_charge -> 'amount');
    END IF;
    IF v_status NOT IN ('succeeded', 'pending', 'failed') THEN
        PERFORM logic.payload__fail('charge.status', 'expected succeeded, pending or failed', p_charge -> 'status');
    END IF;
    v_financial := CASE
        WHEN v_status = 'failed' THEN 'failed'
        WHEN v_status = 'pending' THEN 'pending'
        WHEN v_refunded >= v_amount AND v_amount > 0 THEN 'refunded'
        WHEN v_refunded > 0 THEN 'partially_refunded'
        WHEN v_captured THEN 'paid'
        ELSE 'authorized'
    END;

    SELECT o.platform_updated_at INTO v_stored FROM orders.orders AS o
    WHERE o.tenant_id = p_tenant_id AND o.channel_id = p_channel_id AND o.order_id = v_id;
    IF NOT FOUND OR v_stored IS NULL OR p_event_at > v_stored THEN
        INSERT INTO orders.orders AS o (
            tenant_id, channel_id, order_id, customer_id, email, currency, financial_status, placed_at,
            platform_updated_at, stated_total, is_test
        ) VALUES (
            p_tenant_id, p_channel_id, v_id,
            logic.stripe__id(p_charge -> 'customer', 'charge.customer'),
            logic.payload__text(p_charge #> '{billing_details,email}', 'charge.billing_details.email'),
            v_currency, v_financial,
            logic.payload__timestamp(p_charge -> 'created', 'charge.created'),
            p_event_at, v_amount,
            NOT logic.payload__bool(p_charge -> 'livemode', 'livemode', true)
        )
        ON CONFLICT (tenant_id, channel_id, order_id) DO UPDATE SET
            customer_id = excluded.customer_id,
            email = excluded.email,
            financial_status = excluded.financial_status,
            platform_updated_at = excluded.platform_updated_at,
            stated_total = excluded.stated_total,
            recorded_at = now();
        PERFORM logic.order__clear_parts(p_tenant_id, p_channel_id, v_id);
        INSERT INTO orders.order_lines (
            tenant_id, channel_id, order_id, line_id, line_kind, title, quantity, unit_price, gross_amount, taxable
        ) VALUES (
            p_tenant_id, p_channel_id, v_id, v_id, 'charge',
            coalesce(logic.payload__text(p_charge -> 'description', 'charge.description'), 'Stripe charge ' || v_id),
            1, v_amount, v_amount, false
        );
    END IF;

    INSERT INTO orders.transactions AS t (
        tenant_id, channel_id, transaction_id, order_id, kind, status, amount, currency, gateway, processed_at,
        error_code
    ) VALUES (
        p_tenant_id, p_channel_id, v_id, v_id,
        CASE WHEN v_captured THEN 'sale' ELSE 'authorization' END,
        CASE v_status WHEN 'succeeded' THEN 'success' WHEN 'pending' THEN 'pending' ELSE 'failure' END,
        v_amount, v_currency, 'stripe',
        logic.payload__timestamp(p_charge -> 'created', 'charge.created'),
        logic.payload__text(p_charge -> 'failure_code', 'charge.failure_code')
    )
    ON CONFLICT (tenant_id, channel_id, transaction_id) DO UPDATE SET
        kind = excluded.kind, status = excluded.status, error_code = excluded.error_code, recorded_at = now()
    WHERE (t.status = 'pending' AND excluded.status <> 'pending')
        OR (t.kind = 'authorization' AND excluded.kind = 'sale' AND excluded.status = 'success');

    IF jsonb_typeof(p_charge -> 'balance_transaction') = 'object' THEN
        PERFORM logic.stripe__balance_transaction_upsert(
            p_tenant_id, p_channel_id, p_charge -> 'balance_transaction', v_currency
        );
    END IF;
    IF jsonb_typeof(p_charge #> '{refunds,data}') = 'array' THEN
        FOR v_item IN SELECT r.value FROM jsonb_array_elements(p_charge #> '{refunds,data}') AS r (value) LOOP
            PERFORM logic.stripe__refund_upsert(p_tenant_id, p_channel_id, v_item, v_currency);
        END LOOP;
    END IF;
    RETURN 'order:' || v_id;
END;
$$;

COMMENT ON FUNCTION logic.stripe__charge_upsert(text, text, jsonb, timestamptz, text) IS
'Writes a Stripe charge as an order with one charge line and a sale/authorization transaction (if newer).';

CREATE FUNCTION logic.stripe__payout_upsert(
    p_tenant_id text, p_channel_id text, p_payout jsonb, p_event_at timestamptz, p_default_currency text
)
RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
    v_id text := logic.payload__text(p_payout -> 'id', 'payout.id', true);
    v_currency text := logic.payload__currency(p_payout -> 'currency', 'payout.currency', p_default_currency);
    v_status text := logic.payload__text(p_payout -> 'status', 'payout.status', true);
BEGIN
    IF v_status NOT IN ('pending', 'in_transit', 'paid', 'failed', 'canceled') THEN
        PERFORM logic.payload__fail('payout.status', 'expected pending, in_transit, paid, failed or canceled', p_payout -> 'status');
    END IF;
    INSERT INTO orders.payouts AS p (
        tenant_id, channel_id, payout_id, status, amount, currency, payout_date, arrival_date, bank_reference,
        platform_updated_at
    ) VALUES (
        p_tenant_id, p_channel_id, v_id, v_status,
        logic.stripe__amount(p_payout -> 'amount', 'payout.amount', v_currency),
        v_currency,
        logic.payload__timestamp(p_payout -> 'created', 'payout.created')::date,
        logic.payload__timestamp(p_payout -> 'arrival_date', 'payout.arrival_date')::date,
        coalesce(
            logic.payload__text(p_payout -> 'statement_descriptor', 'payout.statement_descriptor'),
            logic.payload__text(p_payout #> '{trace_id,value}', 'payout.trace_id.value')
        ),
        p_event_at
    )
    ON CONFLICT (tenant_id, channel_id, payout_id) DO UPDATE SET
        status = excluded.status,
        amount = excluded.amount,
        arrival_date = excluded.arrival_date,
        bank_reference = excluded.bank_reference,
        platform_updated_at = excluded.platform_updated_at,
        recorded_at = now()
    WHERE (p.platform_updated_at IS NULL OR excluded.platform_updated_at > p.platform_updated_at)
        AND p.status NOT IN ('paid', 'failed', 'canceled');
    RETURN 'payout:' || v_id;
END;
$$;

COMMENT ON FUNCTION logic.stripe__payout_upsert(text, text, jsonb, timestamptz, text) IS
'Writes a Stripe payout if the event is newer than the stored one; a final status is never overwritten.';

CREATE FUNCTION logic.stripe__dispatch(p_tenant_id text, p_channel_id text, p_topic text, p_payload jsonb)
RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
    v_currency text := logic.channel__currency(p_tenant_id, p_channel_id, 'stripe');
    v_event jsonb := logic.payload__object(p_payload, 'event');
    v_object jsonb := logic.payload__object(v_event #> '{data,object}', 'event.data.object');
    v_event_at timestamptz := coalesce(logic.payload__timestamp(v_event -> 'created', 'event.created'), now());
    v_type text := coalesce(logic.payload__text(v_event -> 'type', 'event.type'), p_topic, '');
    -- the object's own "object" field decides; fixtures that omit it fall back on the event type
    v_kind text := coalesce(
        logic.payload__text(v_object -> 'object', 'event.data.object.object'),
        CASE WHEN v_type LIKE 'charge.refund.%' THEN 'refund' WHEN v_type LIKE 'charge.dispute.%' THEN 'dispute' ELSE split_part(v_type, '.', 1) END
    );
BEGIN
    RETURN CASE v_kind
        WHEN 'charge' THEN logic.stripe__charge_upsert(p_tenant_id, p_channel_id, v_object, v_event_at, v_currency)
        WHEN 'refund' THEN logic.stripe__refund_upsert(p_tenant_id, p_channel_id, v_object, v_currency)
        WHEN 'dispute' THEN logic.stripe__dispute_upsert(p_tenant_id, p_channel_id, v_object, v_event_at, v_currency)
        WHEN 'payout' THEN logic.stripe__payout_upsert(p_tenant_id, p_channel_id, v_object, v_event_at, v_currency)
        WHEN 'balance_transaction'
            THEN logic.stripe__balance_transaction_upsert(p_tenant_id, p_channel_id, v_object, v_currency)
        WHEN 'balance' THEN 'balance:unchanged'
        ELSE logic.stripe__unsupported(p_topic, v_kind)
    END;
END;
$$;

COMMENT ON FUNCTION logic.stripe__dispatch(text, text, text, jsonb) IS
'Stripe event dispatch on data.object.object: charges, refunds, disputes, payouts, balance transactions.';

CREATE FUNCTION logic.stripe__unsupported(p_topic text, p_kind text)
RETURNS text
LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM logic.payload__unsupported('stripe', p_topic, format('object "%s"; handled: charge, refund, dispute, payout, balance_transaction, balance', p_kind));
    RETURN NULL;
END;
$$;

COMMENT ON FUNCTION logic.stripe__unsupported(
    text, text
) IS 'Raises PB107 for a Stripe object type the normalizer does not handle.';

CREATE FUNCTION logic.stripe__normalize(p_tenant_id text, p_channel_id text, p_topic text, p_payload jsonb)
RETURNS text
LANGUAGE sql
AS $$
    SELECT logic.normalize__guarded('stripe', p_tenant_id, p_channel_id, p_topic, p_payload);
$$;

COMMENT ON FUNCTION logic.stripe__normalize(text, text, text, jsonb) IS
'stripe normalizer called by INGEST: writes the payload into orders.*, returns its canonical key; PB1xx errors only.';
