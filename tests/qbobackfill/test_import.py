"""Import of a QuickBooks company: paging through everything, the maps it feeds, idempotence."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import psycopg
import pytest

from pgbooks.qbo import backfill as bf
from tests.qbobackfill.conftest import Shop, customers, items, receipts


def _seed(shop: Shop) -> dict[str, list[dict]]:
    income = shop.entities("Account", AccountSubType="SalesOfProductIncome")[0]["Id"]
    made = {
        "Customer": shop.batch("Customer", customers(57)),
        "Item": shop.batch("Item", items(23, income) + items(4, income, with_sku=False)[0:0]),
    }
    made["SalesReceipt"] = shop.batch(
        "SalesReceipt", receipts([c["Id"] for c in made["Customer"]], [f"H{i}" for i in range(31)])
    )
    made["Invoice"] = shop.batch(
        "Invoice", receipts([c["Id"] for c in made["Customer"]], [f"I{i}" for i in range(12)])
    )
    return made


def test_import_pages_through_every_entity_into_the_mirror(shop: Shop) -> None:
    _seed(shop)
    result = shop.run_import(page_size=10)

    for entity in bf.ENTITIES:
        # Name lists include inactive entries (the query asks Active IN (true, false)).
        assert shop.mirror_count(entity) == shop.count(entity), entity
        assert shop.checkpoint("import", f"{shop.realm_id}:{entity}") == (
            shop.count(entity),
            True,
        )
    assert shop.mirror_count("Customer") == 57
    assert shop.mirror_count("SalesReceipt") == 31
    assert result.rows == shop.mirror_count()
    # 57 customers in pages of 10 = 6 pages; every entity needs at least one page.
    assert result.pages >= sum(shop.count(e) // 10 + 1 for e in bf.ENTITIES)
    row = shop.db.execute(
        "SELECT doc_number, total_amount, txn_date, raw ->> 'Id', remote_id FROM sync.qbo_mirror"
        " WHERE tenant_id = 'shop' AND entity = 'SalesReceipt' AND doc_number = 'H7'"
    ).fetchone()
    assert row is not None
    assert row[1] == Decimal("25.00") and row[3] == row[4]


def test_import_feeds_the_item_and_tax_maps_and_links_customers(shop: Shop) -> None:
    made = _seed(shop)
    # An order of a buyer who already exists in QuickBooks (same e-mail, another name), one of
    # an unknown buyer, and a SKU only known by its name in QuickBooks.
    income = shop.entities("Account", AccountSubType="SalesOfProductIncome")[0]["Id"]
    named = shop.batch(
        "Item",
        [{"Name": "Blue Mug", "Type": "NonInventory", "IncomeAccountRef": {"value": income}}],
    )[0]
    shop.order(
        "2001", "2025-01-05T10:00:00Z", email="buyer0007@example.com", sku="MUG-B", title="Blue Mug"
    )
    shop.order("2002", "2025-01-06T10:00:00Z", email="nobody@example.com")
    result = shop.run_import()

    item_map = dict(
        shop.db.execute(
            "SELECT sku, item_id FROM books.item_map WHERE tenant_id = 'shop'"
        ).fetchall()
    )
    for item in made["Item"]:
        assert item_map[item["Sku"]] == item["Id"]
    assert item_map["MUG-B"] == named["Id"]
    assert result.maps["item_map_by_name"] == 1
    codes = dict(
        shop.db.execute(
            "SELECT tax_key, tax_code_id FROM books.tax_code_map WHERE tenant_id = 'shop'"
        ).fetchall()
    )
    for code in shop.entities("TaxCode"):
        assert codes[code["Name"]] == code["Id"]

    buyer7 = next(c for c in made["Customer"] if c["DisplayName"] == "Buyer 0007")
    links = shop.db.execute(
        "SELECT d.body #>> '{PrimaryEmailAddr,Address}', r.remote_id, r.synced_version, d.version"
        " FROM books.documents AS d JOIN sync.remote_objects AS r USING (tenant_id, document_id)"
        " WHERE d.tenant_id = 'shop' AND d.doc_type = 'customer'"
    ).fetchall()
    assert [(email, rid) for email, rid, _, _ in links] == [("buyer0007@example.com", buyer7["Id"])]
    assert links[0][2] == links[0][3]  # linked at its current version: nothing to send
    assert result.maps["linked"] == {"email": 1}

    # The documents were derived before the maps existed: a repost re-derives them with the new
    # maps; delivery then creates only what QuickBooks lacks (the second buyer, two receipts).
    repost = bf.run_repost(shop.db_url, "shop", date(2025, 1, 1), date(2025, 2, 1))
    assert repost.orders == 2 and repost.completed
    before = shop.count("Customer")
    shop.drain()
    assert shop.count("Customer") == before + 1
    mug = shop.entities("SalesReceipt", DocNumber="2001")
    assert len(mug) == 1
    assert mug[0]["CustomerRef"]["value"] == buyer7["Id"]
    assert mug[0]["Line"][0]["SalesItemLineDetail"]["ItemRef"]["value"] == named["Id"]


def test_rerun_updates_in_place_never_duplicates(shop: Shop) -> None:
    made = _seed(shop)
    shop.run_import(page_size=20)
    total = shop.mirror_count()
    target = made["Customer"][3]
    changed = shop.update(
        "Customer",
        {
            "Id": target["Id"],
            "SyncToken": target["SyncToken"],
            "sparse": True,
            "DisplayName": "Renamed In QuickBooks",
        },
    )
    first_seen = shop.scalar(
        "SELECT first_imported_at FROM sync.qbo_mirror WHERE tenant_id = 'shop'"
        " AND entity = 'Customer' AND remote_id = %s",
        target["Id"],
    )

    again = shop.run_import(page_size=20)

    assert again.resumed == [] and again.skipped == []  # a completed pass starts a new one
    assert shop.mirror_count() == total
    row = shop.db.execute(
        "SELECT name, sync_token, first_imported_at, imported_at > first_imported_at"
        " FROM sync.qbo_mirror WHERE tenant_id = 'shop' AND entity = 'Customer'"
        " AND remote_id = %s",
        (target["Id"],),
    ).fetchone()
    assert row == ("Renamed In QuickBooks", changed["SyncToken"], first_seen, True)
    dupes = shop.scalar(
        "SELECT count(*) FROM (SELECT entity, remote_id FROM sync.qbo_mirror"
        " GROUP BY 1, 2 HAVING count(*) > 1) AS d"
    )
    assert dupes == 0


def test_a_page_without_ids_is_refused_by_name(shop: Shop) -> None:
    with pytest.raises(psycopg.Error) as exc:
        shop.db.execute(
            "SELECT api.qbo_import__page('shop', %s, 'Customer', %s::jsonb, 2, false)",
            (shop.realm_id, json.dumps([{"DisplayName": "No id"}])),
        )
    assert exc.value.sqlstate == "PB904"
    assert "has no Id" in str(exc.value)
    shop.db.rollback()
    with pytest.raises(psycopg.Error) as exc:
        shop.db.execute(
            "SELECT api.qbo_import__page('shop', 'other-realm', 'Customer', '[]', 1, true)"
        )
    assert exc.value.sqlstate == "PB902"
    shop.db.rollback()
    assert shop.mirror_count() == 0


def test_throttling_server_errors_and_an_expired_token_are_ridden_out(shop: Shop) -> None:
    shop.batch("Customer", customers(25))
    shop.sb.admin.expire_tokens(shop.realm_id)  # the stored access token is refused: 401
    shop.sb.admin.faults(shop.realm_id, throttle_next=2, error_next=2)
    result = shop.run_import(entities=["Customer"], page_size=10)
    assert result.entities == {"Customer": shop.count("Customer")}
    log = " ".join(shop.sb.admin.fault_log(shop.realm_id))
    assert "429" in log or "throttle" in log.lower()
    assert shop.scalar("SELECT token_version FROM sync.connections WHERE tenant_id = 'shop'") > 1


def test_a_server_that_keeps_failing_stops_the_import_with_a_resumable_checkpoint(
    shop: Shop,
) -> None:
    shop.batch("Customer", customers(25))
    shop.run_import(entities=["Customer"], page_size=10, restart=True)
    shop.sb.admin.faults(shop.realm_id, error_next=50)
    with pytest.raises(bf.BackfillError, match="gave up after 2 attempts"):
        shop.run_import(entities=["Customer"], page_size=10, attempts=2)
    shop.sb.admin.faults(shop.realm_id, replace=True)
    assert shop.run_import(entities=["Customer"], page_size=10).entities == {
        "Customer": shop.count("Customer")
    }
