"""A ready-made company: chart of accounts, items, tax codes, payment methods, terms."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from .clock import Clock
from .state import Realm

CURRENCIES = {
    "USD": "United States Dollar",
    "EUR": "Euro",
    "GBP": "British Pound Sterling",
    "CAD": "Canadian Dollar",
    "AUD": "Australian Dollar",
    "JPY": "Japanese Yen",
}
DEFAULT_RATES = {  # home-currency (USD) units per 1 foreign unit
    "EUR": Decimal("1.08"),
    "GBP": Decimal("1.27"),
    "CAD": Decimal("0.73"),
    "AUD": Decimal("0.66"),
    "JPY": Decimal("0.0067"),
}

CLASSIFICATION = {
    "Bank": "Asset",
    "Accounts Receivable": "Asset",
    "Other Current Asset": "Asset",
    "Fixed Asset": "Asset",
    "Other Asset": "Asset",
    "Accounts Payable": "Liability",
    "Credit Card": "Liability",
    "Other Current Liability": "Liability",
    "Long Term Liability": "Liability",
    "Equity": "Equity",
    "Income": "Revenue",
    "Other Income": "Revenue",
    "Cost of Goods Sold": "Expense",
    "Expense": "Expense",
    "Other Expense": "Expense",
}

# Id, Name, AccountType, AccountSubType
ACCOUNTS = [
    ("1", "Sales of Product Income", "Income", "SalesOfProductIncome"),
    ("2", "Services", "Income", "ServiceFeeIncome"),
    ("3", "Uncategorized Income", "Income", "OtherPrimaryIncome"),
    ("4", "Undeposited Funds", "Other Current Asset", "UndepositedFunds"),
    ("5", "Accounts Receivable (A/R)", "Accounts Receivable", "AccountsReceivable"),
    ("6", "Checking", "Bank", "Checking"),
    ("7", "Uncategorized Expense", "Expense", "OtherMiscellaneousServiceCost"),
    ("8", "Cost of Goods Sold", "Cost of Goods Sold", "SuppliesMaterialsCogs"),
    ("9", "Inventory Asset", "Other Current Asset", "Inventory"),
    ("10", "Accounts Payable (A/P)", "Accounts Payable", "AccountsPayable"),
    ("11", "Discounts given", "Income", "DiscountsRefundsGiven"),
    ("12", "Shipping Income", "Income", "OtherPrimaryIncome"),
    ("13", "Sales Tax Payable", "Other Current Liability", "SalesTaxPayable"),
    ("14", "Opening Balance Equity", "Equity", "OpeningBalanceEquity"),
    ("15", "Visa Credit Card", "Credit Card", "CreditCard"),
    ("16", "Merchant Fees", "Expense", "BankCharges"),
    ("17", "Refunds", "Income", "DiscountsRefundsGiven"),
    ("18", "Uncategorized Asset", "Other Current Asset", "OtherCurrentAssets"),
]


def _meta(clock: Clock) -> dict[str, str]:
    t = clock.meta_time()
    return {"CreateTime": t, "LastUpdatedTime": t}


def _base(eid: str, clock: Clock) -> dict[str, Any]:
    return {"domain": "QBO", "sparse": False, "Id": eid, "SyncToken": "0", "MetaData": _meta(clock)}


def default_preferences(
    clock: Clock, home: str = "USD", multicurrency: bool = False
) -> dict[str, Any]:
    """Company preferences as ``GET /preferences`` returns them."""
    p = _base("1", clock)
    p.update(
        {
            "AccountingInfoPrefs": {
                "TrackDepartments": False,
                "DepartmentTerminology": "Location",
                "ClassTrackingPerTxn": False,
                "ClassTrackingPerTxnLine": False,
                "CustomerTerminology": "Customers",
                "FirstMonthOfFiscalYear": "January",
                "TaxYearMonth": "January",
            },
            "ProductAndServicesPrefs": {
                "ForSales": True,
                "ForPurchase": True,
                "QuantityWithPriceAndRate": True,
                "QuantityOnHand": True,
            },
            "SalesFormsPrefs": {
                "CustomField": [
                    {
                        "CustomField": [
                            {
                                "Name": "SalesFormsPrefs.UseSalesCustom1",
                                "Type": "BooleanType",
                                "BooleanValue": True,
                            },
                            {
                                "Name": "SalesFormsPrefs.SalesCustomName1",
                                "Type": "StringType",
                                "StringValue": "Crew #",
                            },
                        ]
                    }
                ],
                "CustomTxnNumbers": False,
                "AllowDeposit": True,
                "AllowDiscount": True,
                "DefaultDiscountAccount": "11",
                "AllowEstimates": True,
                "AllowShipping": True,
                "DefaultShippingAccount": "12",
                "IPNSupportEnabled": False,
                "AllowServiceDate": False,
                "DefaultTerms": {"value": "3"},
                "ETransactionEnabledStatus": "NotApplicable",
            },
            "VendorAndPurchasesPrefs": {
                "TrackingByCustomer": False,
                "BillableExpenseTracking": False,
                "DefaultTerms": {"value": "3"},
            },
            "TaxPrefs": {
                "UsingSalesTax": True,
                "PartnerTaxEnabled": False,
                "TaxGroupCodeRef": {"value": "2"},
            },
            "CurrencyPrefs": {
                "MultiCurrencyEnabled": multicurrency,
                "HomeCurrency": {"value": home},
            },
            "OtherPrefs": {
                "NameValue": [
                    {
                        "Name": "SalesFormsPrefs.DefaultCustomerMessage",
                        "Value": "Thank you for your business and have a great day!",
                    },
                    {"Name": "VendorAndPurchasesPrefs.UseCustomTxnNumbers", "Value": "false"},
                    {"Name": "WarnDuplicateJournalNumber", "Value": "false"},
                    {"Name": "WarnDuplicateCheckNumber", "Value": "true"},
                    {"Name": "WarnDuplicateBillNumber", "Value": "false"},
                ]
            },
        }
    )
    return p


def build_company(
    realm_id: str,
    clock: Clock,
    name: str = "Sandbox Company US",
    home_currency: str = "USD",
    multicurrency: bool = False,
) -> Realm:
    """A realm seeded with the demo chart of accounts and lists."""
    r = Realm(realm_id=realm_id, company_name=name, clock=clock)
    r.currencies = dict(CURRENCIES)
    r.exchange_rates = dict(DEFAULT_RATES)
    r.custom_fields = [{"DefinitionId": "1", "Name": "Crew #", "Type": "StringType"}]
    cur = {"value": home_currency, "name": CURRENCIES.get(home_currency, home_currency)}
    r.preferences = default_preferences(clock, home_currency, multicurrency)
    info = _base("1", clock)
    info.update(
        {
            "CompanyName": name,
            "LegalName": name,
            "CompanyAddr": {
                "Id": "1",
                "Line1": "123 Sierra Way",
                "City": "San Pablo",
                "CountrySubDivisionCode": "CA",
                "PostalCode": "87999",
            },
            "CustomerCommunicationAddr": {
                "Id": "1",
                "Line1": "123 Sierra Way",
                "City": "San Pablo",
                "CountrySubDivisionCode": "CA",
                "PostalCode": "87999",
            },
            "LegalAddr": {
                "Id": "1",
                "Line1": "123 Sierra Way",
                "City": "San Pablo",
                "CountrySubDivisionCode": "CA",
                "PostalCode": "87999",
            },
            "PrimaryPhone": {},
            "CompanyStartDate": "2024-01-01",
            "FiscalYearStartMonth": "January",
            "Country": "US",
            "Email": {"Address": "noreply@quickbooks.com"},
            "WebAddr": {},
            "SupportedLanguages": "en",
            "NameValue": [
                {"Name": "NeoEnabled", "Value": "true"},
                {"Name": "IsQbdtMigrated", "Value": "false"},
            ],
        }
    )
    info["Id"] = realm_id
    r.company_info = info

    accounts = []
    for aid, aname, atype, sub in ACCOUNTS:
        a = _base(aid, clock)
        a.update(
            {
                "Name": aname,
                "SubAccount": False,
                "FullyQualifiedName": aname,
                "Active": True,
                "Classification": CLASSIFICATION[atype],
                "AccountType": atype,
                "AccountSubType": sub,
                "CurrentBalance": 0,
                "CurrentBalanceWithSubAccounts": 0,
                "CurrencyRef": dict(cur),
            }
        )
        accounts.append(a)

    def item(iid: str, iname: str, itype: str, income: str, price: str, taxable: bool) -> Any:
        it = _base(iid, clock)
        it.update(
            {
                "Name": iname,
                "Description": iname,
                "Active": True,
                "FullyQualifiedName": iname,
                "Taxable": taxable,
                "UnitPrice": Decimal(price),
                "Type": itype,
                "IncomeAccountRef": {"value": income, "name": ACCOUNTS[int(income) - 1][1]},
                "PurchaseCost": 0,
                "TrackQtyOnHand": False,
            }
        )
        return it

    items = [
        item("1", "Services", "Service", "2", "0", False),
        item("2", "Shipping", "Service", "12", "0", False),
        item("3", "Sales", "NonInventory", "1", "0", True),
        item("4", "Gift Card", "NonInventory", "3", "0", False),
    ]
    rates = []
    for rid, rname, val in (("1", "CA State Tax", "6.25"), ("2", "Santa Clara County", "1.75")):
        t = _base(rid, clock)
        t.update(
            {
                "Name": rname,
                "Description": rname,
                "Active": True,
                "RateValue": Decimal(val),
                "AgencyRef": {"value": "1"},
                "SpecialTaxType": "NONE",
                "DisplayType": "ReadOnly",
                "EffectiveTaxRate": [
                    {"RateValue": Decimal(val), "EffectiveDate": "2024-01-01T00:00:00-08:00"}
                ],
            }
        )
        rates.append(t)
    codes = []
    tc = _base("2", clock)
    tc.update(
        {
            "Name": "California",
            "Description": "California",
            "Active": True,
            "Hidden": False,
            "Taxable": True,
            "TaxGroup": True,
            "SalesTaxRateList": {
                "TaxRateDetail": [
                    {
                        "TaxRateRef": {"value": "1", "name": "CA State Tax"},
                        "TaxTypeApplicable": "TaxOnAmount",
                        "TaxOrder": 0,
                    },
                    {
                        "TaxRateRef": {"value": "2", "name": "Santa Clara County"},
                        "TaxTypeApplicable": "TaxOnAmount",
                        "TaxOrder": 0,
                    },
                ]
            },
            "PurchaseTaxRateList": {"TaxRateDetail": []},
        }
    )
    codes.append(tc)
    methods = []
    for mid, mname, mtype in (
        ("1", "Cash", "NON_CREDIT_CARD"),
        ("2", "Check", "NON_CREDIT_CARD"),
        ("3", "Visa", "CREDIT_CARD"),
        ("4", "MasterCard", "CREDIT_CARD"),
        ("5", "American Express", "CREDIT_CARD"),
    ):
        m = _base(mid, clock)
        m.update({"Name": mname, "Active": True, "Type": mtype})
        methods.append(m)
    terms = []
    for tid, tname, days in (
        ("1", "Due on receipt", 0),
        ("2", "Net 15", 15),
        ("3", "Net 30", 30),
        ("4", "Net 60", 60),
    ):
        t = _base(tid, clock)
        t.update(
            {"Name": tname, "Active": True, "Type": "STANDARD", "DueDays": days, "DiscountDays": 0}
        )
        terms.append(t)
    r.import_entities(
        {
            "Account": accounts,
            "Item": items,
            "TaxRate": rates,
            "TaxCode": codes,
            "PaymentMethod": methods,
            "Term": terms,
        }
    )
    r.next_id["TaxCode"] = 3
    r.tombstones.clear()
    return r
