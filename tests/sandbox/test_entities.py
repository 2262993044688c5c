"""Entity rules: totals, line math, discounts, shipping, tax, currency, updates, void/delete."""

from __future__ import annotations

from decimal import Decimal

from .conftest import Company, invoice_body, new_customer


def _fault(resp: object) -> dict[str, str]:
    body = resp.json()  # type: ignore[attr-defined]
    return body["Fault"]["Error"][0]  # type: ignore[no-any-return]


def test_server_computes_totals_subtotal_and_ignores_client_totals(company: Company) -> None:
    cust = new_customer(company)
    body = invoice_body(
        cust["Id"], ("3", 3, "19.99", "59.97"), ("1", None, None, "40.03"), TotalAmt=1, Balance=1
    )
    r = company.post("/invoice", body)
    assert r.status_code == 200, r.text
    inv = r.json()["Invoice"]
    assert Decimal(str(inv["TotalAmt"])) == Decimal("100.00")
    assert Decimal(str(inv["Balance"])) == Decimal("100.00")
    sub = [ln for ln in inv["Line"] if ln["DetailType"] == "SubTotalLineDetail"]
    assert len(sub) == 1 and Decimal(str(sub[0]["Amount"])) == Decimal("100.00")
    assert [ln["LineNum"] for ln in inv["Line"] if "LineNum" in ln] == [1, 2]
    assert inv["DocNumber"] and inv["CustomerRef"]["name"] == "Ann Smith"
    assert "time" in r.json()


def test_6070_round_half_up(company: Company) -> None:
    cust = new_customer(company)
    ok = company.post("/invoice", invoice_body(cust["Id"], ("3", "1.5", "1240.71667", "1861.08")))
    assert ok.status_code == 200, ok.text  # 1861.075005 -> 1861.08
    ok2 = company.post("/invoice", invoice_body(cust["Id"], ("3", 3, "0.335", "1.01")))
    assert ok2.status_code == 200, ok2.text  # 1.005 -> 1.01 (half-up, not banker's)
    bad = company.post("/invoice", invoice_body(cust["Id"], ("3", 3, "0.335", "1.00")))
    assert bad.status_code == 400
    assert _fault(bad)["code"] == "6070"
    assert company.count("Invoice") == 2


def test_discount_shipping_and_tax(company: Company) -> None:
    cust = new_customer(company)
    body = invoice_body(cust["Id"], ("3", 2, "50", "100"))
    body["Line"][0]["SalesItemLineDetail"]["TaxCodeRef"] = {"value": "TAX"}
    body["Line"].append(
        {
            "Amount": 0,
            "DetailType": "DiscountLineDetail",
            "DiscountLineDetail": {"PercentBased": True, "DiscountPercent": 10},
        }
    )
    body["Line"].append(
        {
            "Amount": 7.5,
            "DetailType": "SalesItemLineDetail",
            "SalesItemLineDetail": {"ItemRef": {"value": "SHIPPING_ITEM_ID"}},
        }
    )
    body["TxnTaxDetail"] = {"TxnTaxCodeRef": {"value": "2"}}
    body["ApplyTaxAfterDiscount"] = True
    r = company.post("/invoice", body)
    assert r.status_code == 200, r.text
    inv = r.json()["Invoice"]
    disc = next(ln for ln in inv["Line"] if ln["DetailType"] == "DiscountLineDetail")
    assert Decimal(str(disc["Amount"])) == Decimal("10.00")
    tax = inv["TxnTaxDetail"]
    # taxable 100 - 10 discount = 90; 6.25 % -> 5.63 (5.625 half-up), 1.75 % -> 1.58 (1.575)
    assert [Decimal(str(t["Amount"])) for t in tax["TaxLine"]] == [Decimal("5.63"), Decimal("1.58")]
    assert Decimal(str(tax["TotalTax"])) == Decimal("7.21")
    assert Decimal(str(inv["TotalAmt"])) == Decimal("104.71")  # 100 - 10 + 7.5 + 7.21


