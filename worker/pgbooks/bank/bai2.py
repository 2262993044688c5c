"""BAI2 (BAI Version 2 cash management balance reporting) files.

Library: ``bai2`` parses the record structure (01/02/03/16/49/88/98/99) and checks the control
totals and record counts of every trailer. Continuation (88) records of an account identifier
(03) are joined by us as the BAI2 specification says (a field is never split across physical
records, so a ``/`` that ends a record is a field boundary): bai2 0.15 guesses the boundary by
counting commas and glues ``...,190/`` + ``88,500000`` into type code ``190500000`` (moov's
sample2 was refused). Some banks end a complete group with a redundant comma before ``/``; for
that case the library's own join is the second reading. A reading is accepted only when every
control total and record count of the file checks, so neither reading can pass a wrong file.

We map its model onto ours: transaction details (16) become lines, signed by their type code
(credit/debit), with the amount's implied decimals taken from the currency's ISO 4217 minor
units; summary type codes 010 and 015 give the opening and closing ledger balances. Line
numbers are recovered by counting the records the library consumes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from bai2.constants import GroupStatus, RecordCode, TypeCodeTransaction
from bai2.exceptions import IntegrityException, NotSupportedYetException, ParsingException
from bai2.helpers import IteratorHelper, RecordBuilderFactory
from bai2.models import Record
from bai2.parsers import Bai2FileParser

from .model import Balance, Statement, StatementLine, StatementParseError, finalize_lines
from .model import validate_currency as _validate_currency

__all__ = ["parse_bai2"]

FMT = "BAI2"
_MINOR_UNITS = {
    **dict.fromkeys(
        "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF".split(), 0
    ),
    **dict.fromkeys("BHD IQD JOD KWD LYD OMR TND".split(), 3),
    **dict.fromkeys("CLF UYW".split(), 4),
}
_OPENING_LEDGER = "010"
_CLOSING_LEDGER = "015"


def _scale(amount: object, currency: str, what: str) -> Decimal:
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise ValueError(f"{what}: amount missing or not an integer ({amount!r})")
    return Decimal(amount).scaleb(-_MINOR_UNITS.get(currency, 2))


def _build_account_identifier_spec(rows: list[tuple[RecordCode, str]]) -> Record:
    """03 + its 88 rows: each row's data ends at a field boundary (``/`` or end of row)."""
    parts = [row[1][:-1] if row[1].endswith("/") else row[1] for row in rows]
    return Record(code=rows[0][0], fields=",".join(parts).split(","), rows=rows)


def _build_transaction_detail(rows: list[tuple[RecordCode, str]]) -> Record:
    """16 + its 88 rows (library join); an omitted ``S`` availability amount defaults to 0.

    BAI2 defaults omitted fields; bai2 0.15 calls ``int('')`` on ``16,115,500000,S,,200000,...``.
    The availability split is not stored by us; the transaction amount is untouched.
    """
    rec: Record = RecordBuilderFactory[RecordCode.transaction_detail](rows)
    if len(rec.fields) >= 6 and rec.fields[2] == "S":
        rec.fields[3:6] = [f if f.strip() else "0" for f in rec.fields[3:6]]
    return rec


def _records(lines: list[str], *, spec_join: bool) -> Iterator[Record]:
    """Physical rows -> logical records (an 88 row continues the record before it)."""
    builders = dict(RecordBuilderFactory)
    builders[RecordCode.transaction_detail] = _build_transaction_detail
    if spec_join:
        builders[RecordCode.account_identifier] = _build_account_identifier_spec
    group: list[tuple[RecordCode, str]] = []
    for line in lines:
        row = (RecordCode(line[:2]), line[3:])
        if row[0] == RecordCode.continuation and group:
            group.append(row)
            continue
        if group:
            yield builders[group[0][0]](group)
        group = [row]
    if group:
        yield builders[group[0][0]](group)


class _CountingHelper(IteratorHelper):
    """IteratorHelper that remembers which record (by index) is current."""

    def __init__(self, lines: list[str], *, spec_join: bool = True) -> None:
        self.index = -1
        self._generator = self._counted(_records(lines, spec_join=spec_join))
        self.current_record: Record | None = None
        self.advance()

    def _counted(self, gen: Iterator[Record]) -> Iterator[Record]:
        for rec in gen:
            self.index += 1
            yield rec


_PARSE_ERRORS = (
    ParsingException,
    IntegrityException,
    NotSupportedYetException,
    ValueError,
    KeyError,
    IndexError,
    TypeError,
    AttributeError,
    StopIteration,
)


