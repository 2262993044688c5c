"""Fixtures of the audit tests: a database with two tenants and a few documents."""

from __future__ import annotations

import psycopg
import pytest


@pytest.fixture
def books(db: psycopg.Connection) -> psycopg.Connection:
    """Two tenants, each with two documents dated January 2026 (all audited)."""
    db.execute("SELECT set_config('pgbooks.user', 'alice', false)")
    db.execute("INSERT INTO orders.tenants (tenant_id, name) VALUES ('t1', 'One'), ('t2', 'Two')")
    db.execute(
        """
        INSERT INTO books.documents
            (tenant_id, doc_type, source_type, source_id, txn_date, currency, total_amount)
        VALUES ('t1', 'sales_receipt', 'order', '1001', '2026-01-05', 'USD', 10.50),
               ('t1', 'sales_receipt', 'order', '1002', '2026-01-20', 'USD', 5.25),
               ('t2', 'sales_receipt', 'order', '2001', '2026-01-07', 'EUR', 3.00),
               ('t2', 'sales_receipt', 'order', '2002', '2026-02-07', 'EUR', 4.00)
        """
    )
    return db
