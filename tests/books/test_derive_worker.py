"""The worker derives the queue: woken through pgqueuer (entrypoint books_derive) when an app
commits an order, and at start for orders written while no worker ran."""

from __future__ import annotations

import asyncio
import time

import psycopg
import pytest

from pgbooks.sync.worker import Worker, WorkerConfig


def _setup(db: psycopg.Connection) -> None:
    db.execute("INSERT INTO orders.tenants (tenant_id, name) VALUES ('w1', 'W1')")
    db.execute(
        "INSERT INTO orders.channels (tenant_id, channel_id, platform, name, currency)"
        " VALUES ('w1', 'app', 'custom', 'app', 'USD')"
    )


def _write_order(db: psycopg.Connection, order_id: str) -> None:
    with db.transaction():
        db.execute(
            "INSERT INTO orders.orders (tenant_id, channel_id, order_id, currency, stated_total)"
            " VALUES ('w1', 'app', %s, 'USD', 10.00)",
            (order_id,),
        )
        db.execute(
            "INSERT INTO orders.order_lines (tenant_id, channel_id, order_id, line_id, title,"
            " quantity, unit_price) VALUES ('w1', 'app', %s, '1', 'Widget', 1, 10.00)",
            (order_id,),
        )


def _derived(db: psycopg.Connection, order_id: str) -> bool:
    row = db.execute(
        "SELECT count(*) FROM books.documents WHERE tenant_id = 'w1' AND source_id = %s"
        " AND source_role = 'main'",
        (f"app:{order_id}",),
    ).fetchone()
    return row is not None and row[0] == 1


def test_a_running_worker_derives_what_apps_commit(
    db: psycopg.Connection, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PGBOOKS_SECRET_KEY", "test-secret-key-for-pgbooks-derive")
    _setup(db)
    _write_order(db, "before")  # written while no worker runs

    async def go() -> tuple[bool, float]:
        # the sweep is rare (a minute): the wake-up job is what derives within seconds
        worker = Worker(db_url, "derive-test", WorkerConfig(loops=1, derive_every=60))
        task = asyncio.create_task(worker.run())
        try:
            for _ in range(100):  # the start-up drain
                if await asyncio.to_thread(_derived, db, "before"):
                    break
                await asyncio.sleep(0.1)
            before = await asyncio.to_thread(_derived, db, "before")
            await asyncio.sleep(1.0)  # the pgqueuer consumer is listening
            await asyncio.to_thread(_write_order, db, "after")
            t0 = time.monotonic()
            while not await asyncio.to_thread(_derived, db, "after"):
                assert time.monotonic() - t0 < 30, "the worker did not derive the new order"
                await asyncio.sleep(0.1)
            return before, time.monotonic() - t0
        finally:
            worker.stop.set()
            await task

    before, waited = asyncio.run(go())
    assert before
    assert waited < 30
    left = db.execute("SELECT count(*) FROM books.derive_requests").fetchone()
    assert left == (0,)
