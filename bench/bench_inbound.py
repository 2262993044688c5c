"""Two-way sync: edit-to-reflect latency from a QuickBooks change to the local record.

Run: ``.venv/bin/python bench/bench_inbound.py [--webhook 30] [--cdc 10] [--quick]``

One run, one fresh database (migrated like production), one machine:
  * the local QuickBooks sandbox (Intuit-like webhook aggregation window of 0.5 s), the webhook
    receiver (in this process) and ``pgbooks inbound run`` (its own process: fetch, three-way
    compare, policies, CDC sweeps on the adaptive schedule);
  * N customers posted by the delivery worker, policy ``Customer.PrimaryPhone = qbo_wins``;
  * each sample edits one customer's phone through the sandbox's QuickBooks API and waits until
    the new phone is the local record (``sync.field_overrides``); the clock starts when the edit
    is answered.
Paths, side by side: ``webhook`` (notification -> receiver -> change -> fetch -> apply) and
``cdc`` (webhooks off: found by the CDC sweep, interval by the adaptive rule, sweep_min 2 s,
sweep_max 20 s), against the floor ``read``: one GET of the entity (what any path must pay).
Prints p50/p99 per path (goal < 30 s), their ratio to the floor, and the peak RSS (VmHWM) of the
inbound process and of this process (sandbox + receiver + load).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psycopg
from pytest_postgresql.janitor import DatabaseJanitor

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "worker"))
sys.path.insert(0, str(ROOT / "sandbox"))

from pgbooks import devdb  # noqa: E402
from pgbooks.db.migrate import migrate  # noqa: E402
from pgbooks.ingest.receiver import ReceiverConfig, running_receiver  # noqa: E402
from pgbooks.sync.oauth import connect  # noqa: E402
from pgbooks.sync.worker import Worker, WorkerConfig  # noqa: E402
from qbo_sandbox.config import SandboxConfig, ThrottleConfig  # noqa: E402
from qbo_sandbox.testing import running_sandbox  # noqa: E402

TENANT = "bench"
TOKEN = "bench-verifier-token"


def _peak_rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as fh:
        m = re.search(r"VmHWM:\s+(\d+) kB", fh.read())
    return int(m.group(1)) / 1024 if m else float("nan")


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def _wait_phone(conn: psycopg.Connection, doc: int, phone: str, timeout: float) -> float | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = conn.execute(
            "SELECT 1 FROM sync.field_overrides WHERE tenant_id = %s AND document_id = %s"
            " AND field = 'PrimaryPhone' AND value ->> 'FreeFormNumber' = %s",
            (TENANT, doc, phone),
        ).fetchone()
        if row:
            return time.monotonic()
        time.sleep(0.02)
    return None


def _edit(qbo: httpx.Client, rid: str, phone: str) -> None:
    cur = qbo.get(f"/customer/{rid}").json()["Customer"]
    r = qbo.post(
        "/customer",
        json={
            "Id": rid,
            "SyncToken": cur["SyncToken"],
            "sparse": True,
            "PrimaryPhone": {"FreeFormNumber": phone},
        },
    )
    r.raise_for_status()


def _path(
    conn: psycopg.Connection, qbo: httpx.Client, docs: list[tuple[int, str]], n: int, tag: str
) -> tuple[list[float], int]:
    lat: list[float] = []
    missed = 0
    for i in range(n):
        doc, rid = docs[i % len(docs)]
        phone = f"555-{tag}-{i:04d}"
        _edit(qbo, rid, phone)
        t0 = time.monotonic()
        t1 = _wait_phone(conn, doc, phone, 60.0)
        if t1 is None:
            missed += 1
        else:
            lat.append(t1 - t0)
    return lat, missed


def _report(name: str, lat: list[float], missed: int, floor: float) -> None:
    if not lat:
        print(f"{name:<8} no sample reflected within 60 s ({missed} missed)")
        return
    p50, p99 = _pct(lat, 0.5), _pct(lat, 0.99)
    print(
        f"{name:<8} n={len(lat):<3} p50 {p50 * 1000:8.0f} ms  p99 {p99 * 1000:8.0f} ms"
        f"  max {max(lat) * 1000:8.0f} ms  p50 = {p50 / floor:6.0f} x read"
        f"  goal < 30 s: {'met' if p99 < 30 else 'NOT met'}  missed {missed}"
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--webhook", type=int, default=30, help="samples on the webhook path")
    ap.add_argument("--cdc", type=int, default=10, help="samples on the CDC path")
    ap.add_argument("--customers", type=int, default=10)
    ap.add_argument("--quick", action="store_true", help="small counts (smoke run)")
    args = ap.parse_args()
    if args.quick:
        args.webhook, args.cdc, args.customers = 8, 3, 4
    os.environ.setdefault("PGBOOKS_SECRET_KEY", "bench-secret-key-for-pgbooks-inbound")

    cfg = SandboxConfig(throttle=ThrottleConfig(enabled=False))
    cfg.webhook_retry_delays = [0.0, 1.0, 2.0]
    with devdb.server() as server, running_sandbox(cfg) as sb:
        name = f"pgbooks_bench_inbound_{os.getpid()}"
        janitor = DatabaseJanitor(
            user=server.user,
            host=server.host,
            port=server.port,
            password=server.password,
            dbname=name,
        )
        janitor.init()
        inbound: subprocess.Popen[bytes] | None = None
        try:
            url = server.url(name)
            migrate(url)
            realm = sb.admin.create_realm(name="Bench company")["realm_id"]
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(
                    "INSERT INTO orders.tenants (tenant_id, name) VALUES (%s, 'B')", (TENANT,)
                )
                conn.execute(
                    "INSERT INTO sync.settings (tenant_id, debounce) VALUES (%s, '20 ms')",
                    (TENANT,),
                )
                connect(
                    url,
                    TENANT,
                    api_base_url=sb.base_url,
                    discovery_url=f"{sb.base_url}/.well-known/openid_configuration",
                    realm_id=realm,
                )
                docs_ids = [
                    int(
                        conn.execute(
                            "INSERT INTO books.documents (tenant_id, doc_type, source_type,"
                            " source_id, body) VALUES (%s, 'customer', 'manual', %s,"
                            " jsonb_build_object('DisplayName', %s::text,"
                            " 'PrimaryPhone', jsonb_build_object('FreeFormNumber', '555-0000')))"
                            " RETURNING document_id",
                            (TENANT, f"c{i}", f"Bench customer {i}"),
                        ).fetchone()[0]  # type: ignore[index]
                    )
                    for i in range(args.customers)
                ]
                asyncio.run(
                    Worker(url, "bench", WorkerConfig(loops=2, use_pgqueuer=False)).run(
                        until_idle=True, timeout=120
                    )
                )
                docs = [
                    (
                        d,
                        str(
                            conn.execute(
                                "SELECT remote_id FROM sync.remote_objects WHERE tenant_id = %s"
                                " AND document_id = %s",
                                (TENANT, d),
                            ).fetchone()[0]  # type: ignore[index]
                        ),
                    )
                    for d in docs_ids
                ]
                conn.execute(
                    "SELECT api.inbound_realm__configure(%s, %s, true, '5 minutes', '2 seconds',"
                    " '20 seconds')",
                    (TENANT, TOKEN),
                )
                conn.execute(
                    "SELECT api.conflict_policy__set(%s, 'Customer', 'PrimaryPhone', 'qbo_wins')",
                    (TENANT,),
                )
                inbound = subprocess.Popen(
                    [sys.executable, "-m", "pgbooks", "inbound", "run", "--poll", "1"],
                    env=dict(os.environ, DATABASE_URL=url),
                )
                qbo = httpx.Client(
                    base_url=f"{sb.base_url}/v3/company/{realm}",
                    headers={"Authorization": f"Bearer {sb.admin.access_token(realm)}"},
                    timeout=10,
                )
                # Floor: one read of the entity.
                reads = []
                for _doc, rid in docs * 3:
                    t0 = time.monotonic()
                    qbo.get(f"/customer/{rid}").raise_for_status()
                    reads.append(time.monotonic() - t0)
                floor = statistics.median(reads)

                with running_receiver(ReceiverConfig(url, pool_size=2)) as rurl:
                    sb.admin.webhooks(
                        [
                            {
                                "url": f"{rurl}/webhooks/quickbooks/{TENANT}",
                                "verifier_token": TOKEN,
                                "format": "legacy",
                                "realms": [realm],
                            }
                        ]
                    )
                    wh, wh_missed = _path(conn, qbo, docs, args.webhook, "w")
                    sb.admin.webhooks([])
                cdc, cdc_missed = _path(conn, qbo, docs, args.cdc, "c")
                interval = conn.execute(
                    "SELECT sweep_interval FROM sync.inbound_realms WHERE tenant_id = %s", (TENANT,)
                ).fetchone()
                outcomes = conn.execute(
                    "SELECT source, count(*) FROM sync.inbound_changes WHERE tenant_id = %s"
                    " GROUP BY source ORDER BY source",
                    (TENANT,),
                ).fetchall()

            print("edit-to-reflect latency (QuickBooks edit answered -> local record updated)")
            print("2 shared cores, figures are pessimistic (other engineers' test runs).")
            print(
                f"read     n={len(reads):<3} p50 {floor * 1000:8.1f} ms"
                "  (floor: one GET of the entity)"
            )
            _report("webhook", wh, wh_missed, floor)
            _report("cdc", cdc, cdc_missed, floor)
            if wh and cdc:
                print(
                    f"cdc p50 / webhook p50 = {statistics.median(cdc) / statistics.median(wh):.1f}"
                )
            print(f"adaptive sweep interval at the end: {interval[0] if interval else '?'}")
            print(f"changes captured by source: {dict(outcomes)}")
            print(
                f"peak RSS: inbound process {_peak_rss_mb(inbound.pid):.0f} MiB, this process "
                f"(sandbox + receiver + load) "
                f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB"
            )
        finally:
            if inbound is not None:
                inbound.terminate()
                inbound.wait(timeout=10)
            janitor.drop()
    return 0 if (wh and not wh_missed and not cdc_missed) else 1


if __name__ == "__main__":
    sys.exit(main())
