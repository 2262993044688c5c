-- 0009 books: whether test-mode orders are booked. Mirrors sql/tables/books/tenant_settings.sql.

ALTER TABLE books.tenant_settings
ADD COLUMN test_orders text NOT NULL DEFAULT 'auto',
ADD CONSTRAINT tenant_settings_test_orders_known CHECK (test_orders IN ('auto', 'book', 'skip'));

COMMENT ON COLUMN books.tenant_settings.test_orders IS
'Test-mode orders (Stripe livemode=false, Shopify test): book = always, skip = never, auto = only when the '
'tenant is connected to a non-production QuickBooks company (not quickbooks.api.intuit.com).';
