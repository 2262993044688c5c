-- 0017 receiver routing: POST /webhooks/<platform> finds the channel from the delivery itself
-- (Shopify shop domain, WooCommerce site URL, Stripe account). Mirrors sql/tables/orders/channels.sql
-- and sql/tables/ingest/receiver_throttles.sql.
--
-- external_account_key is external_account_id in the form deliveries are matched in (shop domain
-- lower-cased; site URL lower-cased without scheme and trailing slash; Stripe id trimmed). At most
-- one channel per (platform, key): two tenants (or two channels) claiming the same account are
-- refused when the second is configured (channels_external_account_unique), so a routed delivery
-- is never ambiguous. Fails on a database that already holds such a pair: resolve it first.

ALTER TABLE orders.channels ADD COLUMN external_account_key text GENERATED ALWAYS AS (
    CASE platform
        WHEN 'shopify' THEN nullif(lower(btrim(external_account_id)), '')
        WHEN 'woocommerce'
            THEN nullif(
                    rtrim(regexp_replace(lower(btrim(external_account_id)), '^https?://', ''), '/'), ''
                )
        ELSE nullif(btrim(external_account_id), '')
    END
) STORED;

DROP INDEX orders.channels_external_account_idx;

ALTER TABLE orders.channels ADD CONSTRAINT channels_external_account_unique UNIQUE (platform, external_account_key);

COMMENT ON COLUMN orders.channels.external_account_key IS
'external_account_id as routed deliveries are matched (shop domain lower-cased; site URL without scheme and '
'trailing slash; Stripe id as is): unique per platform, so one account names one channel of one tenant.';

CREATE TABLE ingest.receiver_throttles (
    bucket_kind text NOT NULL,
    bucket_key text NOT NULL,
    window_start timestamptz NOT NULL,
    refused bigint NOT NULL,
    last_refused_at timestamptz NOT NULL,
    PRIMARY KEY (bucket_kind, bucket_key, window_start),
    CONSTRAINT receiver_throttles_bucket_kind_known CHECK (bucket_kind IN ('tenant', 'ip')),
    CONSTRAINT receiver_throttles_refused_positive CHECK (refused > 0)
);

COMMENT ON TABLE ingest.receiver_throttles IS
'Requests the webhook receiver refused with 429 (rate limit), counted per bucket and minute; bodies are not stored. '
'[audit: skip] counters added to by the receiver every few seconds during a flood; no business fact.';
COMMENT ON COLUMN ingest.receiver_throttles.bucket_kind IS
'tenant (a known channel''s tenant) or ip (source address of requests to an unknown channel or account).';
COMMENT ON COLUMN ingest.receiver_throttles.bucket_key IS 'The tenant id or the source IP address.';
COMMENT ON COLUMN ingest.receiver_throttles.window_start IS 'Start of the minute the refusals fell in.';
COMMENT ON COLUMN ingest.receiver_throttles.refused IS 'Requests answered 429 in that minute (summed over receivers).';
COMMENT ON COLUMN ingest.receiver_throttles.last_refused_at IS 'Latest refusal counted in that minute.';
