"""Entity registry: which entities exist, how they behave, which properties they accept."""

from __future__ import annotations

from dataclasses import dataclass

COMMON = frozenset({"Id", "SyncToken", "sparse", "domain", "MetaData", "status", "CustomField"})
TXN_HEADER = frozenset(
    {
        "DocNumber",
        "TxnDate",
        "CurrencyRef",
        "ExchangeRate",
        "PrivateNote",
        "TxnStatus",
        "LinkedTxn",
        "Line",
        "TxnTaxDetail",
        "DepartmentRef",
        "ClassRef",
        "TxnSource",
        "GlobalTaxCalculation",
        "TotalAmt",
        "HomeTotalAmt",
        "AttachableRef",
        "TransactionLocationType",
        "RecurDataRef",
        "TaxExemptionRef",
        "AutoDocNumber",
    }
)
SALES_FORM = TXN_HEADER | frozenset(
    {
        "CustomerRef",
        "ARAccountRef",
        "CustomerMemo",
        "BillAddr",
        "ShipAddr",
        "ShipFromAddr",
        "FreeFormAddress",
        "BillEmail",
        "BillEmailCc",
        "BillEmailBcc",
        "SalesTermRef",
        "DueDate",
        "ShipDate",
        "TrackingNum",
        "ShipMethodRef",
        "ApplyTaxAfterDiscount",
        "PrintStatus",
        "EmailStatus",
        "Balance",
        "HomeBalance",
        "DepositToAccountRef",
        "PaymentMethodRef",
        "PaymentRefNum",
        "AllowIPNPayment",
        "AllowOnlinePayment",
        "AllowOnlineCreditCardPayment",
        "AllowOnlineACHPayment",
        "Deposit",
        "DeliveryInfo",
        "InvoiceLink",
        "EInvoiceStatus",
        "CreditCardPayment",
        "CheckPayment",
        "PaymentType",
        "RemainingCredit",
        "InvoiceRef",
        "ProjectRef",
        "AcceptedBy",
        "AcceptedDate",
        "ExpirationDate",
        "DiscountRate",
        "DiscountAmt",
        "ShippingAmt",
        "TaxFormType",
        "TaxFormNum",
    }
)
PARTY = frozenset(
    {
        "DisplayName",
        "Title",
        "GivenName",
        "MiddleName",
        "FamilyName",
        "Suffix",
        "CompanyName",
        "FullyQualifiedName",
        "PrintOnCheckName",
        "Active",
        "PrimaryEmailAddr",
        "PrimaryPhone",
        "AlternatePhone",
        "Mobile",
        "Fax",
        "WebAddr",
        "OtherAddr",
        "BillAddr",
        "ShipAddr",
        "CurrencyRef",
        "Balance",
        "Notes",
        "Organization",
        "Source",
        "V4IDPseudonym",
    }
)

