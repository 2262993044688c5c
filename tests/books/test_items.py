"""Item strategies: explicit map, match by SKU/name, auto-create, default; the strict policy."""

from __future__ import annotations

from typing import Any

import psycopg

from .helpers import documents, exceptions, load_shopify_order, post_all, shopify_order


def _settings(db: psycopg.Connection, strategy: str, strict: bool = False) -> None:
    db.execute(
        "UPDATE books.tenant_settings SET item_strategy = %s, item_strict = %s"
        " WHERE tenant_id = 'shop'",
        (strategy, strict),
    )


def _load(db: psycopg.Connection, tenant: str, order_id: int, amount: str, tid: str) -> None:
    load_shopify_order(
        db,
        tenant,
        shopify_order(order_id),
        transactions=[{"transaction_id": tid, "kind": "sale", "amount": amount}],
    )


def _main(db: psycopg.Connection, tenant: str, order_id: int) -> dict[str, Any]:
    return next(
        d
        for d in documents(db, tenant)
        if (d["source_id"], d["source_role"]) == (f"shop1:{order_id}", "main")
    )


def _refs(doc: dict[str, Any]) -> list[Any]:
    return [
        x["SalesItemLineDetail"].get("ItemRef")
        for x in doc["body"]["Line"]
        if x["DetailType"] == "SalesItemLineDetail"
    ]


def test_auto_create_makes_one_noninventory_item_per_sku_created_in_quickbooks_first(
    db: psycopg.Connection, tenant: str, sandbox: Any
) -> None:
    _settings(db, "auto_create")
    _load(db, tenant, 1073459972, "199.00", "t1")  # SKU IPOD2009BLACK, not in the company
    o = shopify_order(1073459981)  # same SKU again, under another title
    o["line_items"][0]["name"] = "iPod Touch (renamed)"
    load_shopify_order(
        db, tenant, o, transactions=[{"transaction_id": "t2", "kind": "sale", "amount": "181.09"}]
    )
    items = [d for d in documents(db, tenant) if d["doc_type"] == "item"]
    assert len(items) == 1  # one item per SKU, whatever the number of orders
    item = items[0]
    assert item["version"] == 1  # the first title names it; no rename back and forth
    assert item["body"] == {
        "Name": "IPod Touch 8GB - Black [IPOD2009BLACK]",
        "Sku": "IPOD2009BLACK",
        "Type": "NonInventory",
        "IncomeAccountRef": {"value": "1"},
    }
    a, b = _main(db, tenant, 1073459972), _main(db, tenant, 1073459981)
    for doc in (a, b):
        assert doc["status"] == "ready"
        assert _refs(doc) == [{"document_id": item["document_id"]}]
        assert item["document_id"] in doc["depends_on"]  # delivered after the item exists
    answers = post_all(db, tenant, sandbox, sandbox.admin.create_realm())
    created = answers[item["document_id"]]
    assert (created["Type"], created["Sku"]) == ("NonInventory", "IPOD2009BLACK")
    for doc in (a, b):
        line = answers[doc["document_id"]]["Line"][0]
        assert line["SalesItemLineDetail"]["ItemRef"]["value"] == created["Id"]


def test_map_or_match_matches_by_sku_ignoring_case_then_by_name(
    db: psycopg.Connection, tenant: str, sandbox: Any
) -> None:
    _settings(db, "map_or_match")
    db.execute(
        "INSERT INTO books.item_map (tenant_id, sku, item_id, item_name) VALUES"
        " ('shop', ' ipod2009black', '3', 'Sales'),"  # same SKU, other case and spacing
        " ('shop', 'COAT-1', '1', 'Red Leather Coat'),"  # matched by the line's title
        " ('shop', 'SHOES-1', '3', 'Blue Suede Shoes')"
    )
    _load(db, tenant, 1073459972, "199.00", "t1")
    assert _refs(_main(db, tenant, 1073459972)) == [{"value": "3"}]
    _load(db, tenant, 1073459963, "270.37", "t2")  # lines without SKU
    doc = _main(db, tenant, 1073459963)
    # Raspberry Beret matches nothing: an exception that says what was tried, no guess.
    assert doc["status"] == "blocked"
    exc = exceptions(db, tenant)["ITEM_UNMAPPED"]
    assert exc["detail"]["title"] == "Raspberry Beret"
    assert "map_or_match" in exc["message"] and "Raspberry Beret" in exc["message"]
    assert _refs(doc) == [{"value": "1"}, {"value": "3"}, None]
    db.execute(
        "INSERT INTO books.item_map (tenant_id, sku, item_id, item_name)"
        " VALUES ('shop', 'BERET', '3', 'raspberry beret')"
    )
    db.execute("SELECT api.order__derive('shop', 'shop1', '1073459963')")
    doc = _main(db, tenant, 1073459963)
    assert doc["status"] == "ready" and exceptions(db, tenant) == {}
    post_all(db, tenant, sandbox, sandbox.admin.create_realm())


def test_strict_policy_refuses_every_fallback_with_a_clear_reason(
    db: psycopg.Connection, tenant: str
) -> None:
    for strategy, says in (
        ("auto_create", "item_strict forbids a fallback"),
        ("map_or_default", "item_strict forbids a fallback"),
        ("map_only", "map_only has no fallback"),
    ):
        _settings(db, strategy, strict=strategy != "map_only")
        if strategy == "auto_create":
            _load(db, tenant, 1073459972, "199.00", "t1")
        else:
            db.execute("SELECT api.order__derive('shop', 'shop1', '1073459972')")
        assert _main(db, tenant, 1073459972)["status"] == "blocked"
        exc = exceptions(db, tenant)["ITEM_UNMAPPED"]
        assert exc["category"] == "mapping"
        assert "IPOD2009BLACK" in exc["message"] and says in exc["message"], exc["message"]
        assert exc["detail"]["item_strategy"] == strategy
        assert not [d for d in documents(db, tenant) if d["doc_type"] == "item"]  # no item made
    # Strict still allows an exact match: it is not a guess.
    _settings(db, "map_or_match", strict=True)
    db.execute(
        "INSERT INTO books.item_map (tenant_id, sku, item_id, item_name)"
        " VALUES ('shop', 'ipod2009black', '3', 'Sales')"
    )
    db.execute("SELECT api.order__derive('shop', 'shop1', '1073459972')")
    assert _main(db, tenant, 1073459972)["status"] == "ready"
    assert exceptions(db, tenant) == {}
