-- Import of a QuickBooks company into sync.qbo_mirror (pgbooks qbo import) and the maps fed from
-- it. The worker pages the query API; every page is stored, and the import checkpoint advanced,
-- by one call of api.qbo_import__page (one transaction): a run killed between pages resumes at the
-- first page not stored, and a page stored twice updates the same rows (idempotent).

CREATE FUNCTION logic.qbo_backfill__realm(p_tenant_id text)
RETURNS text
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    v_realm text;
BEGIN
    SELECT c.realm_id INTO v_realm FROM sync.connections AS c WHERE c.tenant_id = p_tenant_id;
    IF v_realm IS NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = 'PB901',
            MESSAGE = format('tenant_id %s has no QuickBooks connection', p_tenant_id),
            HINT = 'Run pgbooks connect --tenant first.';
    END IF;
    RETURN v_realm;
END;
$$;

COMMENT ON FUNCTION logic.qbo_backfill__realm(text) IS
'Realm the tenant is connected to (PB901 when it has no QuickBooks connection).';

CREATE FUNCTION api.qbo_backfill__connections(p_realm_id text)
RETURNS TABLE (tenant_id text, base_url text, paused boolean)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT c.tenant_id, c.base_url, c.paused FROM sync.connections AS c
    WHERE c.realm_id = p_realm_id ORDER BY c.tenant_id
$$;

COMMENT ON FUNCTION api.qbo_backfill__connections(text) IS
'Tenants connected to a QuickBooks realm (usually one), with the API base URL: where pgbooks qbo import reads.';

GRANT EXECUTE ON FUNCTION api.qbo_backfill__connections(text) TO pgbooks_worker, pgbooks_operator;

CREATE FUNCTION logic.qbo_import__check(p_tenant_id text, p_realm_id text, p_entity text)
RETURNS void
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    IF logic.qbo_backfill__realm(p_tenant_id) IS DISTINCT FROM p_realm_id THEN
        RAISE EXCEPTION USING
            ERRCODE = 'PB902',
            MESSAGE = format('realm_id %s is not the QuickBooks company of tenant %s (connected: %s)',
                p_realm_id, p_tenant_id, logic.qbo_backfill__realm(p_tenant_id));
    END IF;
    IF p_entity IS NULL OR p_entity NOT IN (
        'Account', 'TaxCode', 'Item', 'Customer', 'Invoice', 'SalesReceipt', 'Payment', 'CreditMemo',
        'RefundReceipt', 'Deposit', 'JournalEntry'
    ) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'PB903',
            MESSAGE = format('entity %s cannot be imported', coalesce(p_entity, 'NULL')),
            HINT = 'One of Account, TaxCode, Item, Customer, Invoice, SalesReceipt, Payment, CreditMemo, '
            'RefundReceipt, Deposit, JournalEntry.';
    END IF;
END;
$$;

COMMENT ON FUNCTION logic.qbo_import__check(text, text, text) IS
'Refuses an import of a realm that is not the tenant''s (PB902) or of an entity that is not imported (PB903).';

CREATE FUNCTION api.qbo_import__checkpoint(p_tenant_id text, p_realm_id text, p_entity text)
RETURNS TABLE (start_position integer, done_count bigint, completed boolean)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM logic.qbo_import__check(p_tenant_id, p_realm_id, p_entity);
    RETURN QUERY
    SELECT coalesce((k.cursor ->> 'start')::integer, 1), k.done_count, k.completed
    FROM sync.qbo_backfill_checkpoints AS k
    WHERE k.tenant_id = p_tenant_id AND k.kind = 'import' AND k.scope = p_realm_id || ':' || p_entity;
    IF NOT found THEN
        start_position := 1;
        done_count := 0;
        completed := FALSE;
        RETURN NEXT;
    END IF;
END;
$$;

COMMENT ON FUNCTION api.qbo_import__checkpoint(text, text, text) IS
'Where the import of one entity of a realm stands: next STARTPOSITION, rows stored, completed.';

