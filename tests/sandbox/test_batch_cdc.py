"""Batch (per-item faults, bId echo, order, limits) and CDC (window, tombstones)."""

from __future__ import annotations

from .conftest import Company, invoice_body, new_customer


def test_batch_items_in_order_with_per_item_faults(company: Company) -> None:
    cust = new_customer(company)
    inv = company.post("/invoice", invoice_body(cust["Id"], ("3", 1, "5", "5"))).json()["Invoice"]
    r = company.post(
        "/batch",
        {
            "BatchItemRequest": [
                {"bId": "bid1", "operation": "create", "Vendor": {"DisplayName": "Boraski Store"}},
                {"bId": "bid2", "operation": "delete", "Invoice": {"Id": "129", "SyncToken": "0"}},
                {
                    "bId": "bid3",
                    "operation": "update",
                    "Invoice": {
                        "sparse": True,
                        "Id": inv["Id"],
                        "SyncToken": "7",
                        "PrivateNote": "x",
                    },
                },
                {"bId": "bid4", "Query": "select * from Invoice where TotalAmt > '1.00'"},
                {
                    "bId": "bid5",
                    "operation": "update",
                    "optionsData": "void",
                    "Invoice": {"Id": inv["Id"], "SyncToken": "0"},
                },
                {"bId": "bid6", "operation": "create", "Customer": {"DisplayName": "Ann Smith"}},
            ]
        },
    )
    assert r.status_code == 200
    items = r.json()["BatchItemResponse"]
    assert [i["bId"] for i in items] == ["bid1", "bid2", "bid3", "bid4", "bid5", "bid6"]
    assert items[0]["Vendor"]["DisplayName"] == "Boraski Store"
    assert items[1]["Fault"]["Error"][0]["code"] == "610"
    assert items[2]["Fault"]["Error"][0]["code"] == "5010"
    assert items[3]["QueryResponse"]["Invoice"][0]["Id"] == inv["Id"]
    assert items[4]["Invoice"]["PrivateNote"] == "Voided"
    assert items[5]["Fault"]["Error"][0]["code"] == "6240"
    assert "time" in r.json()


def test_batch_items_cannot_see_what_earlier_items_created(company: Company) -> None:
    """Reference §6: items run in order, but without intra-batch references."""
    first = new_customer(company, "Before Batch")
    guess = str(int(first["Id"]) + 1)  # the id the batch's customer will get
    ok_invoice = invoice_body(first["Id"], ("1", 1, 2, 2))
    r = company.post(
        "/batch",
        {
            "BatchItemRequest": [
                {"bId": "c", "operation": "create", "Customer": {"DisplayName": "In Batch"}},
                {"bId": "i", "operation": "create", "Invoice": invoice_body(guess, ("1", 1, 1, 1))},
                {
                    "bId": "u",
                    "operation": "update",
                    "Customer": {"Id": guess, "SyncToken": "0", "sparse": True, "Notes": "x"},
                },
                {"bId": "ok", "operation": "create", "Invoice": ok_invoice},
            ]
        },
    )
    items = {i["bId"]: i for i in r.json()["BatchItemResponse"]}
    assert items["c"]["Customer"]["Id"] == guess
    assert items["i"]["Fault"]["Error"][0]["code"] == "2500"
    assert items["u"]["Fault"]["Error"][0]["code"] == "610"
    assert items["ok"]["Invoice"]["CustomerRef"]["value"] == first["Id"]
    # after the batch the new customer is an ordinary, visible object
    later = company.post("/invoice", invoice_body(guess, ("1", 1, 1, 1)))
    assert later.status_code == 200, later.text


def test_batch_limits(company: Company) -> None:
    too_many = {
        "BatchItemRequest": [
            {"bId": str(i), "operation": "create", "Customer": {"DisplayName": f"C{i}"}}
            for i in range(31)
        ]
    }
    r = company.post("/batch", too_many)
    assert r.status_code == 400 and company.count("Customer") == 0
    r = company.post("/batch", {"BatchItemRequest": []})
    assert r.status_code == 400
    assert r.json()["Fault"]["Error"][0]["Detail"] == "Batch Request is Empty"
    ok = company.post("/batch", {"BatchItemRequest": too_many["BatchItemRequest"][:30]})
    assert ok.status_code == 200 and company.count("Customer") == 30


def test_cdc_changes_and_tombstones(company: Company) -> None:
    import datetime

    since = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=5)
    cust = new_customer(company)
    inv = company.post("/invoice", invoice_body(cust["Id"], ("3", 1, "5", "5"))).json()["Invoice"]
    company.post("/invoice", {"Id": inv["Id"], "SyncToken": "0"}, operation="delete")
    r = company.get(
        "/cdc",
        entities="Customer,Invoice,Payment",
        changedSince=since.strftime("%Y-%m-%dT%H:%M:%S+00:00"),
    )
    assert r.status_code == 200, r.text
    qrs = r.json()["CDCResponse"][0]["QueryResponse"]
    by_entity = {next(k for k in q if k[0].isupper()): q for q in qrs}
    assert by_entity["Customer"]["Customer"][0]["Id"] == cust["Id"]
    assert by_entity["Invoice"]["Invoice"] == [
        {
            "domain": "QBO",
            "status": "Deleted",
            "Id": inv["Id"],
            "MetaData": by_entity["Invoice"]["Invoice"][0]["MetaData"],
        }
    ]
    assert "Payment" not in by_entity
    empty = company.get(
        "/cdc", entities="Payment", changedSince=since.strftime("%Y-%m-%dT%H:%M:%S+00:00")
    ).json()
    assert empty["CDCResponse"] == [{"QueryResponse": [{}]}]


def test_cdc_30_day_window(company: Company) -> None:
    r = company.get("/cdc", entities="Customer", changedSince="2011-10-10T09:00:00-07:00")
    assert r.status_code == 400
    assert "older than fixed days is not supported" in r.json()["Fault"]["Error"][0]["Detail"]
