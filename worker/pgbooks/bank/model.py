"""Typed, frozen data model shared by every bank statement parser.

Amounts are :class:`decimal.Decimal` with the bank's sign: money into the account (credit) is
positive, money out (debit) negative. Floats are refused everywhere.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

__all__ = [
    "ISO4217",
    "Balance",
    "Statement",
    "StatementLine",
    "StatementParseError",
    "finalize_lines",
    "fingerprint",
    "parse_decimal",
    "validate_currency",
]

# ISO 4217 alpha-3 codes: list one (current) plus the pre-euro legacy codes from list three that
# still appear in archived statements (e.g. DEM in old MT940 files). Data, not logic.
_ISO4217_CURRENT = """
AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BOV BRL BSD BTN BWP
BYN BZD CAD CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB
EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY
KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR
MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB
RWF SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD
TWD TZS UAH UGX USD USN UYI UYU UYW UZS VED VES VND VUV WST XAF XAG XAU XBA XBB XBC XBD XCD XCG
XDR XOF XPD XPF XPT XSU XTS XUA XXX YER ZAR ZMW ZWG ZWL
"""
_ISO4217_LEGACY = "ATS BEF CYP DEM EEK ESP FIM FRF GRD HRK IEP ITL LTL LUF LVL MTL NLG PTE SIT SKK"
ISO4217: frozenset[str] = frozenset((_ISO4217_CURRENT + " " + _ISO4217_LEGACY).split())

_DECIMAL_RE = re.compile(r"[+-]?\d+(\.\d+)?")


class StatementParseError(ValueError):
    """A statement file that cannot be parsed; nothing from it may be used.

    ``fmt`` names the format, ``line`` the 1-based source line and ``element`` the element path
    (XML/OFX) at fault when known. ``str(err)`` carries all of them.
    """

    def __init__(
        self,
        fmt: str,
        message: str,
        *,
        line: int | None = None,
        element: str | None = None,
        filename: str | None = None,
    ) -> None:
        self.fmt = fmt
        self.reason = message
        self.line = line
        self.element = element
        self.filename = filename
        where = []
        if filename:
            where.append(filename)
        if line is not None:
            where.append(f"line {line}")
        if element:
            where.append(f"element {element}")
        prefix = f"{fmt}: " + (", ".join(where) + ": " if where else "")
        super().__init__(prefix + message)

    def with_filename(self, filename: str | None) -> StatementParseError:
        if filename is None or self.filename is not None:
            return self
        return StatementParseError(
            self.fmt, self.reason, line=self.line, element=self.element, filename=filename
        )


def validate_currency(code: object) -> str:
    """Return ``code`` if it is a known ISO 4217 alpha-3 code, else raise ``ValueError``."""
    if not isinstance(code, str) or code not in ISO4217:
        raise ValueError(f"invalid ISO 4217 currency code {code!r}")
    return code


def parse_decimal(text: str) -> Decimal:
    """Parse a plain decimal string (``-12.50``) exactly; raise ``ValueError`` otherwise."""
    t = text.strip()
    if not _DECIMAL_RE.fullmatch(t):
        raise ValueError(f"invalid amount {text!r}")
    try:
        return Decimal(t)
    except InvalidOperation as exc:  # pragma: no cover - the regex already guards this
        raise ValueError(f"invalid amount {text!r}") from exc


def _check_amount(name: str, value: object) -> None:
    if isinstance(value, float) or not isinstance(value, Decimal):
        raise TypeError(f"{name} must be decimal.Decimal, got {type(value).__name__}")
    if not value.is_finite():
        raise ValueError(f"{name} must be finite, got {value}")


def _check_date(name: str, value: object, *, optional: bool) -> None:
    if value is None and optional:
        return
    if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
        raise TypeError(f"{name} must be datetime.date, got {type(value).__name__}")


@dataclass(frozen=True, slots=True)
class Balance:
    """A balance the bank states (opening/closing booked balance), signed like lines."""

    amount: Decimal
    currency: str
    date: dt.date | None = None

    def __post_init__(self) -> None:
        _check_amount("Balance.amount", self.amount)
        validate_currency(self.currency)
        _check_date("Balance.date", self.date, optional=True)


@dataclass(frozen=True, slots=True)
class StatementLine:
    """One booked movement on a bank account.

    ``fingerprint`` is filled in by :func:`finalize_lines` (the parsers always do); ``source``
    is ``"line N"`` or an element path, for error messages and audit.
    """

    booking_date: dt.date
    amount: Decimal
    currency: str
    value_date: dt.date | None = None
    bank_id: str | None = None
    description: str = ""
    counterparty_name: str | None = None
    counterparty_ref: str | None = None
    reference: str | None = None
    transaction_code: str | None = None
    source: str = ""
    source_line: int | None = None
    fingerprint: str = ""
    bank_id_unique: bool = True

    def __post_init__(self) -> None:
        _check_amount("StatementLine.amount", self.amount)
        validate_currency(self.currency)
        _check_date("StatementLine.booking_date", self.booking_date, optional=False)
        _check_date("StatementLine.value_date", self.value_date, optional=True)
        if self.bank_id is not None and not self.bank_id.strip():
            raise ValueError("StatementLine.bank_id must be None or non-blank")

    @property
    def dedup_key(self) -> str:
        """The bank's own id when it gives one (and it is unique in its file), else the
        fingerprint. Unique per account: store it keyed by (account_id, dedup_key)."""
        if self.bank_id is not None and self.bank_id_unique:
            return self.bank_id
        return self.fingerprint


@dataclass(frozen=True, slots=True)
class Statement:
    """One account's statement as read from a file (a file may hold several)."""

    account_id: str
    currency: str
    fmt: str
    bank: str | None = None
    statement_id: str | None = None
    period_start: dt.date | None = None
    period_end: dt.date | None = None
    opening_balance: Balance | None = None
    closing_balance: Balance | None = None
    lines: tuple[StatementLine, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        validate_currency(self.currency)
        _check_date("Statement.period_start", self.period_start, optional=True)
        _check_date("Statement.period_end", self.period_end, optional=True)
        if not isinstance(self.lines, tuple):
            raise TypeError("Statement.lines must be a tuple")
        for line in self.lines:
            if not line.fingerprint:
                raise ValueError("Statement lines must be finalized (fingerprint missing)")

    @property
    def total(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal(0))


def _norm_text(text: str) -> str:
    return " ".join(text.split()).casefold()


def _norm_amount(amount: Decimal) -> str:
    return format(amount.normalize(), "f") if amount else "0"


def fingerprint(
    account_id: str,
    booking_date: dt.date,
    amount: Decimal,
    currency: str,
    description: str,
    ordinal: int,
) -> str:
    """sha256 of normalized account|date|amount|currency|description|ordinal.

    Whitespace is collapsed and case folded in account and description; the amount is written
    without trailing zeros so ``8.850`` and ``8.85`` agree.
    """
    payload = "|".join(
        (
            _norm_text(account_id),
            booking_date.isoformat(),
            _norm_amount(amount),
            currency,
            _norm_text(description),
            str(ordinal),
        )
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def finalize_lines(
    statements: Sequence[tuple[str, Iterable[StatementLine]]],
) -> list[tuple[StatementLine, ...]]:
    """Give each line its fingerprint and flag bank ids repeated within one account.

    ``statements`` is ``[(account_id, lines), ...]`` in file order. The ordinal counts earlier
    identical-looking lines of the same account in the same file, so re-importing the same
    file yields the same fingerprints, and two genuinely identical lines stay distinct.
    """
    seen: dict[tuple[str, dt.date, str, str, str], int] = {}
    ids: dict[tuple[str, str], int] = {}
    materialized = [(acct, list(lines)) for acct, lines in statements]
    for acct, lines in materialized:
        for line in lines:
            if line.bank_id is not None:
                key_id = (_norm_text(acct), line.bank_id)
                ids[key_id] = ids.get(key_id, 0) + 1
    out: list[tuple[StatementLine, ...]] = []
    for acct, lines in materialized:
        done: list[StatementLine] = []
        for line in lines:
            key = (
                _norm_text(acct),
                line.booking_date,
                _norm_amount(line.amount),
                line.currency,
                _norm_text(line.description),
            )
            ordinal = seen.get(key, 0)
            seen[key] = ordinal + 1
            unique = line.bank_id is None or ids[(_norm_text(acct), line.bank_id)] == 1
            done.append(
                dataclasses.replace(
                    line,
                    fingerprint=fingerprint(
                        acct,
                        line.booking_date,
                        line.amount,
                        line.currency,
                        line.description,
                        ordinal,
                    ),
                    bank_id_unique=unique,
                )
            )
        out.append(tuple(done))
    return out
