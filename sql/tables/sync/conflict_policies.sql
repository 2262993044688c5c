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
