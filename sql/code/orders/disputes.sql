-- Disputes (chargebacks and inquiries), shared by the Shopify and Stripe normalizers.
-- Canonical status (orders.disputes.status) from the platform's:
--   needs_response, warning_needs_response          -> needs_response
--   under_review, warning_under_review              -> under_review
--   won / lost / accepted                           -> same
--   warning_closed, charge_refunded                 -> closed
-- warning_* statuses are Stripe inquiries (kind 'inquiry'); anything else is refused (PB104).
-- Convergence: a version older than the stored one (platform_updated_at) is not applied, and a
-- final status (won, lost, accepted, closed) never moves back to an open one.

CREATE FUNCTION logic.dispute__status(p_platform_status text)
RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
    v_status text := CASE p_platform_status
        WHEN 'needs_response' THEN 'needs_response'
        WHEN 'warning_needs_response' THEN 'needs_response'
        WHEN 'under_review' THEN 'under_review'
        WHEN 'warning_under_review' THEN 'under_review'
        WHEN 'won' THEN 'won'
        WHEN 'lost' THEN 'lost'
        WHEN 'accepted' THEN 'accepted'
        WHEN 'warning_closed' THEN 'closed'
        WHEN 'charge_refunded' THEN 'closed'
    END;
BEGIN
    IF v_status IS NULL THEN
        PERFORM logic.payload__fail(
            'dispute.status',
            'expected needs_response, under_review, won, lost, accepted, charge_refunded or warning_*',
            to_jsonb(p_platform_status)
        );
    END IF;
    RETURN v_status;
END;
$$;

COMMENT ON FUNCTION logic.dispute__status(text) IS
'Canonical dispute status for a Shopify/Stripe dispute status (PB104 naming dispute.status when unknown).';

CREATE FUNCTION logic.dispute__rank(p_status text)
RETURNS integer
LANGUAGE sql
IMMUTABLE
AS $$
    SELECT CASE p_status WHEN 'needs_response' THEN 1 WHEN 'under_review' THEN 2 ELSE 3 END;
$$;

COMMENT ON FUNCTION logic.dispute__rank(text) IS
'Progress of a canonical dispute status: needs_response 1, under_review 2, final 3.';

CREATE FUNCTION logic.shopify__dispute_upsert(p_tenant_id text, p_channel_id text, p_dispute jsonb, p_currency text)
RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
    v_platform_status text := logic.payload__text(p_dispute -> 'status', 'dispute.status', true);
    v_status text := logic.dispute__status(v_platform_status);
    v_kind text := coalesce(logic.payload__text(p_dispute -> 'type', 'dispute.type'), 'chargeback');
BEGIN
    IF v_kind NOT IN ('chargeback', 'inquiry') THEN
        PERFORM logic.payload__fail('dispute.type', 'expected chargeback or inquiry', p_dispute -> 'type');
    END IF;
    RETURN logic.dispute__upsert(p_tenant_id, p_channel_id, jsonb_populate_record(NULL::orders.disputes, jsonb_build_object(
        'dispute_id', logic.payload__text(p_dispute -> 'id', 'dispute.id', true),
        'order_id', logic.payload__text(p_dispute -> 'order_id', 'dispute.order_id'),
        'kind', v_kind,
        'status', v_status,
        'platform_status', v_platform_status,
        'amount', logic.payload__amount(p_dispute -> 'amount', 'dispute.amount', true),
        'currency', logic.payload__currency(p_dispute -> 'currency', 'dispute.currency', p_currency),
        'reason', logic.payload__text(p_dispute -> 'reason', 'dispute.reason'),
        'network_reason_code', logic.payload__text(p_dispute -> 'network_reason_code', 'dispute.network_reason_code'),
        'evidence_due_by', logic.payload__timestamp(p_dispute -> 'evidence_due_by', 'dispute.evidence_due_by'),
        'initiated_at', logic.payload__timestamp(p_dispute -> 'initiated_at', 'dispute.initiated_at'),
        'finalized_at', logic.payload__timestamp(p_dispute -> 'finalized_on', 'dispute.finalized_on')
    )));
END;
$$;

COMMENT ON FUNCTION logic.shopify__dispute_upsert(text, text, jsonb, text) IS
'Writes a Shopify Payments dispute (disputes/create, disputes/update); amounts in major units.';

