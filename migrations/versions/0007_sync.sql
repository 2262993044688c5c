-- 0007 sync: outbox, attempts, locks, remote links, rate limits, connections, exceptions.
-- Mirrors sql/tables/sync/*.sql.

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

-- sync.settings: per-tenant delivery knobs. A tenant without a row uses the defaults written in
-- logic.settings__get (the column defaults below): 1 s debounce, QuickBooks' documented limits.

CREATE TABLE sync.settings (
    tenant_id text PRIMARY KEY REFERENCES orders.tenants (tenant_id),
    debounce interval NOT NULL DEFAULT '1 second',
    max_in_flight integer NOT NULL DEFAULT 10,
    per_minute integer NOT NULL DEFAULT 500,
    per_second integer NOT NULL DEFAULT 10,
    batch_per_minute integer NOT NULL DEFAULT 40,
    batch_size integer NOT NULL DEFAULT 30,
    max_attempts integer NOT NULL DEFAULT 8,
    claim_timeout interval NOT NULL DEFAULT '60 seconds',
    closed_period_policy text NOT NULL DEFAULT 'hold',
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT settings_debounce_range CHECK (debounce >= '0 seconds' AND debounce <= '1 hour'),
    CONSTRAINT settings_max_in_flight_positive CHECK (max_in_flight >= 1),
    CONSTRAINT settings_rates_positive CHECK (per_minute >= 1 AND per_second >= 1 AND batch_per_minute >= 0),
    CONSTRAINT settings_batch_size_range CHECK (batch_size BETWEEN 1 AND 30),
    CONSTRAINT settings_max_attempts_positive CHECK (max_attempts >= 1),
    CONSTRAINT settings_claim_timeout_positive CHECK (claim_timeout > '0 seconds'),
    CONSTRAINT settings_closed_period_policy_known CHECK (closed_period_policy IN ('hold', 'move_to_open'))
);

COMMENT ON TABLE sync.settings IS
'Per-tenant delivery settings (debounce window, per-realm limits, retries); missing row = defaults.';
COMMENT ON COLUMN sync.settings.tenant_id IS 'Owning tenant.';
COMMENT ON COLUMN sync.settings.debounce IS
'How long document changes coalesce before the latest version is sent (trailing window).';
COMMENT ON COLUMN sync.settings.max_in_flight IS
'Maximum concurrent HTTP requests to the realm, shared by all workers (QuickBooks allows 10).';
COMMENT ON COLUMN sync.settings.per_minute IS 'Requests per minute allowed to the realm (token bucket refill).';
COMMENT ON COLUMN sync.settings.per_second IS 'Requests per second allowed to the realm (token bucket capacity).';
COMMENT ON COLUMN sync.settings.batch_per_minute IS
'Batch requests per minute allowed to the realm; 0 disables batching.';
COMMENT ON COLUMN sync.settings.batch_size IS 'Maximum operations per batch request (QuickBooks: 30).';
COMMENT ON COLUMN sync.settings.max_attempts IS
'Transient failures tolerated per document version before it becomes a RETRY_EXHAUSTED exception.';
COMMENT ON COLUMN sync.settings.claim_timeout IS
'A claim whose heartbeat is older than this is released by the janitor (worker presumed dead).';
COMMENT ON COLUMN sync.settings.closed_period_policy IS
'Document dated in a closed books period: hold (exception, wait) or move_to_open (reserved).';
COMMENT ON COLUMN sync.settings.updated_at IS 'When the settings last changed.';

-- sync.connections: one QuickBooks company (realm) per tenant, with its OAuth tokens. Tokens are
-- encrypted by the worker (Fernet, key PGBOOKS_SECRET_KEY) before they reach the database: a dump
-- or a replica never holds a usable token. token_version increases on every rotation so a worker
-- can tell that its cached access token is stale.

CREATE TABLE sync.connections (
    tenant_id text PRIMARY KEY REFERENCES orders.tenants (tenant_id),
    realm_id text NOT NULL,
    base_url text NOT NULL,
    token_url text,
    access_token_enc bytea,
    refresh_token_enc bytea,
    access_expires_at timestamptz,
    refresh_expires_at timestamptz,
    refresh_hard_expires_at timestamptz,
    token_version integer NOT NULL DEFAULT 0,
    paused boolean NOT NULL DEFAULT FALSE,
    paused_reason text,
    paused_at timestamptz,
    connected_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT connections_realm_id_format CHECK (realm_id ~ '^[0-9A-Za-z_-]{1,64}$'),
    CONSTRAINT connections_base_url_http CHECK (base_url ~ '^https?://'),
    CONSTRAINT connections_paused_has_reason CHECK (NOT paused OR paused_reason IS NOT NULL)
);

CREATE UNIQUE INDEX connections_one_tenant_per_realm ON sync.connections (realm_id, base_url);

COMMENT ON TABLE sync.connections IS
'QuickBooks connection of a tenant: realm, API base URL, encrypted OAuth tokens, pause state. '
'[audit: skip] token ciphertext must not be copied into an append-only log; pauses and '
'reconnects are audited through sync.exceptions (AUTH_EXPIRED).';
COMMENT ON COLUMN sync.connections.tenant_id IS 'Owning tenant (one realm per tenant).';
COMMENT ON COLUMN sync.connections.realm_id IS 'QuickBooks company id (realmId).';
COMMENT ON COLUMN sync.connections.base_url IS
'API host, e.g. https://quickbooks.api.intuit.com or the local sandbox; paths /v3/company/<realm>/...';
COMMENT ON COLUMN sync.connections.token_url IS 'OAuth token endpoint used to refresh the access token.';
COMMENT ON COLUMN sync.connections.access_token_enc IS 'Access token, Fernet-encrypted by the worker.';
COMMENT ON COLUMN sync.connections.refresh_token_enc IS 'Refresh token (rotates), Fernet-encrypted by the worker.';
COMMENT ON COLUMN sync.connections.access_expires_at IS 'When the access token expires.';
COMMENT ON COLUMN sync.connections.refresh_expires_at IS 'When the refresh token expires (rolling, about 101 days).';
COMMENT ON COLUMN sync.connections.refresh_hard_expires_at IS
'Absolute end of the authorization (Intuit hard expiry); reconnect before this date.';
COMMENT ON COLUMN sync.connections.token_version IS 'Incremented on every token change (refresh or reconnect).';
COMMENT ON COLUMN sync.connections.paused IS 'True: nothing is sent to this realm (auth lost, operator pause).';
COMMENT ON COLUMN sync.connections.paused_reason IS 'Why the realm is paused, for the operator.';
COMMENT ON COLUMN sync.connections.paused_at IS 'When the realm was paused.';
COMMENT ON COLUMN sync.connections.connected_at IS 'When the OAuth authorization was (last) granted.';
COMMENT ON COLUMN sync.connections.updated_at IS 'When the row last changed.';

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

-- sync.attempts: append-only log of every delivery event (sent, accepted, failed, released by
-- the janitor, paused). The operator's and auditor's answer to "what happened to document N".

CREATE TABLE sync.attempts (
    tenant_id text NOT NULL,
    attempt_id bigint GENERATED ALWAYS AS IDENTITY,
    document_id bigint NOT NULL,
    version integer,
    event text NOT NULL,
    request_id text,
    http_status integer,
    worker text,
    detail jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, attempt_id),
    CONSTRAINT attempts_event_known CHECK (event IN (
        'accepted', 'transient', 'ambiguous', 'data_fault', 'auth_fault', 'conflict', 'stale_retry',
        'released', 'exhausted', 'held', 'readback_diff', 'render_failed', 'skipped'
    ))
);

CREATE INDEX attempts_document ON sync.attempts (tenant_id, document_id);

COMMENT ON TABLE sync.attempts IS 'Append-only log of delivery events per document (audit of the delivery engine).';
COMMENT ON COLUMN sync.attempts.tenant_id IS 'Owning tenant.';
COMMENT ON COLUMN sync.attempts.attempt_id IS 'Surrogate key (unique within the tenant).';
COMMENT ON COLUMN sync.attempts.document_id IS 'Document concerned.';
COMMENT ON COLUMN sync.attempts.version IS 'Document version concerned.';
COMMENT ON COLUMN sync.attempts.event IS 'What happened (see constraint attempts_event_known).';
COMMENT ON COLUMN sync.attempts.request_id IS 'requestid of the request concerned.';
COMMENT ON COLUMN sync.attempts.http_status IS 'HTTP status received, if any.';
COMMENT ON COLUMN sync.attempts.worker IS 'Worker that reported the event (janitor for releases).';
COMMENT ON COLUMN sync.attempts.detail IS 'Structured facts: QuickBooks fault, backoff, diff.';
COMMENT ON COLUMN sync.attempts.created_at IS 'When it happened.';

-- sync.rate_buckets: per-realm token buckets shared by every worker on every machine. A claim
-- locks the tenant's row (SKIP LOCKED: a busy tenant never blocks the others), refills by elapsed
-- time, and spends one token per HTTP request (plus one batch token for a batch request).

CREATE TABLE sync.rate_buckets (
    tenant_id text PRIMARY KEY REFERENCES orders.tenants (tenant_id),
    tokens numeric NOT NULL,
    batch_tokens numeric NOT NULL,
    refilled_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    blocked_until timestamptz,
    last_served_at timestamptz NOT NULL DEFAULT '-infinity',
    CONSTRAINT rate_buckets_tokens_non_negative CHECK (tokens >= 0 AND batch_tokens >= 0)
);

COMMENT ON TABLE sync.rate_buckets IS 'Per-realm token buckets (requests and batch requests), shared by all workers. '
'[audit: skip] rate-limit counters change on every claim.';
COMMENT ON COLUMN sync.rate_buckets.tenant_id IS 'Owning tenant (one realm).';
COMMENT ON COLUMN sync.rate_buckets.tokens IS
'Requests that may be sent now (capacity = per_second, refill per_minute/60 per s).';
COMMENT ON COLUMN sync.rate_buckets.batch_tokens IS
'Batch requests that may be sent now (refill batch_per_minute/60 per s).';
COMMENT ON COLUMN sync.rate_buckets.refilled_at IS 'When the buckets were last refilled.';
COMMENT ON COLUMN sync.rate_buckets.blocked_until IS 'After a 429: nothing is sent to the realm before this time.';
COMMENT ON COLUMN sync.rate_buckets.last_served_at IS
'Last claim for this realm; claims serve the least recently served realm first.';
