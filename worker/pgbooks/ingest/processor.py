"""Drain pending raw events through the SQL normalizers (``pgbooks ingest process``).

All the work is ``api.raw_events__process`` (claim with SKIP LOCKED, normalize each event in a
subtransaction, applied or quarantined). This loop only decides when to call it: until a batch
comes back short, then wait for a ``pgbooks_ingest`` notification (sent at commit by
``api.raw_event__receive``) or the poll interval, whichever comes first. Any number of
processes can run this loop at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg

CHANNEL = "pgbooks_ingest"
_PROCESS_SQL = "SELECT claimed, applied, quarantined FROM api.raw_events__process(%s)"


@dataclass
class Totals:
    """Counters over a run."""

    claimed: int = 0
    applied: int = 0
    quarantined: int = 0

    def add(self, row: tuple[int, int, int]) -> None:
        self.claimed += row[0]
        self.applied += row[1]
        self.quarantined += row[2]


def process_batch(conn: psycopg.Connection[Any], batch: int) -> tuple[int, int, int]:
    """One call of ``api.raw_events__process`` in its own transaction."""
    with conn.transaction():
        row = conn.execute(_PROCESS_SQL, (batch,)).fetchone()
    assert row is not None
    return int(row[0]), int(row[1]), int(row[2])


def drain(
    conn: psycopg.Connection[Any],
    batch: int = 100,
    on_batch: Callable[[Totals], None] | None = None,
) -> Totals:
    """Process until no pending event is left (as seen by this connection); ``on_batch`` is
    called with the running totals after each batch (progress)."""
    totals = Totals()
    while True:
        row = process_batch(conn, batch)
        totals.add(row)
        if on_batch is not None:
            on_batch(totals)
        if row[0] < batch:
            return totals


def run(
    url: str,
    *,
    batch: int = 100,
    poll_interval: float = 5.0,
    stop: threading.Event | None = None,
) -> Totals:
    """Process forever (or until ``stop`` is set): drain, then wait for a notification."""
    stop = stop or threading.Event()
    totals = Totals()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"LISTEN {CHANNEL}")
        while not stop.is_set():
            got = drain(conn, batch)
            totals.claimed += got.claimed
            totals.applied += got.applied
            totals.quarantined += got.quarantined
            # Any notification (or the poll interval) means: look again. Bursts coalesce here.
            deadline = time.monotonic() + poll_interval
            while not stop.is_set() and time.monotonic() < deadline:
                if list(conn.notifies(timeout=0.5, stop_after=1)):
                    break
    return totals
