-- analytics.order_documents: per order, the accounting documents it produced (sales document,
-- payments, refunds) with their amounts, state and open exceptions. Orders that produced no
-- document yet appear once with NULL document columns, so nothing is silently missing.

CREATE VIEW analytics.order_documents AS
WITH docs AS (
    SELECT
        d.tenant_id,
        split_part(d.source_id, ':', 1) AS channel_id,
        split_part(d.source_id, ':', 2) AS order_id,
        d.document_id,
        d.doc_type,
        d.source_role,
        d.action,
        d.status,
        d.version,
        d.txn_date,
        d.currency,
        d.total_amount
    FROM books.documents AS d
    WHERE d.source_type = 'order'
    UNION ALL
    SELECT
        d.tenant_id,
        r.channel_id,
        r.order_id,
        d.document_id,
        d.doc_type,
        'refund:' || r.refund_id
        || CASE WHEN d.source_role <> 'main' THEN ':' || d.source_role ELSE '' END AS source_role,
        d.action,
        d.status,
        d.version,
        d.txn_date,
        d.currency,
        d.total_amount
    FROM books.documents AS d
    INNER JOIN orders.refunds AS r
        ON
            d.tenant_id = r.tenant_id
            AND d.source_id = r.channel_id || ':' || r.refund_id
    WHERE d.source_type = 'refund'
)

SELECT
    o.tenant_id,
    o.channel_id,
    o.order_id,
    o.order_number,
    o.currency AS order_currency,
    o.stated_total AS order_total,
    o.financial_status,
    docs.document_id,
    docs.doc_type,
    docs.source_role,
    docs.action,
    docs.status,
    docs.version,
    docs.txn_date,
    docs.currency,
    docs.total_amount,
    CASE
        WHEN docs.action <> 'upsert' OR docs.document_id IS NULL THEN 0
        WHEN docs.doc_type IN ('sales_receipt', 'invoice') THEN docs.total_amount
        WHEN docs.doc_type IN ('refund_receipt', 'credit_memo') THEN -docs.total_amount
        ELSE 0
    END AS sales_effect,
    (
        SELECT array_agg(e.reason_code ORDER BY e.reason_code)
        FROM sync.exceptions AS e
        WHERE
            e.tenant_id = docs.tenant_id
            AND e.document_id = docs.document_id
            AND e.status = 'open'
    ) AS open_exceptions
FROM orders.orders AS o
LEFT JOIN docs
    ON
        o.tenant_id = docs.tenant_id
        AND o.channel_id = docs.channel_id
        AND o.order_id = docs.order_id;

COMMENT ON VIEW analytics.order_documents IS
'Per order: each accounting document it produced (sales document, payments, refunds), its state, amount, '
'sales effect (+sales, -refunds, 0 for payments and voided documents) and open exceptions; NULL document = none yet.';

GRANT SELECT ON analytics.order_documents TO pgbooks_analyst, pgbooks_operator;