def parse_bai2(data: bytes, *, filename: str | None = None) -> list[Statement]:
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise StatementParseError(
            FMT, "non-ASCII byte (BAI2 is ASCII)", line=line, filename=filename
        ) from exc
    # physical lines -> records (an 88 line continues the previous record)
    numbered = [(i + 1, ln.strip()) for i, ln in enumerate(text.splitlines()) if ln.strip()]
    record_lines: list[int] = []
    for no, ln in numbered:
        if not ln.startswith("88"):
            record_lines.append(no)
    lines = [ln for _, ln in numbered]
    if not lines:
        raise StatementParseError(FMT, "empty file", filename=filename)
    # two readings of 03 continuations (see the module docstring); the first that passes every
    # control total wins, the error of the specification's reading is reported otherwise
    first_error: tuple[Exception, _CountingHelper | None] | None = None
    parsed = None
    for spec_join in (True, False):
        helper: _CountingHelper | None = None
        try:
            helper = _CountingHelper(lines, spec_join=spec_join)
            parsed = Bai2FileParser(helper, check_integrity=True).parse()
            break
        except _PARSE_ERRORS as exc:
            if first_error is None:
                first_error = (exc, helper)
    if parsed is None:
        assert first_error is not None
        err, helper = first_error
        err_line: int | None = None
        if helper is not None and 0 <= helper.index < len(record_lines):
            err_line = record_lines[helper.index]
        elif record_lines:
            err_line = record_lines[0]
        msg = str(err) or type(err).__name__
        if isinstance(err, ValueError) and "RecordCode" in msg:
            msg = f"unknown record code ({msg})"
        raise StatementParseError(FMT, msg, line=err_line, filename=filename) from err

    detail_lines = [no for no, ln in numbered if ln.startswith("16")]
    account_lines = [no for no, ln in numbered if ln.startswith("03")]
    try:
        return _build(parsed, detail_lines, account_lines)
    except StatementParseError as exc:
        raise exc.with_filename(filename) from exc


def _build(parsed: Any, detail_lines: list[int], account_lines: list[int]) -> list[Statement]:
    raw: list[tuple[dict[str, object], list[StatementLine]]] = []
    d_index = 0
    a_index = 0
    for group in parsed.children:
        gh = group.header
        if gh.group_status in (GroupStatus.deletion, GroupStatus.test_only):
            raise StatementParseError(
                FMT,
                f"group status {gh.group_status.name} is not importable data",
                line=account_lines[a_index] - 1 if a_index < len(account_lines) else None,
            )
        as_of: dt.date = gh.as_of_date
        for account in group.children:
            ah = account.header
            acct_line = account_lines[a_index] if a_index < len(account_lines) else None
            a_index += 1
            try:
                currency = _validate_currency(ah.currency or gh.currency or "USD")
            except ValueError as exc:
                raise StatementParseError(FMT, str(exc), line=acct_line) from exc
            opening = closing = None
            for s in ah.summary_items:
                code = s.type_code.code if s.type_code else None
                if code in (_OPENING_LEDGER, _CLOSING_LEDGER) and s.amount is not None:
                    bal = Balance(_scale(s.amount, currency, code), currency, as_of)
                    if code == _OPENING_LEDGER:
                        opening = bal
                    else:
                        closing = bal
            lines: list[StatementLine] = []
            for tx in account.children:
                line_no = detail_lines[d_index] if d_index < len(detail_lines) else None
                d_index += 1
                try:
                    kind = tx.type_code.transaction if tx.type_code else None
                    magnitude = _scale(tx.amount, currency, "16 record")
                    if kind == TypeCodeTransaction.credit:
                        amount = magnitude
                    elif kind == TypeCodeTransaction.debit:
                        amount = -magnitude
                    elif magnitude == 0:
                        continue  # non-monetary information record (e.g. type 890)
                    else:
                        raise ValueError(
                            f"type code {tx.type_code.code if tx.type_code else None} is "
                            "neither credit nor debit"
                        )
                    avail = tx.availability or {}
                    value_date = avail.get("date") if isinstance(avail, dict) else None
                    lines.append(
                        StatementLine(
                            booking_date=as_of,
                            value_date=value_date if isinstance(value_date, dt.date) else None,
                            amount=amount,
                            currency=currency,
                            bank_id=(tx.bank_reference or "").strip() or None,
                            description=" ".join((tx.text or "").split()),
                            reference=(tx.customer_reference or "").strip() or None,
                            transaction_code=tx.type_code.code if tx.type_code else None,
                            source=f"line {line_no}",
                            source_line=line_no,
                        )
                    )
                except (ValueError, TypeError) as exc:
                    raise StatementParseError(FMT, str(exc), line=line_no) from exc
            meta: dict[str, object] = {
                "account_id": str(ah.customer_account_number).strip(),
                "currency": currency,
                "bank": gh.originator_id,
                "date": as_of,
                "opening": opening,
                "closing": closing,
            }
            if not meta["account_id"]:
                raise StatementParseError(FMT, "03 record without account number", line=acct_line)
            raw.append((meta, lines))
    if not raw:
        raise StatementParseError(FMT, "file holds no account")
    finalized = finalize_lines([(str(m["account_id"]), lines) for m, lines in raw])
    out = []
    for (meta, _), lines_t in zip(raw, finalized, strict=True):
        as_of_d = meta["date"] if isinstance(meta["date"], dt.date) else None
        out.append(
            Statement(
                account_id=str(meta["account_id"]),
                currency=str(meta["currency"]),
                fmt="bai2",
                bank=str(meta["bank"]) if meta["bank"] else None,
                period_start=as_of_d,
                period_end=as_of_d,
                opening_balance=meta["opening"] if isinstance(meta["opening"], Balance) else None,
                closing_balance=meta["closing"] if isinstance(meta["closing"], Balance) else None,
                lines=lines_t,
            )
        )
    return out