def test_multicurrency(sandbox: object, company: Company) -> None:
    cust = new_customer(company)
    r = company.post(
        "/invoice", invoice_body(cust["Id"], ("3", 1, "10", "10"), CurrencyRef={"value": "EUR"})
    )
    assert r.status_code == 400 and _fault(r)["code"] == "6000"  # not enabled
    company.sb.admin.preferences(
        {"CurrencyPrefs": {"MultiCurrencyEnabled": True}}, company.realm_id
    )
    eur = new_customer(company, "Euro GmbH", CurrencyRef={"value": "EUR"})
    r = company.post(
        "/invoice", invoice_body(eur["Id"], ("3", 2, "10.05", "20.10"), ExchangeRate="1.1")
    )
    assert r.status_code == 200, r.text
    inv = r.json()["Invoice"]
    assert inv["CurrencyRef"]["value"] == "EUR"
    assert Decimal(str(inv["HomeTotalAmt"])) == Decimal("22.11")
    wrong = company.post(
        "/invoice", invoice_body(eur["Id"], ("3", 1, "1", "1"), CurrencyRef={"value": "GBP"})
    )
    assert wrong.status_code == 400 and "same currency" in _fault(wrong)["Detail"]


def test_sparse_vs_full_update(company: Company) -> None:
    cust = new_customer(company, "Full Sparse", CompanyName="ACME", Notes="n1")
    r = company.post(
        "/customer", {"Id": cust["Id"], "SyncToken": "0", "sparse": True, "Notes": "n2"}
    )
    c1 = r.json()["Customer"]
    assert c1["SyncToken"] == "1" and c1["CompanyName"] == "ACME" and c1["Notes"] == "n2"
    r = company.post("/customer", {"Id": cust["Id"], "SyncToken": 1, "DisplayName": "Full Sparse"})
    c2 = r.json()["Customer"]
    assert c2["SyncToken"] == "2" and "CompanyName" not in c2 and "Notes" not in c2
    stale = company.post(
        "/customer", {"Id": cust["Id"], "SyncToken": "1", "sparse": True, "Notes": "late"}
    )
    assert stale.status_code == 400
    err = _fault(stale)
    assert err["code"] == "5010" and err["Message"] == "Stale Object Error"
    assert stale.json()["Fault"]["type"] == "ValidationFault"


def test_full_update_replaces_lines_with_new_ids(company: Company) -> None:
    cust = new_customer(company)
    inv = company.post("/invoice", invoice_body(cust["Id"], ("3", 1, "5", "5"))).json()["Invoice"]
    first_id = inv["Line"][0]["Id"]
    upd = dict(inv)
    upd["Line"] = [
        {
            "Amount": 7,
            "DetailType": "SalesItemLineDetail",
            "SalesItemLineDetail": {"ItemRef": {"value": "3"}},
        }
    ]
    r = company.post("/invoice", upd)
    new = r.json()["Invoice"]
    assert new["Line"][0]["Id"] != first_id and Decimal(str(new["TotalAmt"])) == 7
    # unchanged resend does not bump SyncToken (observed QBO behaviour)
    same = company.post("/invoice", new).json()["Invoice"]
    assert same["SyncToken"] == new["SyncToken"]


def test_void_vs_delete_and_name_list_delete(company: Company) -> None:
    cust = new_customer(company)
    inv = company.post("/invoice", invoice_body(cust["Id"], ("3", 1, "5", "5"))).json()["Invoice"]
    v = company.post(
        "/invoice", {"Id": inv["Id"], "SyncToken": inv["SyncToken"]}, operation="void"
    ).json()["Invoice"]
    assert v["SyncToken"] == "1" and v["TotalAmt"] == 0 and v["PrivateNote"] == "Voided"
    assert company.get(f"/invoice/{inv['Id']}").status_code == 200
    d = company.post("/invoice", {"Id": inv["Id"], "SyncToken": "1"}, operation="delete")
    assert d.json()["Invoice"] == {"domain": "QBO", "status": "Deleted", "Id": inv["Id"]}
    gone = company.get(f"/invoice/{inv['Id']}")
    assert gone.status_code == 400 and _fault(gone)["code"] == "610"
    # customer "delete" = inactive + renamed
    c = company.post(
        "/customer", {"Id": cust["Id"], "SyncToken": cust["SyncToken"]}, operation="delete"
    ).json()["Customer"]
    assert c["Active"] is False and c["DisplayName"] == "Ann Smith (deleted)"
    assert company.count("Customer") == 1
    assert new_customer(company, "Ann Smith")["Id"] != cust["Id"]  # name is free again


def test_duplicate_names_shared_namespace(company: Company) -> None:
    new_customer(company, "Shared Name")
    r = company.post("/vendor", {"DisplayName": "shared name"})
    assert r.status_code == 400 and _fault(r)["code"] == "6240"
    r = company.post(
        "/item", {"Name": "Services", "Type": "Service", "IncomeAccountRef": {"value": "2"}}
    )
    assert r.status_code == 400 and _fault(r)["code"] == "6240"


