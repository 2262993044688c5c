"""The README is the contract: its SQL examples run as written against a migrated database."""

from __future__ import annotations

import re
from typing import Any

import psycopg

from pgbooks.paths import ROOT


def _sql_block(heading: str) -> str:
    text = (ROOT / "README.md").read_text()
    start = text.index(heading)
    block = re.search(r"```sql\n(.*?)```", text[start:], re.S)
    assert block, f"no sql block after {heading!r}"
    return block.group(1)


def test_app_example_writes_an_order_that_becomes_documents(db: psycopg.Connection[Any]) -> None:
    db.execute(_sql_block("## How an app writes orders"))
    events = db.execute("SELECT event_type FROM orders.events WHERE tenant_id = 'acme'").fetchall()
    assert ("OrderCreated",) in events
    assert db.execute("SELECT count(*) FROM orders.order_flags").fetchone() == (0,)
    # derived off the commit path: queued in the app's transaction, derived by the worker
    queued = db.execute(
        "SELECT subject_type, subject_id FROM books.derive_requests WHERE tenant_id = 'acme'"
    ).fetchall()
    assert queued == [("order", "A-1001")]
    assert db.execute("SELECT api.books__derive_pending()").fetchone() == (1,)
    docs = dict(
        db.execute(
            "SELECT doc_type, status FROM books.documents WHERE tenant_id = 'acme'"
        ).fetchall()
    )
    assert docs == {"customer": "ready", "sales_receipt": "blocked"}  # as the README says
    reasons = {
        r[0]
        for r in db.execute(
            "SELECT reason_code FROM sync.exceptions WHERE tenant_id = 'acme' AND status = 'open'"
        )
    }
    assert reasons == {"ITEM_UNMAPPED", "SHIPPING_ITEM_UNMAPPED"}
    # the analyst queries of the README run on the same data
    for stmt in _sql_block("## Analyst views").split(";"):
        code = "\n".join(ln for ln in stmt.splitlines() if not ln.strip().startswith("--"))
        if code.strip():
            db.execute(code)
