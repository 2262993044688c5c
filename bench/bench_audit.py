"""Audit cost and verification speed, side by side in one run.

Run: ``.venv/bin/python bench/bench_audit.py [--bulk 20000] [--single 2000] [--verify 300000]``

One fresh database (migrated like production), one machine:

Ingest cost of auditing (orders.orders rows, with whatever other triggers main has installed),
measured after the verify chain below is loaded (audit history present, as in production):
  * bulk   : one INSERT ... SELECT of N orders, audit triggers enabled vs disabled
             (ALTER TABLE ... DISABLE TRIGGER on every tg_*__audit_* trigger), same database;
  * single : N one-order transactions over one connection, enabled vs disabled.
Verification:
  * sql    : close.audit__verify over a chain of V events (one tenant), rows/s (goal >= 200k);
  * offline: the Python bundle verifier re-hashing the same chain exported as JSON lines.

Prints rates, ratios, and the peak RSS (VmHWM) of the database backend and of this process.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import sys
import time
from pathlib import Path

import psycopg
from pytest_postgresql.janitor import DatabaseJanitor

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "worker"))

from pgbooks import devdb  # noqa: E402
from pgbooks.audit import bundle  # noqa: E402
from pgbooks.db.migrate import migrate  # noqa: E402

TOGGLE = """
DO $$
DECLARE r record;
BEGIN
  FOR r IN SELECT t.tgrelid::regclass::text AS rel, t.tgname FROM pg_trigger AS t
           WHERE t.tgname LIKE 'tg\\_%%\\_\\_audit\\_%%' LOOP
    EXECUTE format('ALTER TABLE %%s %s TRIGGER %%I', r.rel, r.tgname);
  END LOOP;
