-- sync.outbox: the delivery queue, one row per document (the latest version wins). The row is the
-- truth; pgqueuer jobs only wake workers up. An entry carrying request_* has a request whose
-- outcome is not known yet (in flight, timed out, lost, 5xx): it is re-sent byte for byte with the
-- same requestid (QuickBooks replays the first answer) before any newer version is considered.

CREATE TABLE sync.outbox (
    tenant_id text NOT NULL,
    document_id bigint NOT NULL,
    version integer NOT NULL,
    state text NOT NULL DEFAULT 'pending',
    pending_since timestamptz NOT NULL DEFAULT now(),
    due_at timestamptz NOT NULL DEFAULT now(),
    attempts integer NOT NULL DEFAULT 0,
    stale_retries integer NOT NULL DEFAULT 0,
    claim_id uuid,
    claimed_by text,
    claimed_at timestamptz,
    heartbeat_at timestamptz,
    request_id text,
    request_bid text,
    request_op text,
    request_entity text,
    request_version integer,
    request_body jsonb,
    ambiguous boolean NOT NULL DEFAULT FALSE,
    last_http_status integer,
    last_error text,
    done_at timestamptz,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, document_id),
    CONSTRAINT outbox_document_fk FOREIGN KEY (tenant_id, document_id)
    REFERENCES books.documents (tenant_id, document_id) ON DELETE CASCADE,
    CONSTRAINT outbox_state_known CHECK (state IN ('pending', 'claimed', 'done', 'failed', 'held')),
    CONSTRAINT outbox_claim_complete CHECK (
        (state = 'claimed') = (claim_id IS NOT NULL AND claimed_by IS NOT NULL AND heartbeat_at IS NOT NULL)
    ),
    CONSTRAINT outbox_request_complete CHECK (
        (request_id IS NULL) = (request_body IS NULL AND request_op IS NULL AND request_version IS NULL)
    ),
    CONSTRAINT outbox_request_id_length CHECK (char_length(request_id) <= 50),
    CONSTRAINT outbox_request_op_known CHECK (request_op IN ('create', 'update', 'void', 'delete'))
);

CREATE INDEX outbox_due ON sync.outbox (due_at, tenant_id) WHERE state = 'pending';
-- one realm's due entries in claim order (unresolved requests first): api.outbox__claim
CREATE INDEX outbox_tenant_due ON sync.outbox (tenant_id, (request_id IS NULL), due_at, document_id)
WHERE state = 'pending';
CREATE INDEX outbox_claimed ON sync.outbox (tenant_id, heartbeat_at) WHERE state = 'claimed';
CREATE UNIQUE INDEX outbox_claim_id ON sync.outbox (claim_id) WHERE claim_id IS NOT NULL;

COMMENT ON TABLE sync.outbox IS
'Delivery queue: one entry per document, latest version, debounced; single flight per document. '
'[audit: skip] high-churn queue state; every delivery event is audited through sync.attempts.';
COMMENT ON COLUMN sync.outbox.tenant_id IS 'Owning tenant.';
COMMENT ON COLUMN sync.outbox.document_id IS 'Document to deliver.';
COMMENT ON COLUMN sync.outbox.version IS 'Latest document version to deliver (bursts coalesce here).';
COMMENT ON COLUMN sync.outbox.state IS
'pending (waits for due_at), claimed (a worker holds it), done, failed (open exception), held (closed period).';
COMMENT ON COLUMN sync.outbox.pending_since IS 'First change not yet delivered (bounds the trailing debounce).';
COMMENT ON COLUMN sync.outbox.due_at IS 'Not claimed before this time (debounce, backoff, Retry-After).';
COMMENT ON COLUMN sync.outbox.attempts IS
'Transient failures of the current request (bounded by settings.max_attempts).';
COMMENT ON COLUMN sync.outbox.stale_retries IS
'Stale-object (5010) re-reads of the current version; part of the requestid.';
COMMENT ON COLUMN sync.outbox.claim_id IS 'Token of the current claim; complete/fail must present it.';
COMMENT ON COLUMN sync.outbox.claimed_by IS 'Worker holding the claim.';
COMMENT ON COLUMN sync.outbox.claimed_at IS 'When the current claim was taken.';
COMMENT ON COLUMN sync.outbox.heartbeat_at IS
'Last sign of life of the claiming worker (janitor releases stale claims).';
COMMENT ON COLUMN sync.outbox.request_id IS
'requestid of the unresolved request (deterministic per document version, at most 50 characters).';
COMMENT ON COLUMN sync.outbox.request_bid IS
'bId of the operation when it was sent inside a batch (key = requestid + bId).';
COMMENT ON COLUMN sync.outbox.request_op IS 'create, update, void or delete.';
COMMENT ON COLUMN sync.outbox.request_entity IS 'QuickBooks entity of the request (Invoice, Customer, ...).';
COMMENT ON COLUMN sync.outbox.request_version IS 'Document version the unresolved request carries.';
COMMENT ON COLUMN sync.outbox.request_body IS 'Exact payload sent, re-sent verbatim until the outcome is known.';
COMMENT ON COLUMN sync.outbox.ambiguous IS
'True after a timeout / lost response / dead worker: QuickBooks may hold the object; resolved by replay.';
COMMENT ON COLUMN sync.outbox.last_http_status IS 'HTTP status of the last answer (NULL: no answer).';
COMMENT ON COLUMN sync.outbox.last_error IS 'Last failure, for the operator.';
COMMENT ON COLUMN sync.outbox.done_at IS 'When the latest version was accepted by QuickBooks.';
COMMENT ON COLUMN sync.outbox.updated_at IS 'When the entry last changed.';