CREATE FUNCTION api.qbo_import__reset(p_tenant_id text, p_realm_id text, p_entities text[])
RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_n integer;
BEGIN
    DELETE FROM sync.qbo_backfill_checkpoints AS k
    WHERE k.tenant_id = p_tenant_id AND k.kind = 'import'
        AND k.scope IN (SELECT p_realm_id || ':' || e FROM unnest(p_entities) AS e);
    GET DIAGNOSTICS v_n = ROW_COUNT;
    RETURN v_n;
END;
$$;

COMMENT ON FUNCTION api.qbo_import__reset(text, text, text[]) IS
'Forgets the import checkpoints of these entities (the next import reads them again from the first page; '
'the mirror rows stay and are updated in place).';

CREATE FUNCTION api.qbo_import__page(
    p_tenant_id text,
    p_realm_id text,
    p_entity text,
    p_rows jsonb,
    p_next_start integer,
    p_last boolean
)
RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_bad jsonb;
    v_n integer;
BEGIN
    PERFORM logic.qbo_import__check(p_tenant_id, p_realm_id, p_entity);
    IF p_rows IS NULL OR jsonb_typeof(p_rows) <> 'array' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'PB904',
            MESSAGE = format('rows of the %s page must be a JSON array', p_entity);
    END IF;
    SELECT r.value INTO v_bad FROM jsonb_array_elements(p_rows) AS r (value)
    WHERE jsonb_typeof(r.value) <> 'object' OR nullif(btrim(r.value ->> 'Id'), '') IS NULL
    LIMIT 1;
    IF found THEN
        RAISE EXCEPTION USING
            ERRCODE = 'PB904',
            MESSAGE = format('a %s row has no Id: %s', p_entity, left(v_bad::text, 200));
    END IF;
    IF p_next_start IS NULL OR p_next_start < 1 THEN
        RAISE EXCEPTION USING
            ERRCODE = 'PB904',
            MESSAGE = format('next_start of the %s page must be >= 1, got %s', p_entity, p_next_start);
    END IF;

    INSERT INTO sync.qbo_mirror AS m (
        tenant_id, realm_id, entity, remote_id, sync_token, doc_number, name, email, sku, active, txn_date,
        total_amount, currency, remote_updated_at, raw
    )
    SELECT DISTINCT ON (r.value ->> 'Id')
        p_tenant_id, p_realm_id, p_entity, r.value ->> 'Id', r.value ->> 'SyncToken',
        nullif(r.value ->> 'DocNumber', ''),
        coalesce(r.value ->> 'DisplayName', r.value ->> 'Name'),
        nullif(btrim(r.value #>> '{PrimaryEmailAddr,Address}'), ''),
        nullif(btrim(r.value ->> 'Sku'), ''),
        coalesce((r.value ->> 'Active')::boolean, TRUE),
        (r.value ->> 'TxnDate')::date,
        (r.value ->> 'TotalAmt')::numeric,
        CASE WHEN r.value #>> '{CurrencyRef,value}' ~ '^[A-Z]{3}$' THEN r.value #>> '{CurrencyRef,value}' END,
        (r.value #>> '{MetaData,LastUpdatedTime}')::timestamptz,
        r.value
    FROM jsonb_array_elements(p_rows) AS r (value)
    ORDER BY r.value ->> 'Id'
    ON CONFLICT (tenant_id, realm_id, entity, remote_id) DO UPDATE SET
        sync_token = excluded.sync_token, doc_number = excluded.doc_number, name = excluded.name,
        email = excluded.email, sku = excluded.sku, active = excluded.active, txn_date = excluded.txn_date,
        total_amount = excluded.total_amount, currency = excluded.currency,
        remote_updated_at = excluded.remote_updated_at, raw = excluded.raw, imported_at = now();
    GET DIAGNOSTICS v_n = ROW_COUNT;

    INSERT INTO sync.qbo_backfill_checkpoints AS k (tenant_id, kind, scope, cursor, done_count, completed,
        completed_at)
    VALUES (p_tenant_id, 'import', p_realm_id || ':' || p_entity, jsonb_build_object('start', p_next_start), v_n,
        p_last, CASE WHEN p_last THEN now() END)
    ON CONFLICT (tenant_id, kind, scope) DO UPDATE SET
        cursor = excluded.cursor,
        done_count = k.done_count + excluded.done_count,
        completed = excluded.completed,
        completed_at = excluded.completed_at,
        updated_at = now();
    RETURN v_n;
END;
$$;

COMMENT ON FUNCTION api.qbo_import__page(text, text, text, jsonb, integer, boolean) IS
'Stores one page of a QuickBooks query (upsert by Id into sync.qbo_mirror) and moves the import checkpoint to '
'p_next_start in the same transaction; p_last completes the entity. Returns the rows stored.';

CREATE FUNCTION logic.document__currency(p_tenant_id text, p_body jsonb)
RETURNS text
LANGUAGE sql STABLE
AS $$
    SELECT coalesce(
        p_body #>> '{CurrencyRef,value}',
        (SELECT s.home_currency::text FROM books.tenant_settings AS s WHERE s.tenant_id = p_tenant_id),
        (SELECT t.home_currency::text FROM orders.tenants AS t WHERE t.tenant_id = p_tenant_id)
    )
$$;

COMMENT ON FUNCTION logic.document__currency(text, jsonb) IS
'Currency of a customer document: its CurrencyRef, else the tenant''s home currency.';

CREATE FUNCTION logic.document__link_existing(
    p_tenant_id text, p_document_id bigint, p_realm_id text DEFAULT NULL, p_strict boolean DEFAULT TRUE
)
RETURNS text
LANGUAGE plpgsql VOLATILE
AS $$
-- The link rule (README "Importing history from QuickBooks"): a document that has no QuickBooks
-- object yet is linked to one found in the imported mirror of its realm, instead of being created:
--   transactions  same entity and the same DocNumber, exactly one such object, not linked to another
--                 document (two candidates: PB911 when p_strict, nothing is sent until resolved);
--                 without a DocNumber match (company without custom transaction numbers): the same
--                 PrivateNote marker ('pgbooks order|payment|refund|payout ...'), same rule;
--   customers     the same e-mail address (one candidate, same currency), else the same DisplayName;
--   items         the same Sku, else the same Name.
-- The link is written as the document's remote object at its current version (nothing is sent for
-- that version: QuickBooks' copy is kept as it is) and logged in sync.attempts. Returns how it
-- matched (doc_number, private_note, email, display_name, sku, name) or NULL when nothing matched.
DECLARE
    v_doc books.documents;
    v_realm text := coalesce(p_realm_id, (SELECT c.realm_id FROM sync.connections AS c
                                          WHERE c.tenant_id = p_tenant_id));
    v_entity text;
    v_ids text[];
    v_how text;
    v_m sync.qbo_mirror;
    v_n integer;
BEGIN
    SELECT d.* INTO v_doc FROM books.documents AS d
    WHERE d.tenant_id = p_tenant_id AND d.document_id = p_document_id;
    IF NOT found OR v_realm IS NULL OR v_doc.action <> 'upsert' OR EXISTS (
        SELECT FROM sync.remote_objects AS r WHERE r.tenant_id = p_tenant_id AND r.document_id = p_document_id
    ) THEN
        RETURN NULL;
    END IF;
    v_entity := logic.doc_type__qbo_entity(v_doc.doc_type);

    IF v_doc.doc_type = 'customer' THEN
        v_how := 'email';
        v_ids := ARRAY(
            SELECT m.remote_id FROM sync.qbo_mirror AS m
            WHERE m.tenant_id = p_tenant_id AND m.realm_id = v_realm AND m.entity = 'Customer' AND m.active
                AND lower(m.email) = lower(v_doc.body #>> '{PrimaryEmailAddr,Address}')
                AND coalesce(m.currency::text, logic.document__currency(p_tenant_id, v_doc.body))
                = logic.document__currency(p_tenant_id, v_doc.body)
        );
        IF cardinality(v_ids) <> 1 THEN
            v_how := 'display_name';
            v_ids := ARRAY(
                SELECT m.remote_id FROM sync.qbo_mirror AS m
                WHERE m.tenant_id = p_tenant_id AND m.realm_id = v_realm AND m.entity = 'Customer' AND m.active
                    AND lower(m.name) = lower(v_doc.body ->> 'DisplayName')
            );
        END IF;
    ELSIF v_doc.doc_type = 'item' THEN
        v_how := 'sku';
        v_ids := ARRAY(
            SELECT m.remote_id FROM sync.qbo_mirror AS m
            WHERE m.tenant_id = p_tenant_id AND m.realm_id = v_realm AND m.entity = 'Item' AND m.active
                AND m.sku = v_doc.body ->> 'Sku'
        );
        IF cardinality(v_ids) <> 1 THEN
            v_how := 'name';
            v_ids := ARRAY(
                SELECT m.remote_id FROM sync.qbo_mirror AS m
                WHERE m.tenant_id = p_tenant_id AND m.realm_id = v_realm AND m.entity = 'Item' AND m.active
                    AND lower(m.name) = lower(v_doc.body ->> 'Name')
            );
        END IF;
    ELSIF v_doc.doc_number IS NOT NULL THEN
        v_how := 'doc_number';
        v_ids := ARRAY(
            SELECT m.remote_id FROM sync.qbo_mirror AS m
            WHERE m.tenant_id = p_tenant_id AND m.realm_id = v_realm AND m.entity = v_entity
                AND m.doc_number = v_doc.doc_number
                AND NOT EXISTS (
                    SELECT FROM sync.remote_objects AS r
                    WHERE r.tenant_id = m.tenant_id AND r.realm_id = m.realm_id AND r.entity = m.entity
                        AND r.remote_id = m.remote_id
                )
            ORDER BY m.remote_id
        );
        IF cardinality(v_ids) > 1 AND p_strict THEN
            RAISE EXCEPTION USING
                ERRCODE = 'PB911',
                MESSAGE = format(
                    'document %s: %s QuickBooks %s objects (Id %s) have DocNumber %s; not linked and not created',
                    p_document_id, cardinality(v_ids), v_entity, array_to_string(v_ids, ', '), v_doc.doc_number
                ),
                HINT = 'Delete or renumber the duplicates in QuickBooks, re-import, then retry the document.';
        END IF;
    END IF;
    IF coalesce(cardinality(v_ids), 0) = 0 AND v_doc.doc_type NOT IN ('customer', 'item')
        AND v_doc.body ->> 'PrivateNote' LIKE 'pgbooks %' THEN
        -- No DocNumber to go by (company without custom transaction numbers): the marker pgbooks
        -- writes into every document's PrivateNote identifies what an earlier install posted.
        v_how := 'private_note';
        v_ids := ARRAY(
            SELECT m.remote_id FROM sync.qbo_mirror AS m
            WHERE m.tenant_id = p_tenant_id AND m.realm_id = v_realm AND m.entity = v_entity
                AND m.raw ->> 'PrivateNote' LIKE 'pgbooks %'
                AND m.raw ->> 'PrivateNote' = v_doc.body ->> 'PrivateNote'
                AND NOT EXISTS (
                    SELECT FROM sync.remote_objects AS r
                    WHERE r.tenant_id = m.tenant_id AND r.realm_id = m.realm_id AND r.entity = m.entity
                        AND r.remote_id = m.remote_id
                )
            ORDER BY m.remote_id
        );
        IF cardinality(v_ids) > 1 AND p_strict THEN
            RAISE EXCEPTION USING
                ERRCODE = 'PB911',
                MESSAGE = format(
                    'document %s: %s QuickBooks %s objects (Id %s) carry its PrivateNote marker %L; '
                    'not linked and not created',
                    p_document_id, cardinality(v_ids), v_entity, array_to_string(v_ids, ', '),
                    v_doc.body ->> 'PrivateNote'
                ),
                HINT = 'Delete the duplicates in QuickBooks (or edit their PrivateNote), re-import, then retry '
                    'the document.';
        END IF;
    END IF;
    IF coalesce(cardinality(v_ids), 0) <> 1 THEN
        RETURN NULL;
    END IF;

    SELECT m.* INTO v_m FROM sync.qbo_mirror AS m
    WHERE m.tenant_id = p_tenant_id AND m.realm_id = v_realm AND m.entity = v_entity AND m.remote_id = v_ids[1];
    INSERT INTO sync.remote_objects (
        tenant_id, document_id, realm_id, entity, remote_id, sync_token, synced_version, snapshot
    )
    VALUES (
        p_tenant_id, p_document_id, v_realm, v_entity, v_m.remote_id, coalesce(v_m.sync_token, '0'), v_doc.version,
        v_m.raw
    )
    ON CONFLICT DO NOTHING;
    GET DIAGNOSTICS v_n = ROW_COUNT;
    IF v_n = 0 THEN
        -- That QuickBooks object already stands for another document (customers and items can be
        -- shared by name); this one is created as usual.
        RETURN NULL;
    END IF;
    PERFORM logic.attempt__log(p_tenant_id, p_document_id, v_doc.version, 'skipped', NULL, NULL, 'qbo-link',
        jsonb_build_object('reason', 'linked to an existing QuickBooks object', 'matched_by', v_how,
            'entity', v_entity, 'remote_id', v_m.remote_id));
    IF v_how IN ('doc_number', 'private_note') AND v_doc.total_amount IS NOT NULL
        AND v_m.total_amount IS DISTINCT FROM v_doc.total_amount THEN
        PERFORM logic.exception__raise(
            p_tenant_id, p_document_id, 'LINKED_TOTAL_DIFFERS', 'conflict',
            format('document %s was linked by %s to QuickBooks %s %s, whose total %s differs from ours (%s); '
                'QuickBooks was left as it is', p_document_id,
                CASE v_how WHEN 'doc_number' THEN format('DocNumber %s', v_doc.doc_number)
                    ELSE format('its PrivateNote marker %L', v_doc.body ->> 'PrivateNote') END, v_entity, v_m.remote_id,
                coalesce(v_m.total_amount::text, 'none'), v_doc.total_amount),
            jsonb_build_object('remote_id', v_m.remote_id, 'remote_total', v_m.total_amount,
                'local_total', v_doc.total_amount)
        );
    END IF;
    RETURN v_how;
END;
$$;

COMMENT ON FUNCTION logic.document__link_existing(text, bigint, text, boolean) IS
'Links a document without a QuickBooks object to the one the imported mirror holds (DocNumber, else the pgbooks '
'PrivateNote marker, for transactions; '
'e-mail / DisplayName for customers, Sku / Name for items) instead of creating it; returns how it matched or NULL.';

CREATE FUNCTION api.qbo_mirror__apply_maps(p_tenant_id text)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_realm text := logic.qbo_backfill__realm(p_tenant_id);
    v_items_sku integer;
    v_items_name integer;
    v_tax integer;
    v_linked jsonb := '{}';
    v_how text;
    v_d record;
BEGIN
    -- Items by SKU: every active item with a Sku (manual rows win).
    INSERT INTO books.item_map AS m (tenant_id, sku, item_id, item_name, source)
    SELECT DISTINCT ON (i.sku) p_tenant_id, i.sku, i.remote_id, i.name, 'discovered'
    FROM sync.qbo_mirror AS i
    WHERE i.tenant_id = p_tenant_id AND i.realm_id = v_realm AND i.entity = 'Item' AND i.active
        AND i.sku IS NOT NULL
    ORDER BY i.sku, i.remote_id
    ON CONFLICT (tenant_id, sku) DO UPDATE
        SET item_id = excluded.item_id, item_name = excluded.item_name, updated_at = now()
        WHERE m.source = 'discovered' AND (m.item_id, m.item_name) IS DISTINCT FROM (excluded.item_id, excluded.item_name);
    GET DIAGNOSTICS v_items_sku = ROW_COUNT;

    -- Items by name: a SKU sold in the tenant's orders, not mapped yet, whose SKU or line title is
    -- the Name of exactly one active item.
    INSERT INTO books.item_map (tenant_id, sku, item_id, item_name, source)
    SELECT p_tenant_id, s.sku, min(i.remote_id), min(i.name), 'discovered'
    FROM (
        SELECT DISTINCT l.sku, l.title FROM orders.order_lines AS l
        WHERE l.tenant_id = p_tenant_id AND nullif(btrim(l.sku), '') IS NOT NULL
    ) AS s
    INNER JOIN sync.qbo_mirror AS i
        ON i.tenant_id = p_tenant_id AND i.realm_id = v_realm AND i.entity = 'Item' AND i.active
            AND lower(i.name) IN (lower(s.sku), lower(s.title))
    WHERE NOT EXISTS (SELECT FROM books.item_map AS m WHERE m.tenant_id = p_tenant_id AND m.sku = s.sku)
    GROUP BY s.sku
    HAVING count(DISTINCT i.remote_id) = 1
    ON CONFLICT (tenant_id, sku) DO NOTHING;
    GET DIAGNOSTICS v_items_name = ROW_COUNT;

    -- Tax codes by name (per_line_codes keys; manual rows win).
    INSERT INTO books.tax_code_map AS m (tenant_id, tax_key, tax_code_id, tax_code_name, source)
    SELECT DISTINCT ON (c.name) p_tenant_id, c.name, c.remote_id, c.name, 'discovered'
    FROM sync.qbo_mirror AS c
    WHERE c.tenant_id = p_tenant_id AND c.realm_id = v_realm AND c.entity = 'TaxCode' AND c.active
        AND nullif(btrim(c.name), '') IS NOT NULL
    ORDER BY c.name, c.remote_id
    ON CONFLICT (tenant_id, tax_key) DO UPDATE
        SET tax_code_id = excluded.tax_code_id, tax_code_name = excluded.tax_code_name, updated_at = now()
        WHERE m.source = 'discovered'
            AND (m.tax_code_id, m.tax_code_name) IS DISTINCT FROM (excluded.tax_code_id, excluded.tax_code_name);
    GET DIAGNOSTICS v_tax = ROW_COUNT;

    -- Customer and item documents not in QuickBooks yet: link them to what the company has.
    FOR v_d IN
        SELECT d.document_id FROM books.documents AS d
        WHERE d.tenant_id = p_tenant_id AND d.doc_type IN ('customer', 'item') AND d.action = 'upsert'
            AND NOT EXISTS (
                SELECT FROM sync.remote_objects AS r
                WHERE r.tenant_id = d.tenant_id AND r.document_id = d.document_id
            )
        ORDER BY d.document_id
    LOOP
        v_how := logic.document__link_existing(p_tenant_id, v_d.document_id, v_realm, FALSE);
        IF v_how IS NOT NULL THEN
            v_linked := v_linked || jsonb_build_object(v_how, coalesce((v_linked ->> v_how)::integer, 0) + 1);
        END IF;
    END LOOP;

    RETURN jsonb_build_object(
        'item_map_by_sku', v_items_sku, 'item_map_by_name', v_items_name, 'tax_code_map', v_tax,
        'linked', v_linked
    );
END;
$$;

COMMENT ON FUNCTION api.qbo_mirror__apply_maps(text) IS
'Feeds the books maps from the imported mirror: item_map by Sku and by Name, tax_code_map by name (manual rows '
'win), and links customer / item documents to existing QuickBooks objects. Returns the counts.';

GRANT EXECUTE ON FUNCTION api.qbo_import__checkpoint(text, text, text) TO pgbooks_worker, pgbooks_operator;
GRANT EXECUTE ON FUNCTION api.qbo_import__reset(text, text, text[]) TO pgbooks_operator;
GRANT EXECUTE ON FUNCTION api.qbo_import__page(text, text, text, jsonb, integer, boolean)
TO pgbooks_worker, pgbooks_operator;
GRANT EXECUTE ON FUNCTION api.qbo_mirror__apply_maps(text) TO pgbooks_worker, pgbooks_operator;
