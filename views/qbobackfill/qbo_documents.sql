-- QuickBooks documents as imported by pgbooks qbo import, each with what pgbooks knows of it:
-- posted by pgbooks, linked to a pgbooks document (found by DocNumber, not re-created), or only
-- in QuickBooks (entered by a bookkeeper or another integration). Reconciliation starts here.

CREATE VIEW analytics.rpt_qbo_documents AS
SELECT
    m.tenant_id,
    m.realm_id,
    m.entity,
    m.remote_id,
    m.doc_number,
    m.txn_date,
    m.total_amount,
    m.currency::text AS currency,
    m.raw #>> '{CustomerRef,name}' AS customer_name,
    r.document_id,
    d.source_type,
    d.source_id,
    CASE
        WHEN r.document_id IS NULL THEN 'quickbooks_only'
        WHEN EXISTS (
                SELECT FROM sync.attempts AS a
                WHERE a.tenant_id = r.tenant_id AND a.document_id = r.document_id AND a.worker = 'qbo-link'
            ) THEN 'linked'
        ELSE 'posted_by_pgbooks'
    END AS origin,
    m.imported_at
FROM sync.qbo_mirror AS m
LEFT JOIN sync.remote_objects AS r
    ON
        m.tenant_id = r.tenant_id AND m.realm_id = r.realm_id AND m.entity = r.entity
        AND m.remote_id = r.remote_id
LEFT JOIN books.documents AS d ON r.tenant_id = d.tenant_id AND r.document_id = d.document_id
WHERE m.entity NOT IN ('Account', 'TaxCode', 'Item', 'Customer');

COMMENT ON VIEW analytics.rpt_qbo_documents IS
'Imported QuickBooks documents (Invoice, SalesReceipt, Payment, CreditMemo, RefundReceipt, Deposit, JournalEntry) '
'with their pgbooks document when there is one; origin: posted_by_pgbooks, linked (existed in QuickBooks, linked by '
'DocNumber), quickbooks_only (pgbooks did not create it).';
COMMENT ON COLUMN analytics.rpt_qbo_documents.tenant_id IS 'Owning tenant.';
COMMENT ON COLUMN analytics.rpt_qbo_documents.realm_id IS 'QuickBooks company.';
COMMENT ON COLUMN analytics.rpt_qbo_documents.entity IS 'QuickBooks entity name.';
COMMENT ON COLUMN analytics.rpt_qbo_documents.remote_id IS 'QuickBooks Id.';
COMMENT ON COLUMN analytics.rpt_qbo_documents.doc_number IS 'DocNumber in QuickBooks.';
COMMENT ON COLUMN analytics.rpt_qbo_documents.txn_date IS 'TxnDate in QuickBooks.';
COMMENT ON COLUMN analytics.rpt_qbo_documents.total_amount IS 'TotalAmt in QuickBooks (exact).';
COMMENT ON COLUMN analytics.rpt_qbo_documents.currency IS 'Currency, when QuickBooks gives one.';
COMMENT ON COLUMN analytics.rpt_qbo_documents.customer_name IS 'CustomerRef name, when the document has one.';
COMMENT ON COLUMN analytics.rpt_qbo_documents.document_id IS 'The pgbooks document it stands for (NULL: none).';
COMMENT ON COLUMN analytics.rpt_qbo_documents.source_type IS 'What produced that document (order, refund, payout).';
COMMENT ON COLUMN analytics.rpt_qbo_documents.source_id IS 'Key of the source (channel:order for an order).';
COMMENT ON COLUMN analytics.rpt_qbo_documents.origin IS 'posted_by_pgbooks, linked or quickbooks_only.';
COMMENT ON COLUMN analytics.rpt_qbo_documents.imported_at IS 'When the row was last imported.';

GRANT SELECT ON analytics.rpt_qbo_documents TO pgbooks_analyst, pgbooks_operator;
