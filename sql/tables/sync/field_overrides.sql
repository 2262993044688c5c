-- sync.field_overrides: QuickBooks values accepted for a document we posted (policy qbo_wins,
-- last_writer_wins won by QuickBooks, or an operator's take_theirs / merge). They are the local
-- record of that change: the renderer lays them over the derived body, so our next update
-- carries them instead of silently overwriting the QuickBooks edit.

CREATE TABLE sync.field_overrides (
    tenant_id text NOT NULL,
    document_id bigint NOT NULL,
    field text NOT NULL,
    value jsonb NOT NULL,
    origin text NOT NULL,
    change_id bigint,
    accepted_at timestamptz NOT NULL DEFAULT now(),
    accepted_by text NOT NULL DEFAULT 'inbound',
    PRIMARY KEY (tenant_id, document_id, field),
    CONSTRAINT field_overrides_document_fk FOREIGN KEY (tenant_id, document_id)
    REFERENCES books.documents (tenant_id, document_id),
    CONSTRAINT field_overrides_origin_known CHECK (
        origin IN ('qbo_wins', 'last_writer_wins', 'take_theirs', 'merge', 'quickbooks_only')
    ),
    CONSTRAINT field_overrides_field_format CHECK (field ~ '^[A-Z][A-Za-z0-9]*$')
);

COMMENT ON TABLE sync.field_overrides IS
'QuickBooks field values accepted for a posted document; laid over its body when it is rendered again.';
COMMENT ON COLUMN sync.field_overrides.tenant_id IS 'Owning tenant.';
COMMENT ON COLUMN sync.field_overrides.document_id IS 'The posted document.';
COMMENT ON COLUMN sync.field_overrides.field IS 'Top-level QuickBooks field.';
COMMENT ON COLUMN sync.field_overrides.value IS 'The value QuickBooks holds, as accepted.';
COMMENT ON COLUMN sync.field_overrides.origin IS 'Which rule accepted it (policy or operator action).';
COMMENT ON COLUMN sync.field_overrides.change_id IS 'The inbound change that brought it, when there was one.';
COMMENT ON COLUMN sync.field_overrides.accepted_at IS 'When it was accepted.';
COMMENT ON COLUMN sync.field_overrides.accepted_by IS 'inbound (a policy) or the operator who chose it.';
