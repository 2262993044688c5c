-- Matching payouts (Shopify Payments, Stripe, WooPayments, ...) to bank deposit lines.
-- Rules, strongest first, each accepting only pairs that are each other's best candidate (so an
-- ambiguous pair is never guessed; identical twins pair in id order, which is equivalent):
--   reference   : the payout's bank reference appears on the line, same amount and currency;
--   amount_date : same amount and currency, booked within [expected - 1, expected + window] days;
--   batch       : several payouts of one expected date (one channel first, then any channel) that
--                 sum exactly to one deposit (the bank credited them together: many-to-one).
-- A payout whose balance transactions do not sum to its amount is not matched at all: it is
-- inconsistent source data, raised as exception PAYOUT_MISMATCH and shown as a variance.

CREATE FUNCTION logic.payout__source_totals(p_tenant_id text) RETURNS TABLE (
    channel_id text, payout_id text, bt_count bigint, bt_gross numeric, bt_fees numeric, bt_net numeric
)
LANGUAGE sql STABLE
AS $$
    SELECT b.channel_id, b.payout_id, count(*), sum(b.amount), sum(b.fee), sum(b.net)
    FROM orders.balance_transactions AS b
    WHERE b.tenant_id = p_tenant_id AND b.payout_id IS NOT NULL AND b.type <> 'payout'
    GROUP BY b.channel_id, b.payout_id
$$;

COMMENT ON FUNCTION logic.payout__source_totals(text) IS
'Per payout of a tenant: count and sums (gross, fees, net) of its balance transactions, '
'the payout row itself excluded.';

CREATE FUNCTION logic.payout__open(p_tenant_id text) RETURNS TABLE (
    channel_id text, payout_id text, amount numeric, currency text, expected_on date, bank_reference text
)
LANGUAGE sql STABLE
AS $$
    SELECT p.channel_id, p.payout_id, p.amount, p.currency::text, coalesce(p.arrival_date, p.payout_date),
        nullif(btrim(p.bank_reference), '')
    FROM orders.payouts AS p
    LEFT JOIN logic.payout__source_totals(p_tenant_id) AS t ON t.channel_id = p.channel_id AND t.payout_id = p.payout_id
    WHERE p.tenant_id = p_tenant_id
      AND p.status IN ('paid', 'in_transit')
      AND p.amount > 0
      AND coalesce(p.arrival_date, p.payout_date) IS NOT NULL
      AND (t.bt_count IS NULL OR t.bt_net = p.amount)
      AND NOT EXISTS (
          SELECT FROM ingest.bank_matches AS m
          WHERE m.tenant_id = p_tenant_id AND m.channel_id = p.channel_id AND m.payout_id = p.payout_id
      )
$$;

COMMENT ON FUNCTION logic.payout__open(text) IS
'Payouts of a tenant that can be matched: paid or in transit, positive, dated, consistent with their '
'balance transactions, not matched yet.';

CREATE FUNCTION logic.bank_line__open(p_tenant_id text) RETURNS TABLE (
    bank_line_id bigint, amount numeric, currency text, booking_date date, reference text,
    bank_transaction_id text, description text
)
LANGUAGE sql STABLE
AS $$
    SELECT l.bank_line_id, l.amount, l.currency::text, l.booking_date, l.reference, l.bank_transaction_id, l.description
    FROM ingest.bank_lines AS l
    WHERE l.tenant_id = p_tenant_id AND l.amount > 0
      AND NOT EXISTS (
          SELECT FROM ingest.bank_matches AS m WHERE m.tenant_id = p_tenant_id AND m.bank_line_id = l.bank_line_id
      )
$$;

COMMENT ON FUNCTION logic.bank_line__open(text) IS 'Bank deposit lines (amount > 0) of a tenant not matched yet.';

CREATE FUNCTION api.bank__match(p_tenant_id text, p_window_days integer DEFAULT 5) RETURNS jsonb
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_actor text := logic.recon__actor();
    v_n integer;
    v_ref integer := 0;
    v_amt integer := 0;
    v_batch integer := 0;
    v_released integer;
    v_inconsistent integer;
    v_pass integer;
