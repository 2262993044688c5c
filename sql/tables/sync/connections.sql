-- sync.connections: one QuickBooks company (realm) per tenant, with its OAuth tokens. Tokens are
-- encrypted by the worker (Fernet, key PGBOOKS_SECRET_KEY) before they reach the database: a dump
-- or a replica never holds a usable token. token_version increases on every rotation so a worker
-- can tell that its cached access token is stale.

CREATE TABLE sync.connections (
    tenant_id text PRIMARY KEY REFERENCES orders.tenants (tenant_id),
    realm_id text NOT NULL,
    base_url text NOT NULL,
    token_url text,
    access_token_enc bytea,
    refresh_token_enc bytea,
    access_expires_at timestamptz,
    refresh_expires_at timestamptz,
    refresh_hard_expires_at timestamptz,
    token_version integer NOT NULL DEFAULT 0,
    paused boolean NOT NULL DEFAULT FALSE,
    paused_reason text,
    paused_at timestamptz,
    connected_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT connections_realm_id_format CHECK (realm_id ~ '^[0-9A-Za-z_-]{1,64}$'),
    CONSTRAINT connections_base_url_http CHECK (base_url ~ '^https?://'),
    CONSTRAINT connections_paused_has_reason CHECK (NOT paused OR paused_reason IS NOT NULL)
);

CREATE UNIQUE INDEX connections_one_tenant_per_realm ON sync.connections (realm_id, base_url);

COMMENT ON TABLE sync.connections IS
'QuickBooks connection of a tenant: realm, API base URL, encrypted OAuth tokens, pause state. '
'[audit: skip] token ciphertext must not be copied into an append-only log; pauses and '
'reconnects are audited through sync.exceptions (AUTH_EXPIRED).';
COMMENT ON COLUMN sync.connections.tenant_id IS 'Owning tenant (one realm per tenant).';
COMMENT ON COLUMN sync.connections.realm_id IS 'QuickBooks company id (realmId).';
COMMENT ON COLUMN sync.connections.base_url IS
'API host, e.g. https://quickbooks.api.intuit.com or the local sandbox; paths /v3/company/<realm>/...';
COMMENT ON COLUMN sync.connections.token_url IS 'OAuth token endpoint used to refresh the access token.';
COMMENT ON COLUMN sync.connections.access_token_enc IS 'Access token, Fernet-encrypted by the worker.';
COMMENT ON COLUMN sync.connections.refresh_token_enc IS 'Refresh token (rotates), Fernet-encrypted by the worker.';
COMMENT ON COLUMN sync.connections.access_expires_at IS 'When the access token expires.';
COMMENT ON COLUMN sync.connections.refresh_expires_at IS 'When the refresh token expires (rolling, about 101 days).';
COMMENT ON COLUMN sync.connections.refresh_hard_expires_at IS
'Absolute end of the authorization (Intuit hard expiry); reconnect before this date.';
COMMENT ON COLUMN sync.connections.token_version IS 'Incremented on every token change (refresh or reconnect).';
COMMENT ON COLUMN sync.connections.paused IS 'True: nothing is sent to this realm (auth lost, operator pause).';
COMMENT ON COLUMN sync.connections.paused_reason IS 'Why the realm is paused, for the operator.';
COMMENT ON COLUMN sync.connections.paused_at IS 'When the realm was paused.';
COMMENT ON COLUMN sync.connections.connected_at IS 'When the OAuth authorization was (last) granted.';
COMMENT ON COLUMN sync.connections.updated_at IS 'When the row last changed.';
