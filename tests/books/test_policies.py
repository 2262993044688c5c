"""Tenant policies: multi-currency, tax models, gift cards, custom fields, customers, periods."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import psycopg
from psycopg.types.json import Jsonb

from pgbooks.books.discover import discover_company_defaults

from .helpers import documents, exceptions, load_shopify_order, post_all, shopify_order

ORDER_NAME = "#1002"
ORDER_EMAIL = "foo@example.com"


def _main(db: psycopg.Connection, tenant: str, order_id: str) -> dict[str, Any]:
    return next(
        d
        for d in documents(db, tenant)
        if d["source_id"] == f"shop1:{order_id}" and d["source_role"] == "main"
    )


def _sale(amount: str, gateway: str = "bogus", tid: str = "t1") -> dict[str, Any]:
    return {"transaction_id": tid, "kind": "sale", "amount": amount, "gateway": gateway}


def test_foreign_currency_order_needs_multicurrency_and_a_rate_then_posts(
    db: psycopg.Connection, sandbox: Any
) -> None:
    realm = sandbox.admin.create_realm(multicurrency=True)
    db.execute("INSERT INTO orders.tenants (tenant_id, name) VALUES ('shop', 'Shop')")
    o = shopify_order(1073459976)  # EUR 238.47 incl. 13.50 tax, guest checkout
    # First on a company without multicurrency: blocked with a config exception.
    db.execute(
        "SELECT api.tenant__apply_company_facts('shop', %s)",
        (Jsonb({"preferences": {"CurrencyPrefs": {"HomeCurrency": {"value": "USD"}}}}),),
    )
    load_shopify_order(db, "shop", o, transactions=[dict(_sale("238.47"), currency="EUR")])
    doc = _main(db, "shop", "1073459976")
    assert doc["status"] == "blocked"
    assert {"MULTICURRENCY_DISABLED", "EXCHANGE_RATE_MISSING"} <= set(exceptions(db, "shop"))
    # The multicurrency company, discovered, and a manual rate: ready, one currency per document.
    with httpx.Client(timeout=10) as client:
        found = discover_company_defaults(
            db,
            "shop",
            client,
            f"{sandbox.base_url}/v3/company/{realm['realm_id']}",
            realm["token"]["access_token"],
        )
    assert found["multicurrency_enabled"] is True
    db.execute(
        "INSERT INTO books.exchange_rates (tenant_id, currency, rate_date, rate)"
        " VALUES ('shop', 'EUR', '2025-07-01', 1.08)"
    )
    db.execute("SELECT api.order__derive('shop', 'shop1', '1073459976')")
    doc = _main(db, "shop", "1073459976")
    assert (doc["status"], doc["currency"], doc["total_amount"]) == (
        "ready",
        "EUR",
        Decimal("238.47"),
    )
    assert doc["body"]["CurrencyRef"] == {"value": "EUR"} and doc["body"]["ExchangeRate"] == 1.08
    cust = next(d for d in documents(db, "shop") if d["document_id"] == doc["depends_on"][0])
    assert cust["source_role"] == "currency:EUR" and cust["body"]["CurrencyRef"] == {"value": "EUR"}
    assert exceptions(db, "shop") == {}
    answers = post_all(db, "shop", sandbox, realm)
    sr = answers[doc["document_id"]]
    assert Decimal(str(sr["TotalAmt"])) == Decimal("238.47")
    assert Decimal(str(sr["HomeTotalAmt"])) == Decimal("257.55")  # 238.47 × 1.08, half-up


def test_per_line_tax_codes_map_each_rate_and_unmapped_rate_is_an_exception(
    db: psycopg.Connection, tenant: str, sandbox: Any
) -> None:
    db.execute(
        "UPDATE books.tenant_settings SET tax_model = 'per_line_codes' WHERE tenant_id = 'shop'"
    )
    o = shopify_order(1073459963)  # State tax + County tax on two lines, one untaxed line
    load_shopify_order(db, tenant, o, transactions=[_sale("270.37")])
    assert exceptions(db, tenant)["TAX_CODE_UNMAPPED"]["detail"]["tax_title"] == "State tax"
    db.execute(
        "INSERT INTO books.tax_code_map (tenant_id, tax_key, tax_code_id) VALUES ('shop', 'State"
        " tax', '2')"
    )
    db.execute("SELECT api.order__derive('shop', 'shop1', '1073459963')")
    doc = _main(db, tenant, "1073459963")
    assert doc["status"] == "ready"
    codes = [x["SalesItemLineDetail"]["TaxCodeRef"]["value"] for x in doc["body"]["Line"]]
    assert codes == ["2", "NON", "2"]
    assert doc["body"]["TxnTaxDetail"] == {"TotalTax": 14.45}
    assert doc["body"]["GlobalTaxCalculation"] == "TaxExcluded"
    answers = post_all(db, tenant, sandbox, sandbox.admin.create_realm())
    assert Decimal(str(answers[doc["document_id"]]["TotalAmt"])) == Decimal("270.37")


def test_gift_card_sold_is_liability_and_gift_card_used_is_tender(
    db: psycopg.Connection, tenant: str, sandbox: Any
) -> None:
    o = shopify_order(1073459972)  # 199.00
    o["line_items"] = [
        dict(o["line_items"][0]),
        dict(o["line_items"][0], id=o["line_items"][0]["id"] + 1, gift_card=True, price="25.00"),
    ]
    o["total_price"] = o["total_line_items_price"] = "224.00"
    load_shopify_order(
        db,
        tenant,
        o,
        transactions=[_sale("50.00", "gift_card", "g1"), _sale("174.00", "bogus", "t2")],
    )
    doc = _main(db, tenant, "1073459972")
    assert (doc["status"], doc["total_amount"]) == (
        "ready",
        Decimal("174.00"),
    )  # collected by the processor
    refs = [
        (x["SalesItemLineDetail"]["ItemRef"]["value"], x["Amount"]) for x in doc["body"]["Line"]
    ]
    assert refs == [("3", 199.00), ("4", 25.00), ("4", -50.00)]  # item 4 = Gift Card (liability)
    answers = post_all(db, tenant, sandbox, sandbox.admin.create_realm())
    assert Decimal(str(answers[doc["document_id"]]["TotalAmt"])) == Decimal("174.00")


def test_custom_field_rules_fill_custom_field_memo_and_doc_number(
    db: psycopg.Connection, tenant: str, sandbox: Any
) -> None:
    rules = [
        {"source": "order.order_number", "target": "CustomField", "definition_id": "1"},
        {"source": "order.email", "target": "Memo"},
        {"source": "order.order_id", "target": "DocNumber"},
        {"source": "channel.platform", "target": "Class", "map": {"shopify": "900"}},
    ]
    db.execute("UPDATE books.tenant_settings SET custom_field_rules = %s", (Jsonb(rules),))
    load_shopify_order(db, tenant, shopify_order(1073459972), transactions=[_sale("199.00")])
    body = _main(db, tenant, "1073459972")["body"]
    assert body["CustomField"] == [
        {"DefinitionId": "1", "Type": "StringType", "StringValue": ORDER_NAME}
    ]
    assert body["DocNumber"] == "1073459972"
    assert body["ClassRef"] == {"value": "900"}
    assert body["CustomerMemo"] == {"value": ORDER_EMAIL}
    # ClassRef 900 does not exist in the sandbox company: post without that rule.
    db.execute("UPDATE books.tenant_settings SET custom_field_rules = %s", (Jsonb(rules[:3]),))
    db.execute("SELECT api.order__derive('shop', 'shop1', '1073459972')")
    doc = _main(db, tenant, "1073459972")
    answers = post_all(db, tenant, sandbox, sandbox.admin.create_realm())
    stored = answers[doc["document_id"]]
    assert stored["DocNumber"] == "1073459972"
    assert stored["CustomField"][0]["StringValue"] == doc["body"]["CustomField"][0]["StringValue"]


def test_sub_customer_strategy_sends_buyer_as_job_of_the_channel_customer(
    db: psycopg.Connection, tenant: str, sandbox: Any
) -> None:
    db.execute("UPDATE books.tenant_settings SET customer_strategy = 'per_buyer_jobs'")
    load_shopify_order(db, tenant, shopify_order(1073459972), transactions=[_sale("199.00")])
    custs = [d for d in documents(db, tenant) if d["doc_type"] == "customer"]
    parent, job = custs
    assert parent["source_type"] == "channel" and job["source_type"] == "customer"
    assert (
        job["body"]["ParentRef"] == {"document_id": parent["document_id"]}
        and job["body"]["Job"] is True
    )
    answers = post_all(db, tenant, sandbox, sandbox.admin.create_realm())
    assert answers[job["document_id"]]["ParentRef"]["value"] == answers[parent["document_id"]]["Id"]


def test_closed_period_holds_or_moves_to_the_first_open_day(
    db: psycopg.Connection, tenant: str
) -> None:
    db.execute(
        "UPDATE books.tenant_settings SET closed_through = '2025-12-31', closed_period_policy ="
        " 'hold'"
    )
    load_shopify_order(db, tenant, shopify_order(1073459972), transactions=[_sale("199.00")])
    assert _main(db, tenant, "1073459972")["status"] == "blocked"
    assert "PERIOD_CLOSED" in exceptions(db, tenant)
    db.execute("UPDATE books.tenant_settings SET closed_period_policy = 'adjust_in_open_period'")
    db.execute("SELECT api.order__derive('shop', 'shop1', '1073459972')")
    doc = _main(db, tenant, "1073459972")
    assert doc["status"] == "ready" and doc["body"]["TxnDate"] == str(date(2026, 1, 1))
    assert exceptions(db, tenant) == {}


def test_custom_field_rules_fill_private_note_class_and_department_accepted_by_quickbooks(
    db: psycopg.Connection, tenant: str, sandbox: Any
) -> None:
    realm = sandbox.admin.create_realm()
    url = f"{sandbox.base_url}/v3/company/{realm['realm_id']}"
    auth = {"Authorization": f"Bearer {realm['token']['access_token']}"}
    with httpx.Client(timeout=10, headers=auth) as client:
        ids = {
            kind: client.post(f"{url}/{kind.lower()}", json={"Name": name}).json()[kind]["Id"]
            for kind, name in (("Class", "Web"), ("Department", "US store"))
        }
    rules = [
        {"source": "order.email", "target": "PrivateNote"},
        {"source": "channel.platform", "target": "Class", "map": {"shopify": ids["Class"]}},
        {"source": "order.currency", "target": "Department", "map": {"USD": ids["Department"]}},
        # A value the map does not name leaves the target alone (no guess).
        {"source": "order.currency", "target": "CustomField", "map": {"EUR": "euro"}},
    ]
    db.execute("UPDATE books.tenant_settings SET custom_field_rules = %s", (Jsonb(rules),))
    load_shopify_order(db, tenant, shopify_order(1073459972), transactions=[_sale("199.00")])
    doc = _main(db, tenant, "1073459972")
    body = doc["body"]
    assert body["PrivateNote"] == ORDER_EMAIL
    assert body["ClassRef"] == {"value": ids["Class"]}
    assert body["DepartmentRef"] == {"value": ids["Department"]}
    assert "CustomField" not in body
    stored = post_all(db, tenant, sandbox, realm)[doc["document_id"]]
    assert stored["PrivateNote"] == ORDER_EMAIL
    assert stored["ClassRef"]["value"] == ids["Class"]
    assert stored["DepartmentRef"]["value"] == ids["Department"]
