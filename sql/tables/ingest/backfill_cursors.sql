-- ingest.backfill_cursors: where a backfill of one source for one channel stopped, so that
-- `pgbooks backfill` resumes instead of starting over. The cursor moves in the same transaction as
-- the raw events of the page it covers: a crash loses no page and stores none twice.

CREATE TABLE ingest.backfill_cursors (
    tenant_id text NOT NULL,
    channel_id text NOT NULL,
    resource text NOT NULL,
    source text NOT NULL,
    cursor text,
    pages_done integer NOT NULL DEFAULT 0,
    records_done bigint NOT NULL DEFAULT 0,
    started_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    completed_at timestamptz,
    PRIMARY KEY (tenant_id, channel_id, resource, source),
    CONSTRAINT backfill_cursors_pages_done_non_negative CHECK (pages_done >= 0),
    CONSTRAINT backfill_cursors_records_done_non_negative CHECK (records_done >= 0)
);

COMMENT ON TABLE ingest.backfill_cursors IS
'Resumable position of each backfill (tenant, channel, resource, source): the next page to fetch. '
'[audit: skip] coordination state rewritten on every page; the records it stores are in ingest.raw_events.';
COMMENT ON COLUMN ingest.backfill_cursors.tenant_id IS 'Owning tenant.';
COMMENT ON COLUMN ingest.backfill_cursors.channel_id IS 'Channel the records are ingested for.';
COMMENT ON COLUMN ingest.backfill_cursors.resource IS 'What is paged: orders, refunds, transactions, payouts, ...';
COMMENT ON COLUMN ingest.backfill_cursors.source IS
'The export paged: a directory path or an http(s) URL (credentials removed).';
COMMENT ON COLUMN ingest.backfill_cursors.cursor IS
'Next page to fetch: a directory''s last stored file, or a URL''s next page URL; NULL before the first page.';
COMMENT ON COLUMN ingest.backfill_cursors.pages_done IS 'Pages stored so far.';
COMMENT ON COLUMN ingest.backfill_cursors.records_done IS 'Records stored so far (duplicates included).';
COMMENT ON COLUMN ingest.backfill_cursors.started_at IS 'When this backfill first ran.';
COMMENT ON COLUMN ingest.backfill_cursors.updated_at IS 'When the cursor last moved.';
COMMENT ON COLUMN ingest.backfill_cursors.completed_at IS 'When the last page was reached (NULL while pages remain).';
