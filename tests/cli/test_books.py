"""`pgbooks books derive` as an operator runs it: queued orders derived without a worker."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from .conftest import Cli

ORDER = (
    "INSERT INTO orders.orders (tenant_id, channel_id, order_id, order_number, currency,"
    " financial_status, placed_at, stated_subtotal, stated_total_discounts,"
    " stated_total_shipping, stated_total_tax, stated_total) VALUES ('acme', 'shop', %s, %s,"
    " 'USD', 'paid', '2026-01-05T10:00:00Z', 10.50, 0, 0, 0, 10.50)"
)
LINE = (
    "INSERT INTO orders.order_lines (tenant_id, channel_id, order_id, line_id, sku, title,"
    " quantity, unit_price, taxable) VALUES ('acme', 'shop', %s, 'l1', 'SKU-1', 'Widget', 1,"
    " 10.50, false)"
)


def _order(db: psycopg.Connection[Any], oid: str) -> None:
    with db.transaction():
        db.execute(ORDER, (oid, f"#{oid}"))
        db.execute(LINE, (oid,))


def _documents(db: psycopg.Connection[Any], oid: str) -> int:
    row = db.execute(
        "SELECT count(*) FROM books.documents WHERE tenant_id = 'acme' AND source_id = %s",
        (f"shop:{oid}",),
    ).fetchone()
    return int(row[0]) if row else 0


@pytest.mark.cli("books derive")
def test_derive_queued_orders_and_name_the_failing_one(
    cli: Cli, db: psycopg.Connection[Any]
) -> None:
    db.execute("INSERT INTO orders.tenants (tenant_id, name) VALUES ('acme', 'Acme')")
    db.execute(
        "INSERT INTO orders.channels (tenant_id, channel_id, platform, name, currency)"
        " VALUES ('acme', 'shop', 'shopify', 'Shop', 'USD')"
    )
    _order(db, "1001")
    _order(db, "1002")
    assert (_documents(db, "1001"), _documents(db, "1002")) == (0, 0)  # queued, not derived

    # a rule that raises for order 1002 (stands for any derivation error)
    db.execute("CREATE SCHEMA clitest")
    db.execute(
        "CREATE FUNCTION clitest.boom() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
        " IF NEW.source_id = 'shop:1002' THEN RAISE EXCEPTION 'rule failed for 1002'; END IF;"
        " RETURN NEW; END $$"
    )
    db.execute(
        "CREATE TRIGGER boom BEFORE INSERT ON books.documents FOR EACH ROW"
        " EXECUTE FUNCTION clitest.boom()"
    )
    first = cli("books", "derive", "--tenant", "acme", "--json")
    assert first.code == 3, first  # attention: one derivation keeps failing
    facts = first.json()
    assert facts["derived"] == 1 and facts["failing"] == 1 and facts["pending"] == 0, facts
    (err,) = facts["errors"]
    assert err["subject"] == "order:shop:1002" and "rule failed for 1002" in err["error"]
    assert (_documents(db, "1001") > 0, _documents(db, "1002")) == (True, 0)

    db.execute("DROP TRIGGER boom ON books.documents")
    again = cli("books", "derive", env={"PGBOOKS_TENANT": "acme"})
    assert again.code == 0, again
    assert again.stdout.startswith("1 order(s)/payout(s) derived; 0 failing"), again
    assert _documents(db, "1002") > 0
