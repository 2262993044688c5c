# ruff: noqa: E501  (SQL text inside the script)
"""Chaos run (``make chaos``): many documents across several realms, every fault at once.

Faults, all in one run: 5xx, lost responses after commit, 429 bursts, updates of posted
documents under forced 5010, unchanged documents delivered twice, latency jitter, access-token
expiry, one realm's grant revoked (paused, then reconnected), a worker SIGKILLed mid-run, and a
PostgreSQL restart (on a private throwaway cluster, never the shared server). Two worker
processes race on the outbox.
Prints duplicates, missing documents and cent differences (all must be 0) and the time to drain.
Exit code 1 if any of the three is not 0.

``--orders N`` (default 10,000) and ``--realms R`` (default 5) size the run.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import httpx
import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "worker"), str(ROOT / "sandbox")]

from pgbooks import devdb  # noqa: E402
from pgbooks.db.migrate import migrate  # noqa: E402
from pgbooks.sync.oauth import connect  # noqa: E402

BIN = Path(sys.executable).parent
SECRET = "chaos-secret-key"
FAULTS = {
    "error_rate": 0.05,
    "lost_response_rate": 0.05,
    "latency_ms": 2,
    "latency_jitter_ms": 20,
}


# 1 % of the receipts already in QuickBooks get a new version with a new amount.
UPDATES = """
    UPDATE books.documents AS d SET version = d.version + 1, total_amount = d.total_amount + 1,
        body = jsonb_set(d.body, '{Line,0,Amount}', to_jsonb(d.total_amount + 1)), updated_at = now()
    FROM sync.remote_objects AS r
    WHERE r.tenant_id = d.tenant_id AND r.document_id = d.document_id
        AND d.doc_type = 'sales_receipt' AND d.document_id % 100 = 7
