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

-- Health over a recent window (analytics.rpt_sync_health, api.realms__status): accepted and failed
-- requests of the last minute / hour and the last success per tenant are index ranges per event.
CREATE INDEX attempts_event_time ON sync.attempts (tenant_id, event, created_at);

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
