"""Books derivation in tests: what the worker does after an app's commit.

Orders are derived off the commit path (a derive request per order per transaction, derived by
the worker through ``api.books__derive_pending``). Tests that read documents or exceptions right
after writing orders call :func:`derive_pending` first instead of running a worker.
"""

from __future__ import annotations

from typing import Any

import psycopg


def derive_pending(conn: psycopg.Connection[Any], tenant: str | None = None) -> int:
    """Derive every queued order and payout (of ``tenant``, or all); return how many."""
    total = 0
    while True:
        row = conn.execute("SELECT api.books__derive_pending(%s, 10000)", (tenant,)).fetchone()
        if not row or not row[0]:
            return total
        total += int(row[0])
