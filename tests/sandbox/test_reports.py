"""Reports API: GeneralLedger and ProfitAndLoss add up to the documents actually posted."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from .conftest import Company, invoice_body, new_customer

YEAR = {"start_date": "2025-01-01", "end_date": "2025-12-31"}


def _ok(r: Any, key: str) -> dict[str, Any]:
    assert r.status_code == 200, r.text
    return r.json()[key]  # type: ignore[no-any-return]


def _dec(v: Any) -> Decimal:
    return Decimal(str(v))


def _report(company: Company, name: str, **params: str) -> dict[str, Any]:
    r = company.get(f"/reports/{name}", **params)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def _sections(rows: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for row in rows.get("Row", []):
        if row.get("type") == "Section":
            yield row
            yield from _sections(row.get("Rows", {}))


def _pl_group(report: dict[str, Any], group: str) -> dict[str, Any]:
    return next(r for r in report["Rows"]["Row"] if r.get("group") == group)


def _pl_total(report: dict[str, Any], group: str) -> Decimal:
    value = _pl_group(report, group)["Summary"]["ColData"][-1]["value"]
    return _dec(value or "0")


def _pl_accounts(report: dict[str, Any], group: str) -> dict[str, Decimal]:
    rows = _pl_group(report, group).get("Rows", {}).get("Row", [])
    return {r["ColData"][0]["value"]: _dec(r["ColData"][-1]["value"]) for r in rows}


def _natural_signs(company: Company) -> dict[str, Decimal]:
    """+1 for debit-normal accounts, -1 otherwise, from the company's chart of accounts."""
    q = company.query("select * from Account maxresults 1000")
    accounts = q.json()["QueryResponse"]["Account"]
    signs = {
        a["Id"]: Decimal(1) if a["Classification"] in ("Asset", "Expense") else Decimal(-1)
        for a in accounts
    }
    return defaultdict(lambda: Decimal(-1), signs)  # system accounts not in the chart: equity


def _gl_postings(
    company: Company, report: dict[str, Any]
) -> tuple[list[tuple[str, str, Decimal]], dict[str, Decimal]]:
    """(account id, "Type:id", raw signed amount) per transaction row, and raw opening balances.
    Also checks every section's running balance and total against its own rows."""
    signs = _natural_signs(company)
    rows: list[tuple[str, str, Decimal]] = []
    opening: dict[str, Decimal] = {}
    for top in report["Rows"]["Row"]:
        stack = [(top, top["Header"]["ColData"][0].get("id"))]
        while stack:
            sec, aid = stack.pop()
            sign = signs[aid] if aid in signs else Decimal(-1)
            balance = Decimal(0)
            period = Decimal(0)
            for row in sec["Rows"]["Row"]:
                if row.get("type") == "Section":
                    stack.append((row, aid))  # sub-account headers carry no id (recorded)
                    continue
                cols = row["ColData"]
                if cols[0]["value"] == "Beginning Balance":
                    balance = _dec(cols[7]["value"])
                    opening[str(aid)] = opening.get(str(aid), Decimal(0)) + balance * sign
                    continue
                amount = _dec(cols[6]["value"])
                balance += amount
                period += amount
                assert _dec(cols[7]["value"]) == balance  # running balance
                rows.append((str(aid), f"{cols[1]['value']}:{cols[1]['id']}", amount * sign))
            total = sec["Summary"]["ColData"][6]["value"]
            if total and not any(r.get("type") == "Section" for r in sec["Rows"]["Row"]):
                assert _dec(total) == period
    return rows, opening


