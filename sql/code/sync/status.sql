-- api.realms__status: the facts behind `pgbooks status` (and the demo's "drained" test). What
-- counts as backlog is a delivery decision, so it is made here, once: an outbox entry is backlog
-- when it can still be delivered without a human (in flight, already requested, or its document
-- is ready and no dependency is stuck on a blocked document without a QuickBooks id); anything
-- else pending is held/blocked and belongs to the exception queue.

CREATE FUNCTION api.realms__status()
RETURNS TABLE (
    tenant_id text,
    realm_id text,
    paused boolean,
    paused_reason text,
    access_expires_at timestamptz,
    refresh_hard_expires_at timestamptz,
    backlog bigint,
    held bigint,
    oldest_pending_s integer,
    accepted_5m bigint,
    accepted_1h bigint,
    failures_1h bigint,
    last_success_at timestamptz,
    open_exceptions bigint
)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    WITH entries AS (
        SELECT
            o.tenant_id,
            o.pending_since,
            o.state = 'claimed'
            OR (o.state = 'pending' AND (o.request_id IS NOT NULL OR (
                d.status = 'ready'
                AND NOT EXISTS (
                    SELECT 1
                    FROM unnest(d.depends_on) AS dep (id)
                    INNER JOIN books.documents AS x
                        ON x.tenant_id = d.tenant_id AND x.document_id = dep.id
                    WHERE x.status <> 'ready'
                        AND NOT EXISTS (
                            SELECT 1 FROM sync.remote_objects AS r
                            WHERE r.tenant_id = x.tenant_id AND r.document_id = x.document_id
                        )
                )
            ))) AS deliverable
        FROM sync.outbox AS o
        INNER JOIN books.documents AS d
            ON d.tenant_id = o.tenant_id AND d.document_id = o.document_id
        WHERE o.state IN ('pending', 'claimed', 'held')
    )

    SELECT
        t.tenant_id,
        c.realm_id,
        coalesce(c.paused, FALSE),
        c.paused_reason,
        c.access_expires_at,
        c.refresh_hard_expires_at,
        (SELECT count(*) FROM entries AS e WHERE e.tenant_id = t.tenant_id AND e.deliverable),
        (SELECT count(*) FROM entries AS e WHERE e.tenant_id = t.tenant_id AND NOT e.deliverable),
        (
            SELECT extract(EPOCH FROM now() - min(e.pending_since))::integer
            FROM entries AS e WHERE e.tenant_id = t.tenant_id AND e.deliverable
        ),
        -- recent requests: index ranges of sync.attempts (tenant, event, created_at), never the
        -- whole log (it only grows)
        (
            SELECT count(*) FROM sync.attempts AS a
            WHERE a.tenant_id = t.tenant_id AND a.event = 'accepted' AND a.created_at > now() - interval '5 minutes'
        ),
        (
            SELECT count(*) FROM sync.attempts AS a
            WHERE a.tenant_id = t.tenant_id AND a.event = 'accepted' AND a.created_at > now() - interval '1 hour'
        ),
        (
            SELECT count(*) FROM sync.attempts AS a
            WHERE a.tenant_id = t.tenant_id
                AND a.event IN ('transient', 'data_fault', 'auth_fault', 'exhausted', 'render_failed')
                AND a.created_at > now() - interval '1 hour'
        ),
        (
            SELECT max(a.created_at) FROM sync.attempts AS a
            WHERE a.tenant_id = t.tenant_id AND a.event = 'accepted'
        ),
        (
            SELECT count(*) FROM sync.exceptions AS x
            WHERE x.tenant_id = t.tenant_id AND x.status = 'open'
        )
    FROM orders.tenants AS t
    LEFT JOIN sync.connections AS c ON t.tenant_id = c.tenant_id
    ORDER BY t.tenant_id;
$$;

COMMENT ON FUNCTION api.realms__status() IS
'Per tenant/realm: deliverable backlog, held/blocked entries, oldest deliverable age, accepted and failed '
'requests, last success, token expiry, paused flag, open exceptions (pgbooks status).';

GRANT EXECUTE ON FUNCTION api.realms__status() TO pgbooks_worker, pgbooks_operator;
