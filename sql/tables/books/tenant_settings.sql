-- books.tenant_settings: how one tenant wants its books kept, as a row (not code). Every
-- column has a default that posts a typical store correctly with zero configuration; the
-- company facts discovered at connect time fill home currency and preferences.

CREATE TABLE books.tenant_settings (
    tenant_id text PRIMARY KEY REFERENCES orders.tenants (tenant_id),
    posting_mode text NOT NULL DEFAULT 'per_order',
    customer_strategy text NOT NULL DEFAULT 'per_buyer',
    item_strategy text NOT NULL DEFAULT 'map_or_default',
    item_strict boolean NOT NULL DEFAULT FALSE,
    default_item_id text,
    shipping_item_id text,
    gift_card_item_id text,
    tax_model text NOT NULL DEFAULT 'us_automated',
    us_tax_code_id text,
    closed_period_policy text NOT NULL DEFAULT 'adjust_in_open_period',
    closed_through date,
    custom_field_rules jsonb NOT NULL DEFAULT '[]',
    home_currency character(3),
    multicurrency_enabled boolean NOT NULL DEFAULT FALSE,
    custom_txn_numbers boolean NOT NULL DEFAULT FALSE,
    allow_shipping boolean NOT NULL DEFAULT TRUE,
    discovered_at timestamptz,
    updated_at timestamptz NOT NULL DEFAULT now(),
    test_orders text NOT NULL DEFAULT 'auto',
    derive_at_commit boolean NOT NULL DEFAULT FALSE,
    CONSTRAINT tenant_settings_posting_mode_known CHECK (posting_mode IN ('per_order', 'per_payout')),
    CONSTRAINT tenant_settings_customer_strategy_known CHECK (
        customer_strategy IN ('per_buyer', 'per_buyer_jobs', 'per_channel')
    ),
    CONSTRAINT tenant_settings_item_strategy_known CHECK (
        item_strategy IN ('map_only', 'map_or_match', 'map_or_default', 'auto_create')
    ),
    CONSTRAINT tenant_settings_tax_model_known CHECK (tax_model IN ('us_automated', 'per_line_codes')),
    CONSTRAINT tenant_settings_closed_period_policy_known CHECK (
        closed_period_policy IN ('hold', 'adjust_in_open_period')
    ),
    CONSTRAINT tenant_settings_custom_field_rules_array CHECK (jsonb_typeof(custom_field_rules) = 'array'),
    CONSTRAINT tenant_settings_home_currency_format CHECK (home_currency ~ '^[A-Z]{3}$'),
    CONSTRAINT tenant_settings_test_orders_known CHECK (test_orders IN ('auto', 'book', 'skip'))
);

COMMENT ON TABLE books.tenant_settings IS
'Per-tenant posting settings (one row per tenant); defaults post a typical store with zero configuration.';
COMMENT ON COLUMN books.tenant_settings.tenant_id IS 'Owning tenant.';
COMMENT ON COLUMN books.tenant_settings.posting_mode IS
'per_order: one sales document per order; per_payout: one summary journal entry per payout.';
COMMENT ON COLUMN books.tenant_settings.customer_strategy IS
'per_buyer: one Customer per buyer; per_buyer_jobs: buyer as a sub-customer (ParentRef) of its channel; '
'per_channel: one "web sales" Customer per channel.';
COMMENT ON COLUMN books.tenant_settings.item_strategy IS
'map_only: SKU must be in books.item_map; map_or_match: else match an item by SKU/name; '
'map_or_default: else default_item_id; auto_create: else create a NonInventory item document.';
COMMENT ON COLUMN books.tenant_settings.item_strict IS
'When true an order line whose SKU is not mapped raises ITEM_UNMAPPED (exception) instead of a fallback.';
COMMENT ON COLUMN books.tenant_settings.default_item_id IS
'QuickBooks Item id used for unmapped lines under map_or_default (discovered: the first sellable item).';
COMMENT ON COLUMN books.tenant_settings.shipping_item_id IS
'QuickBooks Item id for shipping lines; SHIPPING_ITEM_ID when the company allows shipping on sales forms.';
COMMENT ON COLUMN books.tenant_settings.gift_card_item_id IS
'QuickBooks Item id for gift-card sales (a liability, not revenue), when one exists.';
COMMENT ON COLUMN books.tenant_settings.tax_model IS
'us_automated: send TxnTaxDetail.TotalTax (QuickBooks keeps it); per_line_codes: a TaxCode per line from '
'books.tax_code_map.';
COMMENT ON COLUMN books.tenant_settings.us_tax_code_id IS
'QuickBooks TaxCode id put in TxnTaxDetail.TxnTaxCodeRef under us_automated (discovered).';
COMMENT ON COLUMN books.tenant_settings.closed_period_policy IS
'hold: a document dated in a closed period is held with an exception; adjust_in_open_period: dated on the '
'first open day.';
COMMENT ON COLUMN books.tenant_settings.closed_through IS
'Last closed accounting day (books closed up to and including it); NULL when nothing is closed.';
COMMENT ON COLUMN books.tenant_settings.custom_field_rules IS
'Array of {"source": "<dotted path in the order facts>", "target": '
'"DocNumber|PrivateNote|Memo|CustomField|Class|Department", '
'"definition_id": "<custom field id>"} applied to sales documents without a migration.';
COMMENT ON COLUMN books.tenant_settings.home_currency IS 'Home currency of the QuickBooks company (discovered).';
COMMENT ON COLUMN books.tenant_settings.multicurrency_enabled IS
'Whether the company has multicurrency on (discovered); foreign-currency orders need it.';
COMMENT ON COLUMN books.tenant_settings.custom_txn_numbers IS
'Whether the company uses custom transaction numbers (discovered); when false DocNumber is left to QuickBooks.';
COMMENT ON COLUMN books.tenant_settings.allow_shipping IS
'Whether sales forms have the shipping field (discovered SalesFormsPrefs.AllowShipping).';
COMMENT ON COLUMN books.tenant_settings.discovered_at IS 'When company facts were last applied (NULL: never).';
COMMENT ON COLUMN books.tenant_settings.updated_at IS 'When the settings last changed.';
COMMENT ON COLUMN books.tenant_settings.test_orders IS
'Test-mode orders (Stripe livemode=false, Shopify test): book = always, skip = never, auto = only when the '
'tenant is connected to a non-production QuickBooks company (not quickbooks.api.intuit.com).';
COMMENT ON COLUMN books.tenant_settings.derive_at_commit IS
'false (default): a write to an order queues a derive request and the worker derives it (the app''s commit stays '
'fast); true: the books documents are derived at the app''s commit, in its transaction.';
