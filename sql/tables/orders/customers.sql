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