def _post_books(company: Company) -> dict[str, Any]:
    """A small set of documents touching every posting entity; returns their responses."""
    cust = new_customer(company, "Reports Customer")
    vendor = _ok(company.post("/vendor", {"DisplayName": "Paper Supply"}), "Vendor")
    inv_body = invoice_body(cust["Id"], ("3", 2, "50", "100"), ("1", 1, "40.03", "40.03"))
    inv_body["Line"][0]["SalesItemLineDetail"]["TaxCodeRef"] = {"value": "TAX"}
    inv_body["Line"].append(
        {
            "Amount": 0,
            "DetailType": "DiscountLineDetail",
            "DiscountLineDetail": {"PercentBased": True, "DiscountPercent": 10},
        }
    )
    inv_body["Line"].append(
        {
            "Amount": "7.50",
            "DetailType": "SalesItemLineDetail",
            "SalesItemLineDetail": {"ItemRef": {"value": "SHIPPING_ITEM_ID"}},
        }
    )
    inv_body.update(TxnDate="2025-03-10", TxnTaxDetail={"TxnTaxCodeRef": {"value": "2"}})
    docs: dict[str, Any] = {"customer": cust}
    docs["invoice"] = _ok(company.post("/invoice", inv_body), "Invoice")
    docs["sales_receipt"] = _ok(
        company.post(
            "/salesreceipt", invoice_body(cust["Id"], ("1", 1, 25, 25), TxnDate="2025-03-11")
        ),
        "SalesReceipt",
    )
    docs["refund"] = _ok(
        company.post(
            "/refundreceipt",
            invoice_body(
                cust["Id"], ("1", 1, 5, 5), TxnDate="2025-03-12", DepositToAccountRef={"value": "6"}
            ),
        ),
        "RefundReceipt",
    )
    docs["credit_memo"] = _ok(
        company.post("/creditmemo", invoice_body(cust["Id"], ("3", 1, 7, 7), TxnDate="2025-03-12")),
        "CreditMemo",
    )
    docs["payment"] = _ok(
        company.post(
            "/payment",
            {
                "CustomerRef": {"value": cust["Id"]},
                "TotalAmt": 50,
                "TxnDate": "2025-03-20",
                "Line": [
                    {
                        "Amount": 50,
                        "LinkedTxn": [{"TxnId": docs["invoice"]["Id"], "TxnType": "Invoice"}],
                    }
                ],
            },
        ),
        "Payment",
    )
    expense_line = {
        "Amount": "12.34",
        "DetailType": "AccountBasedExpenseLineDetail",
        "AccountBasedExpenseLineDetail": {"AccountRef": {"value": "16"}},
    }
    docs["purchase"] = _ok(
        company.post(
            "/purchase",
            {
                "AccountRef": {"value": "6"},
                "PaymentType": "Cash",
                "TxnDate": "2025-03-21",
                "Line": [expense_line],
            },
        ),
        "Purchase",
    )
    bill_line = dict(expense_line, Amount=100)
    bill_line["AccountBasedExpenseLineDetail"] = {"AccountRef": {"value": "7"}}
    docs["bill"] = _ok(
        company.post(
            "/bill",
            {"VendorRef": {"value": vendor["Id"]}, "TxnDate": "2025-03-22", "Line": [bill_line]},
        ),
        "Bill",
    )
    je_lines = [
        {
            "Amount": 10,
            "DetailType": "JournalEntryLineDetail",
            "JournalEntryLineDetail": {"PostingType": side, "AccountRef": {"value": acct}},
        }
        for side, acct in (("Debit", "7"), ("Credit", "6"))
    ]
    docs["journal"] = _ok(
        company.post("/journalentry", {"TxnDate": "2025-03-23", "Line": je_lines}), "JournalEntry"
    )
    docs["deposit"] = _ok(
        company.post(
            "/deposit",
            {
                "DepositToAccountRef": {"value": "6"},
                "TxnDate": "2025-03-24",
                "Line": [
                    {
                        "Amount": 50,
                        "LinkedTxn": [
                            {"TxnId": docs["payment"]["Id"], "TxnType": "Payment", "TxnLineId": "0"}
                        ],
                    },
                    {
                        "Amount": 20,
                        "DetailType": "DepositLineDetail",
                        "DepositLineDetail": {"AccountRef": {"value": "3"}},
                    },
                ],
            },
        ),
        "Deposit",
    )
    docs["transfer"] = _ok(
        company.post(
            "/transfer",
            {
                "FromAccountRef": {"value": "6"},
                "ToAccountRef": {"value": "15"},
                "Amount": 30,
                "TxnDate": "2025-03-25",
            },
        ),
        "Transfer",
    )
    return docs


