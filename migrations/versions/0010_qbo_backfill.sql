-- 0010 qbo_backfill: the imported QuickBooks mirror and the backfill checkpoints (schema sync).
-- Mirrors sql/tables/sync/qbo_mirror.sql, sql/tables/sync/qbo_backfill_checkpoints.sql and the
-- orders_placed_idx index of sql/tables/orders/orders.sql.

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

-- sync.qbo_backfill_checkpoints: where a historical backfill stands, so a run that was killed
-- resumes where the last committed step left it. One row per (tenant, kind, scope): an import
-- step per realm and entity (cursor = next STARTPOSITION), a repost per date range (cursor = the
-- last order handled). The cursor moves in the same transaction as the rows it covers.

CREATE TABLE sync.qbo_backfill_checkpoints (
    tenant_id text NOT NULL REFERENCES orders.tenants (tenant_id),
    kind text NOT NULL,
    scope text NOT NULL,
    cursor jsonb NOT NULL DEFAULT '{}',
    done_count bigint NOT NULL DEFAULT 0,
    completed boolean NOT NULL DEFAULT FALSE,
    started_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    completed_at timestamptz,
    PRIMARY KEY (tenant_id, kind, scope),
    CONSTRAINT qbo_backfill_checkpoints_kind_known CHECK (kind IN ('import', 'repost')),
    CONSTRAINT qbo_backfill_checkpoints_done_count_positive CHECK (done_count >= 0),
    CONSTRAINT qbo_backfill_checkpoints_completed_at CHECK (completed = (completed_at IS NOT NULL))
);

COMMENT ON TABLE sync.qbo_backfill_checkpoints IS
'Resume point of each QuickBooks import (per realm and entity) and order repost (per date range). '
'[audit: skip] coordination state rewritten on every page; what it covers is in sync.qbo_mirror / sync.outbox.';
COMMENT ON COLUMN sync.qbo_backfill_checkpoints.tenant_id IS 'Owning tenant.';
COMMENT ON COLUMN sync.qbo_backfill_checkpoints.kind IS 'import (QuickBooks → mirror) or repost (orders → outbox).';
COMMENT ON COLUMN sync.qbo_backfill_checkpoints.scope IS
'What the row covers: <realm>:<Entity> for an import, <from>..<to> (dates, to excluded) for a repost.';
COMMENT ON COLUMN sync.qbo_backfill_checkpoints.cursor IS
'Resume point: {"start": n} (next STARTPOSITION) or {"at", "channel_id", "order_id"} (last order handled).';
COMMENT ON COLUMN sync.qbo_backfill_checkpoints.done_count IS 'Rows (entities or orders) handled so far.';
COMMENT ON COLUMN sync.qbo_backfill_checkpoints.completed IS 'True once the scope was read to its end.';
COMMENT ON COLUMN sync.qbo_backfill_checkpoints.started_at IS 'When the first step of this scope ran.';
COMMENT ON COLUMN sync.qbo_backfill_checkpoints.updated_at IS 'When the cursor last moved.';
COMMENT ON COLUMN sync.qbo_backfill_checkpoints.completed_at IS 'When the scope was completed.';

-- Orders by accounting time (the books date rule: placed_at, else recorded_at), for date-range
-- walks such as pgbooks qbo repost (keyset paging, resumable).
CREATE INDEX orders_placed_idx ON orders.orders (
    tenant_id, (coalesce(placed_at, recorded_at)), channel_id, order_id
);
