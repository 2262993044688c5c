-- books.derive_requests: the books derivation queue. A write to an order (or a payout) records
-- one request per order per transaction, in the writer's transaction (so a committed change
-- always has its request: nothing is lost between commit and derivation); the worker derives
-- the pending requests set-wise (api.books__derive_pending) and deletes them in the same
-- transaction as the documents it writes. Append-only from the writers' side: concurrent
-- writers never wait on each other here (no unique key across transactions; a writer skips its
-- own duplicates by xact). Not audited: a work queue whose content is derivable from the
-- audited orders rows; no foreign key to orders.tenants (each request comes from an orders row
-- that has one, and the check would cost every commit a key-share lock on the tenant row).

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