def _item_lines(doc: dict[str, Any], item: str | None = None) -> Decimal:
    return sum(
        (
            _dec(ln["Amount"])
            for ln in doc["Line"]
            if ln["DetailType"] == "SalesItemLineDetail"
            and (item is None or ln["SalesItemLineDetail"]["ItemRef"]["value"] == item)
        ),
        Decimal(0),
    )


def _discounts(doc: dict[str, Any]) -> Decimal:
    return sum(
        (_dec(ln["Amount"]) for ln in doc["Line"] if ln["DetailType"] == "DiscountLineDetail"),
        Decimal(0),
    )


def test_profit_and_loss_income_equals_the_posted_income_lines(company: Company) -> None:
    d = _post_books(company)
    pl = _report(company, "ProfitAndLoss", **YEAR)
    assert pl["Header"]["ReportName"] == "ProfitAndLoss"
    assert pl["Header"]["StartPeriod"] == "2025-01-01" and pl["Header"]["ReportBasis"] == "Accrual"
    income = (
        _item_lines(d["invoice"])
        - _discounts(d["invoice"])
        + _item_lines(d["sales_receipt"])
        - _item_lines(d["refund"])
        - _item_lines(d["credit_memo"])
        + Decimal(20)  # the deposit's direct income line
    )
    assert _pl_total(pl, "Income") == income
    by_account = _pl_accounts(pl, "Income")
    services = (  # item 1 -> account "Services"
        _item_lines(d["invoice"], "1")
        + _item_lines(d["sales_receipt"], "1")
        - _item_lines(d["refund"], "1")
    )
    assert by_account["Services"] == services
    assert by_account["Discounts given"] == -_discounts(d["invoice"])
    assert by_account["Shipping Income"] == Decimal("7.50")
    assert by_account["Sales of Product Income"] == _item_lines(d["invoice"], "3") - _item_lines(
        d["credit_memo"], "3"
    )
    assert sum(by_account.values()) == income
    expenses = _dec(d["purchase"]["TotalAmt"]) + _dec(d["bill"]["TotalAmt"]) + Decimal(10)
    assert _pl_total(pl, "Expenses") == expenses
    assert _pl_total(pl, "GrossProfit") == income
    assert _pl_total(pl, "NetIncome") == income - expenses
    # python-quickbooks reads the same report
    same = company.qb().get_report("ProfitAndLoss", YEAR)
    assert same["Rows"] == pl["Rows"]


def test_general_ledger_balances_and_matches_the_documents(company: Company) -> None:
    d = _post_books(company)
    gl = _report(company, "GeneralLedger", **YEAR)
    assert gl["Header"]["ReportName"] == "GeneralLedger"
    assert "DateMacro" not in gl["Header"]
    rows, opening = _gl_postings(company, gl)
    assert not opening  # nothing before 2025
    assert sum(a for _, _, a in rows) == 0  # debits = credits
    per_txn: dict[str, Decimal] = defaultdict(Decimal)
    for _, txn, amount in rows:
        per_txn[txn] += amount
    assert all(v == 0 for v in per_txn.values()), per_txn
    inv = d["invoice"]
    ar = [a for acct, txn, a in rows if acct == "5" and txn == f"Invoice:{inv['Id']}"]
    assert ar == [_dec(inv["TotalAmt"])]  # A/R debited with the invoice total
    tax = [a for acct, txn, a in rows if acct == "13"]
    assert tax == [-_dec(inv["TxnTaxDetail"]["TotalTax"])]
    checking = sum((a for acct, _, a in rows if acct == "6"), Decimal(0))
    # deposit 70 in; refund 5, purchase 12.34, journal 10, transfer 30 out
    assert checking == Decimal("70") - 5 - _dec(d["purchase"]["TotalAmt"]) - 10 - 30
    kinds = {txn.split(":")[0] for _, txn, _ in rows}
    assert kinds == {
        "Invoice",
        "Sales Receipt",
        "Refund",
        "Credit Memo",
        "Payment",
        "Expense",
        "Bill",
        "Journal Entry",
        "Deposit",
        "Transfer",
    }


