-- Example: what did each order produce in the books? (run: psql -X -f this file; the output is
-- views/examples/books_order_documents.out). Builds a tiny store in a transaction, rolls back.
BEGIN;
SET LOCAL client_min_messages = warning;
INSERT INTO orders.tenants (tenant_id, name) VALUES ('demo', 'Demo store');
SELECT api.tenant__apply_company_facts('demo', '{
  "accounts": [{"Id": "4", "Name": "Undeposited Funds", "AccountType": "Other Current Asset",
                "AccountSubType": "UndepositedFunds"},
               {"Id": "11", "Name": "Discounts given", "AccountType": "Income"}],
  "items": [{"Id": "3", "Name": "Sales", "Type": "NonInventory"}],
  "preferences": {"CurrencyPrefs": {"HomeCurrency": {"value": "USD"}},
                  "SalesFormsPrefs": {"AllowShipping": true, "DefaultDiscountAccount": "11"},
                  "TaxPrefs": {"TaxGroupCodeRef": {"value": "2"}}}
}'::jsonb) IS NOT NULL AS discovered;
INSERT INTO orders.channels (tenant_id, channel_id, platform, name, currency)
VALUES ('demo', 'web', 'shopify', 'Web shop', 'USD');
INSERT INTO orders.orders (
    tenant_id, channel_id, order_id, order_number, currency, financial_status, placed_at,
    stated_subtotal, stated_total_discounts, stated_total_shipping, stated_total_tax, stated_total
) VALUES
('demo', 'web', '1001', '#1001', 'USD', 'paid', '2025-07-01', 40.00, 0, 5.00, 3.20, 48.20),
('demo', 'web', '1002', '#1002', 'USD', 'partially_paid', '2025-07-02', 20.00, 0, 0, 0, 20.00),
('demo', 'web', '1003', '#1003', 'USD', 'paid', '2025-07-03', 10.00, 0, 0, 0, 10.50);
INSERT INTO orders.order_lines (tenant_id, channel_id, order_id, line_id, sku, title, quantity, unit_price)
VALUES
('demo', 'web', '1001', '1', 'MUG', 'Mug', 2, 20.00),
('demo', 'web', '1002', '1', 'CAP', 'Cap', 1, 20.00),
('demo', 'web', '1003', '1', 'PEN', 'Pen', 4, 2.50);
INSERT INTO orders.shipping_lines (tenant_id, channel_id, order_id, shipping_line_id, title, price)
VALUES ('demo', 'web', '1001', 's1', 'Standard', 5.00);
INSERT INTO orders.tax_lines (tenant_id, channel_id, order_id, tax_line_id, line_id, title, rate, amount)
VALUES ('demo', 'web', '1001', 't1', '1', 'State tax', 0.08, 3.20);
INSERT INTO orders.transactions (
    tenant_id, channel_id, transaction_id, order_id, kind, status, amount, currency, gateway, processed_at
) VALUES
('demo', 'web', 'tx1', '1001', 'sale', 'success', 48.20, 'USD', 'shopify_payments', '2025-07-01'),
('demo', 'web', 'tx2', '1002', 'capture', 'success', 15.00, 'USD', 'shopify_payments', '2025-07-04');
INSERT INTO orders.refunds (tenant_id, channel_id, refund_id, order_id, amount, currency, processed_at)
VALUES ('demo', 'web', 'r1', '1001', 10.00, 'USD', '2025-07-05');
SET CONSTRAINTS ALL IMMEDIATE;  -- run the commit-time checks now (totals flags)
-- derive the queued orders now, as the worker does after the commit
SELECT api.books__derive_pending('demo') AS orders_derived;

SELECT
    order_id,
    doc_type,
    source_role,
    status,
    total_amount,
    sales_effect,
    open_exceptions
FROM analytics.order_documents
WHERE tenant_id = 'demo'
ORDER BY order_id, document_id;
ROLLBACK;
