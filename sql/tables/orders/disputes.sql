-- orders.disputes: chargebacks and inquiries opened by a buyer's bank against a payment
-- (Shopify Payments disputes, Stripe disputes). The money they move is in
-- orders.balance_transactions (type 'dispute'); this table is the case itself, so an operator
-- sees what is open, what is due and how it ended. Statuses never move back from a final one.

CREATE TABLE orders.disputes (
    tenant_id text NOT NULL,
    channel_id text NOT NULL,
    dispute_id text NOT NULL,
    order_id text,
    charge_id text,
    kind text NOT NULL,
    status text NOT NULL,
    platform_status text NOT NULL,
    amount numeric NOT NULL,
    currency character(3) NOT NULL,
    reason text,
    network_reason_code text,
    evidence_due_by timestamptz,
    initiated_at timestamptz,
    finalized_at timestamptz,
    platform_updated_at timestamptz,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, channel_id, dispute_id),
    FOREIGN KEY (tenant_id, channel_id) REFERENCES orders.channels (tenant_id, channel_id),
    CONSTRAINT disputes_currency_iso4217 FOREIGN KEY (currency) REFERENCES orders.currencies (currency_code),
    CONSTRAINT disputes_amount_non_negative CHECK (amount >= 0),
    CONSTRAINT disputes_kind_known CHECK (kind IN ('chargeback', 'inquiry')),
    CONSTRAINT disputes_status_known CHECK (
        status IN ('needs_response', 'under_review', 'won', 'lost', 'accepted', 'closed')
    )
);

CREATE INDEX disputes_order_idx ON orders.disputes (tenant_id, channel_id, order_id);

COMMENT ON TABLE orders.disputes IS
'Chargebacks and inquiries against payments (Shopify Payments, Stripe): the case, its status and deadline.';
COMMENT ON COLUMN orders.disputes.tenant_id IS 'Owning tenant.';
COMMENT ON COLUMN orders.disputes.channel_id IS 'Channel (provider account) the disputed payment was made on.';
COMMENT ON COLUMN orders.disputes.dispute_id IS 'Dispute id on the platform.';
COMMENT ON COLUMN orders.disputes.order_id IS
'Disputed order, when the platform names it (Stripe: the charge id = order id).';
COMMENT ON COLUMN orders.disputes.charge_id IS 'Disputed payment (Stripe charge id), when known.';
COMMENT ON COLUMN orders.disputes.kind IS
'chargeback (money withdrawn) or inquiry (retrieval request / warning, no money moved yet).';
COMMENT ON COLUMN orders.disputes.status IS
'Canonical status: needs_response, under_review (open); won, lost, accepted, closed (final).';
COMMENT ON COLUMN orders.disputes.platform_status IS 'The status exactly as the platform sent it.';
COMMENT ON COLUMN orders.disputes.amount IS 'Disputed amount in the dispute currency (major units).';
COMMENT ON COLUMN orders.disputes.currency IS 'ISO 4217 currency of the dispute.';
COMMENT ON COLUMN orders.disputes.reason IS 'Reason given by the network (fraudulent, product_not_received, ...).';
COMMENT ON COLUMN orders.disputes.network_reason_code IS 'Card network reason code (e.g. 4827, 10.4).';
COMMENT ON COLUMN orders.disputes.evidence_due_by IS 'Deadline to submit evidence.';
COMMENT ON COLUMN orders.disputes.initiated_at IS 'When the dispute was opened.';
COMMENT ON COLUMN orders.disputes.finalized_at IS 'When it reached a final status, when known.';
COMMENT ON COLUMN orders.disputes.platform_updated_at IS
'Platform''s own time of the version stored (Stripe Event.created); an older version is never applied over it.';
COMMENT ON COLUMN orders.disputes.recorded_at IS 'When pgbooks last wrote the row.';
