"""ISO 20022 camt.053 (statement), camt.052 (account report), camt.054 (notification).

No well-kept Python library parses camt: the PyPI candidates are unmaintained, tied to a single
schema version, or validate against bundled XSDs that real banks' files don't satisfy. camt is
plain, regular XML, so we read it with ``lxml`` and namespace-agnostic paths (matching local
names), which covers every schema version (001.02 ... 001.08+) with one code path. ``lxml`` also
gives us source line numbers for error messages. External entities, DTDs and network access are
disabled.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from lxml import etree

from .model import Balance, Statement, StatementLine, StatementParseError, finalize_lines
from .model import validate_currency as _validate_currency

__all__ = ["parse_camt"]

FMT = "camt"
_CONTAINERS = {
    "BkToCstmrStmt": ("Stmt", "camt.053"),
    "BkToCstmrAcctRpt": ("Rpt", "camt.052"),
    "BkToCstmrDbtCdtNtfctn": ("Ntfctn", "camt.054"),
}
_AMOUNT_RE = re.compile(r"\d{1,18}(\.\d{1,5})?")
_OPENING = ("OPBD", "PRCD")
_CLOSING = ("CLBD",)


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


def _local(el: etree._Element) -> str:
    tag = el.tag
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1]


def _children(el: etree._Element, name: str) -> list[etree._Element]:
    return [c for c in el if _local(c) == name]


def _find(el: etree._Element | None, path: str) -> etree._Element | None:
    """First element along a '/'-separated path of local names."""
    cur = [el] if el is not None else []
    for part in path.split("/"):
        nxt: list[etree._Element] = []
        for c in cur:
            nxt.extend(_children(c, part))
        cur = nxt
        if not cur:
            return None
    return cur[0]


def _findall(el: etree._Element, path: str) -> list[etree._Element]:
    cur = [el]
    for part in path.split("/"):
        nxt: list[etree._Element] = []
        for c in cur:
            nxt.extend(_children(c, part))
        cur = nxt
    return cur


def _text(el: etree._Element | None, path: str | None = None) -> str | None:
    node = _find(el, path) if path else el
    if node is None or node.text is None:
        return None
    t = " ".join(node.text.split())
    return t or None


def _path(el: etree._Element) -> str:
    parts = []
    cur: etree._Element | None = el
    while cur is not None:
        parent = cur.getparent()
        name = _local(cur)
        if parent is not None:
            same = _children(parent, name)
            if len(same) > 1:
                name += f"[{same.index(cur) + 1}]"
        parts.append(name)
        cur = parent
    return "/".join(reversed(parts))


class _Fault(ValueError):
    def __init__(self, el: etree._Element, message: str) -> None:
        super().__init__(message)
        self.el = el


def _date(el: etree._Element | None, what: str, *, required: bool) -> dt.date | None:
    """camt dates come as <Dt>YYYY-MM-DD</Dt> or <DtTm>ISO datetime</DtTm>."""
    if el is None:
        if required:
            raise ValueError(f"{what} missing")
        return None
    d, dtm = _find(el, "Dt"), _find(el, "DtTm")
    node = d if d is not None else dtm
    raw = _text(node)
    if node is None or raw is None:
        if required:
            raise _Fault(el, f"{what} has neither Dt nor DtTm")
        return None
    try:
        if node is d:
            return dt.date.fromisoformat(raw)
        return dt.datetime.fromisoformat(raw.replace("Z", "+00:00")).date()
    except ValueError as exc:
        raise _Fault(node, f"invalid {what} {raw!r}") from exc


def _signed_amount(parent: etree._Element) -> tuple[Decimal, str]:
    amt = _find(parent, "Amt")
    if amt is None:
        raise _Fault(parent, "Amt missing")
    raw = (amt.text or "").strip()
    if not _AMOUNT_RE.fullmatch(raw):
        raise _Fault(amt, f"invalid amount {raw!r}")
    try:
        currency = _validate_currency(amt.get("Ccy"))
    except ValueError as exc:
        raise _Fault(amt, str(exc)) from exc
    ind_el = _find(parent, "CdtDbtInd")
    ind = _text(ind_el)
    if ind not in ("CRDT", "DBIT"):
        raise _Fault(ind_el if ind_el is not None else parent, f"invalid CdtDbtInd {ind!r}")
    value = Decimal(raw)
    return (value if ind == "CRDT" else -value), currency


def _balance(stmt: etree._Element, codes: tuple[str, ...]) -> Balance | None:
    bals = _children(stmt, "Bal")
    for code in codes:
        for bal in bals:
            if _text(bal, "Tp/CdOrPrtry/Cd") == code:
                amount, currency = _signed_amount(bal)
                return Balance(amount, currency, _date(_find(bal, "Dt"), "Bal/Dt", required=False))
    return None


def parse_camt(data: bytes, *, filename: str | None = None) -> list[Statement]:
    try:
        root = etree.fromstring(data, parser=_parser())
    except etree.XMLSyntaxError as exc:
        line = exc.lineno if exc.lineno else None
        raise StatementParseError(
            FMT, f"malformed XML: {exc.msg}", line=line, filename=filename
        ) from exc
    try:
        return _parse_root(root)
    except _Fault as exc:
        raise StatementParseError(
            FMT, str(exc), line=exc.el.sourceline, element=_path(exc.el), filename=filename
        ) from exc
    except (ValueError, TypeError) as exc:
        raise StatementParseError(FMT, str(exc), filename=filename) from exc


def _parse_root(root: etree._Element) -> list[Statement]:
    if _local(root) != "Document":
        raise _Fault(root, f"root element is {_local(root)!r}, expected Document")
    container = next((c for c in root if _local(c) in _CONTAINERS), None)
    if container is None:
        raise _Fault(root, "no BkToCstmrStmt / BkToCstmrAcctRpt / BkToCstmrDbtCdtNtfctn")
    stmt_tag, kind = _CONTAINERS[_local(container)]
    stmts = _children(container, stmt_tag)
    if not stmts:
        raise _Fault(container, f"no {stmt_tag} element")

    raw: list[tuple[dict[str, object], list[StatementLine]]] = []
    for stmt in stmts:
        acct = _find(stmt, "Acct")
        if acct is None:
            raise _Fault(stmt, "Acct missing")
        acct_id = _text(acct, "Id/IBAN") or _text(acct, "Id/Othr/Id")
        if not acct_id:
            raise _Fault(acct, "account has neither Id/IBAN nor Id/Othr/Id")
        ccy_el = _find(acct, "Ccy")
        opening = _balance(stmt, _OPENING)
        closing = _balance(stmt, _CLOSING)
        entries = _children(stmt, "Ntry")
        if ccy_el is not None:
            try:
                currency = _validate_currency(_text(ccy_el))
            except ValueError as exc:
                raise _Fault(ccy_el, str(exc)) from exc
        else:
            first = [b for b in (opening, closing) if b is not None]
            if first:
                currency = first[0].currency
            elif entries:
                currency = _signed_amount(entries[0])[1]
            else:
                raise _Fault(acct, "no currency: neither Acct/Ccy, a balance nor an entry")
        lines = [ln for ln in (_entry(e) for e in entries) if ln is not None]
        frto = _find(stmt, "FrToDt")
        meta: dict[str, object] = {
            "account_id": acct_id,
            "currency": currency,
            "statement_id": _text(stmt, "Id"),
            "bank": _text(acct, "Svcr/FinInstnId/BIC")
            or _text(acct, "Svcr/FinInstnId/BICFI")
            or _text(acct, "Svcr/FinInstnId/Nm"),
            "kind": kind,
            "start": _iso_date(frto, "FrDtTm"),
            "end": _iso_date(frto, "ToDtTm"),
            "opening": opening,
            "closing": closing,
        }
        raw.append((meta, lines))

    finalized = finalize_lines([(str(m["account_id"]), lines) for m, lines in raw])
    out: list[Statement] = []
    for (meta, _), lines_t in zip(raw, finalized, strict=True):
        out.append(
            Statement(
                account_id=str(meta["account_id"]),
                currency=str(meta["currency"]),
                fmt=str(meta["kind"]),
                bank=str(meta["bank"]) if meta["bank"] else None,
                statement_id=str(meta["statement_id"]) if meta["statement_id"] else None,
                period_start=meta["start"] if isinstance(meta["start"], dt.date) else None,
                period_end=meta["end"] if isinstance(meta["end"], dt.date) else None,
                opening_balance=meta["opening"] if isinstance(meta["opening"], Balance) else None,
                closing_balance=meta["closing"] if isinstance(meta["closing"], Balance) else None,
                lines=lines_t,
            )
        )
    return out


def _iso_date(frto: etree._Element | None, name: str) -> dt.date | None:
    node = _find(frto, name)
    raw = _text(node)
    if node is None or raw is None:
        return None
    try:
        return dt.datetime.fromisoformat(raw.replace("Z", "+00:00")).date()
    except ValueError as exc:
        raise _Fault(node, f"invalid {name} {raw!r}") from exc


def _entry(ntry: etree._Element) -> StatementLine | None:
    """One Ntry; None for entries the bank has not booked (PDNG/INFO/FUTR)."""
    status = _text(ntry, "Sts/Cd") or _text(ntry, "Sts")
    if status is not None and status != "BOOK":
        return None
    amount, currency = _signed_amount(ntry)
    booking = _date(_find(ntry, "BookgDt"), "BookgDt", required=False)
    value = _date(_find(ntry, "ValDt"), "ValDt", required=False)
    if booking is None:
        booking = value
    if booking is None:
        raise _Fault(ntry, "entry has neither BookgDt nor ValDt")
    txs = _findall(ntry, "NtryDtls/TxDtls")
    tx = txs[0] if len(txs) == 1 else None
    credit = amount >= 0
    party_role = "Dbtr" if credit else "Cdtr"
    name = None
    cp_ref = None
    ref = None
    remit: list[str] = []
    if tx is not None:
        name = _text(tx, f"RltdPties/{party_role}/Nm") or _text(
            tx, f"RltdPties/{party_role}/Pty/Nm"
        )
        cp_ref = _text(tx, f"RltdPties/{party_role}Acct/Id/IBAN") or _text(
            tx, f"RltdPties/{party_role}Acct/Id/Othr/Id"
        )
        e2e = _text(tx, "Refs/EndToEndId")
        ref = e2e if e2e and e2e != "NOTPROVIDED" else _text(tx, "RmtInf/Strd/CdtrRefInf/Ref")
        remit = [t for t in (_text(u) for u in _findall(tx, "RmtInf/Ustrd")) if t]
    info = _text(ntry, "AddtlNtryInf")
    if info:
        remit.append(info)
    tx_code = _text(ntry, "BkTxCd/Domn/Cd")
    if tx_code:
        fam = _text(ntry, "BkTxCd/Domn/Fmly/Cd")
        sub = _text(ntry, "BkTxCd/Domn/Fmly/SubFmlyCd")
        tx_code = "/".join(x for x in (tx_code, fam, sub) if x)
    else:
        tx_code = _text(ntry, "BkTxCd/Prtry/Cd")
    bank_id = _text(ntry, "AcctSvcrRef") or _text(ntry, "NtryRef")
    if bank_id is None and tx is not None:
        bank_id = _text(tx, "Refs/AcctSvcrRef")
    return StatementLine(
        booking_date=booking,
        value_date=value,
        amount=amount,
        currency=currency,
        bank_id=bank_id,
        description=" / ".join(remit),
        counterparty_name=name,
        counterparty_ref=cp_ref,
        reference=ref,
        transaction_code=tx_code,
        source=f"{_path(ntry)} (line {ntry.sourceline})",
        source_line=ntry.sourceline,
    )
