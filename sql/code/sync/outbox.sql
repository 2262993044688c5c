-- The debounced outbox: every new version of a ready document (re)arms its one outbox entry.
-- Trailing debounce: each change pushes due_at to now() + debounce, capped at
-- pending_since + 5 x debounce so a document that never stops changing is still delivered.
-- An entry that is claimed keeps its claim; api.outbox__complete re-arms it when the version
-- it delivered is older than the latest one.

CREATE FUNCTION logic.outbox__touch(p_tenant_id text, p_document_id bigint, p_version integer)
RETURNS timestamptz
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    v_window interval := (logic.settings__get(p_tenant_id)).debounce;
    v_due_at timestamptz;
BEGIN
    INSERT INTO sync.outbox AS o (tenant_id, document_id, version, state, pending_since, due_at)
    VALUES (p_tenant_id, p_document_id, p_version, 'pending', now(), now() + v_window)
    ON CONFLICT (tenant_id, document_id) DO UPDATE SET
        version = greatest(o.version, excluded.version),
        state = CASE WHEN o.state = 'claimed' THEN 'claimed' ELSE 'pending' END,
        pending_since = CASE WHEN o.state IN ('done', 'failed', 'held') THEN now() ELSE o.pending_since END,
        attempts = CASE WHEN o.state IN ('done', 'failed', 'held') THEN 0 ELSE o.attempts END,
        due_at = CASE
            WHEN o.state = 'claimed' THEN o.due_at
            WHEN o.state IN ('done', 'failed', 'held') THEN now() + v_window
            WHEN o.attempts > 0 THEN greatest(o.due_at, now() + v_window)
            ELSE least(now() + v_window, o.pending_since + 5 * v_window)
        END,
        updated_at = now()
    RETURNING o.due_at INTO v_due_at;
    PERFORM logic.wakeup__enqueue(p_tenant_id, v_due_at);
    RETURN v_due_at;
END;
$$;

COMMENT ON FUNCTION logic.outbox__touch(text, bigint, integer) IS
'Arms (or re-arms, debounced) the outbox entry of a document version and enqueues the wake-up.';

CREATE FUNCTION logic.tg_documents__outbox()
RETURNS trigger
LANGUAGE plpgsql VOLATILE
AS $$
BEGIN
    IF new.status <> 'ready' THEN
        RETURN NULL;
    END IF;
    IF tg_op = 'UPDATE' AND new.version = old.version AND old.status = 'ready' THEN
        RETURN NULL;
    END IF;
    PERFORM logic.outbox__touch(new.tenant_id, new.document_id, new.version);
    RETURN NULL;
END;
$$;

COMMENT ON FUNCTION logic.tg_documents__outbox() IS
'Trigger: a ready document (new, new version, or made ready) arms its debounced outbox entry.';

CREATE TRIGGER tg_documents__outbox
AFTER INSERT OR UPDATE OF version, status ON books.documents
FOR EACH ROW EXECUTE FUNCTION logic.tg_documents__outbox();