"""
# Another 1 % are delivered again unchanged (the same version armed twice).
REDELIVER_DRAFT = (
    "UPDATE books.documents SET status = 'draft'"
    " WHERE doc_type = 'sales_receipt' AND document_id % 100 = 13"
)
REDELIVER_READY = (
    "UPDATE books.documents SET status = 'ready'"
    " WHERE doc_type = 'sales_receipt' AND document_id % 100 = 13"
)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _worker(url: str, name: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DATABASE_URL": url, "PGBOOKS_SECRET_KEY": SECRET}
    return subprocess.Popen(
        [str(BIN / "pgbooks"), "worker", "--name", name, "--loops", "4"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _restart_postgres(conn_url: str) -> None:
    with psycopg.connect(conn_url, autocommit=True) as c:
        row = c.execute("SHOW data_directory").fetchone()
    assert row is not None
    pg_ctl = str(devdb._pg_bindir() / "pg_ctl")
    # Output to /dev/null, not a pipe: the restarted server inherits it and would keep a pipe
    # open forever (subprocess.run would wait for its end).
    subprocess.run(
        devdb._as_postgres([pg_ctl, "-D", str(row[0]), "-m", "immediate", "-w", "restart"]),
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--orders", type=int, default=10_000)
    ap.add_argument("--realms", type=int, default=5)
    ap.add_argument("--timeout", type=float, default=900.0)
    args = ap.parse_args()
    os.environ["PGBOOKS_SECRET_KEY"] = SECRET
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    sandbox = subprocess.Popen(
        [
            str(BIN / "pgbooks"),
            "sandbox",
            "serve",
            "--port",
            str(port),
            "--seed",
            "5",
            "--no-throttle",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    workers: list[subprocess.Popen[bytes]] = []
    try:
        with devdb.private_cluster() as server:
            url = server.url("postgres")
            migrate(url)
            admin = httpx.Client(base_url=base, timeout=30)
            for _ in range(100):
                try:
                    admin.get("/admin/health")
                    break
                except httpx.HTTPError:
                    time.sleep(0.1)
            tenants: dict[str, str] = {}
            with psycopg.connect(url, autocommit=True) as conn:
                for i in range(args.realms):
                    t = f"chaos{i}"
                    realm = admin.post("/admin/realms", json={"name": t}).json()["realm_id"]
                    conn.execute(
                        "INSERT INTO orders.tenants (tenant_id, name) VALUES (%s, %s)", (t, t)
                    )
                    conn.execute(
                        "INSERT INTO sync.settings (tenant_id, debounce, claim_timeout, per_second,"
                        " per_minute, max_attempts) VALUES (%s, '50 ms', '5 s', 200, 12000, 30)",
                        (t,),
                    )
                    connect(
                        url,
                        t,
                        api_base_url=base,
                        discovery_url=f"{base}/.well-known/openid_configuration",
                        realm_id=realm,
                    )
                    admin.patch(f"/admin/realms/{realm}/faults", json=FAULTS)
                    tenants[t] = realm
                per = args.orders // args.realms
                for t in tenants:
                    conn.execute(
                        "INSERT INTO books.documents (tenant_id, doc_type, source_type, source_id, body)"
                        " VALUES (%s, 'customer', 'manual', 'cust', '{\"DisplayName\": \"Chaos buyer\"}')",
                        (t,),
                    )
                    conn.execute(
                        """
                        INSERT INTO books.documents (tenant_id, doc_type, source_type, source_id,
                            currency, total_amount, depends_on, doc_number, body)
                        SELECT %(t)s, 'sales_receipt', 'manual', 'o' || g, 'USD', a, ARRAY[c.document_id],
                            'O-' || g,
                            jsonb_build_object(
                                'DocNumber', 'O-' || g,
                                'CustomerRef', jsonb_build_object('document_id', c.document_id),
                                'Line', jsonb_build_array(jsonb_build_object(
                                    'Amount', a, 'DetailType', 'SalesItemLineDetail',
                                    'SalesItemLineDetail', jsonb_build_object(
                                        'ItemRef', jsonb_build_object('value', '1')))))
                        FROM generate_series(1, %(n)s) AS g
                        CROSS JOIN LATERAL (SELECT round((g * 7919 %% 100000) / 100.0 + 0.01, 2) AS a) AS x
                        CROSS JOIN (SELECT document_id FROM books.documents
                                    WHERE tenant_id = %(t)s AND source_id = 'cust') AS c
                        """,
                        {"t": t, "n": per},
                    )
                expected = {
                    t: {
                        r[0]: Decimal(r[1])
                        for r in conn.execute(
                            "SELECT doc_number, total_amount FROM books.documents"
                            " WHERE tenant_id = %s AND doc_type = 'sales_receipt'",
                            (t,),
                        )
                    }
                    for t in tenants
                }
            first = next(iter(tenants))
            t0 = time.monotonic()
            workers = [_worker(url, "chaos-a"), _worker(url, "chaos-b")]
            events: list[str] = []

            def progress() -> tuple[int, int]:
                with psycopg.connect(url, autocommit=True) as c:
                    row = c.execute(
                        "SELECT count(*) FILTER (WHERE state = 'done'),"
                        " count(*) FILTER (WHERE state IN ('failed', 'held')) FROM sync.outbox"
                    ).fetchone()
                return (int(row[0]), int(row[1])) if row else (0, 0)

            total = args.orders // args.realms * args.realms + args.realms
            stage = 0
            while time.monotonic() - t0 < args.timeout:
                try:
                    done, stopped = progress()
                except psycopg.OperationalError:
                    time.sleep(0.5)
                    continue
                if stage == 0 and done >= total * 0.2:
                    for realm in tenants.values():
                        admin.patch(f"/admin/realms/{realm}/faults", json={"throttle_next": 5})
                        admin.post(f"/admin/realms/{realm}/expire-tokens")
                    # The grant of one realm is revoked: it pauses (AUTH_EXPIRED) until reconnected.
                    admin.post(f"/admin/realms/{tenants[first]}/revoke-tokens")
                    events.append(
                        f"{time.monotonic() - t0:.1f}s 429 burst + token expiry; {first} revoked"
                    )
                    stage = 1
                elif stage == 1 and done >= total * 0.3:
                    # Updates of posted receipts under forced 5010 (re-read, re-apply), and
                    # re-deliveries of unchanged documents (re-armed, same version: nothing sent).
                    with psycopg.connect(url, autocommit=True) as c:
                        for realm in tenants.values():
                            admin.patch(f"/admin/realms/{realm}/faults", json={"stale_next": 5})
                        bumped = c.execute(UPDATES).rowcount
                        c.execute(REDELIVER_DRAFT)
                        rearmed = c.execute(REDELIVER_READY).rowcount
                    events.append(
                        f"{time.monotonic() - t0:.1f}s {bumped} posted receipts updated (forced 5010),"
                        f" {rearmed} unchanged documents re-delivered"
                    )
                    stage = 2
                elif stage == 2 and done >= total * 0.35:
                    workers[0].send_signal(signal.SIGKILL)
                    workers[0].wait()
                    workers[0] = _worker(url, "chaos-a2")
                    connect(
                        url,
                        first,
                        api_base_url=base,
                        discovery_url=f"{base}/.well-known/openid_configuration",
                        realm_id=tenants[first],
                        discover_defaults=False,
                    )
                    events.append(
                        f"{time.monotonic() - t0:.1f}s worker SIGKILLed, replaced; {first} reconnected"
                    )
                    stage = 3
                elif stage == 3 and done >= total * 0.5:
                    _restart_postgres(url)
                    events.append(f"{time.monotonic() - t0:.1f}s PostgreSQL restarted")
                    stage = 4
                elif done + stopped >= total:
                    break
                time.sleep(0.5)
            elapsed = time.monotonic() - t0
            with psycopg.connect(url, autocommit=True) as c:
                expected = {
                    t: {
                        r[0]: Decimal(r[1])
                        for r in c.execute(
                            "SELECT doc_number, total_amount FROM books.documents"
                            " WHERE tenant_id = %s AND doc_type = 'sales_receipt'",
                            (t,),
                        )
                    }
                    for t in tenants
                }
            dup = missing = 0
            cents = Decimal(0)
            for t, realm in tenants.items():
                found: dict[str, list[Decimal]] = {}
                for r in admin.get(f"/admin/realms/{realm}/entities/SalesReceipt").json()["items"]:
                    found.setdefault(r["DocNumber"], []).append(Decimal(str(r["TotalAmt"])))
                for doc_number, amount in expected[t].items():
                    got = found.get(doc_number, [])
                    missing += not got
                    dup += max(0, len(got) - 1)
                    cents += sum((abs(g - amount) for g in got), Decimal(0))
                customers = len(
                    admin.get(f"/admin/realms/{realm}/entities/Customer").json()["items"]
                )
                dup += max(0, customers - 1)
            with psycopg.connect(url, autocommit=True) as c:
                exc = c.execute(
                    "SELECT reason_code, count(*) FROM sync.exceptions WHERE status = 'open' GROUP BY 1"
                ).fetchall()
    finally:
        for w in workers:
            w.kill()
            w.wait()
        sandbox.terminate()
        sandbox.wait(timeout=10)
    print(f"chaos: {args.orders} orders across {args.realms} realms, two workers, faults {FAULTS}")
    for e in events:
        print(f"  {e}")
    print(f"duplicates          {dup}")
    print(f"missing             {missing}")
    print(f"cent differences    {cents}")
    print(f"time to drain       {elapsed:.1f} s ({total / elapsed:.0f} docs/s)")
    print(f"open exceptions     {dict(exc) if exc else {}}")
    return 0 if (dup, missing, cents) == (0, 0, 0) else 1


if __name__ == "__main__":
    raise SystemExit(main())
