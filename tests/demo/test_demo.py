"""`make demo` as a user runs it (subprocess), twice in a row; its report checked against the
fixtures it sends (numbers derived here from the payload files, not copied from a run)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from pgbooks import demo, devdb

FIX = Path(demo.FIXTURES)


def _load(name: str, *path: str | int) -> Any:
    doc: Any = json.loads((FIX / name).read_bytes())
    for key in path:
        doc = doc[key]
    return doc


def _expected() -> dict[str, Any]:
    order_keys = set()
    for d in demo.SCENARIO:
        if d.topic in ("orders/create", "order.created", "charge.succeeded"):
            obj = _load(d.fixture, *d.path)
            order_keys.add((d.platform, str(obj["id"])))
    shop_order = _load("shopify__slince__Order__view.json", "order")
    lines = sum(Decimal(li["price"]) * li["quantity"] for li in shop_order["line_items"])
    lines -= Decimal(shop_order["total_discounts"])  # Shopify: subtotal is after discounts
    payout = _load("shopify__pyapi__payout.json", "payout")
    woo = _load("woocommerce__derived__wcdocs_v3_orders_examples.json", 0, "body")
    return {
        "orders": len(order_keys),
        "shop_subtotal_consistent": lines == Decimal(shop_order["subtotal_price"]),
        "payout_amount": Decimal(payout["amount"]),
        "woo_total": Decimal(woo["total"]),
        "woo_id": str(woo["id"]),
    }


def _run_demo(pg_server: devdb.Server, dbname: str) -> dict[str, Any]:
    env = dict(
        os.environ,
        TEST_DATABASE_URL=pg_server.url("postgres"),
        PGBOOKS_DEMO_DB=dbname,
        PGBOOKS_PRIVATE_CLUSTER="",
    )
    done = subprocess.run(
        [sys.executable, "-m", "pgbooks.demo", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return dict(json.loads(done.stdout))


@pytest.mark.slow
def test_demo_runs_twice_and_reports_what_the_fixtures_imply(pg_server: devdb.Server) -> None:
    exp = _expected()
    dbname = f"pgbooks_demo_test_{os.getpid()}"
    try:
        first = _run_demo(pg_server, dbname)
        second = _run_demo(pg_server, dbname)  # must work twice in a row
    finally:
        import psycopg

        with psycopg.connect(pg_server.url("postgres"), autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {dbname} WITH (FORCE)")
    for report in (first, second):
        n = len(demo.SCENARIO)
        assert report["webhooks"] == {
            "http_200": n,
            "duplicate_redelivery": 200,
            "forged_signature": 401,
        }
        raw = report["raw_events"]
        assert sum(v for k, v in raw.items() if k.endswith(":applied")) == n
        assert raw.get("shopify:duplicate") == 1 and raw.get("shopify:rejected") == 1
        assert not any(k.endswith((":quarantined", ":pending")) for k in raw)
        assert report["orders_ingested"] == exp["orders"]
        assert report["refunds_ingested"] == 1 and report["payouts_ingested"] == 1
        # The Shopify docs order states a subtotal its lines don't add up to: flagged, not plugged.
        assert not exp["shop_subtotal_consistent"]
        assert report["exceptions_by_reason"].get("TOTALS_MISMATCH") == 1
        docs = {(d["doc_type"], d["source_id"]): d for d in report["documents"]}
        woo = docs[("sales_receipt", f"woo:{exp['woo_id']}")]
        assert woo["qbo_id"] and Decimal(woo["total"]) == exp["woo_total"]
        shop = docs[("sales_receipt", "shop:450789469")]
        assert shop["qbo_id"] is None  # blocked by the mismatch, never posted on a guess
        payouts = report["reconciliation"]["payouts"]
        assert len(payouts) == 1 and payouts[0]["recon_state"] == "matched"
        assert Decimal(payouts[0]["bank_line_amount"]) == exp["payout_amount"]
        assert report["audit"]["ok"] is True and report["audit"]["checked"] > 0
    assert first["documents_posted"] == second["documents_posted"] >= 3
