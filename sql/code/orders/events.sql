-- Canonical events for payments, refunds, payouts, balance transactions and gift cards:
-- immediate AFTER row triggers, one event per state change (an UPDATE that changes nothing
-- the event type depends on records nothing). Order events are recorded at commit by
-- sql/code/orders/totals.sql. Every event carries schema_version 1 and the row as payload.

CREATE FUNCTION logic.tg_transactions__record_event()
RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
    v_event text;
BEGIN
    IF TG_OP = 'UPDATE'
        AND (OLD.kind, OLD.status, OLD.amount) IS NOT DISTINCT FROM (NEW.kind, NEW.status, NEW.amount) THEN
        RETURN NULL;
    END IF;
    v_event := CASE
        WHEN NEW.status IN ('failure', 'error') THEN 'PaymentFailed'
        WHEN NEW.status = 'pending' THEN 'PaymentPending'
        WHEN NEW.kind = 'authorization' THEN 'PaymentAuthorized'
        WHEN NEW.kind IN ('capture', 'sale') THEN 'PaymentCaptured'
        WHEN NEW.kind = 'void' THEN 'PaymentVoided'
        ELSE 'PaymentRefunded'
    END;
    PERFORM logic.event__record(
        NEW.tenant_id, NEW.channel_id, v_event, 'transaction', NEW.transaction_id, to_jsonb(NEW)
    );
    RETURN NULL;
END;
$$;

COMMENT ON FUNCTION logic.tg_transactions__record_event() IS
'Records PaymentAuthorized / PaymentCaptured / PaymentVoided / PaymentRefunded / PaymentPending / PaymentFailed.';

CREATE TRIGGER tg_transactions__record_event
AFTER INSERT OR UPDATE ON orders.transactions
FOR EACH ROW EXECUTE FUNCTION logic.tg_transactions__record_event();

CREATE FUNCTION logic.tg_refunds__record_event()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM logic.event__record(
            NEW.tenant_id, NEW.channel_id, 'RefundIssued', 'refund', NEW.refund_id, to_jsonb(NEW)
        );
    ELSIF (to_jsonb(OLD) - 'recorded_at') IS DISTINCT FROM (to_jsonb(NEW) - 'recorded_at') THEN
        PERFORM logic.event__record(
            NEW.tenant_id, NEW.channel_id, 'RefundUpdated', 'refund', NEW.refund_id, to_jsonb(NEW)
        );
    END IF;
    RETURN NULL;
END;
$$;

COMMENT ON FUNCTION logic.tg_refunds__record_event() IS
'Records RefundIssued (insert) and RefundUpdated (a real change).';

CREATE TRIGGER tg_refunds__record_event
AFTER INSERT OR UPDATE ON orders.refunds
FOR EACH ROW EXECUTE FUNCTION logic.tg_refunds__record_event();

CREATE FUNCTION logic.event__status_name(p_subject text, p_status text)
RETURNS text
LANGUAGE sql
IMMUTABLE
AS $$
    -- ('Payout', 'in_transit') -> PayoutInTransit
    SELECT p_subject || replace(initcap(replace(p_status, '_', ' ')), ' ', '');
$$;

COMMENT ON FUNCTION logic.event__status_name(text, text) IS
'Event type for a status change: subject + the status in CamelCase (PayoutInTransit, DisputeWon).';

CREATE FUNCTION logic.tg_payouts__record_event()
RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
    v_event text;
BEGIN
    IF TG_OP = 'INSERT' AND NEW.status NOT IN ('paid', 'failed', 'canceled') THEN
        v_event := 'PayoutCreated';
    ELSIF TG_OP = 'INSERT' OR OLD.status IS DISTINCT FROM NEW.status THEN
        -- PayoutPaid, PayoutFailed, PayoutCanceled, PayoutInTransit, PayoutPending, PayoutScheduled
        v_event := logic.event__status_name('Payout', NEW.status);
    ELSIF (OLD.amount, OLD.arrival_date) IS DISTINCT FROM (NEW.amount, NEW.arrival_date) THEN
        v_event := 'PayoutUpdated';
    ELSE
        RETURN NULL;
    END IF;
    PERFORM logic.event__record(NEW.tenant_id, NEW.channel_id, v_event, 'payout', NEW.payout_id, to_jsonb(NEW));
    RETURN NULL;
END;
$$;

COMMENT ON FUNCTION logic.tg_payouts__record_event() IS
'Records PayoutCreated, then one event per status change (PayoutPaid, PayoutFailed, ...), or PayoutUpdated.';

CREATE TRIGGER tg_payouts__record_event
AFTER INSERT OR UPDATE ON orders.payouts
FOR EACH ROW EXECUTE FUNCTION logic.tg_payouts__record_event();

CREATE FUNCTION logic.tg_balance_transactions__record_event()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM logic.event__record(
            NEW.tenant_id, NEW.channel_id, 'BalanceTransactionRecorded', 'balance_transaction',
            NEW.balance_transaction_id, to_jsonb(NEW)
        );
    ELSIF (to_jsonb(OLD) - 'recorded_at') IS DISTINCT FROM (to_jsonb(NEW) - 'recorded_at') THEN
        PERFORM logic.event__record(
            NEW.tenant_id, NEW.channel_id, 'BalanceTransactionUpdated', 'balance_transaction',
            NEW.balance_transaction_id, to_jsonb(NEW)
        );
    END IF;
    RETURN NULL;
END;
$$;

COMMENT ON FUNCTION logic.tg_balance_transactions__record_event() IS
'Records BalanceTransactionRecorded (insert) and BalanceTransactionUpdated (e.g. assigned to a payout).';

CREATE TRIGGER tg_balance_transactions__record_event
AFTER INSERT OR UPDATE ON orders.balance_transactions
FOR EACH ROW EXECUTE FUNCTION logic.tg_balance_transactions__record_event();

CREATE FUNCTION logic.tg_gift_cards__record_event()
RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
    v_event text;
BEGIN
    IF TG_OP = 'INSERT' THEN
        v_event := 'GiftCardIssued';
    ELSIF OLD.disabled_at IS NULL AND NEW.disabled_at IS NOT NULL THEN
        v_event := 'GiftCardDisabled';
    ELSIF OLD.balance IS DISTINCT FROM NEW.balance THEN
        v_event := 'GiftCardBalanceChanged';
    ELSE
        RETURN NULL;
    END IF;
    PERFORM logic.event__record(
        NEW.tenant_id, NEW.channel_id, v_event, 'gift_card', NEW.gift_card_id, to_jsonb(NEW)
    );
    RETURN NULL;
END;
$$;

COMMENT ON FUNCTION logic.tg_gift_cards__record_event() IS
'Records GiftCardIssued, GiftCardBalanceChanged and GiftCardDisabled.';

CREATE TRIGGER tg_gift_cards__record_event
AFTER INSERT OR UPDATE ON orders.gift_cards
FOR EACH ROW EXECUTE FUNCTION logic.tg_gift_cards__record_event();