CREATE FUNCTION logic.stripe__dispute_upsert(
    p_tenant_id text, p_channel_id text, p_dispute jsonb, p_event_at timestamptz, p_default_currency text
)
RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
    v_currency text := logic.payload__currency(p_dispute -> 'currency', 'dispute.currency', p_default_currency);
    v_platform_status text := logic.payload__text(p_dispute -> 'status', 'dispute.status', true);
    v_status text := logic.dispute__status(v_platform_status);
    v_charge text := logic.stripe__id(p_dispute -> 'charge', 'dispute.charge');
    v_case text := logic.payload__text(p_dispute #> '{payment_method_details,card,case_type}', 'dispute.case_type');
BEGIN
    RETURN logic.dispute__upsert(p_tenant_id, p_channel_id, jsonb_populate_record(NULL::orders.disputes, jsonb_build_object(
        'dispute_id', logic.payload__text(p_dispute -> 'id', 'dispute.id', true),
        'order_id', v_charge,
        'charge_id', v_charge,
        'kind', CASE WHEN v_platform_status LIKE 'warning\_%' OR v_case = 'inquiry' THEN 'inquiry' ELSE 'chargeback' END,
        'status', v_status,
        'platform_status', v_platform_status,
        'amount', logic.stripe__amount(p_dispute -> 'amount', 'dispute.amount', v_currency),
        'currency', v_currency,
        'reason', logic.payload__text(p_dispute -> 'reason', 'dispute.reason'),
        'network_reason_code', coalesce(
            logic.payload__text(p_dispute #> '{payment_method_details,card,network_reason_code}', 'dispute.network_reason_code'),
            logic.payload__text(p_dispute -> 'network_reason_code', 'dispute.network_reason_code')
        ),
        'evidence_due_by', logic.payload__timestamp(p_dispute #> '{evidence_details,due_by}', 'dispute.evidence_details.due_by'),
        'initiated_at', logic.payload__timestamp(p_dispute -> 'created', 'dispute.created'),
        'finalized_at', CASE WHEN logic.dispute__rank(v_status) = 3 THEN p_event_at END,
        'platform_updated_at', p_event_at
    )));
END;
$$;

COMMENT ON FUNCTION logic.stripe__dispute_upsert(text, text, jsonb, timestamptz, text) IS
'Writes a Stripe dispute (charge.dispute.*); amounts in minor units; the disputed charge is the order.';

CREATE FUNCTION logic.dispute__upsert(
    p_tenant_id text,
    p_channel_id text,
    p_dispute orders.disputes
) RETURNS text
LANGUAGE plpgsql
AS $$
BEGIN
    IF p_dispute.amount < 0 THEN
        PERFORM logic.payload__fail('dispute.amount', 'must not be negative', to_jsonb(p_dispute.amount));
    END IF;
    INSERT INTO orders.disputes AS d (
        tenant_id, channel_id, dispute_id, order_id, charge_id, kind, status, platform_status, amount, currency,
        reason, network_reason_code, evidence_due_by, initiated_at, finalized_at, platform_updated_at
    ) VALUES (
        p_tenant_id, p_channel_id, p_dispute.dispute_id, p_dispute.order_id, p_dispute.charge_id, p_dispute.kind,
        p_dispute.status, p_dispute.platform_status, p_dispute.amount, p_dispute.currency, p_dispute.reason,
        p_dispute.network_reason_code, p_dispute.evidence_due_by, p_dispute.initiated_at, p_dispute.finalized_at,
        p_dispute.platform_updated_at
    )
    ON CONFLICT (tenant_id, channel_id, dispute_id) DO UPDATE SET
        order_id = coalesce(excluded.order_id, d.order_id),
        charge_id = coalesce(excluded.charge_id, d.charge_id),
        kind = excluded.kind,
        status = excluded.status,
        platform_status = excluded.platform_status,
        amount = excluded.amount,
        reason = excluded.reason,
        network_reason_code = coalesce(excluded.network_reason_code, d.network_reason_code),
        evidence_due_by = excluded.evidence_due_by,
        finalized_at = coalesce(excluded.finalized_at, d.finalized_at),
        platform_updated_at = excluded.platform_updated_at,
        recorded_at = now()
    WHERE logic.dispute__rank(d.status) < 3  -- a final status never changes
        AND CASE
            WHEN d.platform_updated_at IS NOT NULL AND excluded.platform_updated_at IS NOT NULL
                THEN excluded.platform_updated_at >= d.platform_updated_at
            -- no platform time (Shopify): the status may only move forward
            ELSE logic.dispute__rank(excluded.status) >= logic.dispute__rank(d.status)
        END
        AND (d.kind, d.status, d.platform_status, d.amount, d.reason, d.evidence_due_by, d.order_id)
        IS DISTINCT FROM (
            excluded.kind, excluded.status, excluded.platform_status, excluded.amount, excluded.reason,
            excluded.evidence_due_by, coalesce(excluded.order_id, d.order_id)
        );
    RETURN 'dispute:' || p_dispute.dispute_id;
END;
$$;

COMMENT ON FUNCTION logic.dispute__upsert(text, text, orders.disputes) IS
'Writes a dispute unless the stored one is final or newer; an unchanged version writes nothing.';

CREATE FUNCTION logic.tg_disputes__record_event()
RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
    v_event text;
BEGIN
    IF TG_OP = 'INSERT' THEN
        v_event := CASE WHEN logic.dispute__rank(NEW.status) = 3
            THEN logic.event__status_name('Dispute', NEW.status) ELSE 'DisputeOpened' END;
    ELSIF OLD.status IS DISTINCT FROM NEW.status THEN
        -- DisputeWon, DisputeLost, DisputeAccepted, DisputeClosed, DisputeUnderReview, DisputeNeedsResponse
        v_event := logic.event__status_name('Dispute', NEW.status);
    ELSE
        v_event := 'DisputeUpdated';
    END IF;
    PERFORM logic.event__record(NEW.tenant_id, NEW.channel_id, v_event, 'dispute', NEW.dispute_id, to_jsonb(NEW));
    RETURN NULL;
END;
$$;

COMMENT ON FUNCTION logic.tg_disputes__record_event() IS
'Records DisputeOpened, one event per status change (DisputeWon, DisputeLost, DisputeClosed, ...) or DisputeUpdated.';

CREATE TRIGGER tg_disputes__record_event
AFTER INSERT OR UPDATE ON orders.disputes
FOR EACH ROW EXECUTE FUNCTION logic.tg_disputes__record_event();