PROPS: dict[str, frozenset[str]] = {
    "Customer": PARTY
    | {
        "ARAccountRef",
        "BalanceWithJobs",
        "BillWithParent",
        "DefaultTaxCodeRef",
        "IsProject",
        "Job",
        "Level",
        "OpenBalanceDate",
        "ParentRef",
        "PaymentMethodRef",
        "PreferredDeliveryMethod",
        "PrimaryTaxIdentifier",
        "ResaleNum",
        "SalesTermRef",
        "Taxable",
        "RootCustomerRef",
        "TaxExemptionReasonId",
        "ClientEntityId",
        "CustomerTypeRef",
        "SecondaryTaxIdentifier",
        "BusinessNumber",
        "GSTIN",
        "GSTRegistrationType",
    },
    "Vendor": PARTY
    | {
        "APAccountRef",
        "AcctNum",
        "BillRate",
        "TaxIdentifier",
        "TaxReportingBasis",
        "TermRef",
        "Vendor1099",
        "CostRate",
        "BusinessNumber",
        "T4AEligible",
        "T5018Eligible",
        "HasTPAR",
        "GSTIN",
        "GSTRegistrationType",
        "VendorPaymentBankDetail",
    },
    "Employee": PARTY
    | {
        "BillRate",
        "BillableTime",
        "BirthDate",
        "CostRate",
        "EmailAddress",
        "EmployeeNumber",
        "EmployeeType",
        "Gender",
        "HiredDate",
        "PrimaryAddr",
        "ReleasedDate",
        "SSN",
    },
    "Item": frozenset(
        {
            "Name",
            "Sku",
            "Description",
            "Active",
            "SubItem",
            "ParentRef",
            "Level",
            "FullyQualifiedName",
            "Taxable",
            "SalesTaxIncluded",
            "UnitPrice",
            "Type",
            "IncomeAccountRef",
            "PurchaseDesc",
            "PurchaseTaxIncluded",
            "PurchaseCost",
            "ExpenseAccountRef",
            "AssetAccountRef",
            "TrackQtyOnHand",
            "QtyOnHand",
            "InvStartDate",
            "SalesTaxCodeRef",
            "PurchaseTaxCodeRef",
            "AbatementRate",
            "ReverseChargeRate",
            "ServiceType",
            "ItemCategoryType",
            "PrefVendorRef",
            "ClassRef",
            "ItemGroupDetail",
            "ReorderPoint",
            "UQCDisplayText",
            "UQCId",
        }
    ),
    "Account": frozenset(
        {
            "Name",
            "SubAccount",
            "ParentRef",
            "Description",
            "FullyQualifiedName",
            "Active",
            "Classification",
            "AccountType",
            "AccountSubType",
            "AcctNum",
            "CurrentBalance",
            "CurrentBalanceWithSubAccounts",
            "CurrencyRef",
            "TaxCodeRef",
            "OpeningBalance",
            "OpeningBalanceDate",
            "TxnLocationType",
            "AccountAlias",
        }
    ),
    "TaxCode": frozenset(
        {
            "Name",
            "Description",
            "Active",
            "Taxable",
            "TaxGroup",
            "SalesTaxRateList",
            "PurchaseTaxRateList",
            "Hidden",
        }
    ),
    "TaxRate": frozenset(
        {
            "Name",
            "Description",
            "Active",
            "RateValue",
            "AgencyRef",
            "TaxReturnLineRef",
            "SpecialTaxType",
            "DisplayType",
            "EffectiveTaxRate",
        }
    ),
    "PaymentMethod": frozenset({"Name", "Active", "Type"}),
    "Term": frozenset(
        {
            "Name",
            "Active",
            "Type",
            "DueDays",
            "DiscountPercent",
            "DiscountDays",
            "DayOfMonthDue",
            "DueNextMonthDays",
            "DiscountDayOfMonth",
        }
    ),
    "Class": frozenset({"Name", "SubClass", "ParentRef", "FullyQualifiedName", "Active"}),
    "Department": frozenset({"Name", "SubDepartment", "ParentRef", "FullyQualifiedName", "Active"}),
    "Invoice": SALES_FORM,
    "SalesReceipt": SALES_FORM,
    "CreditMemo": SALES_FORM,
    "RefundReceipt": SALES_FORM,
    "Estimate": SALES_FORM,
    "Payment": TXN_HEADER
    | {
        "CustomerRef",
        "ARAccountRef",
        "DepositToAccountRef",
        "PaymentMethodRef",
        "PaymentRefNum",
        "CreditCardPayment",
        "UnappliedAmt",
        "ProcessPayment",
    },
    "Deposit": TXN_HEADER | {"DepositToAccountRef", "CashBack"},
    "JournalEntry": TXN_HEADER | {"Adjustment", "JournalCodeRef", "HomeCurrencyAdjustment"},
    "Purchase": TXN_HEADER
    | {
        "AccountRef",
        "PaymentMethodRef",
        "PaymentRefNum",
        "PaymentType",
        "EntityRef",
        "Credit",
        "RemitToAddr",
        "PrintStatus",
        "PurchaseEx",
    },
    "Transfer": TXN_HEADER | {"FromAccountRef", "ToAccountRef", "Amount"},
    "Attachable": frozenset(
        {
            "AttachableRef",
            "FileName",
            "FileAccessUri",
            "TempDownloadUri",
            "Size",
            "ContentType",
            "Category",
            "Lat",
            "Long",
            "PlaceName",
            "Note",
            "Tag",
            "ThumbnailFileAccessUri",
            "ThumbnailTempDownloadUri",
        }
    ),
    "Bill": TXN_HEADER
    | {
        "VendorRef",
        "APAccountRef",
        "SalesTermRef",
        "DueDate",
        "Balance",
        "VendorAddr",
        "HomeBalance",
    },
}


