"""Reconciliation views over 1,000,000 orders: query time of the summaries and payout views.

Standalone: ``.venv/bin/python bench/bench_recon.py [--orders N]``. Builds a throwaway database
(migrations + code), bulk-loads a big tenant (N orders with their documents, one payout per 100
orders with its balance transactions, a bank statement that carries 98% of the payouts) and a
small tenant (1% of N), runs the matcher, folds every day into the reconciliation rollup
(``api.recon_rollup__refresh(tenant, true)``: the load bypasses the triggers that mark changed
days), then times each view query (best of 3) and prints the ratios side by side: against the
1 s goal, big vs small tenant, and the fast summary against the same summary recomputed from the
per-order view (the slow path it replaces). "newest day changed" marks the newest day stale, as
ongoing business always does (today's orders), so that day is recomputed live. Peak RSS of this
process and of the PostgreSQL backend that ran the queries are printed at the end. Not part of
the tests.

Payout views: 1.01 M balance transactions for the big tenant (a charge per order, a refund BT per
200 orders, 1% not paid out yet; refunds on 1% of orders, half of them not carried by a payout),
payouts = the sum of their balance transactions. The payout rollup is filled by
``api.payout_rollup__refresh(tenant, true)``; each payout view is also timed with every payout
marked (the slow path: every balance transaction summed per query, as before the rollup; its
answer is asserted equal), and with the newest payout marked (ongoing business). ``--keep``
leaves the database for EXPLAIN.
"""

from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path

import psycopg

from pgbooks import devdb
from pgbooks.db.migrate import migrate

GOAL_S = 1.0

LOAD = """
SET session_replication_role = replica;
INSERT INTO orders.tenants (tenant_id, name) VALUES (%(t)s, %(t)s);
INSERT INTO orders.channels (tenant_id, channel_id, platform, name, currency)
VALUES (%(t)s, 'shop', 'shopify', 'Shop', 'USD');
INSERT INTO orders.orders (tenant_id, channel_id, order_id, currency, stated_total,
    stated_total_tax, placed_at, is_test)
SELECT %(t)s, 'shop', 'o' || g, 'USD', (g %% 5000) / 100.0 + 1, 0, timestamptz '2024-01-01'
    + (g %% 365) * interval '1 day', g %% 1000 = 0
FROM generate_series(1, %(n)s) AS g;
INSERT INTO books.documents (tenant_id, doc_type, source_type, source_id, source_role, status,
    currency, total_amount, txn_date)
SELECT %(t)s, 'sales_receipt', 'order', 'shop:o' || g, 'main',
    CASE WHEN g %% 97 = 0 THEN 'blocked' ELSE 'ready' END, 'USD',
    (g %% 5000) / 100.0 + 1 + CASE WHEN g %% 211 = 0 THEN 0.01 ELSE 0 END,
    date '2024-01-01' + g %% 365
FROM generate_series(1, %(n)s) AS g
WHERE g %% 50 <> 0;
INSERT INTO orders.balance_transactions (tenant_id, channel_id, balance_transaction_id, payout_id,
    type, source_order_id, amount, fee, net, currency)
SELECT %(t)s, 'shop', 'bt' || g, 'p' || ((g - 1) / 100), 'charge', 'o' || g,
    (g %% 5000) / 100.0 + 1,
    round(((g %% 5000) / 100.0 + 1) * 0.03, 2),
    (g %% 5000) / 100.0 + 1 - round(((g %% 5000) / 100.0 + 1) * 0.03, 2), 'USD'
FROM generate_series(1, %(n)s) AS g;
INSERT INTO orders.refunds (tenant_id, channel_id, refund_id, order_id, amount, currency)
SELECT %(t)s, 'shop', 'r' || g, 'o' || g, 1.00, 'USD'
FROM generate_series(100, %(n)s, 100) AS g;
INSERT INTO orders.balance_transactions (tenant_id, channel_id, balance_transaction_id, payout_id,
    type, source_id, source_order_id, amount, fee, net, currency)
SELECT %(t)s, 'shop', 'btr' || g, 'p' || ((g - 1) / 100), 'refund', 'r' || g, 'o' || g, -1.00, 0,
    -1.00, 'USD'
FROM generate_series(200, %(n)s, 200) AS g;
INSERT INTO orders.balance_transactions (tenant_id, channel_id, balance_transaction_id, payout_id,
    type, source_order_id, amount, fee, net, currency)
SELECT %(t)s, 'shop', 'btu' || g, NULL, 'charge', 'o' || g, 10.00, 0.30, 9.70, 'USD'
FROM generate_series(1, %(n)s / 100) AS g;
INSERT INTO orders.payouts (tenant_id, channel_id, payout_id, status, amount, currency, payout_date,
    arrival_date)
SELECT %(t)s, 'shop', b.payout_id, 'paid', sum(b.net), 'USD',
    date '2024-01-01' + substr(b.payout_id, 2)::int %% 365,
    date '2024-01-02' + substr(b.payout_id, 2)::int %% 365
FROM orders.balance_transactions AS b
WHERE b.tenant_id = %(t)s AND b.payout_id IS NOT NULL
GROUP BY b.payout_id;
INSERT INTO ingest.bank_statements (tenant_id, file_sha256, statement_index, format, account_id,
    currency, line_count, new_line_count)
VALUES (%(t)s, repeat('0', 64), 0, 'csv', 'chk', 'USD', 0, 0);
INSERT INTO ingest.bank_lines (tenant_id, statement_id, account_id, dedup_key, fingerprint,
    booking_date, amount, currency, description)
SELECT %(t)s, s.statement_id, 'chk', 'l' || p.payout_id, md5(p.payout_id) || md5(p.payout_id),
    p.arrival_date + 1, p.amount, 'USD', 'SHOPIFY PAYOUT'
FROM orders.payouts AS p, ingest.bank_statements AS s
WHERE p.tenant_id = %(t)s AND s.tenant_id = %(t)s AND hashtext(p.payout_id) %% 50 <> 0;
SET session_replication_role = origin;
"""

