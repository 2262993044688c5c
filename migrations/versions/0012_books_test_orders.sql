-- 0012 books: whether test-mode orders are booked; the accounts_receivable account role (money
-- refunded on a credit memo). Mirrors sql/tables/books/tenant_settings.sql and account_map.sql.

ALTER TABLE books.tenant_settings
ADD COLUMN test_orders text NOT NULL DEFAULT 'auto',
ADD CONSTRAINT tenant_settings_test_orders_known CHECK (test_orders IN ('auto', 'book', 'skip'));

COMMENT ON COLUMN books.tenant_settings.test_orders IS
'Test-mode orders (Stripe livemode=false, Shopify test): book = always, skip = never, auto = only when the '
'tenant is connected to a non-production QuickBooks company (not quickbooks.api.intuit.com).';

ALTER TABLE books.account_map
DROP CONSTRAINT account_map_role_known,
ADD CONSTRAINT account_map_role_known CHECK (role IN (
    'income', 'discounts', 'shipping_income', 'sales_tax_payable', 'processor_fees', 'clearing',
    'undeposited_funds', 'bank', 'uncategorized_income', 'uncategorized_expense', 'gift_card_liability',
    'refunds', 'adjustments', 'accounts_receivable'
));

COMMENT ON COLUMN books.account_map.role IS
'Accounting role: income, discounts, shipping_income, sales_tax_payable, processor_fees, clearing, '
'undeposited_funds, bank, uncategorized_income, uncategorized_expense, gift_card_liability, refunds, adjustments, '
'accounts_receivable.';
