-- orders.channels: a store or account on a platform. INGEST finds the channel of a webhook
-- delivery by (platform, external_account_key) on the routed path (POST /webhooks/<platform>) or by
-- (tenant_id, channel_id) on the per-channel path, and verifies it with webhook_secret (or
-- webhook_secret_previous during a rotation). One account names at most one channel per platform
-- (channels_external_account_unique): a second tenant claiming it is refused at configuration time.

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
    external_account_key text GENERATED ALWAYS AS (
        CASE platform
            WHEN 'shopify' THEN nullif(lower(btrim(external_account_id)), '')
            WHEN 'woocommerce'
                THEN nullif(
                        rtrim(regexp_replace(lower(btrim(external_account_id)), '^https?://', ''), '/'), ''
                    )
            ELSE nullif(btrim(external_account_id), '')
        END
    ) STORED,
    PRIMARY KEY (tenant_id, channel_id),
    CONSTRAINT channels_platform_known CHECK (platform IN ('shopify', 'woocommerce', 'stripe', 'custom')),
    CONSTRAINT channels_channel_id_format CHECK (channel_id ~ '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,62}$'),
    CONSTRAINT channels_name_not_blank CHECK (btrim(name) <> ''),
    CONSTRAINT channels_currency_iso4217 FOREIGN KEY (currency) REFERENCES orders.currencies (currency_code),
    CONSTRAINT channels_external_account_unique UNIQUE (platform, external_account_key)
);

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
COMMENT ON COLUMN orders.channels.external_account_key IS
'external_account_id as routed deliveries are matched (shop domain lower-cased; site URL without scheme and '
'trailing slash; Stripe id as is): unique per platform, so one account names one channel of one tenant.';
