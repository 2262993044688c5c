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
