-- 0011 inbound: two-way sync (changes made in QuickBooks). Mirrors sql/tables/sync/inbound_realms.sql,
-- conflict_policies.sql, inbound_changes.sql, field_overrides.sql and the quickbooks platform of
-- sql/tables/ingest/raw_events.sql.

ALTER TABLE ingest.raw_events DROP CONSTRAINT raw_events_platform_known;
ALTER TABLE ingest.raw_events ADD CONSTRAINT raw_events_platform_known CHECK (
    platform IN ('shopify', 'woocommerce', 'stripe', 'custom', 'quickbooks')
);
COMMENT ON COLUMN ingest.raw_events.platform IS
'Sending platform: shopify, woocommerce, stripe, custom, or quickbooks (two-way sync notifications).';

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

-- sync.conflict_policies: what happens when a field of a document we posted is changed in
-- QuickBooks. Rows, not code: per tenant, QuickBooks entity and top-level field ('*' = any
-- entity / any field; the most specific row wins). No row = review. Amounts, tax and lines are
-- always reviewed: the constraint below refuses any other policy for them.

CREATE TABLE sync.conflict_policies (
    tenant_id text NOT NULL REFERENCES orders.tenants (tenant_id),
    entity text NOT NULL,
    field text NOT NULL,
    policy text NOT NULL,
    note text,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, entity, field),
    CONSTRAINT conflict_policies_policy_known CHECK (
        policy IN ('app_wins', 'qbo_wins', 'last_writer_wins', 'review')
    ),
    CONSTRAINT conflict_policies_entity_format CHECK (entity = '*' OR entity ~ '^[A-Z][A-Za-z]+$'),
    CONSTRAINT conflict_policies_field_format CHECK (field = '*' OR field ~ '^[A-Z][A-Za-z0-9]*$'),
    CONSTRAINT conflict_policies_money_fields_review CHECK (
        policy = 'review' OR field NOT IN (
            '*', 'Line', 'TotalAmt', 'TxnTaxDetail', 'TotalTax', 'Balance', 'HomeTotalAmt', 'HomeBalance',
            'ExchangeRate', 'CurrencyRef', 'ApplyTaxAfterDiscount', 'GlobalTaxCalculation', 'UnappliedAmt',
            'Deposit', 'DepositToAccountRef', 'TxnDate'
        )
    )
);

COMMENT ON TABLE sync.conflict_policies IS
'Conflict policy per tenant, QuickBooks entity and field (app_wins, qbo_wins, last_writer_wins, review).';
COMMENT ON COLUMN sync.conflict_policies.tenant_id IS 'Owning tenant.';
COMMENT ON COLUMN sync.conflict_policies.entity IS 'QuickBooks entity (Invoice, Customer, ...) or * for any.';
COMMENT ON COLUMN sync.conflict_policies.field IS
'Top-level QuickBooks field (PrimaryPhone, PrivateNote, ...); * only with policy review.';
COMMENT ON COLUMN sync.conflict_policies.policy IS
'app_wins (QuickBooks edit overwritten by ours), qbo_wins (QuickBooks value kept and reflected locally), '
'last_writer_wins (later edit wins; for non-critical fields), review (exception with a field diff).';
COMMENT ON COLUMN sync.conflict_policies.note IS 'Why this policy was chosen.';
COMMENT ON COLUMN sync.conflict_policies.updated_at IS 'When the row last changed.';

-- sync.inbound_changes: every change QuickBooks told us about (webhook) or we found (CDC sweep),
-- one row per (entity, id, change time): a webhook replayed with another body, a retried
-- delivery and a sweep overlapping a webhook all land on the same row and are applied once.

CREATE TABLE sync.inbound_changes (
    tenant_id text NOT NULL REFERENCES sync.inbound_realms (tenant_id),
    change_id bigint GENERATED ALWAYS AS IDENTITY,
    realm_id text NOT NULL,
    entity text NOT NULL,
    remote_id text NOT NULL,
    operation text NOT NULL,
    changed_at timestamptz NOT NULL,
    source text NOT NULL,
    raw_event_id bigint,
    event_id text,
    seen integer NOT NULL DEFAULT 1,
    status text NOT NULL DEFAULT 'pending',
    attempts integer NOT NULL DEFAULT 0,
    outcome text,
    detail jsonb NOT NULL DEFAULT '{}',
    received_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    processed_at timestamptz,
    PRIMARY KEY (tenant_id, change_id),
    CONSTRAINT inbound_changes_one_per_change UNIQUE (tenant_id, realm_id, entity, remote_id, changed_at, operation),
    CONSTRAINT inbound_changes_operation_known CHECK (
        operation IN ('Create', 'Update', 'Delete', 'Void', 'Merge', 'Emailed')
    ),
    CONSTRAINT inbound_changes_source_known CHECK (source IN ('webhook', 'cdc', 'manual')),
    CONSTRAINT inbound_changes_status_known CHECK (status IN ('pending', 'applied', 'failed')),
    CONSTRAINT inbound_changes_outcome_when_done CHECK (status = 'pending' OR outcome IS NOT NULL)
);

