-- 0006 books: provider-neutral accounting documents and per-tenant posting settings.
-- Mirrors sql/tables/books/*.sql (in sql/tables/books/LOADORDER order).

-- books.documents: the provider-neutral accounting document, the stable entity contract
-- between the accounting rules (books) and delivery (sync). Versioned from the first commit:
-- schema_version says how to read body; version counts content changes of one document.

CREATE TABLE books.documents (
    tenant_id text NOT NULL REFERENCES orders.tenants (tenant_id),
    document_id bigint GENERATED ALWAYS AS IDENTITY,
    schema_version smallint NOT NULL DEFAULT 1,
    doc_type text NOT NULL,
    action text NOT NULL DEFAULT 'upsert',
    version integer NOT NULL DEFAULT 1,
    source_type text NOT NULL,
    source_id text NOT NULL,
    source_role text NOT NULL DEFAULT 'main',
    status text NOT NULL DEFAULT 'ready',
    txn_date date,
    doc_number text,
    currency character(3),
    total_amount numeric(20, 4),
    depends_on bigint[] NOT NULL DEFAULT '{}',
    body jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, document_id),
    CONSTRAINT documents_one_per_source_role UNIQUE (tenant_id, source_type, source_id, source_role),
    CONSTRAINT documents_doc_type_known CHECK (doc_type IN (
        'customer', 'item', 'sales_receipt', 'invoice', 'payment', 'credit_memo',
        'refund_receipt', 'deposit', 'journal_entry', 'expense', 'transfer'
    )),
    CONSTRAINT documents_action_known CHECK (action IN ('upsert', 'void', 'delete')),
    CONSTRAINT documents_status_known CHECK (status IN ('draft', 'ready', 'blocked', 'cancelled')),
    CONSTRAINT documents_version_positive CHECK (version >= 1),
    CONSTRAINT documents_schema_version_positive CHECK (schema_version >= 1),
    CONSTRAINT documents_currency_format CHECK (currency ~ '^[A-Z]{3}$')
);

COMMENT ON TABLE books.documents IS
'Provider-neutral accounting documents (from orders, refunds, fees, payouts); one row per remote document.';
COMMENT ON COLUMN books.documents.tenant_id IS 'Owning tenant.';
COMMENT ON COLUMN books.documents.document_id IS 'Surrogate key of the document (unique within the tenant).';
COMMENT ON COLUMN books.documents.schema_version IS
'Version of the body layout (entity contract); readers must check it.';
COMMENT ON COLUMN books.documents.doc_type IS
'Kind of document (see constraint documents_doc_type_known), e.g. sales_receipt, invoice, payment, deposit.';
COMMENT ON COLUMN books.documents.action IS
'What the provider should end up with: upsert (create or update), void, delete.';
COMMENT ON COLUMN books.documents.version IS
'Content version, incremented on every change; delivery sends the latest version only (debounce).';
COMMENT ON COLUMN books.documents.source_type IS
'What produced the document: order, refund, payment, payout, customer, product, manual.';
COMMENT ON COLUMN books.documents.source_id IS 'Key of the source row within the tenant.';
COMMENT ON COLUMN books.documents.source_role IS
'Distinguishes several documents of one source (main, fees, refund:<id>, ...).';
COMMENT ON COLUMN books.documents.status IS
'draft (not to be sent yet), ready (deliverable), blocked (an open exception prevents delivery), cancelled.';
COMMENT ON COLUMN books.documents.txn_date IS 'Accounting date of the transaction.';
COMMENT ON COLUMN books.documents.doc_number IS
'Document number shown in the books (DocNumber), when the tenant uses one.';
COMMENT ON COLUMN books.documents.currency IS 'ISO 4217 currency of the amounts (one foreign currency per document).';
COMMENT ON COLUMN books.documents.total_amount IS
'Total the rendered document must have, to the cent; checked before posting.';
COMMENT ON COLUMN books.documents.depends_on IS
'document_ids that must be delivered before this one (customers, items).';
COMMENT ON COLUMN books.documents.body IS 'Provider-neutral content (lines, references), laid out per schema_version.';
COMMENT ON COLUMN books.documents.created_at IS 'When the document was first derived.';
COMMENT ON COLUMN books.documents.updated_at IS 'When the document content last changed.';

-- books.document_lines: the lines of each document in provider-neutral form, for analysts and
-- for the totals check. Rebuilt with the document (deleted and re-inserted on every version).
-- amount is what the document carries; source_amount is what the platform stated; when the
-- platform's rounding differs from QuickBooks' round_half_up(qty × unit_price, 2) the line is
-- sent as an amount without qty × price and rounding_note says so (no plug line).

CREATE TABLE books.document_lines (
    tenant_id text NOT NULL,
    document_id bigint NOT NULL,
    line_no integer NOT NULL,
    kind text NOT NULL,
    description text,
    sku text,
    qty numeric(20, 6),
    unit_price numeric(20, 6),
    amount numeric(20, 4) NOT NULL,
    source_amount numeric(20, 4),
    account_role text,
    tax_key text,
    rounding_note text,
    PRIMARY KEY (tenant_id, document_id, line_no),
    CONSTRAINT document_lines_document_fk FOREIGN KEY (tenant_id, document_id)
    REFERENCES books.documents (tenant_id, document_id) ON DELETE CASCADE,
    CONSTRAINT document_lines_kind_known CHECK (kind IN (
        'item', 'discount', 'shipping', 'tax', 'gift_card', 'tender', 'payment', 'refund', 'fee',
        'charge', 'adjustment', 'deposit', 'summary'
    ))
);

COMMENT ON TABLE books.document_lines IS
'Provider-neutral lines of each document (amounts signed as the document shows them), for analysts and checks.';
COMMENT ON COLUMN books.document_lines.tenant_id IS 'Owning tenant.';
COMMENT ON COLUMN books.document_lines.document_id IS 'Document the line belongs to.';
COMMENT ON COLUMN books.document_lines.line_no IS 'Position of the line in the document (1-based).';
COMMENT ON COLUMN books.document_lines.kind IS
'item, discount, shipping, tax, gift_card, tender, payment, refund, fee, charge, adjustment, deposit or summary.';
COMMENT ON COLUMN books.document_lines.description IS 'Line text.';
COMMENT ON COLUMN books.document_lines.sku IS 'SKU of the product line, if any.';
COMMENT ON COLUMN books.document_lines.qty IS 'Quantity sent (NULL when the line is sent as an amount only).';
COMMENT ON COLUMN books.document_lines.unit_price IS 'Unit price sent (NULL when the line is sent as an amount only).';
COMMENT ON COLUMN books.document_lines.amount IS 'Line amount in the document currency, as QuickBooks will hold it.';
COMMENT ON COLUMN books.document_lines.source_amount IS 'Amount the platform stated for this line.';
COMMENT ON COLUMN books.document_lines.account_role IS
'books.account_map role the line posts to, when it names an account.';
COMMENT ON COLUMN books.document_lines.tax_key IS 'Tax key of the line (per_line_codes model).';
COMMENT ON COLUMN books.document_lines.rounding_note IS
'Set when the platform''s qty × price rounding differs from QuickBooks'' and the line is sent amount-only.';

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
    CONSTRAINT tenant_settings_home_currency_format CHECK (home_currency ~ '^[A-Z]{3}$')
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
        'refunds', 'adjustments'
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
'undeposited_funds, bank, uncategorized_income, uncategorized_expense, gift_card_liability, refunds, adjustments.';
COMMENT ON COLUMN books.account_map.processor IS
'Payment processor / gateway the row is specific to (shopify_payments, stripe, ...); empty = any.';
COMMENT ON COLUMN books.account_map.currency IS 'Currency the row is specific to (ISO 4217); empty = any.';
COMMENT ON COLUMN books.account_map.account_id IS 'QuickBooks Account Id.';
COMMENT ON COLUMN books.account_map.account_name IS 'Account name as QuickBooks showed it (informational).';
COMMENT ON COLUMN books.account_map.source IS
'discovered (from the company at connect time) or manual (never overwritten).';
COMMENT ON COLUMN books.account_map.updated_at IS 'When the row last changed.';

-- books.item_map: explicit SKU → QuickBooks Item mapping per tenant (the first thing the item
-- strategy looks at).

CREATE TABLE books.item_map (
    tenant_id text NOT NULL REFERENCES orders.tenants (tenant_id),
    sku text NOT NULL,
    item_id text NOT NULL,
    item_name text,
    source text NOT NULL DEFAULT 'manual',
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, sku),
    CONSTRAINT item_map_sku_not_blank CHECK (btrim(sku) <> ''),
    CONSTRAINT item_map_item_id_not_blank CHECK (btrim(item_id) <> ''),
    CONSTRAINT item_map_source_known CHECK (source IN ('discovered', 'manual'))
);

COMMENT ON TABLE books.item_map IS
'SKU → QuickBooks Item id per tenant (explicit mapping, or items discovered by SKU/name).';
COMMENT ON COLUMN books.item_map.tenant_id IS 'Owning tenant.';
COMMENT ON COLUMN books.item_map.sku IS 'SKU as the store sends it (exact match).';
COMMENT ON COLUMN books.item_map.item_id IS 'QuickBooks Item Id.';
COMMENT ON COLUMN books.item_map.item_name IS 'Item name in QuickBooks (informational; also used by map_or_match).';
COMMENT ON COLUMN books.item_map.source IS 'discovered (an Item whose Sku/Name equals the SKU) or manual.';
COMMENT ON COLUMN books.item_map.updated_at IS 'When the row last changed.';

-- books.tax_code_map: for the per_line_codes tax model, which QuickBooks TaxCode a source tax
-- line maps to. Keyed by the tax line title as the platform names it (e.g. "VAT 20%"), or
-- 'rate:<decimal>' (e.g. 'rate:0.2') when titles vary; 'exempt' for untaxed lines.

CREATE TABLE books.tax_code_map (
    tenant_id text NOT NULL REFERENCES orders.tenants (tenant_id),
    tax_key text NOT NULL,
    tax_code_id text NOT NULL,
    tax_code_name text,
    source text NOT NULL DEFAULT 'manual',
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, tax_key),
    CONSTRAINT tax_code_map_tax_key_not_blank CHECK (btrim(tax_key) <> ''),
    CONSTRAINT tax_code_map_source_known CHECK (source IN ('discovered', 'manual'))
);

COMMENT ON TABLE books.tax_code_map IS
'Source tax line (title, rate:<r> or exempt) → QuickBooks TaxCode id, used by the per_line_codes tax model.';
COMMENT ON COLUMN books.tax_code_map.tenant_id IS 'Owning tenant.';
COMMENT ON COLUMN books.tax_code_map.tax_key IS
'Tax line title as sent by the platform, rate:<decimal rate>, or exempt.';
COMMENT ON COLUMN books.tax_code_map.tax_code_id IS 'QuickBooks TaxCode Id (or the pseudo codes TAX / NON).';
COMMENT ON COLUMN books.tax_code_map.tax_code_name IS 'TaxCode name in QuickBooks (informational).';
COMMENT ON COLUMN books.tax_code_map.source IS 'discovered (TaxCode name equals the key) or manual.';
COMMENT ON COLUMN books.tax_code_map.updated_at IS 'When the row last changed.';

-- books.exchange_rates: home-currency units per one unit of a foreign currency, per day. A
-- document in a foreign currency takes the latest rate on or before its date; none → an
-- EXCHANGE_RATE_MISSING exception (never a guessed rate).

CREATE TABLE books.exchange_rates (
    tenant_id text NOT NULL REFERENCES orders.tenants (tenant_id),
    currency character(3) NOT NULL,
    rate_date date NOT NULL,
    rate numeric(20, 10) NOT NULL,
    source text NOT NULL DEFAULT 'manual',
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, currency, rate_date),
    CONSTRAINT exchange_rates_currency_format CHECK (currency ~ '^[A-Z]{3}$'),
    CONSTRAINT exchange_rates_rate_positive CHECK (rate > 0),
    CONSTRAINT exchange_rates_source_known CHECK (source IN ('manual', 'imported', 'discovered'))
);

COMMENT ON TABLE books.exchange_rates IS
'Exchange rates per tenant, currency and day: home-currency units per 1 foreign unit (manual or imported).';
COMMENT ON COLUMN books.exchange_rates.tenant_id IS 'Owning tenant.';
COMMENT ON COLUMN books.exchange_rates.currency IS 'Foreign currency (ISO 4217).';
COMMENT ON COLUMN books.exchange_rates.rate_date IS 'Day the rate applies from (until the next row).';
COMMENT ON COLUMN books.exchange_rates.rate IS 'Home-currency units per 1 unit of currency (QuickBooks ExchangeRate).';
COMMENT ON COLUMN books.exchange_rates.source IS 'manual, imported (a rates feed) or discovered (from the company).';
COMMENT ON COLUMN books.exchange_rates.created_at IS 'When the row was stored.';
