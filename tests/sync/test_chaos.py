"""A worker SIGKILLed mid-request, and a small chaos run (all faults at once, two workers)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import psycopg

from pgbooks.sync.worker import Worker, WorkerConfig
from qbo_sandbox.testing import SandboxHandle
from tests.sync.conftest import Books, new_tenant

BIN = Path(sys.executable).parent


def test_worker_killed_mid_request_is_replayed_without_duplicate(books: Books) -> None:
    books.customer("Killed")
    books.faults(latency_ms=1500)  # the request is in flight long enough to kill the worker
    env = {**os.environ, "DATABASE_URL": books.db_url}
    proc = subprocess.Popen(
        [str(BIN / "pgbooks"), "worker", "--name", "doomed", "--loops", "1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            row = books.db.execute("SELECT state FROM sync.outbox").fetchone()
            if row and row[0] == "claimed":
                break
            time.sleep(0.05)
        time.sleep(0.5)  # the POST has left
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=10)
    books.faults(latency_ms=0)
    time.sleep(1.5)  # let the sandbox finish (and commit) the orphaned request
    books.drain()  # janitor releases the claim after claim_timeout (2 s) -> replay
    assert books.count("Customer", DisplayName="Killed") == 1
    assert books.attempts("released") == 1
    assert books.attempts("accepted") == 1


def test_small_chaos_run_posts_every_document_exactly_once(
    db: psycopg.Connection, db_url: str, sandbox: SandboxHandle
) -> None:
    realms = [new_tenant(db, db_url, sandbox, f"chaos{i}") for i in range(3)]
    expected: dict[str, dict[str, Decimal]] = {}
    for b in realms:
        b.faults(error_rate=0.15, lost_response_rate=0.15, throttle_next=3, latency_ms=5)
        cust = b.customer(f"Chaos {b.tenant_id}")
        expected[b.tenant_id] = {}
        for i in range(15):
            amount = f"{i + 1}.{(i * 7) % 100:02d}"
            b.sales_receipt(cust, amount, doc_number=f"C-{i}")
            expected[b.tenant_id][f"C-{i}"] = Decimal(amount)

    async def two_workers() -> None:
        cfg = WorkerConfig(loops=2, use_pgqueuer=False)
        await asyncio.gather(
            Worker(db_url, "c1", cfg).run(until_idle=True, timeout=60),
            Worker(db_url, "c2", cfg).run(until_idle=True, timeout=60),
        )

    asyncio.run(two_workers())
    duplicates = missing = 0
    cents = Decimal(0)
    for b in realms:
        found: dict[str, list[Decimal]] = {}
        for r in b.entities("SalesReceipt"):
            found.setdefault(r["DocNumber"], []).append(Decimal(str(r["TotalAmt"])))
        for doc_number, amount in expected[b.tenant_id].items():
            got = found.get(doc_number, [])
            missing += not got
            duplicates += max(0, len(got) - 1)
            cents += sum((abs(g - amount) for g in got), Decimal(0))
        assert b.count("Customer", DisplayName=f"Chaos {b.tenant_id}") == 1
    assert (duplicates, missing, cents) == (0, 0, 0)
    open_exc = db.execute("SELECT count(*) FROM sync.exceptions WHERE status = 'open'").fetchone()
    assert open_exc == (0,)


def test_janitor_runs_on_pgqueuers_scheduler_once_for_all_workers(books: Books) -> None:
    books.customer("Orphan")
    books.db.execute("UPDATE sync.outbox SET due_at = now()")
    assert len(books.db.execute("SELECT * FROM api.outbox__claim('ghost', 5)").fetchall()) == 1
    # The claiming worker died long ago (its heartbeat is old).
    books.db.execute("UPDATE sync.outbox SET heartbeat_at = now() - interval '1 hour'")

    async def both() -> None:
        cfg = WorkerConfig(loops=1, use_pgqueuer=True, janitor_every=1)
        await asyncio.gather(
            Worker(books.db_url, "s1", cfg).run(until_idle=True, timeout=30),
            Worker(books.db_url, "s2", cfg).run(until_idle=True, timeout=30),
        )

    asyncio.run(both())
    assert books.count("Customer", DisplayName="Orphan") == 1
    released = books.db.execute(
        "SELECT worker FROM sync.attempts WHERE event = 'released'"
    ).fetchall()
    assert len(released) == 1 and released[0][0].startswith("janitor@s")
    schedules = books.db.execute(
        "SELECT count(*) FROM pgq.pgqueuer_schedules WHERE entrypoint = 'sync_janitor'"
    ).fetchone()
    assert schedules == (1,)


def test_reconciliation_rollup_is_refreshed_on_pgqueuers_scheduler(books: Books) -> None:
    books.db.execute(
        "INSERT INTO books.recon_dirty (tenant_id, day) VALUES (%s, current_date), (%s, %s)",
        (books.tenant_id, books.tenant_id, "2026-01-05"),
    )

    async def run_until_refreshed() -> None:
        worker = Worker(books.db_url, "r1", WorkerConfig(loops=1, janitor_every=1, recon_every=1))
        task = asyncio.create_task(worker.run())
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            marks = books.db.execute("SELECT count(*) FROM books.recon_dirty").fetchone()
            if marks == (0,):
                break
            await asyncio.sleep(0.2)
        worker.stop.set()
        await task

    asyncio.run(run_until_refreshed())
    assert books.db.execute("SELECT count(*) FROM books.recon_dirty").fetchone() == (0,)
    schedules = books.db.execute(
        "SELECT count(*) FROM pgq.pgqueuer_schedules WHERE entrypoint = 'recon_refresh'"
    ).fetchone()
    assert schedules == (1,)
