-- 0022 derive requests: a write to an order records a derive request in its transaction; the worker
-- derives (api.books__derive_pending). Mirrors sql/tables/books/derive_requests.sql and the
-- derive_at_commit column of sql/tables/books/tenant_settings.sql.

CREATE TABLE books.derive_requests (
    tenant_id text NOT NULL,
    request_id bigint GENERATED ALWAYS AS IDENTITY,
    subject_type text NOT NULL,
    channel_id text NOT NULL,
    subject_id text NOT NULL,
    xact xid8 NOT NULL DEFAULT pg_current_xact_id(),
    requested_at timestamptz NOT NULL DEFAULT now(),
    attempts integer NOT NULL DEFAULT 0,
    last_error text,
    PRIMARY KEY (tenant_id, request_id),
    CONSTRAINT derive_requests_subject_type_known CHECK (subject_type IN ('order', 'payout'))
);

CREATE INDEX derive_requests_subject ON books.derive_requests (tenant_id, subject_type, channel_id, subject_id);

COMMENT ON TABLE books.derive_requests IS
'Books derivation queue: one row per changed order or payout per writing transaction, derived and deleted by '
'api.books__derive_pending (the worker). [audit: skip] work queue, derivable from the audited orders rows.';
COMMENT ON COLUMN books.derive_requests.tenant_id IS 'Owning tenant.';
COMMENT ON COLUMN books.derive_requests.request_id IS 'Surrogate key (unique within the tenant), in request order.';
COMMENT ON COLUMN books.derive_requests.subject_type IS 'order (its sales, payment and refund documents) or payout.';
COMMENT ON COLUMN books.derive_requests.channel_id IS 'Channel of the order or payout.';
COMMENT ON COLUMN books.derive_requests.subject_id IS 'order_id or payout_id.';
COMMENT ON COLUMN books.derive_requests.xact IS
'Top-level transaction that wrote the request (a writer adds one request per subject per transaction).';
COMMENT ON COLUMN books.derive_requests.requested_at IS 'When the change was written (its transaction start).';
COMMENT ON COLUMN books.derive_requests.attempts IS 'Derivations of this request that raised an error.';
COMMENT ON COLUMN books.derive_requests.last_error IS 'SQLSTATE and message of the last failed derivation.';

ALTER TABLE books.tenant_settings ADD COLUMN derive_at_commit boolean NOT NULL DEFAULT FALSE;

COMMENT ON COLUMN books.tenant_settings.derive_at_commit IS
'false (default): a write to an order queues a derive request and the worker derives it (the app''s commit stays '
'fast); true: the books documents are derived at the app''s commit, in its transaction.';

-- Orders written before this migration were derived at their commit: nothing to queue.