BEGIN
    IF p_window_days IS NULL OR p_window_days NOT BETWEEN 0 AND 60 THEN
        RAISE EXCEPTION USING
            ERRCODE = 'PB820', MESSAGE = format('p_window_days must be between 0 and 60, got %s', p_window_days);
    END IF;
    -- One matcher per tenant at a time.
    PERFORM pg_advisory_xact_lock(hashtextextended(p_tenant_id || '/bank__match', 0));

    -- Automatic matches whose payout changed (amount, status) or vanished are undone first.
    DELETE FROM ingest.bank_matches AS m
    WHERE m.tenant_id = p_tenant_id AND m.rule <> 'manual'
      AND NOT EXISTS (
          SELECT FROM orders.payouts AS p
          WHERE p.tenant_id = m.tenant_id AND p.channel_id = m.channel_id AND p.payout_id = m.payout_id
            AND p.amount = m.payout_amount AND p.status IN ('paid', 'in_transit')
      );
    GET DIAGNOSTICS v_released = ROW_COUNT;

    FOR v_pass IN 1..2 LOOP
        -- pass 1: reference; pass 2: amount + date window. Mutually best pairs, repeated until stable.
        LOOP
            INSERT INTO ingest.bank_matches (tenant_id, channel_id, payout_id, bank_line_id, rule, payout_amount, matched_by)
            SELECT p_tenant_id, c.channel_id, c.payout_id, c.bank_line_id,
                CASE v_pass WHEN 1 THEN 'reference' ELSE 'amount_date' END, c.amount, v_actor
            FROM (
                SELECT p.channel_id, p.payout_id, p.amount, l.bank_line_id,
                    row_number() OVER (
                        PARTITION BY p.channel_id, p.payout_id
                        ORDER BY abs(l.booking_date - p.expected_on), l.booking_date, l.bank_line_id
                    ) AS rank_for_payout,
                    row_number() OVER (
                        PARTITION BY l.bank_line_id
                        ORDER BY abs(l.booking_date - p.expected_on), p.expected_on, p.channel_id, p.payout_id
                    ) AS rank_for_line
                FROM logic.payout__open(p_tenant_id) AS p
                INNER JOIN logic.bank_line__open(p_tenant_id) AS l
                    ON l.currency = p.currency AND l.amount = p.amount
                    AND l.booking_date BETWEEN p.expected_on - 1 AND p.expected_on + p_window_days
                WHERE v_pass = 2 OR (
                    length(p.bank_reference) >= 4 AND (
                        l.reference = p.bank_reference OR l.bank_transaction_id = p.bank_reference
                        OR strpos(upper(l.description), upper(p.bank_reference)) > 0
                    )
                )
            ) AS c
            WHERE c.rank_for_payout = 1 AND c.rank_for_line = 1;
            GET DIAGNOSTICS v_n = ROW_COUNT;
            EXIT WHEN v_n = 0;
            IF v_pass = 1 THEN v_ref := v_ref + v_n; ELSE v_amt := v_amt + v_n; END IF;
        END LOOP;
    END LOOP;

    -- Batches: payouts expected the same day (per channel, then across channels) summing to one deposit.
    FOR v_pass IN 1..2 LOOP
        WITH grp AS (
            SELECT CASE v_pass WHEN 1 THEN p.channel_id ELSE '' END AS g_channel, p.currency, p.expected_on,
                sum(p.amount) AS total, count(*) AS n
            FROM logic.payout__open(p_tenant_id) AS p
            GROUP BY 1, p.currency, p.expected_on
            HAVING count(*) >= 2
        ),
        pick AS (
            SELECT g.g_channel, g.currency, g.expected_on, l.bank_line_id,
                row_number() OVER (
                    PARTITION BY g.g_channel, g.currency, g.expected_on
                    ORDER BY abs(l.booking_date - g.expected_on), l.bank_line_id
                ) AS rank_for_group,
                row_number() OVER (
                    PARTITION BY l.bank_line_id ORDER BY abs(l.booking_date - g.expected_on), g.expected_on, g.g_channel
                ) AS rank_for_line
            FROM grp AS g
            INNER JOIN logic.bank_line__open(p_tenant_id) AS l
                ON l.currency = g.currency AND l.amount = g.total
                AND l.booking_date BETWEEN g.expected_on - 1 AND g.expected_on + p_window_days
        )
        INSERT INTO ingest.bank_matches (tenant_id, channel_id, payout_id, bank_line_id, rule, payout_amount, matched_by)
        SELECT p_tenant_id, p.channel_id, p.payout_id, k.bank_line_id, 'batch', p.amount, v_actor
        FROM pick AS k
        INNER JOIN logic.payout__open(p_tenant_id) AS p
            ON p.currency = k.currency AND p.expected_on = k.expected_on
            AND (v_pass = 2 OR p.channel_id = k.g_channel)
        WHERE k.rank_for_group = 1 AND k.rank_for_line = 1;
        GET DIAGNOSTICS v_n = ROW_COUNT;
        v_batch := v_batch + v_n;
    END LOOP;

    -- Inconsistent source data: raised (or seen again), never matched, never plugged. The books
    -- rules raise PAYOUT_MISMATCH on the payout's document too; one open exception is enough.
    INSERT INTO sync.exceptions AS e (
        tenant_id, source_type, source_id, reason_code, category, message, detail
    )
    SELECT p_tenant_id, 'payout', p.channel_id || ':' || p.payout_id, 'PAYOUT_MISMATCH', 'source_data',
        format('payout %s of channel %s: balance transactions net %s %s but the payout amount is %s',
            p.payout_id, p.channel_id, t.bt_net, p.currency, p.amount),
        jsonb_build_object(
            'payout_amount', p.amount, 'balance_transactions_net', t.bt_net, 'difference', p.amount - t.bt_net,
            'balance_transactions', t.bt_count, 'currency', p.currency, 'raised_by', 'api.bank__match'
        )
    FROM orders.payouts AS p
    INNER JOIN logic.payout__source_totals(p_tenant_id) AS t ON t.channel_id = p.channel_id AND t.payout_id = p.payout_id
    WHERE p.tenant_id = p_tenant_id AND t.bt_net <> p.amount AND p.status NOT IN ('failed', 'canceled')
      AND NOT EXISTS (
          SELECT FROM sync.exceptions AS o
          WHERE o.tenant_id = p_tenant_id AND o.status = 'open' AND o.reason_code = 'PAYOUT_MISMATCH'
            AND o.source_type = 'payout' AND o.source_id = p.channel_id || ':' || p.payout_id
            AND o.document_id IS NOT NULL
      )
      AND NOT EXISTS (
          SELECT FROM books.documents AS d
          WHERE d.tenant_id = p_tenant_id AND d.source_type = 'payout'
            AND d.source_id = p.channel_id || ':' || p.payout_id AND d.status = 'blocked'
      )
    ON CONFLICT (tenant_id, reason_code, coalesce(document_id, -1), coalesce(source_type, ''), coalesce(source_id, ''))
    WHERE status = 'open'
    DO UPDATE SET last_seen_at = now(), detail = excluded.detail, message = excluded.message;
    GET DIAGNOSTICS v_inconsistent = ROW_COUNT;

    -- A run that matched a large share at once (a first import) leaves the planner's statistics of
    -- ingest.bank_matches counting (almost) none until the next (auto)analyze, and the payout views
    -- then join payouts to matches with a plan fit for an empty table (seconds instead of ms at
    -- 10,000 payouts). Refresh them here: ANALYZE samples, so it is cheap.
    IF v_ref + v_amt + v_batch > 100 AND v_ref + v_amt + v_batch > 0.2 * greatest((
        SELECT c.reltuples FROM pg_catalog.pg_class AS c WHERE c.oid = 'ingest.bank_matches'::regclass
    ), 0) THEN
        ANALYZE ingest.bank_matches;
    END IF;

    RETURN jsonb_build_object(
        'matched_reference', v_ref,
        'matched_amount_date', v_amt,
        'matched_batch', v_batch,
        'released_stale', v_released,
        'inconsistent_payouts', v_inconsistent,
        'unmatched_payouts', (SELECT count(*) FROM logic.payout__open(p_tenant_id)),
        'unmatched_deposits', (SELECT count(*) FROM logic.bank_line__open(p_tenant_id))
    );
