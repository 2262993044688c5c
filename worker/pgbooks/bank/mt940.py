"""SWIFT MT940 (customer statement) and MT942 (interim report).

Library: ``mt-940`` (import name ``mt940``). ``mt940.parse_statements`` splits the file on
``:20:`` and parses each block's tags; we map its result onto our model and add what it does
not check: an account (:25:) and currency in every block, a closing balance (:62F:/:62M:)
whenever an opening balance is given (a file cut short loses it), and source line numbers.

Some banks (ASN Bank) put the counterparty IBAN, up to 34 characters, in the :61: customer
reference that SWIFT caps at 16 (``...D65,00NOVBNL47INGB9999999999``); mt-940's strict pattern
refuses the line. Such a file is read a second time with the library's own :61: tag parser
configured to accept a reference of up to 34 characters on the first line (the ``tags``
argument of ``parse_statements``). The second reading is used only when the strict one fails,
so a conforming file is read exactly as before.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from decimal import Decimal
from typing import Any

import mt940

from .model import Balance, Statement, StatementLine, StatementParseError, finalize_lines
from .model import validate_currency as _validate_currency

__all__ = ["parse_mt940"]

FMT = "MT940"
_OPTIONS = mt940.Options(
    reversal_sign=True,  # RC is money out, RD money in
    strip_bom=True,
    case_insensitive_marks=True,
    merge_keeps_values=True,
    unbounded_details=True,
    applicant_iban=True,
)


class _LongReferenceStatement(mt940.tags.Statement):
    """:61: with a customer reference of up to 34 characters (IBAN) on its first line."""

    pattern = mt940.tags.Statement.pattern.replace("((?!//)[^\\n]){0,16}", "((?!//)[^\\n]){0,34}")


_LONG_REFERENCE_TAGS: dict[int | str, mt940.tags.Tag] = {61: _LongReferenceStatement()}
_TAG_RE = re.compile(r"^\s*:(?P<tag>\d{2}[A-Z]?|NS):", re.MULTILINE)
# mt940 logs each pattern it fails to match at ERROR level; without a handler Python's
# last-resort handler would print them to stderr. We raise StatementParseError instead.
logging.getLogger("mt940").addHandler(logging.NullHandler())


def _decode(data: bytes) -> str:
    for enc in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")  # pragma: no cover - cp1252 leaves only 5 bytes undefined


def _tag_lines(text: str) -> list[tuple[int, str, str]]:
    """(line number, tag, first line of value) for every tag in the text."""
    out = []
    for m in _TAG_RE.finditer(text):
        line = text.count("\n", 0, m.start()) + 1
        rest = text[m.end() :].split("\n", 1)[0].strip()
        out.append((line, m.group("tag"), rest))
    return out


def _locate(tags: list[tuple[int, str, str]], value: str) -> int | None:
    first = value.strip().split("\n", 1)[0].strip()
    for line, _tag, rest in tags:
        if first and rest.startswith(first[:30]):
            return line
    return None


def _amount(obj: Any, what: str) -> tuple[Decimal, str]:
    amount = getattr(obj, "amount", None)
    currency = getattr(obj, "currency", None)
    if not isinstance(amount, Decimal):
        raise ValueError(f"{what}: amount missing")
    if currency is None:
        raise ValueError(f"{what}: no currency (no :60F:/:60M: opening balance before it)")
    return amount, _validate_currency(currency)


def _as_date(value: object) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return dt.date(value.year, value.month, value.day)
    return None


def _balance(value: object, what: str) -> Balance | None:
    if value is None:
        return None
    amount, currency = _amount(getattr(value, "amount", None), what)
    return Balance(amount=amount, currency=currency, date=_as_date(getattr(value, "date", None)))


def parse_mt940(data: bytes, *, filename: str | None = None) -> list[Statement]:
    text = _decode(data).replace("\r\n", "\n").replace("\r", "\n")
    tags = _tag_lines(text)
    block_starts = [ln for ln, tag, _ in tags if tag == "20"]
    if not block_starts:
        raise StatementParseError(
            FMT, "no :20: statement reference tag found", line=1, filename=filename
        )
    try:
        try:
            blocks = mt940.parse_statements(text, options=_OPTIONS)
        except RuntimeError as strict_exc:
            try:
                blocks = mt940.parse_statements(text, options=_OPTIONS, tags=_LONG_REFERENCE_TAGS)
            except RuntimeError:
                raise strict_exc from None
    except RuntimeError as exc:
        value = exc.args[2] if len(exc.args) > 2 and isinstance(exc.args[2], str) else ""
        tag = getattr(exc.args[1], "id", "?") if len(exc.args) > 1 else "?"
        raise StatementParseError(
            FMT,
            f"cannot parse tag :{tag}: {value.strip()[:80]!r}",
            line=_locate(tags, value),
            filename=filename,
        ) from exc
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
        raise StatementParseError(FMT, f"invalid data: {exc}", filename=filename) from exc
    if len(blocks) != len(block_starts):
        raise StatementParseError(
            FMT,
            f"found {len(block_starts)} :20: tags but parsed {len(blocks)} statements",
            filename=filename,
        )

    tx_lines = [ln for ln, tag, _ in tags if tag == "61"]
    raw: list[tuple[dict[str, object], list[StatementLine]]] = []
    tx_index = 0
    for n, (block, start_line) in enumerate(zip(blocks, block_starts, strict=True)):
        end_line = block_starts[n + 1] if n + 1 < len(block_starts) else 10**9
        try:
            meta, lines, tx_index = _block(block, start_line, end_line, tx_lines, tx_index)
        except StatementParseError as exc:
            raise exc.with_filename(filename) from exc
        raw.append((meta, lines))

    finalized = finalize_lines([(str(m["account_id"]), lines) for m, lines in raw])
    out: list[Statement] = []
    for (meta, _), lines_t in zip(raw, finalized, strict=True):
        opening = meta["opening"] if isinstance(meta["opening"], Balance) else None
        closing = meta["closing"] if isinstance(meta["closing"], Balance) else None
        out.append(
            Statement(
                account_id=str(meta["account_id"]),
                currency=str(meta["currency"]),
                fmt="mt940",
                bank=None,
                statement_id=str(meta["statement_id"]) if meta["statement_id"] else None,
                period_start=opening.date if opening else None,
                period_end=closing.date if closing else None,
                opening_balance=opening,
                closing_balance=closing,
                lines=lines_t,
            )
        )
    return out


def _block(
    block: Any, start_line: int, end_line: int, tx_lines: list[int], tx_index: int
) -> tuple[dict[str, object], list[StatementLine], int]:
    d = block.data
    account = d.get("account_identification")
    if not account:
        raise StatementParseError(FMT, "statement has no :25: account", line=start_line)
    try:
        opening = _balance(
            d.get("final_opening_balance")
            or d.get("opening_balance")
            or d.get("intermediate_opening_balance"),
            ":60: opening balance",
        )
        closing = _balance(
            d.get("final_closing_balance")
            or d.get("closing_balance")
            or d.get("intermediate_closing_balance"),
            ":62: closing balance",
        )
    except ValueError as exc:
        raise StatementParseError(FMT, str(exc), line=start_line) from exc
    if opening is not None and closing is None:
        raise StatementParseError(
            FMT,
            "statement has an opening balance but no :62F:/:62M: closing balance (truncated file?)",
            line=start_line,
        )
    stated = opening or closing
    currency = stated.currency if stated is not None else None

    lines: list[StatementLine] = []
    for tr in block:
        line_no = tx_lines[tx_index] if tx_index < len(tx_lines) else None
        if line_no is not None and line_no >= end_line:
            line_no = None
        tx_index += 1
        t = tr.data
        try:
            amount, line_currency = _amount(t.get("amount"), ":61: amount")
            value_date = _as_date(t.get("date"))
            if value_date is None:
                raise ValueError(":61: value date missing")
            booking = _as_date(t.get("entry_date")) or value_date
            details = t.get("transaction_details") or ""
            purpose = " ".join(
                str(t[k]) for k in ("posting_text", "purpose", "additional_purpose") if t.get(k)
            )
            description = " ".join(str(purpose or details).split())
            bank_ref = (t.get("bank_reference") or "").strip() or None
            if bank_ref and bank_ref.upper() == "NONREF":
                bank_ref = None
            cust_ref = (t.get("customer_reference") or "").strip() or None
            if cust_ref and cust_ref.upper() == "NONREF":
                cust_ref = None
            lines.append(
                StatementLine(
                    booking_date=booking,
                    value_date=value_date,
                    amount=amount,
                    currency=line_currency,
                    bank_id=bank_ref,
                    description=description,
                    counterparty_name=(t.get("applicant_name") or None),
                    counterparty_ref=(t.get("applicant_iban") or None),
                    reference=cust_ref,
                    transaction_code=t.get("id") or None,
                    source=f"line {line_no}" if line_no else f"statement at line {start_line}",
                    source_line=line_no,
                )
            )
        except (ValueError, TypeError) as exc:
            raise StatementParseError(FMT, str(exc), line=line_no or start_line) from exc
    if currency is None:
        if not lines:
            raise StatementParseError(FMT, "statement has no currency", line=start_line)
        currency = lines[0].currency
    meta: dict[str, object] = {
        "account_id": str(account).strip(),
        "currency": currency,
        "statement_id": d.get("transaction_reference"),
        "opening": opening,
        "closing": closing,
    }
    return meta, lines, tx_index
