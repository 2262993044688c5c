"""CSV bank profiles: how one bank's CSV export maps onto a statement line.

A column is named by header text (a tuple lists alternatives, the first present wins) or, for
files without a header row, by 0-based index. Ship a profile per bank export we have seen; the
``generic`` profile reads common English headers with ISO dates and a Currency column.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

__all__ = ["GENERIC", "PROFILES", "Column", "CsvProfile", "get_profile", "match_profile"]

Column = str | int


@dataclass(frozen=True, slots=True)
class CsvProfile:
    name: str
    date_columns: tuple[Column, ...]
    date_formats: tuple[str, ...] = ("%Y-%m-%d",)
    # either one signed amount column ...
    amount_columns: tuple[Column, ...] = ()
    # ... or separate debit/credit columns (unsigned, one of them filled per row)
    debit_columns: tuple[Column, ...] = ()
    credit_columns: tuple[Column, ...] = ()
    # with an amount column: an optional column saying "debit"/"credit" (amount then unsigned)
    direction_columns: tuple[Column, ...] = ()
    debit_values: frozenset[str] = frozenset({"debit", "dr", "d"})
    credit_values: frozenset[str] = frozenset({"credit", "cr", "c"})
    # sign of the amount column: "credit_positive" (money in > 0) or "debit_positive"
    sign: Literal["credit_positive", "debit_positive"] = "credit_positive"
    value_date_columns: tuple[Column, ...] = ()
    description_columns: tuple[Column, ...] = ()
    id_columns: tuple[Column, ...] = ()
    reference_columns: tuple[Column, ...] = ()
    counterparty_columns: tuple[Column, ...] = ()
    account_columns: tuple[Column, ...] = ()
    currency_columns: tuple[Column, ...] = ()
    currency: str | None = None  # fixed currency when the file has no currency column
    account_id: str = ""  # fixed account id when the file has no account column
    decimal_separator: str = "."
    thousands_separator: str | None = ","
    encodings: tuple[str, ...] = ("utf-8-sig",)
    delimiter: str | None = None  # None: sniff among , ; TAB |
    has_header: bool = True
    # header names that identify this export when no profile is given (empty: never matched)
    signature: frozenset[str] = field(default_factory=frozenset)
    bank: str | None = None

    def __post_init__(self) -> None:
        if not self.date_columns:
            raise ValueError(f"profile {self.name}: date_columns required")
        if bool(self.amount_columns) == bool(self.debit_columns or self.credit_columns):
            raise ValueError(
                f"profile {self.name}: give amount_columns or debit/credit columns, not both"
            )
        if self.decimal_separator == self.thousands_separator:
            raise ValueError(f"profile {self.name}: decimal and thousands separators clash")
        if not self.has_header:
            for cols in (self.date_columns, self.amount_columns, self.description_columns):
                if any(not isinstance(c, int) for c in cols):
                    raise ValueError(f"profile {self.name}: headerless needs column indexes")


GENERIC = CsvProfile(
    name="generic",
    date_columns=(
        "Date",
        "Booking Date",
        "Booking date",
        "Posting Date",
        "Posted Date",
        "Transaction Date",
    ),
    value_date_columns=("Value Date", "Value date"),
    amount_columns=("Amount", "amount"),
    description_columns=("Description", "Memo", "Narrative", "Details", "Payee"),
    id_columns=("Transaction ID", "Transaction Id", "FITID", "Id", "ID"),
    reference_columns=("Reference",),
    currency_columns=("Currency", "currency"),
    encodings=("utf-8-sig", "cp1252"),
)

PROFILES: dict[str, CsvProfile] = {
    p.name: p
    for p in (
        CsvProfile(
            name="capitalone",
            bank="Capital One",
            date_columns=("Posted Date",),
            value_date_columns=("Transaction Date",),
            debit_columns=("Debit",),
            credit_columns=("Credit",),
            description_columns=("Description",),
            account_columns=("Card No.",),
            currency="USD",
            signature=frozenset({"Transaction Date", "Posted Date", "Card No.", "Debit", "Credit"}),
        ),
        CsvProfile(
            name="schwab_checking",
            bank="Charles Schwab",
            date_columns=("Date",),
            date_formats=("%m/%d/%Y",),
            debit_columns=("Withdrawal",),
            credit_columns=("Deposit",),
            description_columns=("Description",),
            reference_columns=("CheckNumber",),
            currency="USD",
            signature=frozenset(
                {"Date", "Status", "Type", "CheckNumber", "Withdrawal", "Deposit", "RunningBalance"}
            ),
        ),
        CsvProfile(
            name="mint",
            bank="Mint",
            date_columns=("Date",),
            date_formats=("%m/%d/%y", "%m/%d/%Y"),
            amount_columns=("Amount",),
            direction_columns=("Transaction Type",),
            description_columns=("Description",),
            account_columns=("Account Name",),
            currency="USD",
            signature=frozenset(
                {
                    "Date",
                    "Description",
                    "Original Description",
                    "Amount",
                    "Transaction Type",
                    "Account Name",
                }
            ),
        ),
        CsvProfile(
            name="mint_headerless",
            bank="Mint",
            has_header=False,
            date_columns=(0,),
            date_formats=("%m/%d/%y", "%m/%d/%Y"),
            amount_columns=(3,),
            direction_columns=(4,),
            description_columns=(1,),
            account_columns=(6,),
            currency="USD",
        ),
        CsvProfile(
            name="pcmastercard",
            bank="PC Financial Mastercard",
            date_columns=("Date",),
            date_formats=("%m/%d/%Y",),
            amount_columns=("Amount",),
            sign="debit_positive",  # purchases are positive on a card export
            description_columns=("Merchant Name",),
            account_columns=("Card Used For Transaction",),
            currency="CAD",
            signature=frozenset(
                {"Merchant Name", "Card Used For Transaction", "Date", "Time", "Amount"}
            ),
        ),
        CsvProfile(
            name="creditunion",
            date_columns=("Date",),
            date_formats=("%m/%d/%y",),
            amount_columns=("Amount",),
            sign="debit_positive",
            description_columns=("Description", "Comments"),
            reference_columns=("Check Number",),
            currency=None,  # the export does not say; set it with dataclasses.replace
            signature=frozenset(
                {"Check Number", "Date", "Description", "Amount", "Category", "Comments"}
            ),
        ),
        CsvProfile(
            name="stripe_payments",
            bank="Stripe",
            date_columns=("created", "Created (UTC)", "Created date (UTC)"),
            date_formats=("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"),
            amount_columns=("amount", "Amount"),
            description_columns=("description", "Description"),
            id_columns=("id",),
            currency_columns=("currency", "Currency"),
            signature=frozenset({"id", "created", "amount", "amount_refunded", "currency", "fee"}),
        ),
        GENERIC,
    )
}


def get_profile(name: str) -> CsvProfile:
    try:
        return PROFILES[name]
    except KeyError:
        raise KeyError(f"unknown CSV profile {name!r}; known: {', '.join(PROFILES)}") from None


def match_profile(header: list[str]) -> CsvProfile:
    """The first shipped profile whose signature the header contains, else :data:`GENERIC`."""
    names = {h.strip() for h in header}
    for profile in PROFILES.values():
        if profile.signature and profile.signature <= names:
            return profile
    return GENERIC