END
$$;

COMMENT ON FUNCTION api.bank__match(text, integer) IS
'Matches a tenant''s payouts to bank deposits (reference, amount + date window, batches) and raises '
'PAYOUT_MISMATCH for payouts whose balance transactions do not sum to the amount. Returns counts.';

CREATE FUNCTION api.bank__match_manual(
    p_tenant_id text, p_channel_id text, p_payout_id text, p_bank_line_id bigint, p_reason text
) RETURNS jsonb
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_amount numeric;
BEGIN
    IF coalesce(btrim(p_reason), '') = '' THEN
        RAISE EXCEPTION USING ERRCODE = 'PB811', MESSAGE = 'a manual match needs a reason (p_reason is empty)';
    END IF;
    SELECT p.amount INTO v_amount FROM orders.payouts AS p
    WHERE p.tenant_id = p_tenant_id AND p.channel_id = p_channel_id AND p.payout_id = p_payout_id;
    IF NOT found THEN
        RAISE EXCEPTION USING
            ERRCODE = 'PB821', MESSAGE = format('payout_id %L of channel %L does not exist', p_payout_id, p_channel_id);
    END IF;
    PERFORM set_config('pgbooks.reason', 'MANUAL_CORRECTION', true);
    INSERT INTO ingest.bank_matches (
        tenant_id, channel_id, payout_id, bank_line_id, rule, payout_amount, reason, matched_by
    ) VALUES (
        p_tenant_id, p_channel_id, p_payout_id, p_bank_line_id, 'manual', v_amount, p_reason, logic.recon__actor()
    );
    RETURN jsonb_build_object('channel_id', p_channel_id, 'payout_id', p_payout_id, 'bank_line_id', p_bank_line_id);
END
$$;

COMMENT ON FUNCTION api.bank__match_manual(text, text, text, bigint, text) IS
'Operator match of one payout to one bank line (reason required, audited); kept by later automatic runs.';

GRANT EXECUTE ON FUNCTION api.bank__match(text, integer) TO pgbooks_worker, pgbooks_operator;
GRANT EXECUTE ON FUNCTION api.bank__match_manual(text, text, text, bigint, text) TO pgbooks_operator;