END $$
"""


def _peak_rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            m = re.search(r"VmHWM:\s+(\d+) kB", fh.read())
    except OSError:
        return float("nan")
    return int(m.group(1)) / 1024 if m else float("nan")


def _self_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _setup_tenant(conn: psycopg.Connection, tenant: str) -> None:
    conn.execute("INSERT INTO orders.tenants (tenant_id, name) VALUES (%s, %s)", (tenant, tenant))
    conn.execute(
        "INSERT INTO orders.channels (tenant_id, channel_id, platform, name, currency)"
        " VALUES (%s, 'shop', 'shopify', 'Shop', 'USD')",
        (tenant,),
    )


def _audit(conn: psycopg.Connection, on: bool) -> None:
    conn.execute(TOGGLE % ("ENABLE" if on else "DISABLE"))


def _bulk(conn: psycopg.Connection, tenant: str, n: int) -> float:
    t0 = time.perf_counter()
    with conn.transaction():
        conn.execute(
            "INSERT INTO orders.orders (tenant_id, channel_id, order_id, currency, stated_total)"
            " SELECT %s, 'shop', 'o' || g, 'USD', (g %% 1000) + 0.99"
            " FROM generate_series(1, %s) AS g",
            (tenant, n),
        )
    return n / (time.perf_counter() - t0)


def _single(conn: psycopg.Connection, tenant: str, n: int) -> float:
    t0 = time.perf_counter()
    for i in range(n):
        with conn.transaction():
            conn.execute(
                "INSERT INTO orders.orders (tenant_id, channel_id, order_id, currency,"
                " stated_total) VALUES (%s, 'shop', %s, 'USD', 12.34)",
                (tenant, f"s{i}"),
            )
    return n / (time.perf_counter() - t0)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bulk", type=int, default=2000)
    ap.add_argument("--single", type=int, default=500)
    ap.add_argument("--verify", type=int, default=300000)
    args = ap.parse_args()

    with devdb.server() as server:
        name = f"pgbooks_bench_audit_{os.getpid()}"
        janitor = DatabaseJanitor(
            user=server.user,
            host=server.host,
            port=server.port,
            password=server.password,
            dbname=name,
        )
        janitor.drop()
        janitor.init()
        try:
            url = server.url(name)
            migrate(url)
            with psycopg.connect(url, autocommit=True) as conn:
                backend = int(conn.execute("SELECT pg_backend_pid()").fetchone()[0])  # type: ignore[index]
                # The verify chain is loaded first: ingest is then measured against a
                # database with audit history (as in production), not an empty audit.events.
                _setup_tenant(conn, "verify")
                # Only the audit trigger while loading the verify chain (the orders area's
                # commit-time checks are measured below, not needed to make events).
                others = [
                    r[0]
                    for r in conn.execute(
                        "SELECT tgname FROM pg_trigger WHERE tgrelid = 'orders.orders'::regclass"
                        " AND NOT tgisinternal AND tgname NOT LIKE '%%\\_\\_audit\\_%%'"
                    ).fetchall()
                ]
                with conn.transaction():
                    for t in others:
                        conn.execute(f'ALTER TABLE orders.orders DISABLE TRIGGER "{t}"')
                    _bulk(conn, "verify", args.verify)
                    for t in others:
                        conn.execute(f'ALTER TABLE orders.orders ENABLE TRIGGER "{t}"')
                conn.execute("ANALYZE audit.events")
                rates: dict[str, dict[str, float]] = {"bulk": {}, "single": {}}
                # Alternate on/off twice so neither side profits from a warmer cache.
                for rnd in range(2):
                    for on in (False, True):
                        _audit(conn, on)
                        tag = "with" if on else "without"
                        tb, ts = f"b{rnd}{int(on)}", f"s{rnd}{int(on)}"
                        _setup_tenant(conn, tb)
                        _setup_tenant(conn, ts)
                        rb = _bulk(conn, tb, args.bulk)
                        rs = _single(conn, ts, args.single)
                        rates["bulk"][tag] = max(rates["bulk"].get(tag, 0.0), rb)
                        rates["single"][tag] = max(rates["single"].get(tag, 0.0), rs)
                _audit(conn, True)

                print(f"{'orders/s':<22} {'without audit':>14} {'with audit':>12} {'ratio':>7}")
                for mode, n in (("bulk", args.bulk), ("single", args.single)):
                    wo, wi = rates[mode]["without"], rates[mode]["with"]
                    label = f"{mode} ({n} orders)"
                    print(f"{label:<22} {wo:>14,.0f} {wi:>12,.0f} {wi / wo:>7.2f}")

                events = int(
                    conn.execute(  # type: ignore[index]
                        "SELECT count(*) FROM audit.events WHERE tenant_id = 'verify'"
                    ).fetchone()[0]
                )
                conn.execute("SELECT * FROM close.audit__verify('verify')")  # warm cache
                best = 0.0
                for _ in range(3):
                    t0 = time.perf_counter()
                    row = conn.execute("SELECT ok FROM close.audit__verify('verify')").fetchone()
                    best = max(best, events / (time.perf_counter() - t0))
                    assert row == (True,)
                rows = conn.execute(
                    "SELECT seq, prev_hash, hash, canonical FROM close.audit__export('verify')"
                ).fetchall()
                chain = [
                    {"seq": s, "prev_hash": p, "hash": h, "canonical": c} for s, p, h, c in rows
                ]
                t0 = time.perf_counter()
                rep = bundle.Report()
                bundle._check_chain(chain, "verify", rep)
                offline = len(chain) / (time.perf_counter() - t0)
                assert rep.ok, rep.problems
                print(
                    f"\nverify ({events:,} events): sql {best:,.0f} rows/s "
                    f"(goal 200,000: {'met' if best >= 200_000 else 'NOT met'}), "
                    f"offline python {offline:,.0f} rows/s"
                )
                print(
                    f"\npeak RSS: database backend {_peak_rss_mb(backend):.1f} MiB, "
                    f"this process {_self_rss_mb():.1f} MiB"
                )
        finally:
            janitor.drop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