SLOW_SUMMARY = (
    "SELECT period, currency, recon_state, count(*), sum(order_total)"
    " FROM analytics.rpt_order_reconciliation WHERE tenant_id = %s GROUP BY 1, 2, 3"
)
FAST_SUMMARY = (
    "SELECT period, currency, recon_state, sum(orders), sum(order_amount)"
    " FROM analytics.rpt_recon_summary WHERE tenant_id = %s GROUP BY 1, 2, 3"
)
QUERIES = {
    "order accuracy (per tenant)": (
        "SELECT * FROM analytics.rpt_recon_accuracy WHERE tenant_id = %s"
    ),
    "recon summary, fast (per tenant)": FAST_SUMMARY,
    "recon summary, slow path (per tenant)": SLOW_SUMMARY,
    "order recon problems (per tenant)": (
        "SELECT recon_state, sum(orders) FROM analytics.rpt_recon_summary"
        " WHERE tenant_id = %s GROUP BY recon_state"
    ),
    "clearing balance (per tenant)": (
        "SELECT * FROM analytics.rpt_clearing_balance WHERE tenant_id = %s"
    ),
    "payout states (per tenant)": (
        "SELECT recon_state, count(*), sum(payout_amount) FROM analytics.rpt_payout_reconciliation"
        " WHERE tenant_id = %s GROUP BY recon_state"
    ),
    "variance by cause (per tenant)": (
        "SELECT cause, sum(amount) FROM analytics.rpt_payout_variance"
        " WHERE tenant_id = %s GROUP BY cause"
    ),
    "completeness, diverging days (per tenant)": (
        "SELECT source_type, count(*) FROM analytics.rpt_completeness"
        " WHERE tenant_id = %s AND diverges GROUP BY source_type"
    ),
    "unmatched both sides (per tenant)": (
        "SELECT side, count(*) FROM analytics.rpt_bank_unmatched WHERE tenant_id = %s GROUP BY side"
    ),
}


PAYOUT_QUERIES = {
    k: QUERIES[k]
    for k in (
        "clearing balance (per tenant)",
        "payout states (per tenant)",
        "variance by cause (per tenant)",
    )
}
MARK_ALL_PAYOUTS = (
    "INSERT INTO books.payout_dirty (tenant_id, channel_id, payout_id)"
    " SELECT DISTINCT tenant_id, channel_id, payout_id FROM orders.balance_transactions"
    " WHERE payout_id IS NOT NULL"
)


def _row(label: str, big_s: float, small_s: float) -> None:
    print(
        f"{label:<44} {big_s:>9.3f} {small_s:>10.3f} {big_s / GOAL_S:>9.2f}"
        f" {big_s / small_s:>10.1f}"
    )


def _both(conn: psycopg.Connection, sql: str) -> tuple[float, float]:
    return _best(conn, sql, "big"), _best(conn, sql, "small")


def _best(conn: psycopg.Connection, sql: str, arg: str, runs: int = 3) -> float:
    best = float("inf")
    for _ in range(runs):
        t0 = time.perf_counter()
        conn.execute(sql, (arg,)).fetchall()
        best = min(best, time.perf_counter() - t0)
    return best