def test_duplicate_docnumber_and_allow(company: Company) -> None:
    cust = new_customer(company)
    first = company.post(
        "/invoice", invoice_body(cust["Id"], ("3", 1, "5", "5"), DocNumber="SO-1")
    ).json()["Invoice"]
    dup = company.post("/invoice", invoice_body(cust["Id"], ("3", 1, "5", "5"), DocNumber="SO-1"))
    assert dup.status_code == 400
    err = _fault(dup)
    assert err["code"] == "6140"
    expected = f"DocNumber=SO-1 is assigned to TxnType=Invoice with TxnId={first['Id']}"
    assert expected in err["Detail"]
    ok = company.post(
        "/invoice",
        invoice_body(cust["Id"], ("3", 1, "5", "5"), DocNumber="SO-1"),
        include="allowduplicatedocnum",
    )
    assert ok.status_code == 200
    assert company.count("Invoice", DocNumber="SO-1") == 2
    # other transaction types have their own number space
    sr = company.post(
        "/salesreceipt", invoice_body(cust["Id"], ("3", 1, "5", "5"), DocNumber="SO-1")
    )
    assert sr.status_code == 200


def test_reference_and_property_faults(company: Company) -> None:
    cust = new_customer(company)
    r = company.post("/invoice", invoice_body("424242", ("3", 1, "5", "5")))
    assert r.status_code == 400 and _fault(r)["code"] == "2500"
    r = company.post("/invoice", invoice_body(cust["Id"], ("999", 1, "5", "5")))
    err = _fault(r)
    assert err["code"] == "2500" and "Line.SalesItemLineDetail.ItemRef" in err["Detail"]
    r = company.post(
        "/invoice",
        {"Line": [{"Amount": 1, "DetailType": "SalesItemLineDetail", "SalesItemLineDetail": {}}]},
    )
    assert _fault(r)["code"] == "2020" and _fault(r)["element"] == "CustomerRef"
    r = company.post(
        "/invoice",
        {
            "CustomerRef": {"value": cust["Id"]},
            "Line": [{"Amount": 1, "DetailType": "SalesItemLineDetail"}],
        },
    )
    assert _fault(r)["element"] == "Line.SalesItemLineDetail"
    r = company.post("/invoice", {"BadJson": True})
    assert r.status_code == 400 and _fault(r)["code"] == "2010"
    assert 'Unrecognized field "BadJson"' in _fault(r)["Detail"]
    r = company.get("/customer/1.5")
    assert _fault(r)["code"] == "2030" and "time" not in r.json()
    r = company.get("/customer/777")
    assert _fault(r)["code"] == "610"
    gone = company.post(
        "/customer", {"Id": cust["Id"], "SyncToken": "0", "sparse": True, "Active": False}
    )
    assert gone.status_code == 200
    r = company.post("/invoice", invoice_body(cust["Id"], ("3", 1, "5", "5")))
    assert _fault(r)["code"] == "610"  # inactive customer
    r = company.get("/customer/1/5")
    assert _fault(r)["code"] == "500" and _fault(r)["Message"] == "Unsupported Operation"


