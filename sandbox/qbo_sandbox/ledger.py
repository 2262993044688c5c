"""The company's general ledger: every posting its stored transactions make, derived on demand.

Amounts are ``Decimal`` in the home currency, debit positive / credit negative. Each
transaction's postings sum to exactly zero: foreign-currency lines are converted (half-up to
cents) one by one and the header posting (A/R, bank, A/P...) is the negated sum of the lines.
Nothing is invented to make a transaction balance: the document's own figures are used.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from .demo import CLASSIFICATION
from .entities import SHIPPING_ITEM_ID
from .jsonutil import money, to_decimal
from .state import Entity, Realm

ZERO = Decimal("0")

TXN_LABELS = {
    "Invoice": "Invoice",
    "SalesReceipt": "Sales Receipt",
    "CreditMemo": "Credit Memo",
    "RefundReceipt": "Refund",
    "Payment": "Payment",
    "Deposit": "Deposit",
    "JournalEntry": "Journal Entry",
    "Purchase": "Expense",
    "Bill": "Bill",
    "Transfer": "Transfer",
}
POSTING_ENTITIES = tuple(TXN_LABELS)
# AccountType -> order of the sections in reports (QBO's chart-of-accounts order)
TYPE_ORDER = [
    "Bank",
    "Accounts Receivable",
    "Other Current Asset",
    "Fixed Asset",
    "Other Asset",
    "Accounts Payable",
    "Credit Card",
    "Other Current Liability",
    "Long Term Liability",
    "Equity",
    "Income",
    "Cost of Goods Sold",
    "Expense",
    "Other Income",
    "Other Expense",
]
DEBIT_NORMAL = frozenset({"Asset", "Expense"})
PL_TYPES = frozenset({"Income", "Cost of Goods Sold", "Expense", "Other Income", "Other Expense"})


@dataclass
class Posting:
    """One debit (amount > 0) or credit (amount < 0) to one account."""

    date: str
    account: str
    amount: Decimal
    entity: str
    txn_id: str
    doc: str
    name: tuple[str, str] | None  # (display name, id) of the customer/vendor/employee
    memo: str
    customer: str | None  # customer id, for customer filters and columns
    seq: int
    split: tuple[str, str] = ("", "")  # the other side: (account name or "-Split-", id)


@dataclass
class Ledger:
    """Postings of a realm plus the accounts they hit (real, or QBO's system accounts)."""

    realm: Realm
    postings: list[Posting] = field(default_factory=list)
    virtual: dict[str, Entity] = field(default_factory=dict)
    system_cache: dict[tuple[str, str, str | None], str] = field(default_factory=dict)

    # ----------------------------------------------------------------- accounts
    def account(self, aid: str) -> Entity:
        return (
            self.realm.get("Account", aid)
            or self.virtual.get(aid)
            or {
                "Id": aid,
                "Name": f"Account {aid}",
                "AccountType": "Other Asset",
                "Classification": "Asset",
            }
        )

    def system(self, name: str, atype: str, subtype: str | None = None) -> str:
        """The account QBO posts to automatically (by subtype, type, then name)."""
        key = (name, atype, subtype)
        found = self.system_cache.get(key)
        if found is None:
            found = self.system_cache[key] = self._system(name, atype, subtype)
        return found

    def _system(self, name: str, atype: str, subtype: str | None) -> str:
        table = self.realm.entities.get("Account", {})
        picks = [lambda a: a.get("Name") == name]
        if subtype is not None:
            picks.insert(0, lambda a: a.get("AccountSubType") == subtype)
        if atype in ("Accounts Receivable", "Accounts Payable"):  # usually one per company
            picks.append(lambda a: a.get("AccountType") == atype)
        for pick in picks:
            found = sorted(
                (a for a in table.values() if pick(a) and a.get("Active", True)),
                key=lambda a: int(a["Id"]) if str(a["Id"]).isdigit() else 0,
            )
            if found:
                return str(found[0]["Id"])
        vid = f"system-{name}"
        self.virtual.setdefault(
            vid,
            {
                "Id": vid,
                "Name": name,
                "AccountType": atype,
                "Classification": CLASSIFICATION.get(atype, "Asset"),
            },
        )
        return vid

    def ar(self, obj: Entity) -> str:
        ref = obj.get("ARAccountRef")
        if isinstance(ref, dict) and ref.get("value"):
            return str(ref["value"])
        return self.system("Accounts Receivable (A/R)", "Accounts Receivable")

    def ap(self, obj: Entity) -> str:
        ref = obj.get("APAccountRef")
        if isinstance(ref, dict) and ref.get("value"):
            return str(ref["value"])
        return self.system("Accounts Payable (A/P)", "Accounts Payable")

    def item_account(self, item_ref: object, kind: str) -> str:
        """Income (sales) or expense/asset (purchases) account of an item."""
        iid = str(item_ref.get("value")) if isinstance(item_ref, dict) else ""
        if iid == SHIPPING_ITEM_ID:
            return self.system("Shipping Income", "Income", None)
        item = self.realm.get("Item", iid) or {}
        if kind == "income":
            ref = item.get("IncomeAccountRef")
            fallback = ("Uncategorized Income", "Income")
        else:
            ref = item.get("AssetAccountRef") if item.get("Type") == "Inventory" else None
            ref = ref or item.get("ExpenseAccountRef")
            fallback = ("Uncategorized Expense", "Expense")
        if isinstance(ref, dict) and ref.get("value"):
            return str(ref["value"])
        return self.system(fallback[0], fallback[1], None)


def _ref_value(ref: object) -> str:
    return str(ref.get("value", "")) if isinstance(ref, dict) else ""


def _party(realm: Realm, ref: object, entity: str | None = None) -> tuple[str, str] | None:
    if not isinstance(ref, dict) or not ref.get("value"):
        return None
    eid = str(ref["value"])
    kinds = [entity] if entity else ["Customer", "Vendor", "Employee"]
    for kind in kinds:
        obj = realm.get(kind, eid)
        if obj is not None:
            return str(obj.get("DisplayName", "")).removesuffix(" (deleted)"), eid
    return str(ref.get("name", "")), eid


def _amount(value: object) -> Decimal:
    try:
        return to_decimal(value) or ZERO
    except ValueError:
        return ZERO


class _Builder:
    """Postings of one transaction: lines first (converted), then the balancing header."""

    def __init__(self, entity: str, obj: Entity, rate: Decimal) -> None:
        self.entity = entity
        self.obj = obj
        self.rate = rate
        self.lines: list[tuple[str, Decimal, str, tuple[str, str] | None, str | None]] = []

    def line(
        self,
        account: str,
        debit: Decimal,
        memo: str = "",
        name: tuple[str, str] | None = None,
        customer: str | None = None,
    ) -> None:
        if debit != ZERO:
            self.lines.append((account, money(debit * self.rate), memo, name, customer))

    def finish(
        self,
        header_account: str | None,
        name: tuple[str, str] | None,
        customer: str | None,
        memo: str = "",
    ) -> list[Posting]:
        obj = self.obj
        out: list[Posting] = []
        day, txn_id, doc = (
            str(obj.get("TxnDate", ""))[:10],
            str(obj["Id"]),
            str(obj.get("DocNumber", "")),
        )
        total = sum((a for _, a, _, _, _ in self.lines), ZERO)
        seq = 0
        if header_account is not None and total != ZERO:
            out.append(
                Posting(
                    day, header_account, -total, self.entity, txn_id, doc, name, memo, customer, seq
                )
            )
        for account, amount, lmemo, lname, lcust in self.lines:
            seq += 1
            out.append(
                Posting(
                    day,
                    account,
                    amount,
                    self.entity,
                    txn_id,
                    doc,
                    lname if lname is not None else name,
                    lmemo,
                    lcust if lcust is not None else customer,
                    seq,
                )
            )
        return out


def _sales_lines(led: Ledger, b: _Builder, obj: Entity, sign: Decimal) -> None:
    """Income lines of a sales form as credits (sign=1) or debits (sign=-1, refunds)."""
    for line in obj.get("Line") or []:
        dt = line.get("DetailType")
        memo = str(line.get("Description", "") or "")
        if dt == "SalesItemLineDetail":
            det = line.get("SalesItemLineDetail") or {}
            acct = led.item_account(det.get("ItemRef"), "income")
            b.line(acct, -sign * _amount(line.get("Amount")), memo)
        elif dt == "GroupLineDetail":
            for sub in (line.get("GroupLineDetail") or {}).get("Line") or []:
                det = sub.get("SalesItemLineDetail") or {}
                acct = led.item_account(det.get("ItemRef"), "income")
                b.line(acct, -sign * _amount(sub.get("Amount")), str(sub.get("Description", "")))
        elif dt == "DiscountLineDetail":
            det = line.get("DiscountLineDetail") or {}
            acct = _ref_value(det.get("DiscountAccountRef")) or led.system(
                "Discounts given", "Income", "DiscountsRefundsGiven"
            )
            b.line(acct, sign * _amount(line.get("Amount")), memo)
    tax = _amount((obj.get("TxnTaxDetail") or {}).get("TotalTax"))
    if tax != ZERO:
        acct = led.system("Sales Tax Payable", "Other Current Liability", "SalesTaxPayable")
        b.line(acct, -sign * tax)


def _expense_lines(led: Ledger, b: _Builder, obj: Entity, sign: Decimal) -> None:
    for line in obj.get("Line") or []:
        dt = line.get("DetailType")
        memo = str(line.get("Description", "") or "")
        det = line.get(dt) if isinstance(dt, str) else None
        if not isinstance(det, dict):
            continue
        if dt == "AccountBasedExpenseLineDetail":
            acct = _ref_value(det.get("AccountRef")) or led.system(
                "Uncategorized Expense", "Expense"
            )
        elif dt == "ItemBasedExpenseLineDetail":
            acct = led.item_account(det.get("ItemRef"), "expense")
        else:
            continue
        cust = _ref_value(det.get("CustomerRef")) or None
        b.line(acct, sign * _amount(line.get("Amount")), memo, customer=cust)


def postings_of(led: Ledger, entity: str, obj: Entity) -> list[Posting]:
    """The postings one stored transaction makes (none for non-posting entities)."""
    realm = led.realm
    rate = _amount(obj.get("ExchangeRate")) or Decimal(1)
    b = _Builder(entity, obj, rate)
    cust_ref = obj.get("CustomerRef")
    cust = _ref_value(cust_ref) or None
    name = _party(realm, cust_ref, "Customer")
    note = str(obj.get("PrivateNote", "") or "")
    if entity in ("Invoice", "SalesReceipt"):
        _sales_lines(led, b, obj, Decimal(1))
        if entity == "Invoice":
            header = led.ar(obj)
        else:
            header = _ref_value(obj.get("DepositToAccountRef")) or led.system(
                "Undeposited Funds", "Other Current Asset", "UndepositedFunds"
            )
        return b.finish(header, name, cust)
    if entity in ("CreditMemo", "RefundReceipt"):
        _sales_lines(led, b, obj, Decimal(-1))
        header = (
            led.ar(obj) if entity == "CreditMemo" else _ref_value(obj.get("DepositToAccountRef"))
        )
        return b.finish(header, name, cust)
    if entity == "Payment":
        b.line(led.ar(obj), -_amount(obj.get("TotalAmt")))
        dep = _ref_value(obj.get("DepositToAccountRef")) or led.system(
            "Undeposited Funds", "Other Current Asset", "UndepositedFunds"
        )
        return b.finish(dep, name, cust)
    if entity == "Deposit":
        for line in obj.get("Line") or []:
            amt = _amount(line.get("Amount"))
            linked = [lt for lt in line.get("LinkedTxn") or [] if isinstance(lt, dict)]
            if linked:
                lt = linked[0]
                src = realm.get(str(lt.get("TxnType")), str(lt.get("TxnId"))) or {}
                acct = _ref_value(src.get("DepositToAccountRef")) or led.system(
                    "Undeposited Funds", "Other Current Asset", "UndepositedFunds"
                )
                lname = _party(realm, src.get("CustomerRef"), "Customer")
            else:
                det = line.get("DepositLineDetail") or {}
                acct = _ref_value(det.get("AccountRef")) or led.system(
                    "Uncategorized Income", "Income"
                )
                lname = _party(realm, (det.get("Entity") or {}))
            b.line(acct, -amt, str(line.get("Description", "") or ""), lname)
        cash = obj.get("CashBack")
        if isinstance(cash, dict) and _ref_value(cash.get("AccountRef")):
            b.line(_ref_value(cash["AccountRef"]), _amount(cash.get("Amount")), "Cash back")
        return b.finish(_ref_value(obj.get("DepositToAccountRef")), None, None, note)
    if entity == "JournalEntry":
        for line in obj.get("Line") or []:
            det = line.get("JournalEntryLineDetail") or {}
            amt = _amount(line.get("Amount"))
            if det.get("PostingType") == "Credit":
                amt = -amt
            ent = det.get("Entity") or {}
            ref = ent.get("EntityRef") if isinstance(ent, dict) else None
            etype = str(ent.get("Type", "")) if isinstance(ent, dict) else ""
            lname = _party(realm, ref, etype or None)
            lcust = lname[1] if lname and etype in ("", "Customer") else None
            b.line(
                _ref_value(det.get("AccountRef")),
                amt,
                str(line.get("Description", "") or ""),
                lname,
                lcust,
            )
        return b.finish(None, None, None)
    if entity in ("Purchase", "Bill"):
        sign = Decimal(-1) if entity == "Purchase" and obj.get("Credit") else Decimal(1)
        _expense_lines(led, b, obj, sign)
        party_ref = obj.get("EntityRef") if entity == "Purchase" else obj.get("VendorRef")
        pname = _party(realm, party_ref, None if entity == "Purchase" else "Vendor")
        header = _ref_value(obj.get("AccountRef")) if entity == "Purchase" else led.ap(obj)
        return b.finish(header, pname, None, note)
    if entity == "Transfer":
        b.line(_ref_value(obj.get("ToAccountRef")), _amount(obj.get("Amount")))
        return b.finish(_ref_value(obj.get("FromAccountRef")), None, None, note)
    return []


def _splits(postings: list[Posting], led: Ledger) -> None:
    for p in postings:
        other = {q.account for q in postings if (q.amount > 0) != (p.amount > 0)}
        if len(other) == 1:
            aid = next(iter(other))
            p.split = (str(led.account(aid).get("Name", "")), aid)
        elif other:
            p.split = ("-Split-", "")


def build(realm: Realm) -> Ledger:
    """Every posting of every stored transaction, in (date, entity, id) order."""
    led = Ledger(realm)
    for entity in POSTING_ENTITIES:
        table = realm.entities.get(entity, {})
        for eid in sorted(table, key=lambda x: (len(x), x)):
            ps = postings_of(led, entity, table[eid])
            _splits(ps, led)
            led.postings.extend(ps)
    led.postings.sort(key=lambda p: (p.date, len(p.txn_id), p.txn_id, p.entity, p.seq))
    return led


def natural_sign(account: Entity) -> Decimal:
    """+1 for debit-normal accounts (assets, expenses), -1 for the others."""
    return Decimal(1) if account.get("Classification") in DEBIT_NORMAL else Decimal(-1)