def _backend_hwm_kb(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--orders", type=int, default=1_000_000)
    ap.add_argument(
        "--keep", action="store_true", help="Keep the database (pgbooks_bench_recon) for EXPLAIN."
    )
    args = ap.parse_args()
    n = args.orders
    small = max(n // 100, 100)
    with devdb.server() as srv:
        name = "pgbooks_bench_recon"
        with psycopg.connect(srv.url("postgres"), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
            admin.execute(f'CREATE DATABASE "{name}"')
        try:
            migrate(srv.url(name))
            with psycopg.connect(srv.url(name), autocommit=True) as conn:
                t0 = time.perf_counter()
                for tenant, count in (("big", n), ("small", small)):
                    params = {"t": tenant, "n": count}
                    for stmt in (x.strip() for x in LOAD.split(";\n") if x.strip()):
                        conn.execute(stmt, params if "%(" in stmt else None)
                conn.execute("VACUUM ANALYZE")
                load_s = time.perf_counter() - t0
                t1 = time.perf_counter()
                res = conn.execute("SELECT api.bank__match('big', 5)").fetchone()
                match_s = time.perf_counter() - t1
                assert res is not None
                print(
                    f"data: {n:,} + {small:,} orders, {n // 100:,} payouts (big),"
                    f" loaded in {load_s:.1f} s (bulk, triggers off)"
                )
                print(f"matcher on big tenant: {match_s:.2f} s -> {res[0]}")
                t2 = time.perf_counter()
                for tenant in ("big", "small"):
                    conn.execute("SELECT api.recon_rollup__refresh(%s, true)", (tenant,))
                refresh_s = time.perf_counter() - t2
                conn.execute("ANALYZE books.recon_rollup")
                print(f"full rollup refresh (both tenants, every day): {refresh_s:.2f} s")
                t2 = time.perf_counter()
                for tenant in ("big", "small"):
                    conn.execute("SELECT api.payout_rollup__refresh(%s, true)", (tenant,))
                payout_refresh_s = time.perf_counter() - t2
                conn.execute("ANALYZE books.payout_rollup")
                print(f"full payout rollup refresh (both tenants): {payout_refresh_s:.2f} s")
                fast = conn.execute(FAST_SUMMARY + " ORDER BY 1, 2, 3", ("big",)).fetchall()
                slow = conn.execute(SLOW_SUMMARY + " ORDER BY 1, 2, 3", ("big",)).fetchall()
                assert fast == slow, "fast summary differs from the slow recomputation"
                fast_payouts = [
                    conn.execute(PAYOUT_QUERIES[k] + " ORDER BY 1, 2", ("big",)).fetchall()
                    for k in PAYOUT_QUERIES
                ]
                with conn.transaction(force_rollback=True):
                    conn.execute(MARK_ALL_PAYOUTS)
                    slow_payouts = [
                        conn.execute(PAYOUT_QUERIES[k] + " ORDER BY 1, 2", ("big",)).fetchall()
                        for k in PAYOUT_QUERIES
                    ]
                assert fast_payouts == slow_payouts, "payout views differ from the slow path"
                # the rolled-back marks leave dead rows; on a live system autovacuum cleans up
                conn.execute("VACUUM ANALYZE books.payout_dirty")
                pid = conn.execute("SELECT pg_backend_pid()").fetchone()[0]  # type: ignore[index]
                print()
                print(
                    f"{'query':<44} {'big (s)':>9} {'small (s)':>10}"
                    f" {'big/goal':>9} {'big/small':>10}"
                )
                for label, sql in QUERIES.items():
                    _row(label, _best(conn, sql, "big"), _best(conn, sql, "small"))
                # the payout views' slow path: every payout marked, so every balance transaction
                # of the tenant is summed per query (what the views did before the rollup)
                with conn.transaction(force_rollback=True):
                    conn.execute(MARK_ALL_PAYOUTS)
                    for label in PAYOUT_QUERIES:
                        sql = QUERIES[label]
                        _row(label[: label.index(" (")] + ", slow path", *_both(conn, sql))
                conn.execute("VACUUM ANALYZE books.payout_dirty")
                # ongoing business: the newest day of each tenant changed since the refresh
                conn.execute(
                    "INSERT INTO books.recon_dirty (tenant_id, day)"
                    " SELECT tenant_id, max(day) FROM books.recon_rollup GROUP BY tenant_id"
                )
                _row(
                    "accuracy, newest day changed",
                    *_both(conn, QUERIES["order accuracy (per tenant)"]),
                )
                # and the newest payout (the movements not paid out yet are always summed live)
                conn.execute(
                    "INSERT INTO books.payout_dirty (tenant_id, channel_id, payout_id)"
                    " SELECT DISTINCT ON (tenant_id) tenant_id, channel_id, payout_id"
                    " FROM orders.payouts ORDER BY tenant_id, payout_date DESC, payout_id DESC"
                )
                for label in PAYOUT_QUERIES:
                    short = label[: label.index(" (")]
                    _row(short + ", newest payout changed", *_both(conn, QUERIES[label]))
                t3 = time.perf_counter()
                conn.execute("SELECT api.recon_rollup__refresh('big')")
                print(f"refresh of the changed day (big): {time.perf_counter() - t3:.2f} s")
                t3 = time.perf_counter()
                conn.execute("SELECT api.payout_rollup__refresh('big')")
                print(f"refresh of the changed payout (big): {time.perf_counter() - t3:.2f} s")
                hwm = _backend_hwm_kb(pid)
        finally:
            if not args.keep:
                with psycopg.connect(srv.url("postgres"), autocommit=True) as admin:
                    admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
    me = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print()
    print(
        f"peak RSS: bench process {me / 1024:.0f} MiB; postgres backend "
        f"{(hwm or 0) / 1024:.0f} MiB" + ("" if hwm else " (not readable)")
    )


if __name__ == "__main__":
    main()
