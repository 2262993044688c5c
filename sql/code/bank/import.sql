-- Bank statement import: the worker parses the file (well-kept libraries, Python) and hands the
-- whole file to api.bank_statement__import as one JSON document; this function stores it in
-- one transaction, so a file is imported whole or not at all. Every field is checked again here
-- (the function is the contract, not the parser) and an error names the statement, the line and
-- the field.

CREATE FUNCTION logic.recon__actor() RETURNS text
LANGUAGE sql STABLE
AS $$
    SELECT coalesce(nullif(btrim(current_setting('pgbooks.user', true)), ''), current_user::text)
$$;

COMMENT ON FUNCTION logic.recon__actor() IS
'Who acts: the application user in setting pgbooks.user, else the database role.';

CREATE FUNCTION logic.bank_line__check(p_where text, p_line jsonb, p_currency text) RETURNS void
LANGUAGE plpgsql IMMUTABLE
AS $$
DECLARE
    v_field text;
BEGIN
    IF jsonb_typeof(p_line) IS DISTINCT FROM 'object' THEN
        RAISE EXCEPTION USING ERRCODE = 'PB802', MESSAGE = format('%s: a line must be a JSON object', p_where);
    END IF;
    FOREACH v_field IN ARRAY ARRAY['booking_date', 'amount', 'currency', 'fingerprint', 'dedup_key'] LOOP
        IF coalesce(p_line ->> v_field, '') = '' THEN
            RAISE EXCEPTION USING ERRCODE = 'PB802', MESSAGE = format('%s: field %s is missing', p_where, v_field);
        END IF;
    END LOOP;
    IF jsonb_typeof(p_line -> 'amount') <> 'string' OR (p_line ->> 'amount') !~ '^-?[0-9]{1,16}(\.[0-9]{1,4})?$' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'PB803',
            MESSAGE = format(
                '%s: field amount %s is not a decimal string with at most 4 decimals', p_where, p_line -> 'amount'
            );
    END IF;
    IF (p_line ->> 'booking_date') !~ '^\d{4}-\d{2}-\d{2}$'
        OR coalesce(p_line ->> 'value_date', '2000-01-01') !~ '^\d{4}-\d{2}-\d{2}$' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'PB804',
            MESSAGE = format('%s: field booking_date/value_date is not an ISO date (YYYY-MM-DD)', p_where);
    END IF;
    IF (p_line ->> 'currency') <> p_currency THEN
        RAISE EXCEPTION USING
            ERRCODE = 'PB805',
            MESSAGE = format(
                '%s: field currency %s differs from the statement currency %s', p_where, p_line ->> 'currency', p_currency
            );
    END IF;
    IF (p_line ->> 'fingerprint') !~ '^[0-9a-f]{64}$' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'PB802', MESSAGE = format('%s: field fingerprint is not a sha256 hex digest', p_where);
    END IF;
END
$$;

COMMENT ON FUNCTION logic.bank_line__check(text, jsonb, text) IS
'Validates one statement line of an import document; raises PB802-PB805 naming the line and field.';

CREATE FUNCTION api.bank_statement__import(p_tenant_id text, p_file jsonb) RETURNS jsonb
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_sha text := p_file ->> 'file_sha256';
    v_stmt jsonb;
    v_index integer;
    v_line jsonb;
    v_line_no integer;
    v_where text;
    v_statement_id bigint;
    v_currency text;
    v_account text;
    v_new integer;
    v_total_new integer := 0;
    v_total_lines integer := 0;
    v_ids bigint[] := '{}';
    v_actor text := logic.recon__actor();
