-- books.account_map: which QuickBooks account plays which role for a tenant. Rows come from
-- discovery (source = discovered) and are editable (source = manual wins: discovery never
-- overwrites a manual row). Clearing accounts are per processor and currency.

CREATE TABLE books.account_map (
    tenant_id text NOT NULL REFERENCES orders.tenants (tenant_id),
    role text NOT NULL,
    processor text NOT NULL DEFAULT '',
    currency text NOT NULL DEFAULT '',
    account_id text NOT NULL,
    account_name text,
    source text NOT NULL DEFAULT 'manual',
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, role, processor, currency),
    CONSTRAINT account_map_role_known CHECK (role IN (
        'income', 'discounts', 'shipping_income', 'sales_tax_payable', 'processor_fees', 'clearing',
        'undeposited_funds', 'bank', 'uncategorized_income', 'uncategorized_expense', 'gift_card_liability',
        'refunds', 'adjustments', 'accounts_receivable'
    )),
    CONSTRAINT account_map_currency_format CHECK (currency = '' OR currency ~ '^[A-Z]{3}$'),
    CONSTRAINT account_map_source_known CHECK (source IN ('discovered', 'manual')),
    CONSTRAINT account_map_account_id_not_blank CHECK (btrim(account_id) <> '')
);

COMMENT ON TABLE books.account_map IS
'Role → QuickBooks account per tenant (clearing per processor and currency); discovered defaults, manual overrides.';
COMMENT ON COLUMN books.account_map.tenant_id IS 'Owning tenant.';
COMMENT ON COLUMN books.account_map.role IS
'Accounting role: income, discounts, shipping_income, sales_tax_payable, processor_fees, clearing, '
'undeposited_funds, bank, uncategorized_income, uncategorized_expense, gift_card_liability, refunds, adjustments, '
'accounts_receivable.';
COMMENT ON COLUMN books.account_map.processor IS
'Payment processor / gateway the row is specific to (shopify_payments, stripe, ...); empty = any.';
COMMENT ON COLUMN books.account_map.currency IS 'Currency the row is specific to (ISO 4217); empty = any.';
COMMENT ON COLUMN books.account_map.account_id IS 'QuickBooks Account Id.';
COMMENT ON COLUMN books.account_map.account_name IS 'Account name as QuickBooks showed it (informational).';
COMMENT ON COLUMN books.account_map.source IS
'discovered (from the company at connect time) or manual (never overwritten).';
COMMENT ON COLUMN books.account_map.updated_at IS 'When the row last changed.';
