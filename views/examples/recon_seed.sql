-- Seed scenario for the recon examples (run once on an empty database, then the examples):
-- a Shopify and a Stripe channel, seven payouts with their balance transactions, two refunds,
-- one bank statement, then the matcher. Expected outcome, by construction:
--   po_1   matched by reference        1001 matched by amount + date      1002+1003 one batch deposit
--   po_bad balance transactions net 505.00 but the payout says 500.00: inconsistent, not matched
--   1004   in transit, no deposit yet  1005 failed (ignored)              a 77.77 deposit nobody explains
--   refund r_2 (9.99) recorded on an order, not yet carried by any payout.

INSERT INTO orders.tenants (tenant_id, name) VALUES ('demo', 'Demo Shop');

-- QuickBooks accounts the books rules post payouts to (bank, processor clearing, fees, ...).
INSERT INTO books.account_map (tenant_id, role, account_id, account_name) VALUES
('demo', 'bank', '35', 'Checking'),
('demo', 'clearing', '90', 'Processor Clearing'),
('demo', 'processor_fees', '91', 'Merchant Fees'),
('demo', 'refunds', '92', 'Refunds'),
('demo', 'adjustments', '93', 'Processor Adjustments'),
('demo', 'income', '79', 'Sales'),
('demo', 'undeposited_funds', '4', 'Undeposited Funds');

-- Items without their own mapping are booked on QuickBooks item 1 (tenant default).
INSERT INTO books.tenant_settings (tenant_id, default_item_id, us_tax_code_id) VALUES ('demo', '1', 'TAX');

INSERT INTO orders.channels (tenant_id, channel_id, platform, name, currency) VALUES
('demo', 'shop', 'shopify', 'Demo Shopify', 'USD'),
('demo', 'stripe', 'stripe', 'Demo Stripe', 'USD');

INSERT INTO orders.payouts (
    tenant_id, channel_id, payout_id, status, amount, currency, payout_date, arrival_date, bank_reference
) VALUES
('demo', 'stripe', 'po_1', 'paid', 100.00, 'USD', '2024-03-02', '2024-03-04', 'po_1ABC'),
('demo', 'shop', '1001', 'paid', 250.00, 'USD', '2024-03-04', '2024-03-05', NULL),
('demo', 'shop', '1002', 'paid', 60.00, 'USD', '2024-03-06', '2024-03-07', NULL),
('demo', 'shop', '1003', 'paid', 40.00, 'USD', '2024-03-06', '2024-03-07', NULL),
('demo', 'stripe', 'po_bad', 'paid', 500.00, 'USD', '2024-03-04', '2024-03-05', NULL),
('demo', 'shop', '1004', 'in_transit', 33.00, 'USD', '2024-03-08', '2024-03-09', NULL),
('demo', 'shop', '1005', 'failed', 12.00, 'USD', '2024-03-08', '2024-03-09', NULL);

INSERT INTO orders.balance_transactions (
    tenant_id, channel_id, balance_transaction_id, payout_id, type, source_id, amount, fee, net, currency
) VALUES
('demo', 'stripe', 'txn_1', 'po_1', 'charge', 'ch_1', 103.20, 3.20, 100.00, 'USD'),
('demo', 'stripe', 'txn_p1', 'po_1', 'payout', 'po_1', -100.00, 0, -100.00, 'USD'),
('demo', 'shop', 'bt_1', '1001', 'charge', 'tr_1', 270.00, 8.00, 262.00, 'USD'),
('demo', 'shop', 'bt_2', '1001', 'refund', 'r_1', -12.00, 0, -12.00, 'USD'),
('demo', 'shop', 'bt_3', '1002', 'charge', 'tr_2', 62.00, 2.00, 60.00, 'USD'),
('demo', 'shop', 'bt_4', '1003', 'charge', 'tr_3', 41.50, 1.50, 40.00, 'USD'),
('demo', 'stripe', 'txn_2', 'po_bad', 'charge', 'ch_2', 520.00, 15.00, 505.00, 'USD'),
('demo', 'shop', 'bt_5', '1004', 'charge', 'tr_4', 50.00, 2.00, 48.00, 'USD'),
('demo', 'shop', 'bt_6', '1004', 'dispute', 'dp_1', -15.00, 0, -15.00, 'USD');

INSERT INTO orders.refunds (tenant_id, channel_id, refund_id, amount, currency, processed_at) VALUES
('demo', 'shop', 'r_1', 12.00, 'USD', '2024-03-03 09:00+00'),
('demo', 'shop', 'r_2', 9.99, 'USD', '2024-03-07 09:00+00');

