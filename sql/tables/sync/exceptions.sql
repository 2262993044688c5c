-- sync.exceptions: the operators' exception queue. Anything that stops a cent from reaching the
-- books correctly lands here with a reason code (never a silent skip, never a plug line):
-- invalid or inconsistent source data, a missing mapping, a QuickBooks fault, a read-back diff,
-- a two-way conflict. One open row per (document or source, reason); repeats bump occurrences.

CREATE TABLE sync.exceptions (
    tenant_id text NOT NULL REFERENCES orders.tenants (tenant_id),
    exception_id bigint GENERATED ALWAYS AS IDENTITY,
    document_id bigint,
    source_type text,
    source_id text,
    reason_code text NOT NULL,
    category text NOT NULL,
    message text NOT NULL,
    detail jsonb NOT NULL DEFAULT '{}',
    qbo_fault jsonb,
    diff jsonb,
    occurrences integer NOT NULL DEFAULT 1,
    status text NOT NULL DEFAULT 'open',
    first_seen_at timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    resolved_at timestamptz,
    resolved_by text,
    resolution text,
    PRIMARY KEY (tenant_id, exception_id),
    CONSTRAINT exceptions_document_fk FOREIGN KEY (tenant_id, document_id)
    REFERENCES books.documents (tenant_id, document_id),
    CONSTRAINT exceptions_reason_code_format CHECK (reason_code ~ '^[A-Z][A-Z0-9_]*$'),
    CONSTRAINT exceptions_category_known CHECK (
        category IN ('source_data', 'mapping', 'remote', 'verification', 'conflict', 'config', 'transient')
    ),
    CONSTRAINT exceptions_status_known CHECK (status IN ('open', 'resolved', 'ignored')),
    CONSTRAINT exceptions_occurrences_positive CHECK (occurrences >= 1),
    CONSTRAINT exceptions_resolution_complete CHECK (
        (status = 'open') = (resolved_at IS NULL)
    )
);

CREATE UNIQUE INDEX exceptions_one_open_per_subject ON sync.exceptions (
    tenant_id, reason_code, coalesce(document_id, -1), coalesce(source_type, ''), coalesce(source_id, '')
) WHERE status = 'open';

COMMENT ON TABLE sync.exceptions IS
'Exception queue: every document or source fact that cannot be booked correctly, with a reason code.';
COMMENT ON COLUMN sync.exceptions.tenant_id IS 'Owning tenant.';
COMMENT ON COLUMN sync.exceptions.exception_id IS 'Surrogate key (unique within the tenant).';
COMMENT ON COLUMN sync.exceptions.document_id IS 'Document concerned, when there is one.';
COMMENT ON COLUMN sync.exceptions.source_type IS 'Kind of source fact concerned (order, refund, payout, ...), if any.';
COMMENT ON COLUMN sync.exceptions.source_id IS 'Key of the source fact within the tenant, if any.';
COMMENT ON COLUMN sync.exceptions.reason_code IS
'Machine-readable reason (UPPER_SNAKE, e.g. TOTALS_MISMATCH, ITEM_UNMAPPED, QBO_FAULT_6240, READBACK_DIFF).';
COMMENT ON COLUMN sync.exceptions.category IS
'source_data, mapping, remote, verification, conflict, config or transient: who has to act.';
COMMENT ON COLUMN sync.exceptions.message IS 'One sentence for the operator: what is wrong.';
COMMENT ON COLUMN sync.exceptions.detail IS 'Structured facts (amounts, differences, field names).';
COMMENT ON COLUMN sync.exceptions.qbo_fault IS 'The QuickBooks Fault object, verbatim, when QuickBooks refused.';
COMMENT ON COLUMN sync.exceptions.diff IS 'Field-level diff: what we would send vs what QuickBooks holds.';
COMMENT ON COLUMN sync.exceptions.occurrences IS 'How many times the same exception was raised while open.';
COMMENT ON COLUMN sync.exceptions.status IS 'open, resolved (fixed and retried) or ignored (accepted by an approver).';
COMMENT ON COLUMN sync.exceptions.first_seen_at IS 'When it was first raised.';
COMMENT ON COLUMN sync.exceptions.last_seen_at IS 'When it was last raised.';
COMMENT ON COLUMN sync.exceptions.resolved_at IS 'When it left the open state.';
COMMENT ON COLUMN sync.exceptions.resolved_by IS 'Application user who resolved or ignored it.';
COMMENT ON COLUMN sync.exceptions.resolution IS 'What was done (retried, take_ours, take_theirs, ignored: why).';
