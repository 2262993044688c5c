"""The analyst view analytics.order_documents and its committed example output."""

from __future__ import annotations

import subprocess
from pathlib import Path

import psycopg

from pgbooks import paths

EXAMPLE = Path(paths.ROOT) / "views" / "examples" / "books_order_documents.sql"


def run_example(db_url: str) -> str:
    res = subprocess.run(
        ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", db_url, "-f", str(EXAMPLE)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert res.returncode == 0, res.stderr
    return res.stdout


def test_example_output_matches_the_committed_file(db_url: str) -> None:
    assert run_example(db_url) == EXAMPLE.with_suffix(".out").read_text()


def test_analyst_sees_orders_without_documents_and_cannot_read_books(
    db: psycopg.Connection,
) -> None:
    db.execute("INSERT INTO orders.tenants (tenant_id, name) VALUES ('t', 'T')")
    db.execute(
        "INSERT INTO orders.channels (tenant_id, channel_id, platform, name, currency)"
        " VALUES ('t', 'web', 'custom', 'Web', 'USD')"
    )
    db.execute(
        "INSERT INTO orders.orders (tenant_id, channel_id, order_id, currency, financial_status,"
        " stated_total, is_test) VALUES ('t', 'web', 'x1', 'USD', 'paid', 0, TRUE)"
    )
    db.execute("SET ROLE pgbooks_analyst")
    try:
        rows = db.execute(
            "SELECT order_id, document_id, sales_effect FROM analytics.order_documents"
        ).fetchall()
        assert rows == [("x1", None, 0)]
        try:
            db.execute("SELECT 1 FROM books.documents")
            raise AssertionError("analyst read books.documents")
        except psycopg.errors.InsufficientPrivilege:
            pass
    finally:
        db.execute("RESET ROLE")
