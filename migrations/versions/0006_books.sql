-- 0006 books: provider-neutral accounting documents. Mirrors sql/tables/books/*.sql.

-- books.documents: the provider-neutral accounting document, the stable entity contract
-- between the accounting rules (books) and delivery (sync). Versioned from the first commit:
-- schema_version says how to read body; version counts content changes of one document.

CREATE TABLE books.documents (
    tenant_id text NOT NULL REFERENCES orders.tenants (tenant_id),
    document_id bigint GENERATED ALWAYS AS IDENTITY,
    schema_version smallint NOT NULL DEFAULT 1,
    doc_type text NOT NULL,
    action text NOT NULL DEFAULT 'upsert',
    version integer NOT NULL DEFAULT 1,
    source_type text NOT NULL,
    source_id text NOT NULL,
    source_role text NOT NULL DEFAULT 'main',
    status text NOT NULL DEFAULT 'ready',
    txn_date date,
    doc_number text,
    currency character(3),
    total_amount numeric(20, 4),
    depends_on bigint[] NOT NULL DEFAULT '{}',
    body jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, document_id),
    CONSTRAINT documents_one_per_source_role UNIQUE (tenant_id, source_type, source_id, source_role),
    CONSTRAINT documents_doc_type_known CHECK (doc_type IN (
        'customer', 'item', 'sales_receipt', 'invoice', 'payment', 'credit_memo',
        'refund_receipt', 'deposit', 'journal_entry', 'expense', 'transfer'
    )),
    CONSTRAINT documents_action_known CHECK (action IN ('upsert', 'void', 'delete')),
    CONSTRAINT documents_status_known CHECK (status IN ('draft', 'ready', 'blocked', 'cancelled')),
    CONSTRAINT documents_version_positive CHECK (version >= 1),
    CONSTRAINT documents_schema_version_positive CHECK (schema_version >= 1),
    CONSTRAINT documents_currency_format CHECK (currency ~ '^[A-Z]{3}$')
);

COMMENT ON TABLE books.documents IS
'Provider-neutral accounting documents (from orders, refunds, fees, payouts); one row per remote document.';
COMMENT ON COLUMN books.documents.tenant_id IS 'Owning tenant.';
COMMENT ON COLUMN books.documents.document_id IS 'Surrogate key of the document (unique within the tenant).';
COMMENT ON COLUMN books.documents.schema_version IS
'Version of the body layout (entity contract); readers must check it.';
COMMENT ON COLUMN books.documents.doc_type IS
'Kind of document (see constraint documents_doc_type_known), e.g. sales_receipt, invoice, payment, deposit.';
COMMENT ON COLUMN books.documents.action IS
'What the provider should end up with: upsert (create or update), void, delete.';
COMMENT ON COLUMN books.documents.version IS
'Content version, incremented on every change; delivery sends the latest version only (debounce).';
COMMENT ON COLUMN books.documents.source_type IS
'What produced the document: order, refund, payment, payout, customer, product, manual.';
COMMENT ON COLUMN books.documents.source_id IS 'Key of the source row within the tenant.';
COMMENT ON COLUMN books.documents.source_role IS
'Distinguishes several documents of one source (main, fees, refund:<id>, ...).';
COMMENT ON COLUMN books.documents.status IS
'draft (not to be sent yet), ready (deliverable), blocked (an open exception prevents delivery), cancelled.';
COMMENT ON COLUMN books.documents.txn_date IS 'Accounting date of the transaction.';
COMMENT ON COLUMN books.documents.doc_number IS
'Document number shown in the books (DocNumber), when the tenant uses one.';
COMMENT ON COLUMN books.documents.currency IS 'ISO 4217 currency of the amounts (one foreign currency per document).';
COMMENT ON COLUMN books.documents.total_amount IS
'Total the rendered document must have, to the cent; checked before posting.';
COMMENT ON COLUMN books.documents.depends_on IS
'document_ids that must be delivered before this one (customers, items).';
COMMENT ON COLUMN books.documents.body IS 'Provider-neutral content (lines, references), laid out per schema_version.';
COMMENT ON COLUMN books.documents.created_at IS 'When the document was first derived.';
COMMENT ON COLUMN books.documents.updated_at IS 'When the document content last changed.';