def test_auth_401_403(company: Company) -> None:
    import httpx

    base = f"{company.sb.base_url}/v3/company/{company.realm_id}"
    r = httpx.get(f"{base}/customer/1", headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == 'Bearer realm="Intuit", error="invalid_token"'
    body = r.json()
    assert body["fault"]["error"][0]["code"] == "3200" and "Fault" not in body
    other = f"{company.sb.base_url}/v3/company/{company.sb.realm_id}/customer/1"
    r = httpx.get(other, headers={"Authorization": f"Bearer {company.token}"})
    assert r.status_code == 403 and r.json()["Fault"]["Error"][0]["code"] == "3100"


def test_books_closing_date(company: Company) -> None:
    cust = new_customer(company)
    company.sb.admin.preferences(
        {"AccountingInfoPrefs": {"BookCloseDate": "2024-12-31"}}, company.realm_id
    )
    prefs = company.get("/preferences").json()["Preferences"]
    assert prefs["AccountingInfoPrefs"]["BookCloseDate"] == "2024-12-31"
    r = company.post("/invoice", invoice_body(cust["Id"], ("3", 1, "5", "5"), TxnDate="2024-06-01"))
    assert r.status_code == 400 and _fault(r)["code"] == "6210"
    assert "Account Period Closed" in _fault(r)["Message"]
    ok = company.post(
        "/invoice", invoice_body(cust["Id"], ("3", 1, "5", "5"), TxnDate="2025-01-01")
    )
    assert ok.status_code == 200


def test_sub_customers_and_payment_balance(company: Company) -> None:
    parent = new_customer(company, "Parent Co")
    r = company.post("/customer", {"DisplayName": "Job 1", "ParentRef": {"value": parent["Id"]}})
    assert r.status_code == 400 and _fault(r)["code"] == "6150"
    job = new_customer(company, "Job 1", ParentRef={"value": parent["Id"]}, Job=True)
    assert job["FullyQualifiedName"] == "Parent Co:Job 1" and job["Level"] == 1
    inv = company.post("/invoice", invoice_body(job["Id"], ("3", 1, "80", "80"))).json()["Invoice"]
    pay = company.post(
        "/payment",
        {
            "CustomerRef": {"value": job["Id"]},
            "TotalAmt": 100,
            "Line": [{"Amount": 30, "LinkedTxn": [{"TxnId": inv["Id"], "TxnType": "Invoice"}]}],
        },
    )
    assert pay.status_code == 200, pay.text
    assert Decimal(str(pay.json()["Payment"]["UnappliedAmt"])) == 70
    inv2 = company.get(f"/invoice/{inv['Id']}").json()["Invoice"]
    assert Decimal(str(inv2["Balance"])) == 50
    assert inv2["LinkedTxn"] == [{"TxnId": pay.json()["Payment"]["Id"], "TxnType": "Payment"}]
    j = company.get(f"/customer/{job['Id']}").json()["Customer"]
    p = company.get(f"/customer/{parent['Id']}").json()["Customer"]
    assert Decimal(str(j["Balance"])) == -20  # 50 open - 70 unapplied
    assert Decimal(str(p["BalanceWithJobs"])) == -20 and Decimal(str(p["Balance"])) == 0
    over = company.post(
        "/payment",
        {
            "CustomerRef": {"value": job["Id"]},
            "TotalAmt": 60,
            "Line": [{"Amount": 60, "LinkedTxn": [{"TxnId": inv["Id"], "TxnType": "Invoice"}]}],
        },
    )
    assert over.status_code == 400


def test_other_transaction_types(company: Company) -> None:
    cust = new_customer(company)
    je = company.post(
        "/journalentry",
        {
            "Line": [
                {
                    "Amount": 10,
                    "DetailType": "JournalEntryLineDetail",
                    "JournalEntryLineDetail": {
                        "PostingType": "Debit",
                        "AccountRef": {"value": "6"},
                    },
                },
                {
                    "Amount": 10,
                    "DetailType": "JournalEntryLineDetail",
                    "JournalEntryLineDetail": {
                        "PostingType": "Credit",
                        "AccountRef": {"value": "3"},
                    },
                },
            ]
        },
    )
    assert je.status_code == 200 and je.json()["JournalEntry"]["TotalAmt"] == 10
    bad = company.post(
        "/journalentry",
        {
            "Line": [
                {
                    "Amount": 10,
                    "DetailType": "JournalEntryLineDetail",
                    "JournalEntryLineDetail": {
                        "PostingType": "Debit",
                        "AccountRef": {"value": "6"},
                    },
                }
            ]
        },
    )
    assert bad.status_code == 400
    dep = company.post(
        "/deposit",
        {
            "DepositToAccountRef": {"value": "6"},
            "Line": [
                {
                    "Amount": 25,
                    "DetailType": "DepositLineDetail",
                    "DepositLineDetail": {"AccountRef": {"value": "3"}},
                }
            ],
        },
    )
    assert dep.status_code == 200 and dep.json()["Deposit"]["TotalAmt"] == 25
    pur = company.post(
        "/purchase",
        {
            "PaymentType": "Cash",
            "AccountRef": {"value": "6"},
            "Line": [
                {
                    "Amount": 4.2,
                    "DetailType": "AccountBasedExpenseLineDetail",
                    "AccountBasedExpenseLineDetail": {"AccountRef": {"value": "16"}},
                }
            ],
        },
    )
    assert pur.status_code == 200, pur.text
    tr = company.post(
        "/transfer",
        {"FromAccountRef": {"value": "4"}, "ToAccountRef": {"value": "6"}, "Amount": 12},
    )
    assert tr.status_code == 200
    cm = company.post("/creditmemo", invoice_body(cust["Id"], ("3", 1, "5", "5")))
    assert cm.status_code == 200 and cm.json()["CreditMemo"]["RemainingCredit"] == 5
    for path in ("/term", "/class", "/department", "/paymentmethod"):
        assert company.post(path, {"Name": f"X {path}"}).status_code == 200
    assert (
        company.post(
            "/account", {"Name": "Shopify Clearing", "AccountType": "Other Current Asset"}
        ).status_code
        == 200
    )
