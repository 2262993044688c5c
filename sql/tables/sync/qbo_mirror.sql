-- sync.qbo_mirror: what a connected QuickBooks company holds, imported through the query API
-- (pgbooks qbo import). It serves mapping (customers by email/name, items by SKU/name, tax codes
-- by name feed books.item_map, books.tax_code_map and sync.remote_objects) and reconciliation (an
-- analyst sees the QuickBooks documents that pgbooks did not create). Re-importing updates a row
-- in place (key: tenant, realm, entity, Id), never adds a second one.

CREATE TABLE sync.qbo_mirror (
    tenant_id text NOT NULL REFERENCES orders.tenants (tenant_id),
    realm_id text NOT NULL,
    entity text NOT NULL,
    remote_id text NOT NULL,
    sync_token text,
    doc_number text,
    name text,
    email text,
    sku text,
    active boolean NOT NULL DEFAULT TRUE,
    txn_date date,
    total_amount numeric(20, 4),
    currency character(3),
    remote_updated_at timestamptz,
    raw jsonb NOT NULL,
    first_imported_at timestamptz NOT NULL DEFAULT now(),
    imported_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, realm_id, entity, remote_id),
    CONSTRAINT qbo_mirror_entity_known CHECK (entity IN (
        'Account', 'TaxCode', 'Item', 'Customer', 'Invoice', 'SalesReceipt', 'Payment', 'CreditMemo',
        'RefundReceipt', 'Deposit', 'JournalEntry'
    )),
    CONSTRAINT qbo_mirror_remote_id_not_blank CHECK (btrim(remote_id) <> ''),
    CONSTRAINT qbo_mirror_raw_object CHECK (jsonb_typeof(raw) = 'object')
);

CREATE INDEX qbo_mirror_doc_number ON sync.qbo_mirror (tenant_id, realm_id, entity, doc_number)
WHERE doc_number IS NOT NULL;
CREATE INDEX qbo_mirror_email ON sync.qbo_mirror (tenant_id, realm_id, lower(email))
WHERE entity = 'Customer' AND email IS NOT NULL;
CREATE INDEX qbo_mirror_name ON sync.qbo_mirror (tenant_id, realm_id, entity, lower(name));
CREATE INDEX qbo_mirror_private_note ON sync.qbo_mirror (tenant_id, realm_id, entity, (raw ->> 'PrivateNote'))
WHERE raw ->> 'PrivateNote' LIKE 'pgbooks %';

COMMENT ON TABLE sync.qbo_mirror IS
'Imported copy of the QuickBooks company''s customers, items, accounts, tax codes and documents (mapping and '
'reconciliation). [audit: skip] a copy of the remote state, rewritten on every import; QuickBooks keeps its own '
'audit log, and every link made from it lands in the audited sync.remote_objects / books maps.';
COMMENT ON COLUMN sync.qbo_mirror.tenant_id IS 'Owning tenant (whose connection was imported).';
COMMENT ON COLUMN sync.qbo_mirror.realm_id IS 'QuickBooks company the row was read from.';
COMMENT ON COLUMN sync.qbo_mirror.entity IS 'QuickBooks entity name (see constraint qbo_mirror_entity_known).';
COMMENT ON COLUMN sync.qbo_mirror.remote_id IS 'QuickBooks Id of the object.';
COMMENT ON COLUMN sync.qbo_mirror.sync_token IS 'SyncToken at import time (needed to update a linked object).';
COMMENT ON COLUMN sync.qbo_mirror.doc_number IS 'DocNumber of a transaction (how an existing document is recognised).';
COMMENT ON COLUMN sync.qbo_mirror.name IS 'DisplayName (Customer) or Name (Item, Account, TaxCode).';
COMMENT ON COLUMN sync.qbo_mirror.email IS 'PrimaryEmailAddr.Address of a Customer.';
COMMENT ON COLUMN sync.qbo_mirror.sku IS 'Sku of an Item.';
COMMENT ON COLUMN sync.qbo_mirror.active IS 'False for an inactive (deleted) name-list entry.';
COMMENT ON COLUMN sync.qbo_mirror.txn_date IS 'TxnDate of a transaction.';
COMMENT ON COLUMN sync.qbo_mirror.total_amount IS 'TotalAmt of a transaction, exact (numeric).';
COMMENT ON COLUMN sync.qbo_mirror.currency IS 'CurrencyRef of a transaction or customer, when QuickBooks gives one.';
COMMENT ON COLUMN sync.qbo_mirror.remote_updated_at IS 'MetaData.LastUpdatedTime in QuickBooks.';
COMMENT ON COLUMN sync.qbo_mirror.raw IS 'The object exactly as the query API returned it.';
COMMENT ON COLUMN sync.qbo_mirror.first_imported_at IS 'When the object was first imported.';
COMMENT ON COLUMN sync.qbo_mirror.imported_at IS 'When the object was last (re)imported.';
