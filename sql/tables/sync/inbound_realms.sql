-- sync.inbound_realms: two-way sync state of a tenant's QuickBooks company: the webhook
-- verifier token (a secret like orders.channels.webhook_secret; the previous one stays valid
-- during a rotation), the CDC watermark and the adaptive sweep schedule. A tenant without a row
-- gets no inbound capture (pgbooks inbound enable creates it).

CREATE TABLE sync.inbound_realms (
    tenant_id text PRIMARY KEY REFERENCES orders.tenants (tenant_id),
    verifier_token text,
    verifier_token_previous text,
    cdc_entities text[] NOT NULL
    DEFAULT '{Invoice,SalesReceipt,Payment,CreditMemo,RefundReceipt,Customer,Deposit,JournalEntry}',
    cdc_watermark timestamptz NOT NULL DEFAULT now(),
    cdc_overlap interval NOT NULL DEFAULT '5 minutes',
    sweep_min interval NOT NULL DEFAULT '30 seconds',
    sweep_max interval NOT NULL DEFAULT '15 minutes',
    sweep_interval interval NOT NULL DEFAULT '15 minutes',
    next_sweep_at timestamptz NOT NULL DEFAULT now(),
    last_sweep_at timestamptz,
    last_sweep_changes integer,
    enabled boolean NOT NULL DEFAULT TRUE,
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT inbound_realms_overlap_range CHECK (
        cdc_overlap >= '0 seconds' AND cdc_overlap <= '1 day'
    ),
    CONSTRAINT inbound_realms_sweep_bounds CHECK (
        sweep_min >= '1 second' AND sweep_max >= sweep_min AND sweep_max <= '1 day'
    ),
    CONSTRAINT inbound_realms_cdc_entities_not_empty CHECK (cardinality(cdc_entities) >= 1)
);

CREATE INDEX inbound_realms_due ON sync.inbound_realms (next_sweep_at) WHERE enabled;

COMMENT ON TABLE sync.inbound_realms IS
'Two-way sync per tenant: webhook verifier token, CDC watermark and adaptive sweep schedule. '
'[audit: skip] holds the webhook verifier secret and a watermark rewritten on every sweep; '
'what inbound changes produce (exceptions, transactions, overrides) is audited.';
COMMENT ON COLUMN sync.inbound_realms.tenant_id IS 'Owning tenant (its realm is sync.connections.realm_id).';
COMMENT ON COLUMN sync.inbound_realms.verifier_token IS
'Intuit webhook verifier token: intuit-signature = base64(HMAC-SHA256(token, body)). Never printed.';
COMMENT ON COLUMN sync.inbound_realms.verifier_token_previous IS
'Previous verifier token, still accepted during a rotation.';
COMMENT ON COLUMN sync.inbound_realms.cdc_entities IS 'QuickBooks entities the CDC sweep asks for.';
COMMENT ON COLUMN sync.inbound_realms.cdc_watermark IS
'QuickBooks time up to which every change has been captured; the next sweep asks from watermark - overlap.';
COMMENT ON COLUMN sync.inbound_realms.cdc_overlap IS
'How far before the watermark a sweep starts again (clock skew, late commits); repeats are deduplicated.';
COMMENT ON COLUMN sync.inbound_realms.sweep_min IS 'Shortest interval between sweeps (busy realm).';
COMMENT ON COLUMN sync.inbound_realms.sweep_max IS 'Longest interval between sweeps (quiet realm).';
COMMENT ON COLUMN sync.inbound_realms.sweep_interval IS
'Interval chosen after the last sweep: sweep_max / (1 + writes in the last 15 minutes), within the bounds.';
COMMENT ON COLUMN sync.inbound_realms.next_sweep_at IS 'When the next CDC sweep is due.';
COMMENT ON COLUMN sync.inbound_realms.last_sweep_at IS 'When the last sweep was recorded.';
COMMENT ON COLUMN sync.inbound_realms.last_sweep_changes IS 'Objects the last sweep returned.';
COMMENT ON COLUMN sync.inbound_realms.enabled IS 'False: no sweep and webhooks answered 404.';
COMMENT ON COLUMN sync.inbound_realms.updated_at IS 'When the row last changed.';
