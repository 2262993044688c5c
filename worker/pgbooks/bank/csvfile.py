"""CSV bank exports, mapped column by column through a :class:`CsvProfile`.

Library: the standard ``csv`` module (quoting, embedded newlines, CR/LF/CRLF line ends). What a
column means differs per bank, so that lives in :mod:`pgbooks.bank.profiles`.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from decimal import Decimal

from .model import Statement, StatementLine, StatementParseError, finalize_lines
from .model import validate_currency as _validate_currency
from .profiles import Column, CsvProfile, match_profile

__all__ = ["parse_csv"]

FMT = "CSV"
_DIGITS_RE = re.compile(r"\d+(\.\d+)?")
_SYMBOLS = "$€£¥ \u00a0"
_DELIMITERS = (",", ";", "\t", "|")


def _decode(data: bytes, profile: CsvProfile) -> str:
    last: UnicodeDecodeError | None = None
    for enc in profile.encodings:
        try:
            return data.decode(enc)
        except UnicodeDecodeError as exc:
            last = exc
        except LookupError as exc:
            raise StatementParseError(FMT, f"profile {profile.name}: {exc}") from exc
    assert last is not None
    line = data.count(b"\n", 0, last.start) + 1
    raise StatementParseError(
        FMT, f"not valid {'/'.join(profile.encodings)} text (byte {last.start})", line=line
    )


def _sniff_delimiter(text: str) -> str:
    first = next((ln for ln in text.splitlines() if ln.strip()), "")
    counts = {d: first.count(d) for d in _DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def parse_amount(raw: str, profile: CsvProfile) -> Decimal | None:
    """Exact amount from a bank-formatted cell; None for an empty cell."""
    s = raw.strip()
    if not s:
        return None
    neg = False
    if s.startswith("(") and s.endswith(")"):
        neg, s = True, s[1:-1]
    s = s.strip(_SYMBOLS)
    if s[:1] in "+-":
        neg ^= s[0] == "-"
        s = s[1:].strip(_SYMBOLS)
    elif s[-1:] in "+-":
        neg ^= s[-1] == "-"
        s = s[:-1].strip(_SYMBOLS)
    if profile.thousands_separator:
        s = s.replace(profile.thousands_separator, "")
    if profile.decimal_separator != ".":
        if "." in s:
            raise ValueError(f"invalid amount {raw!r}")
        s = s.replace(profile.decimal_separator, ".")
    if not _DIGITS_RE.fullmatch(s):
        raise ValueError(f"invalid amount {raw!r}")
    value = Decimal(s)
    return -value if neg else value


class _Row:
    def __init__(self, cells: list[str], index: dict[str, int] | None) -> None:
        self.cells = cells
        self.index = index

    def col(self, spec: tuple[Column, ...]) -> int | None:
        for c in spec:
            if isinstance(c, int):
                return c
            if self.index is not None and c in self.index:
                return self.index[c]
        return None

    def get(self, spec: tuple[Column, ...]) -> str | None:
        i = self.col(spec)
        if i is None:
            return None
        if i >= len(self.cells):
            raise ValueError(f"row has {len(self.cells)} columns, column {i + 1} expected")
        return self.cells[i].strip()

    def join(self, spec: tuple[Column, ...]) -> str:
        parts = []
        for c in spec:
            v = self.get((c,))
            if v:
                parts.append(v)
        return " / ".join(parts)


def _date(raw: str | None, formats: tuple[str, ...], what: str) -> dt.date:
    if not raw:
        raise ValueError(f"{what} empty")
    for fmt in formats:
        try:
            return dt.datetime.strptime(raw, fmt).date()
        except ValueError:
            continue
    raise ValueError(f"invalid {what} {raw!r} (expected {' or '.join(formats)})")


def _signed(row: _Row, p: CsvProfile) -> Decimal:
    if p.amount_columns:
        raw = row.get(p.amount_columns)
        value = parse_amount(raw or "", p)
        if value is None:
            raise ValueError("amount empty")
        if p.direction_columns:
            direction = (row.get(p.direction_columns) or "").casefold()
            if direction in p.debit_values:
                return -abs(value)
            if direction in p.credit_values:
                return abs(value)
            raise ValueError(f"unknown debit/credit marker {direction!r}")
        return -value if p.sign == "debit_positive" else value
    debit = parse_amount(row.get(p.debit_columns) or "", p) if p.debit_columns else None
    credit = parse_amount(row.get(p.credit_columns) or "", p) if p.credit_columns else None
    if debit is not None and credit is not None and debit and credit:
        raise ValueError("both debit and credit filled")
    if debit is None and credit is None:
        raise ValueError("neither debit nor credit filled")
    if debit:
        return -abs(debit)
    return abs(credit) if credit is not None else Decimal(0)


def parse_csv(
    data: bytes, *, filename: str | None = None, profile: CsvProfile | None = None
) -> list[Statement]:
    try:
        return _parse(data, profile)
    except StatementParseError as exc:
        raise exc.with_filename(filename) from exc


def _parse(data: bytes, profile: CsvProfile | None) -> list[Statement]:
    if b"\x00" in data:
        raise StatementParseError(
            FMT,
            "NUL byte: binary data, not CSV",
            line=data.count(b"\n", 0, data.index(b"\x00")) + 1,
        )
    text = _decode(data, profile or match_profile([]))
    delimiter = (profile.delimiter if profile else None) or _sniff_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    header: list[str] | None = None
    index: dict[str, int] | None = None
    groups: dict[tuple[str, str], list[StatementLine]] = {}
    prev_line = 0
    try:
        for cells in reader:
            start_line, prev_line = prev_line + 1, reader.line_num
            if not any(c.strip() for c in cells):
                continue
            if header is None and (profile is None or profile.has_header):
                header = [c.strip() for c in cells]
                if profile is None:
                    profile = match_profile(header)
                index = {}
                for i, h in enumerate(header):
                    index.setdefault(h, i)
                _check_header(profile, index, start_line)
                continue
            if header is not None and [c.strip() for c in cells] == header:
                continue  # header repeated (concatenated exports)
            assert profile is not None
            if (
                header is not None
                and len(cells) > len(header)
                and any(c.strip() for c in cells[len(header) :])
            ):
                raise StatementParseError(
                    FMT,
                    f"row has {len(cells)} cells but the header has {len(header)} "
                    "(an unquoted decimal or thousands separator?)",
                    line=start_line,
                )
            line = _line(_Row(cells, index), profile, start_line)
            groups.setdefault(_line_key(line, _Row(cells, index), profile), []).append(line)
    except csv.Error as exc:
        raise StatementParseError(FMT, f"malformed CSV: {exc}", line=reader.line_num) from exc
    if profile is None or not groups:
        raise StatementParseError(FMT, "no transaction rows", line=prev_line or 1)
    finalized = finalize_lines([(acct, lines) for (acct, _), lines in groups.items()])
    return [
        Statement(
            account_id=acct,
            currency=cur,
            fmt="csv",
            bank=profile.bank or profile.name,
            period_start=min(ln.booking_date for ln in lines),
            period_end=max(ln.booking_date for ln in lines),
            lines=lines,
        )
        for (acct, cur), lines in zip(groups, finalized, strict=True)
    ]


def _line_key(line: StatementLine, row: _Row, p: CsvProfile) -> tuple[str, str]:
    account = (row.get(p.account_columns) if p.account_columns else None) or p.account_id
    return account, line.currency


def _check_header(p: CsvProfile, index: dict[str, int], line: int) -> None:
    def need(spec: tuple[Column, ...], what: str) -> None:
        if spec and not any(isinstance(c, int) or c in index for c in spec):
            raise StatementParseError(
                FMT,
                f"profile {p.name}: {what} column {' / '.join(map(str, spec))} missing from header",
                line=line,
            )

    need(p.date_columns, "date")
    if p.amount_columns:
        need(p.amount_columns, "amount")
    else:
        need(p.debit_columns, "debit")
        need(p.credit_columns, "credit")
    if p.currency is None:
        need(p.currency_columns or ("Currency",), "currency (profile has no fixed currency)")


def _line(row: _Row, p: CsvProfile, line_no: int) -> StatementLine:
    try:
        booking = _date(row.get(p.date_columns), p.date_formats, "date")
        value_raw = row.get(p.value_date_columns) if p.value_date_columns else None
        value_date = _date(value_raw, p.date_formats, "value date") if value_raw else None
        amount = _signed(row, p)
        cur_raw = row.get(p.currency_columns) if p.currency_columns else None
        if cur_raw:
            currency = _validate_currency(cur_raw.upper())
        elif p.currency:
            currency = _validate_currency(p.currency)
        else:
            raise ValueError(f"profile {p.name}: no currency in row or profile")
        return StatementLine(
            booking_date=booking,
            value_date=value_date,
            amount=amount,
            currency=currency,
            bank_id=(row.get(p.id_columns) or None) if p.id_columns else None,
            description=row.join(p.description_columns),
            counterparty_name=(row.get(p.counterparty_columns) or None)
            if p.counterparty_columns
            else None,
            reference=(row.get(p.reference_columns) or None) if p.reference_columns else None,
            source=f"line {line_no}",
            source_line=line_no,
        )
    except ValueError as exc:
        raise StatementParseError(FMT, f"profile {p.name}: {exc}", line=line_no) from exc