BEGIN
    IF NOT EXISTS (SELECT FROM orders.tenants AS t WHERE t.tenant_id = p_tenant_id) THEN
        RAISE EXCEPTION USING ERRCODE = 'PB801', MESSAGE = format('tenant_id %L does not exist', p_tenant_id);
    END IF;
    IF coalesce(v_sha, '') !~ '^[0-9a-f]{64}$' THEN
        RAISE EXCEPTION USING ERRCODE = 'PB802', MESSAGE = 'import document: field file_sha256 is not a sha256 hex digest';
    END IF;
    IF jsonb_typeof(p_file -> 'statements') IS DISTINCT FROM 'array' OR jsonb_array_length(p_file -> 'statements') = 0 THEN
        RAISE EXCEPTION USING ERRCODE = 'PB802', MESSAGE = 'import document: field statements must be a non-empty array';
    END IF;
    -- Same file again: nothing new. Serialize concurrent imports of one file per tenant.
    PERFORM pg_advisory_xact_lock(hashtextextended(p_tenant_id || '/bank/' || v_sha, 0));
    SELECT array_agg(s.statement_id ORDER BY s.statement_index) INTO v_ids
    FROM ingest.bank_statements AS s
    WHERE s.tenant_id = p_tenant_id AND s.file_sha256 = v_sha;
    IF v_ids IS NOT NULL THEN
        RETURN jsonb_build_object(
            'already_imported', TRUE, 'statement_ids', to_jsonb(v_ids), 'lines', 0, 'new_lines', 0
        );
    END IF;
    v_ids := '{}';

    FOR v_stmt, v_index IN
        SELECT e.value, e.ordinality::integer - 1 FROM jsonb_array_elements(p_file -> 'statements') WITH ORDINALITY AS e
    LOOP
        v_where := format('statement %s', v_index + 1);
        v_currency := v_stmt ->> 'currency';
        v_account := btrim(coalesce(v_stmt ->> 'account_id', ''));
        IF coalesce(v_currency, '') !~ '^[A-Z]{3}$' THEN
            RAISE EXCEPTION USING
                ERRCODE = 'PB805', MESSAGE = format('%s: field currency %L is not an ISO 4217 code', v_where, v_currency);
        END IF;
        IF v_account = '' THEN
            -- Some exports (single-account CSV) do not name the account: use the file's name.
            v_account := coalesce(nullif(btrim(p_file ->> 'default_account_id'), ''), '');
            IF v_account = '' THEN
                RAISE EXCEPTION USING
                    ERRCODE = 'PB802',
                    MESSAGE = format('%s: field account_id is missing (pass an account for this file)', v_where);
            END IF;
        END IF;
        IF jsonb_typeof(v_stmt -> 'lines') IS DISTINCT FROM 'array' THEN
            RAISE EXCEPTION USING ERRCODE = 'PB802', MESSAGE = format('%s: field lines must be an array', v_where);
        END IF;
        INSERT INTO ingest.bank_statements (
            tenant_id, file_sha256, statement_index, file_name, format, account_id, currency, bank,
            bank_statement_id, period_start, period_end, opening_balance, closing_balance,
            line_count, new_line_count, imported_by
        ) VALUES (
            p_tenant_id, v_sha, v_index, p_file ->> 'file_name', p_file ->> 'format', v_account, v_currency,
            v_stmt ->> 'bank', v_stmt ->> 'statement_id', (v_stmt ->> 'period_start')::date,
            (v_stmt ->> 'period_end')::date, (v_stmt ->> 'opening_balance')::numeric,
            (v_stmt ->> 'closing_balance')::numeric, jsonb_array_length(v_stmt -> 'lines'), 0, v_actor
        ) RETURNING statement_id INTO v_statement_id;
        v_ids := v_ids || v_statement_id;

        v_line_no := 0;
        FOR v_line IN SELECT e.value FROM jsonb_array_elements(v_stmt -> 'lines') AS e LOOP
            v_line_no := v_line_no + 1;
            PERFORM logic.bank_line__check(
                format('%s, line %s%s', v_where, v_line_no, coalesce(' (' || (v_line ->> 'source') || ')', '')),
                v_line,
                v_currency
            );
        END LOOP;

        INSERT INTO ingest.bank_lines (
            tenant_id, statement_id, account_id, dedup_key, bank_transaction_id, fingerprint, booking_date,
            value_date, amount, currency, description, counterparty_name, counterparty_ref, reference,
            transaction_code, source
        )
        SELECT
            p_tenant_id, v_statement_id, v_account, l ->> 'dedup_key', l ->> 'bank_id', l ->> 'fingerprint',
            (l ->> 'booking_date')::date, (l ->> 'value_date')::date, (l ->> 'amount')::numeric,
            l ->> 'currency', coalesce(l ->> 'description', ''), l ->> 'counterparty_name',
            l ->> 'counterparty_ref', l ->> 'reference', l ->> 'transaction_code', coalesce(l ->> 'source', '')
        FROM jsonb_array_elements(v_stmt -> 'lines') AS e (l)
        ON CONFLICT (tenant_id, account_id, dedup_key) DO NOTHING;
        GET DIAGNOSTICS v_new = ROW_COUNT;

        UPDATE ingest.bank_statements AS s SET new_line_count = v_new
        WHERE s.tenant_id = p_tenant_id AND s.statement_id = v_statement_id;
        v_total_new := v_total_new + v_new;
        v_total_lines := v_total_lines + jsonb_array_length(v_stmt -> 'lines');
    END LOOP;

    RETURN jsonb_build_object(
        'already_imported', FALSE, 'statement_ids', to_jsonb(v_ids), 'lines', v_total_lines, 'new_lines', v_total_new
    );
END
$$;

COMMENT ON FUNCTION api.bank_statement__import(text, jsonb) IS
'Stores one parsed bank file (all its statements and lines) in one transaction; each line once per account '
'(dedup_key); re-importing the same file (file_sha256) adds nothing. Returns counts and statement ids.';

GRANT EXECUTE ON FUNCTION api.bank_statement__import(text, jsonb) TO pgbooks_worker, pgbooks_operator;
