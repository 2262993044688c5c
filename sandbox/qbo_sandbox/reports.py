"""Reports API: ``GET /reports/GeneralLedger`` and ``/reports/ProfitAndLoss``, computed from
the company's own stored transactions (see ``ledger``), in QBO's Header / Columns / Rows form.

Parameters: ``start_date``/``end_date`` (YYYY-MM-DD) or ``date_macro`` (default: this
month-to-date), ``accounting_method`` (Accrual | Cash), ``customer`` (comma-separated ids),
``account`` (GeneralLedger), ``summarize_column_by`` (ProfitAndLoss: Total | Customers).
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from . import faults
from .jsonutil import money
from .ledger import (
    PL_TYPES,
    TXN_LABELS,
    TYPE_ORDER,
    ZERO,
    Ledger,
    Posting,
    build,
    natural_sign,
)
from .state import Entity, Realm

MONTHS = [m.lower() for m in calendar.month_name]
PL_GROUPS = [  # (group, title, account type)
    ("Income", "Income", "Income"),
    ("COGS", "Cost of Goods Sold", "Cost of Goods Sold"),
    ("Expenses", "Expenses", "Expense"),
    ("OtherIncome", "Other Income", "Other Income"),
    ("OtherExpenses", "Other Expenses", "Other Expense"),
]
ALWAYS_SHOWN = {"Income", "Expenses"}


def _bad(name: str, value: str) -> faults.QBOFault:
    return faults.fault(
        "2010",
        "Request has invalid or unsupported property",
        f"Invalid value for report parameter {name}: {value}",
        name,
    )


def fmt(value: Decimal) -> str:
    """Report amounts are strings with two decimals (``"-9337.50"``)."""
    return f"{money(value):.2f}"


# ------------------------------------------------------------------------------ dates
def _fy_start(realm: Realm, d: date) -> date:
    name = str(
        realm.preferences.get("AccountingInfoPrefs", {}).get("FirstMonthOfFiscalYear")
        or realm.company_info.get("FiscalYearStartMonth")
        or "January"
    ).lower()
    month = MONTHS.index(name) if name in MONTHS else 1
    year = d.year if d.month >= month else d.year - 1
    return date(year, month, 1)


def _month_end(d: date) -> date:
    return date(d.year, d.month, calendar.monthrange(d.year, d.month)[1])


def _macro(realm: Realm, macro: str, today: date) -> tuple[date, date]:
    fy = _fy_start(realm, today)
    first = today.replace(day=1)
    last_month_end = first - timedelta(days=1)
    ranges: dict[str, Callable[[], tuple[date, date]]] = {
        "today": lambda: (today, today),
        "yesterday": lambda: (today - timedelta(days=1), today - timedelta(days=1)),
        "this month": lambda: (first, _month_end(today)),
        "this month-to-date": lambda: (first, today),
        "last month": lambda: (last_month_end.replace(day=1), last_month_end),
        "this fiscal year": lambda: (fy, date(fy.year + 1, fy.month, 1) - timedelta(days=1)),
        "this fiscal year-to-date": lambda: (fy, today),
        "last fiscal year": lambda: (date(fy.year - 1, fy.month, 1), fy - timedelta(days=1)),
        "this calendar year": lambda: (date(today.year, 1, 1), date(today.year, 12, 31)),
        "this calendar year-to-date": lambda: (date(today.year, 1, 1), today),
        "last calendar year": lambda: (date(today.year - 1, 1, 1), date(today.year - 1, 12, 31)),
    }
    fn = ranges.get(macro.lower())
    if fn is None:
        raise _bad("date_macro", macro)
    return fn()


def _date(params: dict[str, str], name: str) -> date | None:
    text = params.get(name)
    if not text:
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError as exc:
        raise _bad(name, text) from exc


def _period(realm: Realm, params: dict[str, str]) -> tuple[date, date, str | None]:
    start, end = _date(params, "start_date"), _date(params, "end_date")
    today = date.fromisoformat(realm.clock.today())
    macro = params.get("date_macro")
    if start is None and end is None:
        label = macro or "this month-to-date"
        s, e = _macro(realm, label, today)
        return s, e, label
    if macro:
        s, e = _macro(realm, macro, today)
        start, end = start or s, end or e
    start = start or date(today.year, today.month, 1)
    end = end or today
    if end < start:
        raise _bad("end_date", end.isoformat())
    return start, end, None


# --------------------------------------------------------------------------- helpers
def _col(value: str, eid: str | None = None) -> dict[str, str]:
    return {"value": value} if eid is None else {"value": value, "id": eid}


def _blank(n: int) -> list[dict[str, str]]:
    return [_col("") for _ in range(n)]


def _ids(params: dict[str, str], name: str) -> set[str] | None:
    raw = params.get(name)
    if not raw:
        return None
    return {x.strip() for x in raw.split(",") if x.strip()}


def _accounts(led: Ledger) -> dict[str, Entity]:
    out = dict(led.virtual)
    out.update(led.realm.entities.get("Account", {}))
    for p in led.postings:
        out.setdefault(p.account, led.account(p.account))
    return out


def _order_key(a: Entity) -> tuple[int, str, str]:
    t = str(a.get("AccountType", ""))
    rank = TYPE_ORDER.index(t) if t in TYPE_ORDER else len(TYPE_ORDER)
    return rank, str(a.get("Name", "")).casefold(), str(a.get("Id", ""))


def _children(accounts: dict[str, Entity]) -> dict[str | None, list[str]]:
    kids: dict[str | None, list[str]] = defaultdict(list)
    for aid, a in accounts.items():
        parent = (a.get("ParentRef") or {}).get("value") if a.get("SubAccount") else None
        kids[str(parent) if parent and str(parent) in accounts else None].append(aid)
    for lst in kids.values():
        lst.sort(key=lambda x: _order_key(accounts[x]))
    return kids


def _basis(params: dict[str, str]) -> str:
    method = params.get("accounting_method", "Accrual")
    if method.lower() not in ("accrual", "cash"):
        raise _bad("accounting_method", method)
    return "Cash" if method.lower() == "cash" else "Accrual"


def _cash_basis(led: Ledger) -> list[Posting]:
    """Cash basis: invoices, credit memos and bills don't post; a payment recognises the
    income (and tax, discounts) of the invoices it pays, pro rata (half-up, the remainder on
    the last line, so the total is exactly the cash received; exchange differences included)."""
    realm = led.realm
    by_txn: dict[tuple[str, str], list[Posting]] = defaultdict(list)
    for p in led.postings:
        by_txn[(p.entity, p.txn_id)].append(p)
    out: list[Posting] = []
    for p in led.postings:
        if p.entity in ("Invoice", "CreditMemo", "Bill"):
            continue
        if p.entity != "Payment" or p.amount > 0:
            out.append(p)
            continue
        pay = realm.get("Payment", p.txn_id) or {}
        rate = Decimal(str(pay.get("ExchangeRate") or 1))
        applied = ZERO
        for line in pay.get("Line") or []:
            amt = Decimal(str(line.get("Amount", 0)))
            for lt in line.get("LinkedTxn") or []:
                if lt.get("TxnType") != "Invoice":
                    continue
                inv = realm.get("Invoice", str(lt.get("TxnId"))) or {}
                inv_total = Decimal(str(inv.get("TotalAmt") or 0))  # document currency
                lines = [q for q in by_txn.get(("Invoice", str(lt.get("TxnId"))), []) if q.seq]
                if inv_total == ZERO or not lines:
                    continue
                home = money(amt * rate)
                applied += home
                left = -home
                for i, q in enumerate(lines):
                    share = left if i == len(lines) - 1 else money(q.amount * amt / inv_total)
                    left -= share
                    out.append(
                        Posting(
                            p.date,
                            q.account,
                            share,
                            p.entity,
                            p.txn_id,
                            p.doc,
                            p.name,
                            q.memo,
                            p.customer,
                            p.seq,
                            p.split,
                        )
                    )
        rest = p.amount + applied
        if rest != ZERO:
            out.append(
                Posting(
                    p.date,
                    p.account,
                    rest,
                    p.entity,
                    p.txn_id,
                    p.doc,
                    p.name,
                    p.memo,
                    p.customer,
                    p.seq,
                    p.split,
                )
            )
    return out


def _header(
    realm: Realm,
    name: str,
    start: date,
    end: date,
    macro: str | None,
    basis: str,
    extra: dict[str, Any],
    options: list[dict[str, str]],
) -> dict[str, Any]:
    h: dict[str, Any] = {"Time": realm.clock.meta_time(), "ReportName": name}
    if macro:
        h["DateMacro"] = macro.lower()
    h.update({"ReportBasis": basis, "StartPeriod": start.isoformat(), "EndPeriod": end.isoformat()})
    h.update(extra)
    h["Currency"] = (
        realm.preferences.get("CurrencyPrefs", {}).get("HomeCurrency", {}).get("value", "USD")
    )
    h["Option"] = options
    return h


# --------------------------------------------------------------------- GeneralLedger
GL_COLUMNS = [
    ("Date", "tx_date"),
    ("Transaction Type", "txn_type"),
    ("Num", "doc_num"),
    ("Name", "name"),
    ("Memo/Description", "memo"),
    ("Split", "split_acc"),
    ("Amount", "subt_nat_amount"),
    ("Balance", "rbal_nat_amount"),
]


def general_ledger(realm: Realm, params: dict[str, str]) -> dict[str, Any]:
    start, end, macro = _period(realm, params)
    basis = _basis(params)
    led = build(realm)
    postings = _cash_basis(led) if basis == "Cash" else led.postings
    customers = _ids(params, "customer")
    if customers is not None:
        postings = [p for p in postings if p.customer in customers]
    only = _ids(params, "account")
    if only is not None:
        postings = [p for p in postings if p.account in only]
    accounts = _accounts(led)
    s, e = start.isoformat(), end.isoformat()
    fy = _fy_start(realm, start).isoformat()
    begin: dict[str, Decimal] = defaultdict(lambda: ZERO)
    period: dict[str, list[Posting]] = defaultdict(list)
    prior_income = ZERO
    for p in postings:
        a = accounts[p.account]
        if p.date < s:
            if a.get("AccountType") in PL_TYPES and p.date < fy:
                prior_income += p.amount  # closed into retained earnings
            else:
                begin[p.account] += p.amount
        elif p.date <= e:
            period[p.account].append(p)
    if prior_income != ZERO:
        re_id = led.system("Retained Earnings", "Equity", "RetainedEarnings")
        accounts.setdefault(re_id, led.account(re_id))
        begin[re_id] += prior_income
    kids = _children(accounts)

    def section(aid: str, top: bool) -> tuple[dict[str, Any] | None, Decimal, bool]:
        a = accounts[aid]
        sign = natural_sign(a)
        rows: list[dict[str, Any]] = []
        bal = begin.get(aid, ZERO)
        if bal != ZERO:
            rows.append(
                {
                    "ColData": [_col("Beginning Balance"), *_blank(6), _col(fmt(bal * sign))],
                    "type": "Data",
                }
            )
        total = ZERO
        active = False
        for p in period.get(aid, []):
            bal += p.amount
            total += p.amount
            active = True
            nm = p.name or ("", "")
            rows.append(
                {
                    "ColData": [
                        _col(p.date),
                        _col(TXN_LABELS.get(p.entity, p.entity), p.txn_id),
                        _col(p.doc),
                        _col(nm[0], nm[1]),
                        _col(p.memo),
                        _col(p.split[0], p.split[1]),
                        _col(fmt(p.amount * sign)),
                        _col(fmt(bal * sign)),
                    ],
                    "type": "Data",
                }
            )
        for kid in kids.get(aid, []):
            sub, sub_total, sub_active = section(kid, False)
            if sub is not None:
                rows.append(sub)
                total += sub_total
                active = active or sub_active
        if not rows:
            return None, ZERO, False
        name = str(a.get("Name", ""))
        head = [_col(name, aid) if top else _col(name), *_blank(7)]
        summ = [
            _col(f"Total for {name}"),
            *_blank(5),
            _col(fmt(total * sign) if active else ""),
            _col(""),
        ]
        return (
            {
                "Header": {"ColData": head},
                "Rows": {"Row": rows},
                "Summary": {"ColData": summ},
                "type": "Section",
            },
            total,
            active,
        )

    out_rows = []
    for aid in kids.get(None, []):
        sec, _, _ = section(aid, True)
        if sec is not None:
            out_rows.append(sec)
    options = [{"Name": "NoReportData", "Value": "false" if out_rows else "true"}]
    extra = {"Customer": params["customer"]} if customers is not None else {}
    return {
        "Header": _header(realm, "GeneralLedger", start, end, macro, basis, extra, options),
        "Columns": {"Column": [{"ColTitle": t, "ColType": c} for t, c in GL_COLUMNS]},
        "Rows": {"Row": out_rows} if out_rows else {},
    }


# --------------------------------------------------------------------- ProfitAndLoss
def profit_and_loss(realm: Realm, params: dict[str, str]) -> dict[str, Any]:
    start, end, macro = _period(realm, params)
    basis = _basis(params)
    by = params.get("summarize_column_by", "Total")
    if by not in ("Total", "Customers"):
        raise _bad("summarize_column_by", by)
    led = build(realm)
    postings = _cash_basis(led) if basis == "Cash" else led.postings
    customers = _ids(params, "customer")
    accounts = _accounts(led)
    s, e = start.isoformat(), end.isoformat()
    sums: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(lambda: ZERO))
    used_cols: set[str] = set()
    for p in postings:
        a = accounts[p.account]
        if a.get("AccountType") not in PL_TYPES or not (s <= p.date <= e):
            continue
        if customers is not None and p.customer not in customers:
            continue
        col = (p.customer or "") if by == "Customers" else "total"
        sums[p.account][col] += p.amount * natural_sign(a)
        used_cols.add(col)
    # columns
    cols: list[str] = []
    columns = [{"ColTitle": "", "ColType": "Account", "MetaData": [_meta("account")]}]
    if by == "Customers":

        def cust_name(cid: str) -> str:
            c = realm.get("Customer", cid) if cid else None
            return str(c.get("DisplayName", cid)) if c else "Not Specified"

        cols = sorted(used_cols, key=lambda c: (c == "", cust_name(c).casefold()))
        columns += [
            {"ColTitle": cust_name(c), "ColType": "Money", "MetaData": [_meta(c or "notspecified")]}
            for c in cols
        ]
    columns.append({"ColTitle": "TOTAL", "ColType": "Money", "MetaData": [_meta("total")]})
    has_data = bool(used_cols)
    kids = _children(accounts)
    width = len(cols) + 1

    def amounts(aid: str) -> list[Decimal]:
        own = sums.get(aid, {})
        vals = [own.get(c, ZERO) for c in cols]
        return [*vals, sum(own.values(), ZERO)]

    def add(x: list[Decimal], y: list[Decimal]) -> list[Decimal]:
        return [a + b for a, b in zip(x, y, strict=True)]

    def cells(vals: list[Decimal]) -> list[dict[str, str]]:
        return [_col(fmt(v)) for v in vals]

    def account_row(aid: str) -> tuple[dict[str, Any] | None, list[Decimal]]:
        a = accounts[aid]
        own = amounts(aid)
        total = list(own)
        subs = []
        for kid in kids.get(aid, []):
            row, vals = account_row(kid)
            if row is not None:
                subs.append(row)
                total = add(total, vals)
        touched = aid in sums or bool(subs)
        if not touched:
            return None, total
        name = str(a.get("Name", ""))
        if not subs:
            return {"ColData": [_col(name, aid), *cells(own)], "type": "Data"}, total
        head = [_col(name, aid), *(cells(own) if aid in sums else _blank(width))]
        return (
            {
                "Header": {"ColData": head},
                "Rows": {"Row": subs},
                "Summary": {"ColData": [_col(f"Total {name}"), *cells(total)]},
                "type": "Section",
            },
            total,
        )

    group_totals: dict[str, list[Decimal]] = {}
    group_rows: dict[str, dict[str, Any]] = {}
    for group, title, atype in PL_GROUPS:
        rows = []
        total = [ZERO] * width
        for aid in kids.get(None, []):
            if accounts[aid].get("AccountType") != atype:
                continue
            row, vals = account_row(aid)
            if row is not None:
                rows.append(row)
                total = add(total, vals)
        group_totals[group] = total
        if not rows and group not in ALWAYS_SHOWN:
            continue
        sec: dict[str, Any] = {"Header": {"ColData": [_col(title), *_blank(width)]}}
        if rows:
            sec["Rows"] = {"Row": rows}
        summary = cells(total) if rows else _blank(width)
        sec["Summary"] = {"ColData": [_col(f"Total {title}"), *summary]}
        sec.update({"type": "Section", "group": group})
        group_rows[group] = sec

    def computed(group: str, label: str, vals: list[Decimal]) -> dict[str, Any]:
        return {
            "Summary": {"ColData": [_col(label), *(cells(vals) if has_data else _blank(width))]},
            "type": "Section",
            "group": group,
        }

    def minus(x: list[Decimal], y: list[Decimal]) -> list[Decimal]:
        return [a - b for a, b in zip(x, y, strict=True)]

    gross = minus(group_totals["Income"], group_totals["COGS"])
    operating = minus(gross, group_totals["Expenses"])
    other = minus(group_totals["OtherIncome"], group_totals["OtherExpenses"])
    out_rows = [group_rows["Income"]]
    if "COGS" in group_rows:
        out_rows.append(group_rows["COGS"])
    out_rows += [
        computed("GrossProfit", "Gross Profit", gross),
        group_rows["Expenses"],
        computed("NetOperatingIncome", "Net Operating Income", operating),
    ]
    if "OtherIncome" in group_rows or "OtherExpenses" in group_rows:
        out_rows += [group_rows[g] for g in ("OtherIncome", "OtherExpenses") if g in group_rows]
        out_rows.append(computed("NetOtherIncome", "Net Other Income", other))
    out_rows.append(computed("NetIncome", "Net Income", add(operating, other)))
    extra: dict[str, Any] = {"SummarizeColumnsBy": by}
    if customers is not None:
        extra["Customer"] = params["customer"]
    options = [
        {"Name": "AccountingStandard", "Value": "GAAP"},
        {"Name": "NoReportData", "Value": "false" if has_data else "true"},
    ]
    return {
        "Header": _header(realm, "ProfitAndLoss", start, end, macro, basis, extra, options),
        "Columns": {"Column": columns},
        "Rows": {"Row": out_rows},
    }


def _meta(key: str) -> dict[str, str]:
    return {"Name": "ColKey", "Value": key}


REPORTS: dict[str, Callable[[Realm, dict[str, str]], dict[str, Any]]] = {
    "generalledger": general_ledger,
    "profitandloss": profit_and_loss,
}


def run(realm: Realm, name: str, params: dict[str, str]) -> dict[str, Any]:
    """Dispatch ``/reports/{name}`` (case-insensitive); other reports are not simulated."""
    fn = REPORTS.get(name.lower())
    if fn is None:
        raise faults.unsupported_operation(f"/v3/company/{realm.realm_id}/reports/{name}")
    return fn(realm, params)