def test_date_range_beginning_balances_and_retained_earnings(company: Company) -> None:
    cust = new_customer(company)
    old = _ok(
        company.post("/invoice", invoice_body(cust["Id"], ("1", 1, 80, 80), TxnDate="2024-12-15")),
        "Invoice",
    )
    _ok(
        company.post("/invoice", invoice_body(cust["Id"], ("1", 1, 15, 15), TxnDate="2025-02-01")),
        "Invoice",
    )
    pl = _report(company, "ProfitAndLoss", **YEAR)
    assert _pl_total(pl, "Income") == 15
    last_year = _report(company, "ProfitAndLoss", start_date="2024-01-01", end_date="2024-12-31")
    assert _pl_total(last_year, "Income") == 80
    gl = _report(company, "GeneralLedger", **YEAR)
    rows, opening = _gl_postings(company, gl)
    assert opening["5"] == _dec(old["TotalAmt"])  # A/R carried in
    titles = [s["Header"]["ColData"][0]["value"] for s in gl["Rows"]["Row"]]
    # last year's income is closed into equity (the demo chart has no such account: QBO's
    # system account is used); A/R and Services still show their 2025 activity
    assert "Retained Earnings" in titles and "Services" in titles
    assert opening["system-Retained Earnings"] == -_dec(old["TotalAmt"])  # a credit
    assert "2" not in opening  # income accounts start the fiscal year at zero
    assert sum(opening.values()) == 0 and sum(a for _, _, a in rows) == 0


def test_void_and_delete_leave_the_books(company: Company) -> None:
    cust = new_customer(company)
    inv = _ok(
        company.post("/invoice", invoice_body(cust["Id"], ("1", 1, 60, 60), TxnDate="2025-05-01")),
        "Invoice",
    )
    sr = _ok(
        company.post(
            "/salesreceipt", invoice_body(cust["Id"], ("1", 1, 9, 9), TxnDate="2025-05-02")
        ),
        "SalesReceipt",
    )
    assert _pl_total(_report(company, "ProfitAndLoss", **YEAR), "Income") == 69
    _ok(company.post("/invoice", {"Id": inv["Id"], "SyncToken": "0"}, operation="void"), "Invoice")
    assert _pl_total(_report(company, "ProfitAndLoss", **YEAR), "Income") == 9
    company.post("/salesreceipt", {"Id": sr["Id"], "SyncToken": "0"}, operation="delete")
    empty = _report(company, "ProfitAndLoss", **YEAR)
    assert empty["Header"]["Option"][-1] == {"Name": "NoReportData", "Value": "true"}
    assert "Rows" not in _pl_group(empty, "Income")
    gl = _report(company, "GeneralLedger", **YEAR)
    assert gl["Rows"] == {} and gl["Header"]["Option"] == [
        {"Name": "NoReportData", "Value": "true"}
    ]


def test_cash_basis_recognises_income_when_paid(company: Company) -> None:
    cust = new_customer(company)
    inv = _ok(
        company.post(
            "/invoice",
            invoice_body(
                cust["Id"],
                ("1", 1, 70, 70),
                ("3", 1, 30, 30),
                TxnDate="2025-06-01",
                TxnTaxDetail={"TxnTaxCodeRef": {"value": "2"}},
            ),
        ),
        "Invoice",
    )
    cash = _report(company, "ProfitAndLoss", accounting_method="Cash", **YEAR)
    assert cash["Header"]["ReportBasis"] == "Cash" and _pl_group(cash, "Income").get("Rows") is None
    _ok(
        company.post(
            "/payment",
            {
                "CustomerRef": {"value": cust["Id"]},
                "TotalAmt": "33.33",
                "TxnDate": "2025-06-15",
                "Line": [
                    {"Amount": "33.33", "LinkedTxn": [{"TxnId": inv["Id"], "TxnType": "Invoice"}]}
                ],
            },
        ),
        "Payment",
    )
    cash = _report(company, "ProfitAndLoss", accounting_method="Cash", **YEAR)
    by_account = _pl_accounts(cash, "Income")
    tax = _dec(inv["TxnTaxDetail"]["TotalTax"])  # 6.25 % + 1.75 % of the taxable 30
    assert tax == Decimal("2.41") and _dec(inv["TotalAmt"]) == Decimal("102.41")
    # 33.33 of 102.41 is paid: income 70 and 30 and tax 2.41, pro rata, half-up
    assert by_account["Services"] == Decimal("22.78")  # 70 * 33.33 / 102.41 = 22.782...
    assert by_account["Sales of Product Income"] == Decimal("9.76")  # 9.763...
    gl = _report(company, "GeneralLedger", accounting_method="Cash", **YEAR)
    rows, _ = _gl_postings(company, gl)
    tax_paid = sum((a for acct, _, a in rows if acct == "13"), Decimal(0))
    assert sum(by_account.values()) - tax_paid == Decimal("33.33")  # exactly the cash received
    accrual = _report(company, "ProfitAndLoss", **YEAR)
    assert _pl_total(accrual, "Income") == 100
    assert sum(a for _, _, a in rows) == 0


