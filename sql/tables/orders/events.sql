-- orders.events: the canonical event stream (OrderCreated, OrderUpdated, OrderCancelled,
-- PaymentCaptured, RefundIssued, PayoutPaid, ...), written only by triggers of sql/code/orders.
-- Consumers (books, audit) read it in event_id order per tenant.

CREATE TABLE orders.events (
    tenant_id text NOT NULL,
    event_id bigint GENERATED ALWAYS AS IDENTITY,
    event_type text NOT NULL,
    schema_version smallint NOT NULL DEFAULT 1,
    channel_id text NOT NULL,
    subject_type text NOT NULL,
    subject_id text NOT NULL,
    payload jsonb NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, event_id),
    CONSTRAINT events_event_type_format CHECK (event_type ~ '^[A-Z][A-Za-z]+$'),
    CONSTRAINT events_schema_version_positive CHECK (schema_version >= 1),
    CONSTRAINT events_subject_type_known CHECK (subject_type IN (
        'order', 'transaction', 'refund', 'payout', 'balance_transaction', 'gift_card', 'dispute'
    ))
);

CREATE INDEX events_subject_idx ON orders.events (tenant_id, channel_id, subject_type, subject_id);

COMMENT ON TABLE orders.events IS
'Canonical commerce event stream, one row per state change, recorded by triggers; append-only.';
COMMENT ON COLUMN orders.events.tenant_id IS 'Owning tenant.';
COMMENT ON COLUMN orders.events.event_id IS 'Position in the stream (increasing).';
COMMENT ON COLUMN orders.events.event_type IS
'OrderCreated, OrderUpdated, OrderCancelled, OrderFlagged, PaymentCaptured, RefundIssued, PayoutPaid, ...';
COMMENT ON COLUMN orders.events.schema_version IS 'Version of the payload layout of this event type.';
COMMENT ON COLUMN orders.events.channel_id IS 'Channel of the subject.';
COMMENT ON COLUMN orders.events.subject_type IS 'Kind of row that changed: order, transaction, refund, payout, ...';
COMMENT ON COLUMN orders.events.subject_id IS 'Key of that row within the channel.';
COMMENT ON COLUMN orders.events.payload IS 'The row after the change (to_jsonb), plus computed fields for orders.';
COMMENT ON COLUMN orders.events.recorded_at IS 'When the event was recorded.';
