"""The receipt of an order: source facts, documents, delivery, audit entries with hashes."""

from __future__ import annotations

import json

import psycopg
from typer.testing import CliRunner

from pgbooks.cli import app


def _order(db: psycopg.Connection) -> None:
    db.execute("INSERT INTO orders.tenants (tenant_id, name) VALUES ('t1', 'One')")
    db.execute(
        "INSERT INTO orders.channels (tenant_id, channel_id, platform, name, currency)"
        " VALUES ('t1', 'shop', 'shopify', 'Shop', 'USD')"
    )
    db.execute(
        "INSERT INTO orders.orders (tenant_id, channel_id, order_id, currency, stated_total)"
        " VALUES ('t1', 'shop', '5001', 'USD', 20.00), ('t1', 'shop', '5002', 'USD', 7.00)"
    )
    db.execute(
        "INSERT INTO books.documents (tenant_id, doc_type, source_type, source_id, txn_date,"
        " currency, total_amount) VALUES ('t1', 'sales_receipt', 'order', '5001', '2026-01-05',"
        " 'USD', 20.00)"
    )
    db.execute(
        "INSERT INTO sync.exceptions (tenant_id, document_id, reason_code, category, message)"
        " SELECT 't1', document_id, 'ITEM_UNMAPPED', 'mapping', 'no item' FROM books.documents"
    )


def test_receipt_shows_the_chain_of_evidence(db: psycopg.Connection, db_url: str) -> None:
    _order(db)
    rec = db.execute("SELECT close.audit__receipt('t1', '5001')").fetchone()
    assert rec is not None
    r = rec[0]
    assert [o["order_id"] for o in r["sources"]["orders.orders"]] == ["5001"]
    assert [d["source_id"] for d in r["documents"]] == ["5001"]
    assert [x["reason_code"] for x in r["delivery"]["sync.exceptions"]] == ["ITEM_UNMAPPED"]
    tables = [a["table_name"] for a in r["audit"]]
    wanted = ["orders.orders", "books.documents", "sync.exceptions"]
    assert [t for t in tables if t in wanted] == wanted
    assert all(len(a["hash"]) == 64 for a in r["audit"])
    head = db.execute(
        "SELECT encode(hash, 'hex') FROM audit.events WHERE tenant_id = 't1' AND seq = %s",
        (r["audit"][0]["seq"],),
    ).fetchone()
    assert head == (r["audit"][0]["hash"],)

    res = CliRunner().invoke(
        app, ["audit", "receipt", "5001", "--json"], env={"DATABASE_URL": db_url}
    )
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["tenant_id"] == "t1"
    human = CliRunner().invoke(app, ["audit", "receipt", "5001"], env={"DATABASE_URL": db_url})
    assert "document" in human.output and "audit #" in human.output
