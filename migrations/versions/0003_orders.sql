-- 0003 orders: canonical commerce facts. Mirrors sql/tables/orders/*.sql.

-- orders.tenants: one tenant = one merchant = one accounting company (QuickBooks realm).
-- tenant_id is a readable slug and the leading key column of every table (Citus-ready).

CREATE TABLE orders.tenants (
    tenant_id text PRIMARY KEY,
    name text NOT NULL,
    home_currency character(3) NOT NULL DEFAULT 'USD',
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT tenants_tenant_id_format CHECK (tenant_id ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
    CONSTRAINT tenants_name_not_blank CHECK (btrim(name) <> ''),
    CONSTRAINT tenants_home_currency_format CHECK (home_currency ~ '^[A-Z]{3}$')
);

COMMENT ON TABLE orders.tenants IS
'A merchant: one accounting company (QuickBooks realm). Every row of every table belongs to one tenant.';
COMMENT ON COLUMN orders.tenants.tenant_id IS
'Readable slug (lower-case letters, digits, - and _), the leading key column of every table.';
COMMENT ON COLUMN orders.tenants.name IS 'Display name of the merchant.';
COMMENT ON COLUMN orders.tenants.home_currency IS
'ISO 4217 code of the books'' home currency (the QuickBooks company currency).';
COMMENT ON COLUMN orders.tenants.created_at IS 'When the tenant was created.';

-- orders.currencies: ISO 4217 reference data (code + minor units). Seeded here because every
-- amount check needs it; a tenant cannot use a currency that is not listed.

CREATE TABLE orders.currencies (
    currency_code character(3) PRIMARY KEY,
    minor_units smallint NOT NULL,
    name text NOT NULL,
    CONSTRAINT currencies_currency_code_format CHECK (currency_code ~ '^[A-Z]{3}$'),
    CONSTRAINT currencies_minor_units_range CHECK (minor_units BETWEEN 0 AND 4)
);

COMMENT ON TABLE orders.currencies IS
'ISO 4217 currencies with their minor units (decimal places); amounts are checked against them.';
COMMENT ON COLUMN orders.currencies.currency_code IS 'ISO 4217 alphabetic code, e.g. USD, EUR, JPY.';
COMMENT ON COLUMN orders.currencies.minor_units IS
'Number of decimal places of the currency (JPY 0, USD 2, KWD 3); amounts may not be finer.';
COMMENT ON COLUMN orders.currencies.name IS 'English name of the currency.';

INSERT INTO orders.currencies (currency_code, minor_units, name) VALUES
('AED', 2, 'UAE Dirham'), ('AFN', 2, 'Afghani'), ('ALL', 2, 'Lek'), ('AMD', 2, 'Armenian Dram'),
('ANG', 2, 'Netherlands Antillean Guilder'), ('AOA', 2, 'Kwanza'), ('ARS', 2, 'Argentine Peso'),
('AUD', 2, 'Australian Dollar'), ('AWG', 2, 'Aruban Florin'), ('AZN', 2, 'Azerbaijan Manat'),
('BAM', 2, 'Convertible Mark'), ('BBD', 2, 'Barbados Dollar'), ('BDT', 2, 'Taka'),
('BGN', 2, 'Bulgarian Lev'), ('BHD', 3, 'Bahraini Dinar'), ('BIF', 0, 'Burundi Franc'),
('BMD', 2, 'Bermudian Dollar'), ('BND', 2, 'Brunei Dollar'), ('BOB', 2, 'Boliviano'),
('BRL', 2, 'Brazilian Real'), ('BSD', 2, 'Bahamian Dollar'), ('BTN', 2, 'Ngultrum'),
('BWP', 2, 'Pula'), ('BYN', 2, 'Belarusian Ruble'), ('BZD', 2, 'Belize Dollar'),
('CAD', 2, 'Canadian Dollar'), ('CDF', 2, 'Congolese Franc'), ('CHF', 2, 'Swiss Franc'),
('CLP', 0, 'Chilean Peso'), ('CNY', 2, 'Yuan Renminbi'), ('COP', 2, 'Colombian Peso'),
('CRC', 2, 'Costa Rican Colon'), ('CUP', 2, 'Cuban Peso'), ('CVE', 2, 'Cabo Verde Escudo'),
('CZK', 2, 'Czech Koruna'), ('DJF', 0, 'Djibouti Franc'), ('DKK', 2, 'Danish Krone'),
('DOP', 2, 'Dominican Peso'), ('DZD', 2, 'Algerian Dinar'), ('EGP', 2, 'Egyptian Pound'),
('ERN', 2, 'Nakfa'), ('ETB', 2, 'Ethiopian Birr'), ('EUR', 2, 'Euro'), ('FJD', 2, 'Fiji Dollar'),
('FKP', 2, 'Falkland Islands Pound'), ('GBP', 2, 'Pound Sterling'), ('GEL', 2, 'Lari'),
('GHS', 2, 'Ghana Cedi'), ('GIP', 2, 'Gibraltar Pound'), ('GMD', 2, 'Dalasi'),
('GNF', 0, 'Guinean Franc'), ('GTQ', 2, 'Quetzal'), ('GYD', 2, 'Guyana Dollar'),
('HKD', 2, 'Hong Kong Dollar'), ('HNL', 2, 'Lempira'), ('HTG', 2, 'Gourde'), ('HUF', 2, 'Forint'),
('IDR', 2, 'Rupiah'), ('ILS', 2, 'New Israeli Sheqel'), ('INR', 2, 'Indian Rupee'),
('IQD', 3, 'Iraqi Dinar'), ('IRR', 2, 'Iranian Rial'), ('ISK', 0, 'Iceland Krona'),
('JMD', 2, 'Jamaican Dollar'), ('JOD', 3, 'Jordanian Dinar'), ('JPY', 0, 'Yen'),
('KES', 2, 'Kenyan Shilling'), ('KGS', 2, 'Som'), ('KHR', 2, 'Riel'), ('KMF', 0, 'Comorian Franc'),
('KPW', 2, 'North Korean Won'), ('KRW', 0, 'Won'), ('KWD', 3, 'Kuwaiti Dinar'),
('KYD', 2, 'Cayman Islands Dollar'), ('KZT', 2, 'Tenge'), ('LAK', 2, 'Lao Kip'),
('LBP', 2, 'Lebanese Pound'), ('LKR', 2, 'Sri Lanka Rupee'), ('LRD', 2, 'Liberian Dollar'),
('LSL', 2, 'Loti'), ('LYD', 3, 'Libyan Dinar'), ('MAD', 2, 'Moroccan Dirham'),
('MDL', 2, 'Moldovan Leu'), ('MGA', 2, 'Malagasy Ariary'), ('MKD', 2, 'Denar'), ('MMK', 2, 'Kyat'),
('MNT', 2, 'Tugrik'), ('MOP', 2, 'Pataca'), ('MRU', 2, 'Ouguiya'), ('MUR', 2, 'Mauritius Rupee'),
('MVR', 2, 'Rufiyaa'), ('MWK', 2, 'Malawi Kwacha'), ('MXN', 2, 'Mexican Peso'),
('MYR', 2, 'Malaysian Ringgit'), ('MZN', 2, 'Mozambique Metical'), ('NAD', 2, 'Namibia Dollar'),
('NGN', 2, 'Naira'), ('NIO', 2, 'Cordoba Oro'), ('NOK', 2, 'Norwegian Krone'),
('NPR', 2, 'Nepalese Rupee'), ('NZD', 2, 'New Zealand Dollar'), ('OMR', 3, 'Rial Omani'),
('PAB', 2, 'Balboa'), ('PEN', 2, 'Sol'), ('PGK', 2, 'Kina'), ('PHP', 2, 'Philippine Peso'),
('PKR', 2, 'Pakistan Rupee'), ('PLN', 2, 'Zloty'), ('PYG', 0, 'Guarani'), ('QAR', 2, 'Qatari Rial'),
('RON', 2, 'Romanian Leu'), ('RSD', 2, 'Serbian Dinar'), ('RUB', 2, 'Russian Ruble'),
('RWF', 0, 'Rwanda Franc'), ('SAR', 2, 'Saudi Riyal'), ('SBD', 2, 'Solomon Islands Dollar'),
('SCR', 2, 'Seychelles Rupee'), ('SDG', 2, 'Sudanese Pound'), ('SEK', 2, 'Swedish Krona'),
('SGD', 2, 'Singapore Dollar'), ('SHP', 2, 'Saint Helena Pound'), ('SLE', 2, 'Leone'),
('SOS', 2, 'Somali Shilling'), ('SRD', 2, 'Surinam Dollar'), ('SSP', 2, 'South Sudanese Pound'),
('STN', 2, 'Dobra'), ('SVC', 2, 'El Salvador Colon'), ('SYP', 2, 'Syrian Pound'),
('SZL', 2, 'Lilangeni'), ('THB', 2, 'Baht'), ('TJS', 2, 'Somoni'), ('TMT', 2, 'Turkmenistan New Manat'),
('TND', 3, 'Tunisian Dinar'), ('TOP', 2, 'Pa''anga'), ('TRY', 2, 'Turkish Lira'),
('TTD', 2, 'Trinidad and Tobago Dollar'), ('TWD', 2, 'New Taiwan Dollar'),
('TZS', 2, 'Tanzanian Shilling'), ('UAH', 2, 'Hryvnia'), ('UGX', 0, 'Uganda Shilling'),
('USD', 2, 'US Dollar'), ('UYU', 2, 'Peso Uruguayo'), ('UYW', 4, 'Unidad Previsional'),
('UZS', 2, 'Uzbekistan Sum'), ('VES', 2, 'Bolivar Soberano'), ('VND', 0, 'Dong'), ('VUV', 0, 'Vatu'),
('WST', 2, 'Tala'), ('XAF', 0, 'CFA Franc BEAC'), ('XCD', 2, 'East Caribbean Dollar'),
('XOF', 0, 'CFA Franc BCEAO'), ('XPF', 0, 'CFP Franc'), ('YER', 2, 'Yemeni Rial'), ('ZAR', 2, 'Rand'),
('ZMW', 2, 'Zambian Kwacha'), ('ZWL', 2, 'Zimbabwe Dollar');

-- orders.channels: a store or account on a platform. INGEST finds the channel of a webhook
-- delivery by (platform, external_account_id) and verifies it with webhook_secret (or
-- webhook_secret_previous during a rotation).

CREATE TABLE orders.channels (
    tenant_id text NOT NULL REFERENCES orders.tenants (tenant_id),
    channel_id text NOT NULL,
    platform text NOT NULL,
    name text NOT NULL,
    currency character(3) NOT NULL,
    webhook_secret text,
    webhook_secret_previous text,
    external_account_id text,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, channel_id),
    CONSTRAINT channels_platform_known CHECK (platform IN ('shopify', 'woocommerce', 'stripe', 'custom')),
    CONSTRAINT channels_channel_id_format CHECK (channel_id ~ '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,62}$'),
    CONSTRAINT channels_name_not_blank CHECK (btrim(name) <> ''),
    CONSTRAINT channels_currency_iso4217 FOREIGN KEY (currency) REFERENCES orders.currencies (currency_code)
);

CREATE INDEX channels_external_account_idx ON orders.channels (platform, external_account_id);

COMMENT ON TABLE orders.channels IS
'A store or account on a platform (Shopify shop, WooCommerce site, Stripe account, or a custom app).';
COMMENT ON COLUMN orders.channels.tenant_id IS 'Owning tenant.';
COMMENT ON COLUMN orders.channels.channel_id IS 'Tenant-chosen identifier of the channel, part of every order key.';
COMMENT ON COLUMN orders.channels.platform IS 'shopify, woocommerce, stripe or custom (an app writing rows).';
COMMENT ON COLUMN orders.channels.name IS 'Display name of the store or account.';
COMMENT ON COLUMN orders.channels.currency IS 'Shop (settlement) currency of the channel, ISO 4217.';
COMMENT ON COLUMN orders.channels.webhook_secret IS 'Current secret used to verify webhook signatures.';
COMMENT ON COLUMN orders.channels.webhook_secret_previous IS
'Previous secret, still accepted during a rotation; NULL when no rotation is in progress.';
COMMENT ON COLUMN orders.channels.external_account_id IS
'Platform account of the channel: Shopify shop domain, WooCommerce site URL, Stripe account id (acct_...).';
COMMENT ON COLUMN orders.channels.created_at IS 'When the channel was registered.';

-- orders.customers: buyers as known by a channel.

CREATE TABLE orders.customers (
    tenant_id text NOT NULL,
    channel_id text NOT NULL,
    customer_id text NOT NULL,
    email text,
    display_name text,
    phone text,
    platform_updated_at timestamptz,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, channel_id, customer_id),
    FOREIGN KEY (tenant_id, channel_id) REFERENCES orders.channels (tenant_id, channel_id)
);

COMMENT ON TABLE orders.customers IS 'Buyers as identified by a channel.';
COMMENT ON COLUMN orders.customers.tenant_id IS 'Owning tenant.';
COMMENT ON COLUMN orders.customers.channel_id IS 'Channel that knows this customer.';
COMMENT ON COLUMN orders.customers.customer_id IS 'Customer id on the platform (or the app).';
COMMENT ON COLUMN orders.customers.email IS 'Email address, when known.';
COMMENT ON COLUMN orders.customers.display_name IS 'Name to show (first + last name or company).';
COMMENT ON COLUMN orders.customers.phone IS 'Phone number, when known.';
COMMENT ON COLUMN orders.customers.platform_updated_at IS 'Platform''s own last-modified time of the customer.';
COMMENT ON COLUMN orders.customers.recorded_at IS 'When pgbooks last wrote the row.';

-- orders.products and orders.variants: the catalogue as referenced by order lines (SKU level).

CREATE TABLE orders.products (
    tenant_id text NOT NULL,
    channel_id text NOT NULL,
    product_id text NOT NULL,
    title text NOT NULL,
    vendor text,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, channel_id, product_id),
    FOREIGN KEY (tenant_id, channel_id) REFERENCES orders.channels (tenant_id, channel_id)
);

COMMENT ON TABLE orders.products IS 'Products of a channel''s catalogue.';
COMMENT ON COLUMN orders.products.tenant_id IS 'Owning tenant.';
COMMENT ON COLUMN orders.products.channel_id IS 'Channel of the catalogue.';
COMMENT ON COLUMN orders.products.product_id IS 'Product id on the platform.';
COMMENT ON COLUMN orders.products.title IS 'Product title.';
COMMENT ON COLUMN orders.products.vendor IS 'Vendor or brand, when known.';
COMMENT ON COLUMN orders.products.recorded_at IS 'When pgbooks last wrote the row.';

CREATE TABLE orders.variants (
    tenant_id text NOT NULL,
    channel_id text NOT NULL,
    variant_id text NOT NULL,
    product_id text,
    sku text,
    title text,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, channel_id, variant_id),
    FOREIGN KEY (tenant_id, channel_id) REFERENCES orders.channels (tenant_id, channel_id)
);

CREATE INDEX variants_sku_idx ON orders.variants (tenant_id, sku);

COMMENT ON TABLE orders.variants IS 'Sellable variants (SKU level) of products.';
COMMENT ON COLUMN orders.variants.tenant_id IS 'Owning tenant.';
COMMENT ON COLUMN orders.variants.channel_id IS 'Channel of the catalogue.';
COMMENT ON COLUMN orders.variants.variant_id IS 'Variant id on the platform.';
COMMENT ON COLUMN orders.variants.product_id IS 'Product the variant belongs to, when known.';
COMMENT ON COLUMN orders.variants.sku IS 'Stock keeping unit; the key item mappings usually use.';
COMMENT ON COLUMN orders.variants.title IS 'Variant title (e.g. size / colour).';
COMMENT ON COLUMN orders.variants.recorded_at IS 'When pgbooks last wrote the row.';

-- orders.orders: one order header with the platform's stated totals. Lines, discounts,
-- shipping and taxes live in child tables. Stated totals are stored as given and checked at
-- commit by a deferred constraint trigger (sql/code/orders/totals.sql): an inconsistent order
-- is kept and flagged (orders.order_flags, TOTALS_MISMATCH), never rejected and never plugged.

CREATE TABLE orders.orders (
    tenant_id text NOT NULL,
    channel_id text NOT NULL,
    order_id text NOT NULL,
    order_number text,
    customer_id text,
    email text,
    currency character(3) NOT NULL,
    presentment_currency character(3),
    presentment_total numeric,
    taxes_included boolean NOT NULL DEFAULT FALSE,
    financial_status text,
    fulfillment_status text,
    placed_at timestamptz,
    cancelled_at timestamptz,
    cancel_reason text,
    platform_updated_at timestamptz,
    platform_version bigint,
    stated_subtotal numeric,
    stated_total_discounts numeric,
    stated_total_shipping numeric,
    stated_total_tax numeric,
    stated_total numeric NOT NULL,
    is_test boolean NOT NULL DEFAULT FALSE,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, channel_id, order_id),
    FOREIGN KEY (tenant_id, channel_id) REFERENCES orders.channels (tenant_id, channel_id),
    CONSTRAINT orders_currency_iso4217 FOREIGN KEY (currency) REFERENCES orders.currencies (currency_code),
    CONSTRAINT orders_presentment_currency_iso4217 FOREIGN KEY (presentment_currency)
    REFERENCES orders.currencies (currency_code),
    CONSTRAINT orders_order_id_not_blank CHECK (btrim(order_id) <> ''),
    CONSTRAINT orders_financial_status_known CHECK (financial_status IN (
        'pending', 'authorized', 'partially_paid', 'paid', 'partially_refunded', 'refunded', 'voided',
        'expired', 'failed'
    )),
    CONSTRAINT orders_stated_subtotal_non_negative CHECK (stated_subtotal >= 0),
    CONSTRAINT orders_stated_total_discounts_non_negative CHECK (stated_total_discounts >= 0),
    CONSTRAINT orders_stated_total_shipping_non_negative CHECK (stated_total_shipping >= 0),
    CONSTRAINT orders_stated_total_tax_non_negative CHECK (stated_total_tax >= 0),
    CONSTRAINT orders_stated_total_non_negative CHECK (stated_total >= 0),
    CONSTRAINT orders_presentment_total_non_negative CHECK (presentment_total >= 0)
);

CREATE INDEX orders_customer_idx ON orders.orders (tenant_id, channel_id, customer_id);

COMMENT ON TABLE orders.orders IS
'Order headers with the platform''s stated totals; inconsistent totals are flagged in order_flags, never fixed.';
COMMENT ON COLUMN orders.orders.tenant_id IS 'Owning tenant.';
COMMENT ON COLUMN orders.orders.channel_id IS 'Channel the order was placed on.';
COMMENT ON COLUMN orders.orders.order_id IS 'Order id on the platform (or chosen by the app); unique per channel.';
COMMENT ON COLUMN orders.orders.order_number IS 'Human order number / name shown to the buyer (e.g. #1001).';
COMMENT ON COLUMN orders.orders.customer_id IS 'Buyer (orders.customers) when known.';
COMMENT ON COLUMN orders.orders.email IS 'Buyer email as written on the order.';
COMMENT ON COLUMN orders.orders.currency IS
'Shop currency (ISO 4217) of every amount of the order, its lines, discounts, shipping and taxes.';
COMMENT ON COLUMN orders.orders.presentment_currency IS
'Currency the buyer saw, when different from the shop currency.';
COMMENT ON COLUMN orders.orders.presentment_total IS 'Order total in the presentment currency.';
COMMENT ON COLUMN orders.orders.taxes_included IS 'True when line prices include tax (tax is not added to the total).';
COMMENT ON COLUMN orders.orders.financial_status IS
'Payment state on the platform: pending, authorized, partially_paid, paid, partially_refunded, refunded, voided, ...';
COMMENT ON COLUMN orders.orders.fulfillment_status IS 'Fulfillment state on the platform (free text, informative).';
COMMENT ON COLUMN orders.orders.placed_at IS 'When the order was placed (processed) on the platform.';
COMMENT ON COLUMN orders.orders.cancelled_at IS 'When the order was cancelled; NULL when not cancelled.';
COMMENT ON COLUMN orders.orders.cancel_reason IS 'Reason given for the cancellation.';
COMMENT ON COLUMN orders.orders.platform_updated_at IS
'Platform''s own last-modified time: a write carrying an older value than the stored one is stale (PB105).';
COMMENT ON COLUMN orders.orders.platform_version IS
'Platform''s own version counter when it has one; like platform_updated_at, never goes backwards.';
COMMENT ON COLUMN orders.orders.stated_subtotal IS
'Stated sum of lines after line and order discounts, before shipping and tax.';
COMMENT ON COLUMN orders.orders.stated_total_discounts IS 'Stated sum of all discounts.';
COMMENT ON COLUMN orders.orders.stated_total_shipping IS 'Stated shipping charged, after shipping discounts.';
COMMENT ON COLUMN orders.orders.stated_total_tax IS 'Stated sum of taxes.';
COMMENT ON COLUMN orders.orders.stated_total IS 'Stated grand total the buyer pays.';
COMMENT ON COLUMN orders.orders.is_test IS 'True for test orders of the platform.';
COMMENT ON COLUMN orders.orders.recorded_at IS 'When pgbooks last wrote the row.';

-- orders.order_lines: what was sold. Amounts are in the order's currency.

CREATE TABLE orders.order_lines (
    tenant_id text NOT NULL,
    channel_id text NOT NULL,
    order_id text NOT NULL,
    line_id text NOT NULL,
    line_kind text NOT NULL DEFAULT 'product',
    product_id text,
    variant_id text,
    sku text,
    title text NOT NULL,
    quantity numeric NOT NULL,
    unit_price numeric NOT NULL,
    gross_amount numeric,
    taxable boolean NOT NULL DEFAULT TRUE,
    PRIMARY KEY (tenant_id, channel_id, order_id, line_id),
    FOREIGN KEY (tenant_id, channel_id, order_id) REFERENCES orders.orders (tenant_id, channel_id, order_id)
    ON DELETE CASCADE,
    CONSTRAINT order_lines_line_kind_known CHECK (
        line_kind IN ('product', 'fee', 'tip', 'gift_card', 'duty', 'charge')
    ),
    CONSTRAINT order_lines_quantity_non_negative CHECK (quantity >= 0),
    CONSTRAINT order_lines_unit_price_non_negative CHECK (unit_price >= 0),
    CONSTRAINT order_lines_gross_amount_non_negative CHECK (gross_amount >= 0)
);

COMMENT ON TABLE orders.order_lines IS 'Lines of an order (products, fees, tips, gift cards, duties).';
COMMENT ON COLUMN orders.order_lines.tenant_id IS 'Owning tenant.';
COMMENT ON COLUMN orders.order_lines.channel_id IS 'Channel of the order.';
COMMENT ON COLUMN orders.order_lines.order_id IS 'Order the line belongs to.';
COMMENT ON COLUMN orders.order_lines.line_id IS 'Line id on the platform (unique within the order).';
COMMENT ON COLUMN orders.order_lines.line_kind IS
'product, fee, tip, gift_card (sale of a gift card: a liability, not revenue), duty, charge (a bare payment).';
COMMENT ON COLUMN orders.order_lines.product_id IS 'Product sold, when known.';
COMMENT ON COLUMN orders.order_lines.variant_id IS 'Variant sold, when known.';
COMMENT ON COLUMN orders.order_lines.sku IS 'SKU as written on the line.';
COMMENT ON COLUMN orders.order_lines.title IS 'Line description.';
COMMENT ON COLUMN orders.order_lines.quantity IS 'Quantity sold; never negative (returns are refunds).';
COMMENT ON COLUMN orders.order_lines.unit_price IS
'Price of one unit before discounts, in the order currency (may be finer than the minor units).';
COMMENT ON COLUMN orders.order_lines.gross_amount IS
'Line amount before discounts as stated (at most the currency''s minor units); NULL = quantity x unit_price rounded.';
COMMENT ON COLUMN orders.order_lines.taxable IS 'Whether the line is subject to tax.';

-- Discount allocations, shipping lines and tax lines of an order. A row with line_id and
-- shipping_line_id both NULL applies to the whole order.

CREATE TABLE orders.shipping_lines (
    tenant_id text NOT NULL,
    channel_id text NOT NULL,
    order_id text NOT NULL,
    shipping_line_id text NOT NULL,
    title text,
    code text,
    price numeric NOT NULL,
    PRIMARY KEY (tenant_id, channel_id, order_id, shipping_line_id),
    FOREIGN KEY (tenant_id, channel_id, order_id) REFERENCES orders.orders (tenant_id, channel_id, order_id)
    ON DELETE CASCADE,
    CONSTRAINT shipping_lines_price_non_negative CHECK (price >= 0)
);

COMMENT ON TABLE orders.shipping_lines IS 'Shipping charged on an order, before shipping discounts.';
COMMENT ON COLUMN orders.shipping_lines.tenant_id IS 'Owning tenant.';
COMMENT ON COLUMN orders.shipping_lines.channel_id IS 'Channel of the order.';
COMMENT ON COLUMN orders.shipping_lines.order_id IS 'Order charged.';
COMMENT ON COLUMN orders.shipping_lines.shipping_line_id IS 'Shipping line id on the platform.';
COMMENT ON COLUMN orders.shipping_lines.title IS 'Shipping method shown to the buyer.';
COMMENT ON COLUMN orders.shipping_lines.code IS 'Shipping method code.';
COMMENT ON COLUMN orders.shipping_lines.price IS 'Shipping price before discounts, in the order currency.';

CREATE TABLE orders.discount_allocations (
    tenant_id text NOT NULL,
    channel_id text NOT NULL,
    order_id text NOT NULL,
    allocation_id text NOT NULL,
    line_id text,
    shipping_line_id text,
    code text,
    amount numeric NOT NULL,
    PRIMARY KEY (tenant_id, channel_id, order_id, allocation_id),
    FOREIGN KEY (tenant_id, channel_id, order_id) REFERENCES orders.orders (tenant_id, channel_id, order_id)
    ON DELETE CASCADE,
    CONSTRAINT discount_allocations_amount_non_negative CHECK (amount >= 0),
    CONSTRAINT discount_allocations_one_target CHECK (line_id IS NULL OR shipping_line_id IS NULL)
);

COMMENT ON TABLE orders.discount_allocations IS
'Discount amounts allocated to a line, a shipping line, or (both NULL) the whole order.';
COMMENT ON COLUMN orders.discount_allocations.tenant_id IS 'Owning tenant.';
COMMENT ON COLUMN orders.discount_allocations.channel_id IS 'Channel of the order.';
COMMENT ON COLUMN orders.discount_allocations.order_id IS 'Order discounted.';
COMMENT ON COLUMN orders.discount_allocations.allocation_id IS 'Identifier of the allocation within the order.';
COMMENT ON COLUMN orders.discount_allocations.line_id IS 'Line discounted, or NULL.';
COMMENT ON COLUMN orders.discount_allocations.shipping_line_id IS 'Shipping line discounted, or NULL.';
COMMENT ON COLUMN orders.discount_allocations.code IS 'Discount code or title.';
COMMENT ON COLUMN orders.discount_allocations.amount IS 'Discount amount, positive, in the order currency.';

CREATE TABLE orders.tax_lines (
    tenant_id text NOT NULL,
    channel_id text NOT NULL,
    order_id text NOT NULL,
    tax_line_id text NOT NULL,
    line_id text,
    shipping_line_id text,
    title text NOT NULL,
    rate numeric(12, 8),
    amount numeric NOT NULL,
    PRIMARY KEY (tenant_id, channel_id, order_id, tax_line_id),
    FOREIGN KEY (tenant_id, channel_id, order_id) REFERENCES orders.orders (tenant_id, channel_id, order_id)
    ON DELETE CASCADE,
    CONSTRAINT tax_lines_amount_non_negative CHECK (amount >= 0),
    CONSTRAINT tax_lines_rate_non_negative CHECK (rate >= 0),
    CONSTRAINT tax_lines_one_target CHECK (line_id IS NULL OR shipping_line_id IS NULL)
);

COMMENT ON TABLE orders.tax_lines IS
'Taxes per line, shipping line or (both NULL) order; order tax = sum of all rows: store detail or summary, not both.';
COMMENT ON COLUMN orders.tax_lines.tenant_id IS 'Owning tenant.';
COMMENT ON COLUMN orders.tax_lines.channel_id IS 'Channel of the order.';
COMMENT ON COLUMN orders.tax_lines.order_id IS 'Order taxed.';
COMMENT ON COLUMN orders.tax_lines.tax_line_id IS 'Identifier of the tax line within the order.';
COMMENT ON COLUMN orders.tax_lines.line_id IS 'Line taxed, or NULL.';
COMMENT ON COLUMN orders.tax_lines.shipping_line_id IS 'Shipping line taxed, or NULL.';
COMMENT ON COLUMN orders.tax_lines.title IS 'Tax name (e.g. State Tax, VAT 20%).';
COMMENT ON COLUMN orders.tax_lines.rate IS 'Tax rate as a fraction (0.06 = 6 %), when known.';
COMMENT ON COLUMN orders.tax_lines.amount IS 'Tax amount in the order currency.';

-- orders.transactions: money movements on a payment gateway for an order. No foreign key to
-- orders: a platform may deliver a transaction before its order (arrival order is not
-- guaranteed), and nothing received may be rejected for that.

CREATE TABLE orders.transactions (
    tenant_id text NOT NULL,
    channel_id text NOT NULL,
    transaction_id text NOT NULL,
    order_id text,
    parent_transaction_id text,
    kind text NOT NULL,
    status text NOT NULL,
    amount numeric NOT NULL,
    currency character(3) NOT NULL,
    gateway text,
    processed_at timestamptz,
    error_code text,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, channel_id, transaction_id),
    FOREIGN KEY (tenant_id, channel_id) REFERENCES orders.channels (tenant_id, channel_id),
    CONSTRAINT transactions_currency_iso4217 FOREIGN KEY (currency) REFERENCES orders.currencies (currency_code),
    CONSTRAINT transactions_kind_known CHECK (kind IN ('authorization', 'capture', 'sale', 'void', 'refund')),
    CONSTRAINT transactions_status_known CHECK (status IN ('pending', 'success', 'failure', 'error')),
    CONSTRAINT transactions_amount_non_negative CHECK (amount >= 0)
);

CREATE INDEX transactions_order_idx ON orders.transactions (tenant_id, channel_id, order_id);

COMMENT ON TABLE orders.transactions IS
'Gateway transactions of orders: authorization, capture, sale, void, refund (with their outcome).';
COMMENT ON COLUMN orders.transactions.tenant_id IS 'Owning tenant.';
COMMENT ON COLUMN orders.transactions.channel_id IS 'Channel of the transaction.';
COMMENT ON COLUMN orders.transactions.transaction_id IS 'Transaction id on the platform (Stripe charge id for Stripe).';
COMMENT ON COLUMN orders.transactions.order_id IS 'Order paid, when known (no foreign key: it may arrive later).';
COMMENT ON COLUMN orders.transactions.parent_transaction_id IS
'Transaction this one completes or reverses (the authorization of a capture, the sale of a refund).';
COMMENT ON COLUMN orders.transactions.kind IS 'authorization, capture, sale, void or refund.';
COMMENT ON COLUMN orders.transactions.status IS 'pending, success, failure or error.';
COMMENT ON COLUMN orders.transactions.amount IS 'Amount moved, positive, at most the currency''s minor units.';
COMMENT ON COLUMN orders.transactions.currency IS 'ISO 4217 currency of the amount.';
COMMENT ON COLUMN orders.transactions.gateway IS 'Payment gateway (e.g. shopify_payments, stripe, bogus).';
COMMENT ON COLUMN orders.transactions.processed_at IS 'When the gateway processed it.';
COMMENT ON COLUMN orders.transactions.error_code IS 'Gateway error code of a failed transaction.';
COMMENT ON COLUMN orders.transactions.recorded_at IS 'When pgbooks last wrote the row.';

-- orders.refunds with their refund lines and order adjustments. No foreign key to orders
-- (a refund may arrive before its order).

CREATE TABLE orders.refunds (
    tenant_id text NOT NULL,
    channel_id text NOT NULL,
    refund_id text NOT NULL,
    order_id text,
    transaction_id text,
    amount numeric NOT NULL,
    currency character(3) NOT NULL,
    reason text,
    restock boolean NOT NULL DEFAULT FALSE,
    processed_at timestamptz,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, channel_id, refund_id),
    FOREIGN KEY (tenant_id, channel_id) REFERENCES orders.channels (tenant_id, channel_id),
    CONSTRAINT refunds_currency_iso4217 FOREIGN KEY (currency) REFERENCES orders.currencies (currency_code),
    CONSTRAINT refunds_amount_non_negative CHECK (amount >= 0)
);

CREATE INDEX refunds_order_idx ON orders.refunds (tenant_id, channel_id, order_id);

COMMENT ON TABLE orders.refunds IS 'Refunds of orders (or of bare payments), with the money returned.';
COMMENT ON COLUMN orders.refunds.tenant_id IS 'Owning tenant.';
COMMENT ON COLUMN orders.refunds.channel_id IS 'Channel of the refund.';
COMMENT ON COLUMN orders.refunds.refund_id IS 'Refund id on the platform.';
COMMENT ON COLUMN orders.refunds.order_id IS 'Order refunded, when known (no foreign key: it may arrive later).';
COMMENT ON COLUMN orders.refunds.transaction_id IS 'Transaction (charge) refunded, when known.';
COMMENT ON COLUMN orders.refunds.amount IS 'Money returned to the buyer, positive.';
COMMENT ON COLUMN orders.refunds.currency IS 'ISO 4217 currency of the amounts of the refund.';
COMMENT ON COLUMN orders.refunds.reason IS 'Reason or note given for the refund.';
COMMENT ON COLUMN orders.refunds.restock IS 'Whether the refunded items went back to stock.';
COMMENT ON COLUMN orders.refunds.processed_at IS 'When the platform processed the refund.';
COMMENT ON COLUMN orders.refunds.recorded_at IS 'When pgbooks last wrote the row.';

CREATE TABLE orders.refund_lines (
    tenant_id text NOT NULL,
    channel_id text NOT NULL,
    refund_id text NOT NULL,
    refund_line_id text NOT NULL,
    line_id text,
    quantity numeric NOT NULL,
    subtotal numeric NOT NULL,
    total_tax numeric NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, channel_id, refund_id, refund_line_id),
    FOREIGN KEY (tenant_id, channel_id, refund_id) REFERENCES orders.refunds (tenant_id, channel_id, refund_id)
    ON DELETE CASCADE,
    CONSTRAINT refund_lines_quantity_non_negative CHECK (quantity >= 0),
    CONSTRAINT refund_lines_subtotal_non_negative CHECK (subtotal >= 0),
    CONSTRAINT refund_lines_total_tax_non_negative CHECK (total_tax >= 0)
);

COMMENT ON TABLE orders.refund_lines IS 'Order lines returned by a refund.';
COMMENT ON COLUMN orders.refund_lines.tenant_id IS 'Owning tenant.';
COMMENT ON COLUMN orders.refund_lines.channel_id IS 'Channel of the refund.';
COMMENT ON COLUMN orders.refund_lines.refund_id IS 'Refund the line belongs to.';
COMMENT ON COLUMN orders.refund_lines.refund_line_id IS 'Refund line id on the platform.';
COMMENT ON COLUMN orders.refund_lines.line_id IS 'Order line returned.';
COMMENT ON COLUMN orders.refund_lines.quantity IS 'Quantity returned; never negative.';
COMMENT ON COLUMN orders.refund_lines.subtotal IS 'Amount refunded for the line before tax.';
COMMENT ON COLUMN orders.refund_lines.total_tax IS 'Tax refunded for the line.';

CREATE TABLE orders.order_adjustments (
    tenant_id text NOT NULL,
    channel_id text NOT NULL,
    refund_id text NOT NULL,
    adjustment_id text NOT NULL,
    kind text NOT NULL,
    amount numeric NOT NULL,
    tax_amount numeric NOT NULL DEFAULT 0,
    reason text,
    PRIMARY KEY (tenant_id, channel_id, refund_id, adjustment_id),
    FOREIGN KEY (tenant_id, channel_id, refund_id) REFERENCES orders.refunds (tenant_id, channel_id, refund_id)
    ON DELETE CASCADE,
    CONSTRAINT order_adjustments_kind_known CHECK (kind IN ('shipping_refund', 'refund_discrepancy', 'fee', 'other'))
);

COMMENT ON TABLE orders.order_adjustments IS
'Refund amounts not tied to a line: shipping refunds, discrepancies between refunded and computed amounts.';
COMMENT ON COLUMN orders.order_adjustments.tenant_id IS 'Owning tenant.';
COMMENT ON COLUMN orders.order_adjustments.channel_id IS 'Channel of the refund.';
COMMENT ON COLUMN orders.order_adjustments.refund_id IS 'Refund the adjustment belongs to.';
COMMENT ON COLUMN orders.order_adjustments.adjustment_id IS 'Adjustment id on the platform.';
COMMENT ON COLUMN orders.order_adjustments.kind IS 'shipping_refund, refund_discrepancy, fee or other.';
COMMENT ON COLUMN orders.order_adjustments.amount IS
'Signed amount as the platform states it (Shopify: negative = money back to the buyer).';
COMMENT ON COLUMN orders.order_adjustments.tax_amount IS 'Signed tax part of the adjustment.';
COMMENT ON COLUMN orders.order_adjustments.reason IS 'Reason given by the platform.';

-- orders.payouts and orders.balance_transactions: money the payment provider pays out to the
-- merchant's bank and the movements (charges, refunds, fees, ...) it nets. RECON matches
-- payouts to bank deposits; a payout whose balance transactions do not sum to its amount is a
-- variance to explain, never plugged. No foreign key from balance transactions to payouts: they
-- may arrive first.

CREATE TABLE orders.payouts (
    tenant_id text NOT NULL,
    channel_id text NOT NULL,
    payout_id text NOT NULL,
    status text NOT NULL,
    amount numeric NOT NULL,
    currency character(3) NOT NULL,
    payout_date date,
    arrival_date date,
    bank_reference text,
    platform_updated_at timestamptz,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, channel_id, payout_id),
    FOREIGN KEY (tenant_id, channel_id) REFERENCES orders.channels (tenant_id, channel_id),
    CONSTRAINT payouts_currency_iso4217 FOREIGN KEY (currency) REFERENCES orders.currencies (currency_code),
    CONSTRAINT payouts_status_known CHECK (
        status IN ('scheduled', 'pending', 'in_transit', 'paid', 'failed', 'canceled')
    )
);

COMMENT ON TABLE orders.payouts IS
'Payouts from a payment provider (Shopify Payments, Stripe, WooPayments) to the bank.';
COMMENT ON COLUMN orders.payouts.tenant_id IS 'Owning tenant.';
COMMENT ON COLUMN orders.payouts.channel_id IS 'Channel (provider account) paying out.';
COMMENT ON COLUMN orders.payouts.payout_id IS 'Payout id on the platform.';
COMMENT ON COLUMN orders.payouts.status IS 'scheduled, pending, in_transit, paid, failed or canceled.';
COMMENT ON COLUMN orders.payouts.amount IS 'Net amount sent to the bank (negative when the provider debits the bank).';
COMMENT ON COLUMN orders.payouts.currency IS 'ISO 4217 currency of the payout.';
COMMENT ON COLUMN orders.payouts.payout_date IS 'Date the provider issued the payout.';
COMMENT ON COLUMN orders.payouts.arrival_date IS 'Date the money is expected at (or reached) the bank.';
COMMENT ON COLUMN orders.payouts.bank_reference IS 'Statement descriptor / trace id visible on the bank statement.';
COMMENT ON COLUMN orders.payouts.platform_updated_at IS 'Platform''s own time of the last status change, when known.';
COMMENT ON COLUMN orders.payouts.recorded_at IS 'When pgbooks last wrote the row.';

CREATE TABLE orders.balance_transactions (
    tenant_id text NOT NULL,
    channel_id text NOT NULL,
    balance_transaction_id text NOT NULL,
    payout_id text,
    type text NOT NULL,
    source_id text,
    source_order_id text,
    amount numeric NOT NULL,
    fee numeric NOT NULL DEFAULT 0,
    net numeric NOT NULL,
    currency character(3) NOT NULL,
    processed_at timestamptz,
    available_on date,
    description text,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, channel_id, balance_transaction_id),
    FOREIGN KEY (tenant_id, channel_id) REFERENCES orders.channels (tenant_id, channel_id),
    CONSTRAINT balance_transactions_currency_iso4217 FOREIGN KEY (currency)
    REFERENCES orders.currencies (currency_code),
    CONSTRAINT balance_transactions_type_known CHECK (type IN (
        'charge', 'refund', 'fee', 'adjustment', 'dispute', 'reserve', 'payout', 'transfer', 'other'
    )),
    CONSTRAINT balance_transactions_fee_non_negative CHECK (fee >= 0)
);

CREATE INDEX balance_transactions_payout_idx ON orders.balance_transactions (tenant_id, channel_id, payout_id);

COMMENT ON TABLE orders.balance_transactions IS
'Movements of the provider balance (charge, refund, fee, adjustment, dispute, reserve, ...), grouped by payout.';
COMMENT ON COLUMN orders.balance_transactions.tenant_id IS 'Owning tenant.';
COMMENT ON COLUMN orders.balance_transactions.channel_id IS 'Channel (provider account).';
COMMENT ON COLUMN orders.balance_transactions.balance_transaction_id IS 'Balance transaction id on the platform.';
COMMENT ON COLUMN orders.balance_transactions.payout_id IS 'Payout that settles it, when known.';
COMMENT ON COLUMN orders.balance_transactions.type IS
'charge, refund, fee, adjustment, dispute, reserve, payout, transfer or other (platform types are mapped).';
COMMENT ON COLUMN orders.balance_transactions.source_id IS 'Object that caused it (charge, refund, dispute id).';
COMMENT ON COLUMN orders.balance_transactions.source_order_id IS 'Order behind the movement, when known.';
COMMENT ON COLUMN orders.balance_transactions.amount IS 'Gross signed amount (negative reduces the balance).';
COMMENT ON COLUMN orders.balance_transactions.fee IS 'Processing fee taken, positive.';
COMMENT ON COLUMN orders.balance_transactions.net IS
'Net effect on the balance: amount - fee as stated by the provider.';
COMMENT ON COLUMN orders.balance_transactions.currency IS 'ISO 4217 currency of the amounts.';
COMMENT ON COLUMN orders.balance_transactions.processed_at IS 'When the movement happened.';
COMMENT ON COLUMN orders.balance_transactions.available_on IS 'When the funds become available for payout.';
COMMENT ON COLUMN orders.balance_transactions.description IS 'Provider description.';
COMMENT ON COLUMN orders.balance_transactions.recorded_at IS 'When pgbooks last wrote the row.';

-- orders.gift_cards: gift cards issued by a channel (a liability until redeemed).

CREATE TABLE orders.gift_cards (
    tenant_id text NOT NULL,
    channel_id text NOT NULL,
    gift_card_id text NOT NULL,
    last_characters text,
    initial_value numeric NOT NULL,
    balance numeric NOT NULL,
    currency character(3) NOT NULL,
    order_id text,
    issued_at timestamptz,
    disabled_at timestamptz,
    expires_on date,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, channel_id, gift_card_id),
    FOREIGN KEY (tenant_id, channel_id) REFERENCES orders.channels (tenant_id, channel_id),
    CONSTRAINT gift_cards_currency_iso4217 FOREIGN KEY (currency) REFERENCES orders.currencies (currency_code),
    CONSTRAINT gift_cards_initial_value_non_negative CHECK (initial_value >= 0),
    CONSTRAINT gift_cards_balance_non_negative CHECK (balance >= 0)
);

COMMENT ON TABLE orders.gift_cards IS 'Gift cards issued by a channel; the balance is a liability until redeemed.';
COMMENT ON COLUMN orders.gift_cards.tenant_id IS 'Owning tenant.';
COMMENT ON COLUMN orders.gift_cards.channel_id IS 'Channel that issued the card.';
COMMENT ON COLUMN orders.gift_cards.gift_card_id IS 'Gift card id on the platform.';
COMMENT ON COLUMN orders.gift_cards.last_characters IS 'Last characters of the code (never the full code).';
COMMENT ON COLUMN orders.gift_cards.initial_value IS 'Value at issue.';
COMMENT ON COLUMN orders.gift_cards.balance IS 'Remaining balance.';
COMMENT ON COLUMN orders.gift_cards.currency IS 'ISO 4217 currency of the card.';
COMMENT ON COLUMN orders.gift_cards.order_id IS 'Order that sold the card, when any.';
COMMENT ON COLUMN orders.gift_cards.issued_at IS 'When the card was issued.';
COMMENT ON COLUMN orders.gift_cards.disabled_at IS 'When the card was disabled, if ever.';
COMMENT ON COLUMN orders.gift_cards.expires_on IS 'Expiry date, when any.';
COMMENT ON COLUMN orders.gift_cards.recorded_at IS 'When pgbooks last wrote the row.';

-- orders.order_flags: reasons an order needs review (inconsistent input is flagged, never
-- fixed). Raised and resolved by code (e.g. the commit-time totals check), read by BOOKS to
-- block documents and by analysts.

CREATE TABLE orders.order_flags (
    tenant_id text NOT NULL,
    flag_id bigint GENERATED ALWAYS AS IDENTITY,
    channel_id text NOT NULL,
    order_id text NOT NULL,
    reason_code text NOT NULL,
    detail jsonb NOT NULL DEFAULT '{}',
    raised_at timestamptz NOT NULL DEFAULT now(),
    resolved_at timestamptz,
    PRIMARY KEY (tenant_id, flag_id),
    FOREIGN KEY (tenant_id, channel_id, order_id) REFERENCES orders.orders (tenant_id, channel_id, order_id)
    ON DELETE CASCADE,
    CONSTRAINT order_flags_reason_code_format CHECK (reason_code ~ '^[A-Z][A-Z0-9_]*$')
);

CREATE UNIQUE INDEX order_flags_one_open_per_reason ON orders.order_flags (
    tenant_id, channel_id, order_id, reason_code
) WHERE resolved_at IS NULL;

COMMENT ON TABLE orders.order_flags IS
'Review flags on orders: reason code (TOTALS_MISMATCH, ...) and detail (stated, computed, difference).';
COMMENT ON COLUMN orders.order_flags.tenant_id IS 'Owning tenant.';
COMMENT ON COLUMN orders.order_flags.flag_id IS 'Surrogate key.';
COMMENT ON COLUMN orders.order_flags.channel_id IS 'Channel of the order.';
COMMENT ON COLUMN orders.order_flags.order_id IS 'Order flagged.';
COMMENT ON COLUMN orders.order_flags.reason_code IS 'Machine-readable reason, e.g. TOTALS_MISMATCH.';
COMMENT ON COLUMN orders.order_flags.detail IS
'What is inconsistent: per checked field the stated value, the computed value and the difference.';
COMMENT ON COLUMN orders.order_flags.raised_at IS 'When the flag was raised.';
COMMENT ON COLUMN orders.order_flags.resolved_at IS
'When the cause went away (e.g. a corrected update); NULL while open.';

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
        'order', 'transaction', 'refund', 'payout', 'balance_transaction', 'gift_card'
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
