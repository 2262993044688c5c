"""OFX / QFX (v1 SGML and v2 XML) bank and credit-card statements.

Library: ``ofxtools`` reads the header (version, charset) and turns the SGML/XML body into an
``ElementTree``. We deliberately do not call ``OFXTree.convert()``: its full spec validation
refuses common real-world files (bank ids longer than 9 characters, ``LANGUAGE=FRE``...). We
read the few elements a bank statement needs from the tree and validate those ourselves.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import xml.etree.ElementTree as ET
from decimal import Decimal

from ofxtools.header import OFXHeaderError
from ofxtools.Parser import OFXTree, ParseError

from .model import Balance, Statement, StatementLine, StatementParseError, finalize_lines
from .model import parse_decimal as _parse_decimal
from .model import validate_currency as _validate_currency

__all__ = ["parse_ofx"]

FMT = "OFX"
_DATE_RE = re.compile(r"(\d{4})(\d{2})(\d{2})(\d{2}(\d{2}(\d{2}(\.\d{1,6})?)?)?)?\s*(\[[^\]]*\])?")
_STMTTRN_OPEN_RE = re.compile(rb"<STMTTRN>", re.IGNORECASE)
_CLOSE_OFX_RE = re.compile(rb"</OFX>\s*\Z", re.IGNORECASE)
_HEADER_LINE_RE = re.compile(rb"^\s*[A-Z]+\s*:\s*[^\s<]*\s*$")
_STATEMENT_TAGS = {"STMTRS": "BANKACCTFROM", "CCSTMTRS": "CCACCTFROM"}


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def _normalize_v1_header(data: bytes) -> bytes:
    """Drop blank lines inside an OFX v1 header (ofxtools reads exactly nine header lines)."""
    start = data.find(b"<")
    if start <= 0 or not data.lstrip().upper().startswith(b"OFXHEADER"):
        return data
    header_lines = data[:start].splitlines()
    if not all(_HEADER_LINE_RE.match(ln) or not ln.strip() for ln in header_lines):
        return data
    kept = [ln.strip() for ln in header_lines if ln.strip()]
    return b"\r\n".join(kept) + b"\r\n\r\n" + data[start:]


class _Ctx:
    def __init__(self, root: ET.Element) -> None:
        self.parent: dict[int, ET.Element] = {}
        for p in root.iter():
            for c in p:
                self.parent[id(c)] = p

    def path(self, el: ET.Element) -> str:
        parts = [el.tag]
        cur = el
        while id(cur) in self.parent:
            cur = self.parent[id(cur)]
            parts.append(cur.tag)
        return "/".join(reversed(parts))


def _text(el: ET.Element | None) -> str | None:
    if el is None or el.text is None:
        return None
    t = el.text.strip()
    return t or None


def _date(value: str | None, what: str, *, required: bool) -> dt.date | None:
    if value is None:
        if required:
            raise ValueError(f"{what} missing")
        return None
    m = _DATE_RE.fullmatch(value)
    if not m:
        raise ValueError(f"invalid {what} {value!r} (expected YYYYMMDD[HHMMSS[.XXX]][tz])")
    try:
        return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError as exc:
        raise ValueError(f"invalid {what} {value!r}: {exc}") from exc


def _amount(value: str | None, what: str) -> Decimal:
    if value is None:
        raise ValueError(f"{what} missing")
    # OFX allows a comma as decimal separator (spec 3.2.9.1)
    v = value.replace(",", ".") if value.count(",") == 1 and "." not in value else value
    return _parse_decimal(v)


def parse_ofx(data: bytes, *, filename: str | None = None) -> list[Statement]:
    data = _normalize_v1_header(data)
    if not _CLOSE_OFX_RE.search(data):
        raise StatementParseError(
            FMT,
            "document does not end with </OFX> (truncated file?)",
            line=_line_of(data, len(data)),
            filename=filename,
        )
    tree = OFXTree()
    try:
        root = tree.parse(io.BytesIO(data))
    except (OFXHeaderError, ParseError) as exc:
        raise StatementParseError(FMT, f"malformed OFX: {exc}", filename=filename) from exc
    except (UnicodeDecodeError, ValueError, KeyError, IndexError) as exc:
        raise StatementParseError(FMT, f"unreadable OFX: {exc}", filename=filename) from exc
    if root is None or root.tag != "OFX":
        raise StatementParseError(FMT, "root element is not <OFX>", filename=filename)

    ctx = _Ctx(root)
    # map each STMTTRN (document order) to its source line
    offsets = [m.start() for m in _STMTTRN_OPEN_RE.finditer(data)]
    all_trn = list(root.iter("STMTTRN"))
    trn_line: dict[int, int] = {}
    if len(offsets) == len(all_trn):
        trn_line = {id(el): _line_of(data, off) for el, off in zip(all_trn, offsets, strict=True)}

    if any(True for _ in root.iter("INVSTMTRS")):
        raise StatementParseError(
            FMT,
            "investment statements (INVSTMTRS) are not bank statements; not supported",
            element=ctx.path(next(root.iter("INVSTMTRS"))),
            filename=filename,
        )

    raw: list[tuple[dict[str, object], list[StatementLine]]] = []
    for stmt in root.iter():
        if stmt.tag not in _STATEMENT_TAGS:
            continue
        where: ET.Element = stmt
        try:
            cur_el = stmt.find("CURDEF")
            where = cur_el if cur_el is not None else stmt
            currency = _validate_currency(_text(stmt.find("CURDEF")))
            acct_el = stmt.find(_STATEMENT_TAGS[stmt.tag])
            where = acct_el if acct_el is not None else stmt
            acct_id = _text(acct_el.find("ACCTID")) if acct_el is not None else None
            if not acct_id:
                raise ValueError(f"{_STATEMENT_TAGS[stmt.tag]}/ACCTID missing")
            tranlist = stmt.find("BANKTRANLIST")
            start = end = None
            if tranlist is not None:
                where = tranlist
                start = _date(_text(tranlist.find("DTSTART")), "DTSTART", required=False)
                end = _date(_text(tranlist.find("DTEND")), "DTEND", required=False)
            closing = None
            ledger = stmt.find("LEDGERBAL")
            if ledger is not None and _text(ledger.find("BALAMT")) is not None:
                # some banks (e.g. Itau) send an empty <BALAMT>: treat as "no balance given"
                where = ledger
                closing = Balance(
                    amount=_amount(_text(ledger.find("BALAMT")), "LEDGERBAL/BALAMT"),
                    currency=currency,
                    date=_date(_text(ledger.find("DTASOF")), "LEDGERBAL/DTASOF", required=False),
                )
        except (ValueError, TypeError) as exc:
            raise StatementParseError(
                FMT, str(exc), element=ctx.path(where), filename=filename
            ) from exc

        lines: list[StatementLine] = []
        for trn in tranlist.findall("STMTTRN") if tranlist is not None else []:
            lines.append(_line(trn, currency, ctx, trn_line.get(id(trn)), filename))
        meta: dict[str, object] = {
            "account_id": acct_id,
            "currency": currency,
            "start": start,
            "end": end,
            "closing": closing,
            "bank": _text(root.find("SIGNONMSGSRSV1/SONRS/FI/ORG")),
        }
        raw.append((meta, lines))

    if not raw:
        raise StatementParseError(
            FMT, "no bank or credit-card statement (STMTRS/CCSTMTRS) in file", filename=filename
        )
    finalized = finalize_lines([(str(m["account_id"]), lines) for m, lines in raw])
    out = []
    for (meta, _), lines_t in zip(raw, finalized, strict=True):
        out.append(
            Statement(
                account_id=str(meta["account_id"]),
                currency=str(meta["currency"]),
                fmt="ofx",
                bank=meta["bank"] if isinstance(meta["bank"], str) else None,
                period_start=meta["start"] if isinstance(meta["start"], dt.date) else None,
                period_end=meta["end"] if isinstance(meta["end"], dt.date) else None,
                closing_balance=meta["closing"] if isinstance(meta["closing"], Balance) else None,
                lines=lines_t,
            )
        )
    return out


def _line(
    trn: ET.Element, currency: str, ctx: _Ctx, line_no: int | None, filename: str | None
) -> StatementLine:
    try:
        amount = _amount(_text(trn.find("TRNAMT")), "TRNAMT")
        posted = _date(_text(trn.find("DTPOSTED")), "DTPOSTED", required=True)
        assert posted is not None
        avail = _date(_text(trn.find("DTAVAIL")), "DTAVAIL", required=False)
        cur = _text(trn.find("CURRENCY/CURSYM"))
        line_currency = _validate_currency(cur) if cur else currency
        name = _text(trn.find("NAME")) or _text(trn.find("PAYEE/NAME"))
        memo = _text(trn.find("MEMO"))
        description = " / ".join(x for x in (name, memo) if x)
        return StatementLine(
            booking_date=posted,
            value_date=avail,
            amount=amount,
            currency=line_currency,
            bank_id=_text(trn.find("FITID")),
            description=description,
            counterparty_name=name,
            counterparty_ref=_text(trn.find("BANKACCTTO/ACCTID"))
            or _text(trn.find("CCACCTTO/ACCTID")),
            reference=_text(trn.find("REFNUM")) or _text(trn.find("CHECKNUM")),
            transaction_code=_text(trn.find("TRNTYPE")),
            source=f"line {line_no}" if line_no else ctx.path(trn),
            source_line=line_no,
        )
    except (ValueError, TypeError) as exc:
        raise StatementParseError(
            FMT,
            f"transaction: {exc}",
            line=line_no,
            element=None if line_no else ctx.path(trn),
            filename=filename,
        ) from exc
