"""The company state the two recorded reports imply (qbo_api cassettes, recorded 2020-09-29).

The GeneralLedger recording ("this month-to-date", 2020-09-01..2020-09-29) shows, per account,
a beginning balance on 2020-09-01 and three transactions dated 2020-09-29 (invoices 264/265 for
Amy's Bird Sanctuary, sales receipt 17). The beginning balances are given here as one balanced
opening journal entry dated 2020-08-31 (debits = credits = 87,644.21, summed from the
recording); the three documents are the ones the report lists. The ProfitAndLoss recording
(customer 1, 2015-01-01..2015-07-31) has no data in that range, which this state also gives.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

RECORDED_AT = "2020-09-29T08:14:02-07:00"  # the GL recording's Header.Time


def _account(aid: str, name: str, atype: str, classification: str, **extra: Any) -> dict[str, Any]:
    return {
        "Id": aid,
        "Name": name,
        "FullyQualifiedName": name,
        "AccountType": atype,
        "Classification": classification,
        "Active": True,
        "SubAccount": False,
        **extra,
    }


def _sub(aid: str, name: str, parent: str, pname: str, atype: str, cls: str) -> dict[str, Any]:
    return _account(
        aid,
        name,
        atype,
        cls,
        SubAccount=True,
        ParentRef={"value": parent},
        FullyQualifiedName=f"{pname}:{name}",
    )


ACCOUNTS = [
    _account("35", "Checking", "Bank", "Asset"),
    _account("36", "Savings", "Bank", "Asset"),
    _account("84", "Accounts Receivable (A/R)", "Accounts Receivable", "Asset"),
    _account("81", "Inventory Asset", "Other Current Asset", "Asset"),
    _account(
        "4", "Undeposited Funds", "Other Current Asset", "Asset", AccountSubType="UndepositedFunds"
    ),
    _account("38", "Truck", "Fixed Asset", "Asset"),
    _sub("39", "Original Cost", "38", "Truck", "Fixed Asset", "Asset"),
    _account("33", "Accounts Payable (A/P)", "Accounts Payable", "Liability"),
    _account("41", "Mastercard", "Credit Card", "Liability"),
    _account("90", "Board of Equalization Payable", "Other Current Liability", "Liability"),
    _account("43", "Loan Payable", "Other Current Liability", "Liability"),
    _account("44", "Notes Payable", "Long Term Liability", "Liability"),
    _account("34", "Opening Balance Equity", "Equity", "Equity"),
    _account("2", "Retained Earnings", "Equity", "Equity", AccountSubType="RetainedEarnings"),
    _account("82", "Design income", "Income", "Revenue"),
    _account("1", "Services", "Income", "Revenue"),
    _account("17", "Rent or Lease", "Expense", "Expense"),
    _account("77", "Utilities", "Expense", "Expense"),
    _sub("78", "Telephone", "77", "Utilities", "Expense", "Expense"),
]

# account id -> signed opening amount (debit > 0), i.e. the recorded beginning balances
OPENING = {
    "35": "976.00",
    "36": "800.00",
    "84": "5004.02",
    "81": "731.25",
    "4": "2062.52",
    "39": "13495.00",
    "34": "9337.50",  # shown as -9337.50: a debit on a credit-normal account
    "2": "48417.40",  # shown as -48417.40
    "17": "6300.00",
    "78": "520.52",
    "33": "-58115.55",
    "41": "-157.72",
    "90": "-370.94",
    "43": "-4000.00",
    "44": "-25000.00",
}


def _je_line(n: int, aid: str, amount: str) -> dict[str, Any]:
    value = Decimal(amount)
    return {
        "Id": str(n),
        "Amount": abs(value),
        "DetailType": "JournalEntryLineDetail",
        "JournalEntryLineDetail": {
            "PostingType": "Debit" if value > 0 else "Credit",
            "AccountRef": {"value": aid},
        },
    }


def _invoice(eid: str, doc: str) -> dict[str, Any]:
    return {
        "Id": eid,
        "DocNumber": doc,
        "TxnDate": "2020-09-29",
        "CustomerRef": {"value": "1", "name": "Amy's Bird Sanctuary"},
        "ARAccountRef": {"value": "84"},
        "Line": [
            {
                "Id": "1",
                "LineNum": 1,
                "Amount": Decimal("100.00"),
                "DetailType": "SalesItemLineDetail",
                "SalesItemLineDetail": {"ItemRef": {"value": "1", "name": "Services"}},
            },
            {"Amount": Decimal("100.00"), "DetailType": "SubTotalLineDetail"},
        ],
        "TxnTaxDetail": {"TotalTax": 0},
        "TotalAmt": Decimal("100.00"),
        "Balance": Decimal("100.00"),
    }


def company() -> dict[str, list[dict[str, Any]]]:
    """Entities to import into a fresh realm for the report cassettes."""
    return {
        "Account": ACCOUNTS,
        "Customer": [{"Id": "1", "DisplayName": "Amy's Bird Sanctuary", "Active": True}],
        "Item": [
            {"Id": "1", "Name": "Services", "Type": "Service", "IncomeAccountRef": {"value": "1"}},
            {"Id": "5", "Name": "Design", "Type": "Service", "IncomeAccountRef": {"value": "82"}},
        ],
        "JournalEntry": [
            {
                "Id": "1",
                "TxnDate": "2020-08-31",
                "DocNumber": "OPENING",
                "Line": [_je_line(n, a, v) for n, (a, v) in enumerate(OPENING.items(), start=1)],
                "TotalAmt": sum(Decimal(v) for v in OPENING.values() if Decimal(v) > 0),
            }
        ],
        "Invoice": [_invoice("264", "1041"), _invoice("265", "1042")],
        "SalesReceipt": [
            {
                "Id": "17",
                "DocNumber": "1008",
                "TxnDate": "2020-09-29",
                "DepositToAccountRef": {"value": "4", "name": "Undeposited Funds"},
                "Line": [
                    {
                        "Id": "1",
                        "LineNum": 1,
                        "Description": "Custom Design",
                        "Amount": Decimal("337.50"),
                        "DetailType": "SalesItemLineDetail",
                        "SalesItemLineDetail": {"ItemRef": {"value": "5", "name": "Design"}},
                    },
                ],
                "TxnTaxDetail": {"TotalTax": 0},
                "TotalAmt": Decimal("337.50"),
                "Balance": 0,
            }
        ],
    }