@dataclass(frozen=True)
class EntitySpec:
    """How one QBO entity behaves in the sandbox."""

    name: str
    kind: str  # "name" (name list) | "txn" | "attachable"
    name_field: str | None = None
    namespace: str | None = None  # uniqueness namespace for names
    voidable: bool = False
    void_via_update: bool = False  # Payment/SalesReceipt: operation=update&include=void
    sales_form: bool = False
    doc_numbers: bool = False  # DocNumber duplicate check / auto-numbering
    auto_number: bool = False
    hierarchical: bool = False  # ParentRef + FullyQualifiedName
    creatable: bool = True
    cdc: bool = True

    @property
    def path(self) -> str:
        return self.name.lower()

    @property
    def props(self) -> frozenset[str]:
        return PROPS.get(self.name, frozenset()) | COMMON


_SPECS = [
    EntitySpec("Customer", "name", "DisplayName", "party", hierarchical=True),
    EntitySpec("Vendor", "name", "DisplayName", "party"),
    EntitySpec("Employee", "name", "DisplayName", "party"),
    EntitySpec("Item", "name", "Name", "Item", hierarchical=True),
    EntitySpec("Account", "name", "Name", "Account", hierarchical=True),
    EntitySpec("TaxCode", "name", "Name", "TaxCode", creatable=False, cdc=False),
    EntitySpec("TaxRate", "name", "Name", "TaxRate", creatable=False, cdc=False),
    EntitySpec("PaymentMethod", "name", "Name", "PaymentMethod"),
    EntitySpec("Term", "name", "Name", "Term"),
    EntitySpec("Class", "name", "Name", "Class", hierarchical=True),
    EntitySpec("Department", "name", "Name", "Department", hierarchical=True),
    EntitySpec(
        "Invoice", "txn", voidable=True, sales_form=True, doc_numbers=True, auto_number=True
    ),
    EntitySpec(
        "SalesReceipt",
        "txn",
        voidable=True,
        void_via_update=True,
        sales_form=True,
        doc_numbers=True,
        auto_number=True,
    ),
    EntitySpec(
        "CreditMemo", "txn", voidable=True, sales_form=True, doc_numbers=True, auto_number=True
    ),
    EntitySpec(
        "RefundReceipt", "txn", voidable=True, sales_form=True, doc_numbers=True, auto_number=True
    ),
    EntitySpec("Estimate", "txn", sales_form=True, doc_numbers=True, auto_number=True),
    EntitySpec("Payment", "txn", voidable=True, void_via_update=True),
    EntitySpec("Deposit", "txn"),
    EntitySpec("JournalEntry", "txn", doc_numbers=True),
    EntitySpec("Purchase", "txn", voidable=True),
    EntitySpec("Transfer", "txn", voidable=True),
    EntitySpec("Bill", "txn"),
    EntitySpec("Attachable", "attachable"),
]

SPECS: dict[str, EntitySpec] = {s.name: s for s in _SPECS}
BY_PATH: dict[str, EntitySpec] = {s.path: s for s in _SPECS}
BY_LOWER: dict[str, EntitySpec] = {s.name.lower(): s for s in _SPECS}

# Which entity a *Ref key points at (for reference validation and stub creation).
REF_TARGETS: dict[str, str] = {
    "CustomerRef": "Customer",
    "VendorRef": "Vendor",
    "ItemRef": "Item",
    "ClassRef": "Class",
    "DepartmentRef": "Department",
    "SalesTermRef": "Term",
    "TermRef": "Term",
    "PaymentMethodRef": "PaymentMethod",
    "DepositToAccountRef": "Account",
    "ARAccountRef": "Account",
    "APAccountRef": "Account",
    "AccountRef": "Account",
    "FromAccountRef": "Account",
    "ToAccountRef": "Account",
    "IncomeAccountRef": "Account",
    "ExpenseAccountRef": "Account",
    "AssetAccountRef": "Account",
    "DiscountAccountRef": "Account",
    "TxnTaxCodeRef": "TaxCode",
    "TaxRateRef": "TaxRate",
    "DefaultTaxCodeRef": "TaxCode",
}

PSEUDO_TAX_CODES = frozenset({"TAX", "NON"})
SHIPPING_ITEM_ID = "SHIPPING_ITEM_ID"


def spec_for_path(segment: str) -> EntitySpec | None:
    """Entity for a URL path segment (case-insensitive)."""
    return BY_PATH.get(segment.lower())