-- Orders: one ordinary sale, one test order, one whose lines do not add up to its stated total.
WITH o AS (
    INSERT INTO orders.orders (tenant_id, channel_id, order_id, currency, stated_total, placed_at)
    VALUES ('demo', 'shop', 'o1', 'USD', 20.00, '2024-03-01 10:00+00')
    RETURNING tenant_id, channel_id, order_id
)

INSERT INTO orders.order_lines (tenant_id, channel_id, order_id, line_id, title, quantity, unit_price)
SELECT
    o.tenant_id,
    o.channel_id,
    o.order_id,
    '1' AS line_id,
    'Mug' AS title,
    2 AS quantity,
    10.00 AS unit_price
FROM o;

WITH o AS (
    INSERT INTO orders.orders (tenant_id, channel_id, order_id, currency, stated_total, placed_at, is_test)
    VALUES ('demo', 'shop', 'o2', 'USD', 5.00, '2024-03-02 10:00+00', TRUE)
    RETURNING tenant_id, channel_id, order_id
)

INSERT INTO orders.order_lines (tenant_id, channel_id, order_id, line_id, title, quantity, unit_price)
SELECT
    o.tenant_id,
    o.channel_id,
    o.order_id,
    '1' AS line_id,
    'Sticker' AS title,
    1 AS quantity,
    5.00 AS unit_price
FROM o;

WITH o AS (
    INSERT INTO orders.orders (tenant_id, channel_id, order_id, currency, stated_total, placed_at)
    VALUES ('demo', 'shop', 'o3', 'USD', 15.00, '2024-03-03 10:00+00')
    RETURNING tenant_id, channel_id, order_id
)

INSERT INTO orders.order_lines (tenant_id, channel_id, order_id, line_id, title, quantity, unit_price)
SELECT
    o.tenant_id,
    o.channel_id,
    o.order_id,
    '1' AS line_id,
    'Cap' AS title,
    1 AS quantity,
    12.00 AS unit_price
FROM o;

SELECT api.bank_statement__import('demo', jsonb_build_object(
    'file_sha256', repeat('ab', 32),
    'file_name', 'march.csv',
    'format', 'csv',
    'statements', jsonb_build_array(jsonb_build_object(
        'account_id', 'chk-001', 'currency', 'USD', 'lines', (
            SELECT
                jsonb_agg(jsonb_build_object(
                    'booking_date', l.d, 'amount', l.a, 'currency', 'USD', 'description', l.t,
                    'fingerprint', encode(sha256(convert_to(l.d || l.a || l.t, 'UTF8')), 'hex'),
                    'dedup_key', encode(sha256(convert_to(l.d || l.a || l.t, 'UTF8')), 'hex')
                ) ORDER BY l.d, l.a)
            FROM (
                VALUES
                ('2024-03-04', '100.00', 'STRIPE TRANSFER po_1ABC'),
                ('2024-03-06', '250.00', 'SHOPIFY PAYOUT'),
                ('2024-03-08', '100.00', 'SHOPIFY PAYOUT'),
                ('2024-03-05', '500.00', 'STRIPE TRANSFER'),
                ('2024-03-09', '77.77', 'UNKNOWN DEPOSIT'),
                ('2024-03-09', '-45.00', 'BANK FEE')
            ) AS l (d, a, t)
        )
    ))
));

SELECT api.bank__match('demo', 5);

-- What the worker writes once QuickBooks answered: order o1's sales document was acknowledged.
INSERT INTO sync.remote_objects (
    tenant_id, document_id, realm_id, entity, remote_id, sync_token, synced_version, snapshot
)
SELECT
    d.tenant_id,
    d.document_id,
    '9130' AS realm_id,
    'SalesReceipt' AS entity,
    '501' AS remote_id,
    '0' AS sync_token,
    d.version AS synced_version,
    '{}'::jsonb AS snapshot
FROM books.documents AS d
WHERE d.tenant_id = 'demo' AND d.source_type = 'order' AND d.source_id = 'shop:o1';

-- Two webhook deliveries for the shop on 2024-03-01: one applied, one quarantined (never became an order).
INSERT INTO ingest.raw_events (
    tenant_id, platform, channel_id, topic, dedupe_key, body, body_bytes, body_sha256,
    signature_result, received_at, status, reason_code
) VALUES
(
    'demo', 'shopify', 'shop', 'orders/create', 'd-1', '\x7b7d', 2, sha256('\x7b7d'), 'valid',
    '2024-03-01 10:00:05+00', 'applied', NULL
),
(
    'demo', 'shopify', 'shop', 'orders/create', 'd-2', '\x7b', 1, sha256('\x7b'), 'valid',
    '2024-03-01 11:00:00+00', 'quarantined', 'INVALID_JSON'
);
