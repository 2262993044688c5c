-- sync.remote_objects: what exists in QuickBooks for each delivered document. Written in the
-- same transaction that closes the outbox entry, so a remote id is never lost and never doubled.

CREATE TABLE sync.remote_objects (
    tenant_id text NOT NULL,
    document_id bigint NOT NULL,
    realm_id text NOT NULL,
    entity text NOT NULL,
    remote_id text NOT NULL,
    sync_token text NOT NULL,
    remote_status text NOT NULL DEFAULT 'active',
    synced_version integer NOT NULL,
    snapshot jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    synced_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, document_id),
    CONSTRAINT remote_objects_document_fk FOREIGN KEY (tenant_id, document_id)
    REFERENCES books.documents (tenant_id, document_id),
    CONSTRAINT remote_objects_remote_status_known CHECK (remote_status IN ('active', 'voided', 'deleted'))
);

CREATE UNIQUE INDEX remote_objects_one_document_per_remote ON sync.remote_objects (
    tenant_id, realm_id, entity, remote_id
);

COMMENT ON TABLE sync.remote_objects IS
'Link from a document to its QuickBooks object (Id, SyncToken, last synced snapshot).';
COMMENT ON COLUMN sync.remote_objects.tenant_id IS 'Owning tenant.';
COMMENT ON COLUMN sync.remote_objects.document_id IS 'The delivered document.';
COMMENT ON COLUMN sync.remote_objects.realm_id IS 'QuickBooks company holding the object.';
COMMENT ON COLUMN sync.remote_objects.entity IS 'QuickBooks entity name (Invoice, SalesReceipt, Customer, ...).';
COMMENT ON COLUMN sync.remote_objects.remote_id IS 'QuickBooks Id of the object.';
COMMENT ON COLUMN sync.remote_objects.sync_token IS 'SyncToken last seen; required for updates (optimistic lock).';
COMMENT ON COLUMN sync.remote_objects.remote_status IS 'active, voided or deleted in QuickBooks.';
COMMENT ON COLUMN sync.remote_objects.synced_version IS 'Document version the remote object reflects.';
COMMENT ON COLUMN sync.remote_objects.snapshot IS
'The object as QuickBooks returned it after our last write (base for change detection and two-way sync).';
COMMENT ON COLUMN sync.remote_objects.created_at IS 'When the object was first created in QuickBooks.';
COMMENT ON COLUMN sync.remote_objects.synced_at IS 'When it was last written or confirmed.';