CREATE INDEX inbound_changes_pending ON sync.inbound_changes (received_at) WHERE status = 'pending';
CREATE INDEX inbound_changes_recent ON sync.inbound_changes (tenant_id, received_at);

COMMENT ON TABLE sync.inbound_changes IS
'Changes made in QuickBooks (webhook or CDC), one row per entity change, applied once under the conflict policy. '
'[audit: skip] a capture queue (webhook and sweep repeats bump seen); every effect it has on the books '
'(exceptions, transactions, overrides, remote links) is audited where it lands.';
COMMENT ON COLUMN sync.inbound_changes.tenant_id IS 'Owning tenant.';
COMMENT ON COLUMN sync.inbound_changes.change_id IS 'Surrogate key, increasing in arrival order.';
COMMENT ON COLUMN sync.inbound_changes.realm_id IS 'QuickBooks company the change happened in.';
COMMENT ON COLUMN sync.inbound_changes.entity IS 'QuickBooks entity (Invoice, Payment, Customer, ...).';
COMMENT ON COLUMN sync.inbound_changes.remote_id IS 'QuickBooks Id of the changed object.';
COMMENT ON COLUMN sync.inbound_changes.operation IS
'Create, Update, Delete, Void, Merge or Emailed (CDC: Update or Delete).';
COMMENT ON COLUMN sync.inbound_changes.changed_at IS
'QuickBooks LastUpdatedTime of the change (event time for CloudEvents).';
COMMENT ON COLUMN sync.inbound_changes.source IS 'webhook, cdc (sweep) or manual.';
COMMENT ON COLUMN sync.inbound_changes.raw_event_id IS
'The stored webhook delivery (ingest.raw_events) that reported it.';
COMMENT ON COLUMN sync.inbound_changes.event_id IS 'CloudEvents id, when the notification had one.';
COMMENT ON COLUMN sync.inbound_changes.seen IS 'How many notifications or sweeps reported this same change.';
COMMENT ON COLUMN sync.inbound_changes.status IS 'pending (to fetch and compare), applied, failed (see outcome).';
COMMENT ON COLUMN sync.inbound_changes.attempts IS 'Processing attempts.';
COMMENT ON COLUMN sync.inbound_changes.outcome IS
'What was done: no_change, not_ours, accepted, pushed, review, deleted, voided, payment_recorded, ...';
COMMENT ON COLUMN sync.inbound_changes.detail IS 'Facts of the outcome (fields per policy, exception id, ...).';
COMMENT ON COLUMN sync.inbound_changes.received_at IS 'When the change was captured.';
COMMENT ON COLUMN sync.inbound_changes.processed_at IS 'When it was applied (or last failed).';

-- sync.field_overrides: QuickBooks values accepted for a document we posted (policy qbo_wins,
-- last_writer_wins won by QuickBooks, or an operator's take_theirs / merge). They are the local
-- record of that change: the renderer lays them over the derived body, so our next update
-- carries them instead of silently overwriting the QuickBooks edit.

CREATE TABLE sync.field_overrides (
    tenant_id text NOT NULL,
    document_id bigint NOT NULL,
    field text NOT NULL,
    value jsonb NOT NULL,
    origin text NOT NULL,
    change_id bigint,
    accepted_at timestamptz NOT NULL DEFAULT now(),
    accepted_by text NOT NULL DEFAULT 'inbound',
    PRIMARY KEY (tenant_id, document_id, field),
    CONSTRAINT field_overrides_document_fk FOREIGN KEY (tenant_id, document_id)
    REFERENCES books.documents (tenant_id, document_id),
    CONSTRAINT field_overrides_origin_known CHECK (
        origin IN ('qbo_wins', 'last_writer_wins', 'take_theirs', 'merge', 'quickbooks_only')
    ),
    CONSTRAINT field_overrides_field_format CHECK (field ~ '^[A-Z][A-Za-z0-9]*$')
);

COMMENT ON TABLE sync.field_overrides IS
'QuickBooks field values accepted for a posted document; laid over its body when it is rendered again.';
COMMENT ON COLUMN sync.field_overrides.tenant_id IS 'Owning tenant.';
COMMENT ON COLUMN sync.field_overrides.document_id IS 'The posted document.';
COMMENT ON COLUMN sync.field_overrides.field IS 'Top-level QuickBooks field.';
COMMENT ON COLUMN sync.field_overrides.value IS 'The value QuickBooks holds, as accepted.';
COMMENT ON COLUMN sync.field_overrides.origin IS 'Which rule accepted it (policy or operator action).';
COMMENT ON COLUMN sync.field_overrides.change_id IS 'The inbound change that brought it, when there was one.';
COMMENT ON COLUMN sync.field_overrides.accepted_at IS 'When it was accepted.';
COMMENT ON COLUMN sync.field_overrides.accepted_by IS 'inbound (a policy) or the operator who chose it.';