def test_summarize_by_customer_and_customer_filter(company: Company) -> None:
    a = new_customer(company, "Alpha")
    b = new_customer(company, "Beta")
    for cust, amount in ((a, 11), (b, 22), (b, 3)):
        _ok(
            company.post(
                "/salesreceipt",
                invoice_body(cust["Id"], ("1", 1, amount, amount), TxnDate="2025-07-01"),
            ),
            "SalesReceipt",
        )
    pl = _report(company, "ProfitAndLoss", summarize_column_by="Customers", **YEAR)
    titles = [c["ColTitle"] for c in pl["Columns"]["Column"]]
    assert titles == ["", "Alpha", "Beta", "TOTAL"]
    row = _pl_group(pl, "Income")["Rows"]["Row"][0]["ColData"]
    assert [c["value"] for c in row] == ["Services", "11.00", "25.00", "36.00"]
    only_b = _report(company, "ProfitAndLoss", customer=b["Id"], **YEAR)
    assert only_b["Header"]["Customer"] == b["Id"] and _pl_total(only_b, "Income") == 25


def test_multicurrency_reports_in_home_currency(company: Company) -> None:
    company.sb.admin.preferences(
        {"CurrencyPrefs": {"MultiCurrencyEnabled": True}}, company.realm_id
    )
    eur = new_customer(company, "Euro GmbH", CurrencyRef={"value": "EUR"})
    inv = _ok(
        company.post(
            "/invoice",
            invoice_body(
                eur["Id"], ("1", 2, "10.05", "20.10"), ExchangeRate="1.1", TxnDate="2025-08-01"
            ),
        ),
        "Invoice",
    )
    pl = _report(company, "ProfitAndLoss", **YEAR)
    assert _pl_total(pl, "Income") == _dec(inv["HomeTotalAmt"]) == Decimal("22.11")
    rows, _ = _gl_postings(company, _report(company, "GeneralLedger", **YEAR))
    assert sum(a for _, _, a in rows) == 0


def test_default_period_and_bad_parameters(company: Company) -> None:
    gl = _report(company, "GeneralLedger")
    assert gl["Header"]["DateMacro"] == "this month-to-date"
    assert gl["Header"]["StartPeriod"].endswith("-01")
    fy = _report(company, "ProfitAndLoss", date_macro="Last Calendar Year")
    assert fy["Header"]["StartPeriod"].endswith("-01-01") and fy["Header"]["EndPeriod"].endswith(
        "-12-31"
    )
    for params, element in (
        ({"start_date": "2025-13-01"}, "start_date"),
        ({"accounting_method": "Modified"}, "accounting_method"),
        ({"date_macro": "Next Decade"}, "date_macro"),
        ({"summarize_column_by": "Weeks"}, "summarize_column_by"),
        ({"start_date": "2025-05-01", "end_date": "2025-04-01"}, "end_date"),
    ):
        r = company.get("/reports/ProfitAndLoss", **params)
        assert r.status_code == 400, params
        assert r.json()["Fault"]["Error"][0]["element"] == element
    unknown = company.get("/reports/BalanceSheet")
    assert unknown.status_code == 400 and unknown.json()["Fault"]["Error"][0]["code"] == "500"
