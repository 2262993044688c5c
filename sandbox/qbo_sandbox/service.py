"""Entity operations (create/read/update/delete/void) with QBO's validation rules."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from . import attachments, faults
from .entities import REF_TARGETS, SPECS, EntitySpec
from .jsonutil import money, to_decimal
from .state import Entity, Realm
from .txn import (
    ZERO,
    apply_currency,
    assign_line_ids,
    compute_sales_form,
    multicurrency,
    num,
    ref_ok,
)

SERVER_FIELDS = ("Id", "SyncToken", "MetaData", "domain", "sparse", "status")
READ_ONLY = {
    "Customer": ("FullyQualifiedName", "Level", "Balance", "BalanceWithJobs", "RootCustomerRef"),
    "Vendor": ("Balance",),
    "Item": ("FullyQualifiedName", "Level"),
    "Account": (
        "FullyQualifiedName",
        "CurrentBalance",
        "CurrentBalanceWithSubAccounts",
        "Classification",
    ),
    "Class": ("FullyQualifiedName",),
    "Department": ("FullyQualifiedName",),
}
TXN_READ_ONLY = ("Balance", "HomeBalance", "HomeTotalAmt", "RemainingCredit", "UnappliedAmt")
DELETED_SUFFIX = " (deleted)"


@dataclass
class Opts:
    """Per-request options."""

    allow_duplicate_docnum: bool = False
    force_stale: bool = False


@dataclass
class Ctx:
    """Operation context: the realm plus the change events produced (for webhooks)."""

    realm: Realm
    opts: Opts = field(default_factory=Opts)
    events: list[tuple[str, str, str]] = field(default_factory=list)  # (entity, id, operation)
    base_url: str = ""  # scheme://host of the request (for Attachable download URLs)
    upload: attachments.Upload | None = None  # file content for the Attachable being written


# ----------------------------------------------------------------------------- helpers
def clean(value: Any) -> Any:
    """Drop ``""``/``None`` members recursively (python-quickbooks sends them for unset fields)."""
    if isinstance(value, dict):
        return {k: clean(v) for k, v in value.items() if v is not None and v != ""}
    if isinstance(value, list):
        return [clean(v) for v in value]
    return value


def check_props(spec: EntitySpec, body: Entity) -> None:
    """Unknown property names → 2010 (QBO deserialises strictly)."""
    known = spec.props
    for key in body:
        if key not in known:
            raise faults.unknown_property(key, spec.name, sorted(known))


def _sync_token(body: Entity) -> str:
    tok = body.get("SyncToken")
    if tok is None:
        raise faults.required_missing("SyncToken")
    if isinstance(tok, Decimal):
        tok = int(tok)
    return str(tok)


def _id(body: Entity) -> str:
    eid = body.get("Id")
    if eid is None or eid == "":
        raise faults.required_missing("Id")
    if isinstance(eid, Decimal):
        if eid != eid.to_integral_value():
            raise faults.invalid_id(str(eid))
        eid = int(eid)
    text = str(eid)
    if not text.isdigit():
        raise faults.invalid_id(text)
    return text


def validate_id_text(text: str) -> str:
    if not text.isdigit():
        raise faults.invalid_id(text)
    return text


def _bump(realm: Realm, obj: Entity, old: Entity | None) -> None:
    meta = obj.setdefault("MetaData", {})
    now = realm.clock.meta_time()
    if old is None:
        meta["CreateTime"] = now
        obj["SyncToken"] = "0"
    else:
        meta["CreateTime"] = old.get("MetaData", {}).get("CreateTime", now)
        obj["SyncToken"] = str(int(old.get("SyncToken", "0")) + 1)
    meta["LastUpdatedTime"] = now


def _envelope(obj: Entity, eid: str) -> None:
    obj["domain"] = "QBO"
    obj["sparse"] = False
    obj["Id"] = eid


def _find(realm: Realm, spec: EntitySpec, eid: str) -> Entity:
    obj = realm.visible(spec.name, eid)
    if obj is None:
        raise faults.object_not_found()
    return obj


def _check_closed(realm: Realm, txn_date: Any) -> None:
    close = realm.preferences.get("AccountingInfoPrefs", {}).get("BookCloseDate")
    if close and isinstance(txn_date, str) and txn_date[:10] <= str(close)[:10]:
        raise faults.period_closed(txn_date, str(close))


def _same(a: Entity, b: Entity) -> bool:
    def strip(o: Entity) -> Entity:
        return {k: v for k, v in o.items() if k not in ("SyncToken", "MetaData")}

    return strip(a) == strip(b)


# ------------------------------------------------------------------------- name lists
def _check_unique_name(realm: Realm, spec: EntitySpec, obj: Entity, eid: str | None) -> None:
    assert spec.name_field is not None
    name = obj.get(spec.name_field)
    if not isinstance(name, str):
        return
    namespace = spec.namespace or spec.name
    parent = (obj.get("ParentRef") or {}).get("value")
    for ent, oid in realm.names(namespace, name):
        if ent == spec.name and oid == eid:
            continue
        other = realm.get(ent, oid)
        if other is None:
            continue
        if spec.hierarchical and ent == spec.name:
            if (other.get("ParentRef") or {}).get("value") != parent:
                continue
        raise faults.duplicate_name()


def _hierarchy(realm: Realm, spec: EntitySpec, obj: Entity, eid: str | None) -> None:
    assert spec.name_field is not None
    own = str(obj.get(spec.name_field, ""))
    parent_ref = obj.get("ParentRef")
    flag = {
        "Customer": "Job",
        "Item": "SubItem",
        "Account": "SubAccount",
        "Class": "SubClass",
        "Department": "SubDepartment",
    }[spec.name]
    has_parent = isinstance(parent_ref, dict) and bool(parent_ref.get("value"))
    if spec.name == "Customer":
        if bool(obj.get("Job")) != has_parent:
            raise faults.parent_ref_required()
    if has_parent:
        parent = ref_ok(realm, spec.name, parent_ref, "ParentRef")
        if parent["Id"] == eid:
            raise faults.business("An object cannot be its own parent.", "ParentRef")
        obj[flag] = True
        fqn = f"{parent.get('FullyQualifiedName') or parent.get(spec.name_field)}:{own}"
        level = int(parent.get("Level", 0) or 0) + 1
        if level > 4:
            raise faults.business("You can only nest up to 5 levels.", "ParentRef")
        if spec.name == "Customer":
            root = parent.get("RootCustomerRef") or {
                "value": parent["Id"],
                "name": parent.get("DisplayName"),
            }
            obj["RootCustomerRef"] = dict(root)
        obj["Level"] = level
    else:
        obj[flag] = False
        obj.pop("ParentRef", None)
        obj.pop("RootCustomerRef", None)
        fqn = own
        if spec.name in ("Customer", "Item") or "Level" in obj:
            obj["Level"] = 0
        if spec.name == "Customer":
            obj.pop("Level", None)
    obj["FullyQualifiedName"] = fqn


def _party_display_name(obj: Entity) -> None:
    if obj.get("DisplayName"):
        return
    parts = [obj.get(k) for k in ("Title", "GivenName", "MiddleName", "FamilyName", "Suffix")]
    name = " ".join(str(p) for p in parts if p)
    if not name:
        name = str(obj.get("CompanyName") or "")
    if not name:
        raise faults.required_missing("DisplayName")
    obj["DisplayName"] = name


def _prepare_name(
    ctx: Ctx, spec: EntitySpec, obj: Entity, eid: str | None, old: Entity | None
) -> None:
    realm = ctx.realm
    home = realm.preferences.get("CurrencyPrefs", {}).get("HomeCurrency", {}).get("value", "USD")
    home_ref = {"value": home, "name": realm.currencies.get(home, home)}
    for k in READ_ONLY.get(spec.name, ()):
        obj.pop(k, None)
    if old is not None:
        for k in READ_ONLY.get(spec.name, ()):
            if k in old and k not in ("FullyQualifiedName",):
                obj[k] = old[k]
    obj.setdefault("Active", True)
    name_field = spec.name_field
    assert name_field is not None
    if spec.namespace == "party":
        _party_display_name(obj)
    elif not obj.get(name_field):
        raise faults.required_missing(name_field)
    # deactivation renames (" (deleted)"), reactivation restores the plain name
    name = str(obj[name_field])
    if obj.get("Active") is False and not name.endswith(DELETED_SUFFIX):
        obj[name_field] = name + DELETED_SUFFIX
    elif (
        obj.get("Active") is True
        and name.endswith(DELETED_SUFFIX)
        and old is not None
        and old.get("Active") is False
    ):
        obj[name_field] = name[: -len(DELETED_SUFFIX)]
    if ":" in str(obj[name_field]) and spec.hierarchical:
        raise faults.business("The name cannot contain a colon (:).", name_field)
    _check_unique_name(realm, spec, obj, eid)
    for key, target in REF_TARGETS.items():
        if key in obj and key != "ParentRef" and isinstance(obj[key], dict):
            if key == "DefaultTaxCodeRef" and str(obj[key].get("value")) in ("TAX", "NON"):
                continue
            ref_ok(realm, target, obj[key], key)
    if spec.hierarchical:
        _hierarchy(realm, spec, obj, eid)
    if spec.name == "Customer":
        obj.setdefault("Taxable", True)
        obj.setdefault("Job", False)
        obj.setdefault("BillWithParent", False)
        obj.setdefault("Balance", ZERO)
        obj.setdefault("BalanceWithJobs", obj["Balance"])
        obj.setdefault("CurrencyRef", dict(home_ref))
        obj.setdefault("PreferredDeliveryMethod", "Print")
        obj.setdefault("PrintOnCheckName", obj["DisplayName"].removesuffix(DELETED_SUFFIX))
        group = realm.preferences.get("TaxPrefs", {}).get("TaxGroupCodeRef")
        if group and obj.get("Taxable") and "DefaultTaxCodeRef" not in obj:
            obj["DefaultTaxCodeRef"] = {"value": str(group["value"])}
        if obj.get("IsProject") is False:
            obj.pop("IsProject")
    elif spec.name == "Vendor":
        obj.setdefault("Balance", ZERO)
        obj.setdefault("Vendor1099", False)
        obj.setdefault("CurrencyRef", dict(home_ref))
        obj.setdefault("PrintOnCheckName", obj["DisplayName"].removesuffix(DELETED_SUFFIX))
    elif spec.name == "Employee":
        obj.setdefault("BillableTime", False)
        obj.setdefault("PrintOnCheckName", obj["DisplayName"].removesuffix(DELETED_SUFFIX))
    elif spec.name == "Item":
        itype = obj.setdefault("Type", "Service")
        if itype in ("Service", "Inventory", "NonInventory") and "IncomeAccountRef" not in obj:
            raise faults.required_missing("IncomeAccountRef")
        if itype == "Inventory":
            for k in ("AssetAccountRef", "ExpenseAccountRef"):
                if k not in obj:
                    raise faults.required_missing(k)
            obj["TrackQtyOnHand"] = True
            obj.setdefault("QtyOnHand", ZERO)
            obj.setdefault("InvStartDate", realm.clock.today())
        obj.setdefault("Taxable", False)
        obj.setdefault("UnitPrice", ZERO)
        obj.setdefault("PurchaseCost", ZERO)
        obj.setdefault("TrackQtyOnHand", False)
    elif spec.name == "Account":
        from .demo import CLASSIFICATION

        atype = obj.get("AccountType")
        if not atype:
            raise faults.required_missing("AccountType")
        if atype not in CLASSIFICATION:
            raise faults.fault(
                "2170", "Invalid Enumeration", f"Invalid Enumeration : {atype}", "AccountType"
            )
        obj["Classification"] = CLASSIFICATION[atype]
        obj.setdefault("CurrentBalance", ZERO)
        obj.setdefault("CurrentBalanceWithSubAccounts", ZERO)
        obj.setdefault("CurrencyRef", dict(home_ref))
    elif spec.name == "PaymentMethod":
        obj.setdefault("Type", "NON_CREDIT_CARD")
    elif spec.name == "Term":
        obj.setdefault("Type", "STANDARD")
        if obj["Type"] == "STANDARD":
            obj.setdefault("DueDays", 0)


# ------------------------------------------------------------------------ transactions
def _party_for(realm: Realm, spec: EntitySpec, obj: Entity) -> Entity | None:
    for key, ent in (("CustomerRef", "Customer"), ("VendorRef", "Vendor")):
        if key in obj:
            return ref_ok(realm, ent, obj[key], key)
    return None


def _contribution(spec_name: str, obj: Entity | None) -> tuple[str | None, Decimal]:
    """What a transaction adds to its customer's open balance."""
    if obj is None:
        return None, ZERO
    cust = (obj.get("CustomerRef") or {}).get("value")
    if spec_name == "Invoice":
        return cust, to_decimal(obj.get("Balance")) or ZERO
    if spec_name == "Payment":
        return cust, -(to_decimal(obj.get("UnappliedAmt")) or ZERO)
    if spec_name == "CreditMemo":
        return cust, -(to_decimal(obj.get("Balance")) or ZERO)
    return None, ZERO


def _adjust_customer(realm: Realm, cust_id: str | None, delta: Decimal, first: bool = True) -> None:
    if not cust_id or delta == ZERO:
        return
    cust = realm.get("Customer", str(cust_id))
    if cust is None:
        return
    if first:
        cust["Balance"] = money((to_decimal(cust.get("Balance")) or ZERO) + delta)
    cust["BalanceWithJobs"] = money((to_decimal(cust.get("BalanceWithJobs")) or ZERO) + delta)
    realm.ser_cache.pop(("Customer", cust["Id"]), None)
    parent = (cust.get("ParentRef") or {}).get("value")
    if parent:
        _adjust_customer(realm, parent, delta, first=False)


def _balance_change(realm: Realm, spec_name: str, old: Entity | None, new: Entity | None) -> None:
    c_old, v_old = _contribution(spec_name, old)
    c_new, v_new = _contribution(spec_name, new)
    if c_old == c_new:
        _adjust_customer(realm, c_new, v_new - v_old)
    else:
        _adjust_customer(realm, c_old, -v_old)
        _adjust_customer(realm, c_new, v_new)


def _recalc_invoice(realm: Realm, inv: Entity, inv_id: str) -> None:
    """Set Balance/LinkedTxn/HomeBalance from the payments applied to the invoice."""
    links = realm.payment_links.get(inv_id, {})
    applied = sum(links.values(), ZERO)
    total = to_decimal(inv.get("TotalAmt")) or ZERO
    if applied > total and ("Invoice", inv_id) not in realm.voided:
        raise faults.business(
            f"The invoice total {total} is less than the payments applied to it ({applied}).",
            "TotalAmt",
        )
    inv["Balance"] = ZERO if ("Invoice", inv_id) in realm.voided else money(total - applied)
    others = [lt for lt in inv.get("LinkedTxn") or [] if lt.get("TxnType") != "Payment"]
    inv["LinkedTxn"] = others + [{"TxnId": pid, "TxnType": "Payment"} for pid in links]
    if multicurrency(realm):
        rate = to_decimal(inv.get("ExchangeRate")) or Decimal(1)
        inv["HomeBalance"] = money(inv["Balance"] * rate)


def refresh_invoice(realm: Realm, inv_id: str) -> None:
    """Recompute a stored invoice after a payment was applied/removed."""
    inv = realm.get("Invoice", inv_id)
    if inv is None:
        return
    before = copy.copy(inv)
    _recalc_invoice(realm, inv, inv_id)
    realm.ser_cache.pop(("Invoice", inv_id), None)
    _balance_change(realm, "Invoice", before, inv)


def _payment_links(realm: Realm, pay: Entity, pid: str, sign: int) -> None:
    for line in pay.get("Line") or []:
        amt = to_decimal(line.get("Amount")) or ZERO
        for lt in line.get("LinkedTxn") or []:
            if lt.get("TxnType") != "Invoice":
                continue
            inv_id = str(lt.get("TxnId"))
            links = realm.payment_links.setdefault(inv_id, {})
            if sign > 0:
                links[pid] = links.get(pid, ZERO) + amt
            else:
                links.pop(pid, None)
            refresh_invoice(realm, inv_id)


def _prepare_payment(ctx: Ctx, obj: Entity, eid: str, old: Entity | None) -> None:
    realm = ctx.realm
    if "CustomerRef" not in obj:
        raise faults.required_missing("CustomerRef")
    total = num(obj.get("TotalAmt"), "TotalAmt")
    if total is None:
        raise faults.required_missing("TotalAmt")
    total = money(total)
    obj["TotalAmt"] = total
    cust = obj["CustomerRef"]["value"]
    applied = ZERO
    lines = obj.get("Line") or []
    for line in lines:
        amt = num(line.get("Amount"), "Line.Amount")
        if amt is None:
            raise faults.required_missing("Line.Amount")
        line["Amount"] = money(amt)
        for lt in line.get("LinkedTxn") or []:
            ttype = lt.get("TxnType")
            if ttype == "Invoice":
                inv = realm.visible("Invoice", str(lt.get("TxnId")))
                if inv is None:
                    raise faults.invalid_reference("Line.LinkedTxn.TxnId")
                if str((inv.get("CustomerRef") or {}).get("value")) != str(cust):
                    raise faults.business(
                        f"Invoice {inv['Id']} belongs to a different customer.", "Line.LinkedTxn"
                    )
                open_bal = (to_decimal(inv.get("TotalAmt")) or ZERO) - sum(
                    (a for p, a in realm.payment_links.get(inv["Id"], {}).items() if p != eid), ZERO
                )
                if line["Amount"] > open_bal:
                    raise faults.business(
                        f"The payment amount {line['Amount']} exceeds the open balance "
                        f"{money(open_bal)} of invoice {inv['Id']}.",
                        "Line.Amount",
                    )
                applied += line["Amount"]
                lt["TxnId"] = inv["Id"]
    if applied > total:
        raise faults.business("The amount applied exceeds the payment total.", "TotalAmt")
    assign_line_ids(realm, "Payment", eid, lines, old.get("Line") if old else None)
    obj["UnappliedAmt"] = money(total - applied)
    if "DepositToAccountRef" not in obj:
        obj["DepositToAccountRef"] = (
            {"value": "4", "name": "Undeposited Funds"}
            if realm.get("Account", "4")
            else {"value": "4"}
        )
    obj.setdefault("ProcessPayment", False)


def _sum_lines(obj: Entity, detail: str | None = None) -> Decimal:
    total = ZERO
    lines = obj.get("Line")
    if not isinstance(lines, list) or not lines:
        raise faults.required_missing("Line")
    for line in lines:
        amt = num(line.get("Amount"), "Line.Amount")
        if amt is None:
            raise faults.required_missing("Line.Amount")
        line["Amount"] = money(amt)
        total += line["Amount"]
    return total


def _prepare_other_txn(
    ctx: Ctx, spec: EntitySpec, obj: Entity, eid: str, old: Entity | None
) -> None:
    realm = ctx.realm
    name = spec.name
    if name == "Deposit":
        if "DepositToAccountRef" not in obj:
            raise faults.required_missing("DepositToAccountRef")
        total = _sum_lines(obj)
        cash = obj.get("CashBack")
        if isinstance(cash, dict):
            back = money(num(cash.get("Amount"), "CashBack.Amount") or ZERO)
            cash["Amount"] = back
            total -= back
        obj["TotalAmt"] = money(total)
    elif name == "JournalEntry":
        debit = credit = ZERO
        _sum_lines(obj)
        for line in obj["Line"]:
            det = line.get("JournalEntryLineDetail")
            if not isinstance(det, dict):
                raise faults.required_missing("Line.JournalEntryLineDetail")
            if "AccountRef" not in det:
                raise faults.required_missing("Line.JournalEntryLineDetail.AccountRef")
            ref_ok(realm, "Account", det["AccountRef"], "Line.JournalEntryLineDetail.AccountRef")
            if det.get("PostingType") == "Debit":
                debit += line["Amount"]
            elif det.get("PostingType") == "Credit":
                credit += line["Amount"]
            else:
                raise faults.required_missing("Line.JournalEntryLineDetail.PostingType")
        if debit != credit:
            raise faults.business(
                "Transaction is not balanced: the total debits must equal the total credits."
            )
        obj["TotalAmt"] = debit
    elif name in ("Purchase", "Bill"):
        if name == "Purchase":
            for k in ("AccountRef", "PaymentType"):
                if k not in obj:
                    raise faults.required_missing(k)
        elif "VendorRef" not in obj:
            raise faults.required_missing("VendorRef")
        total = _sum_lines(obj)
        for line in obj["Line"]:
            det = line.get("ItemBasedExpenseLineDetail")
            if isinstance(det, dict):
                qty = num(det.get("Qty"), "Line.Qty")
                price = num(det.get("UnitPrice"), "Line.UnitPrice")
                if qty and price and money(qty * price) != line["Amount"]:
                    raise faults.amount_mismatch(f"{line['Amount']:,}")
        obj["TotalAmt"] = money(total)
        if name == "Bill":
            obj["Balance"] = obj["TotalAmt"]
            obj.setdefault("DueDate", obj.get("TxnDate"))
    elif name == "Transfer":
        for k in ("FromAccountRef", "ToAccountRef", "Amount"):
            if k not in obj:
                raise faults.required_missing(k)
        if str(obj["FromAccountRef"].get("value")) == str(obj["ToAccountRef"].get("value")):
            raise faults.business("The From and To accounts must be different.", "ToAccountRef")
        obj["Amount"] = money(num(obj["Amount"], "Amount") or ZERO)
    if "Line" in obj and name != "Transfer":
        assign_line_ids(realm, name, eid, obj["Line"], old.get("Line") if old else None)
        for i, line in enumerate(obj["Line"], start=1):
            line["LineNum"] = i


def _doc_number(ctx: Ctx, spec: EntitySpec, obj: Entity, eid: str) -> None:
    realm = ctx.realm
    doc = obj.get("DocNumber")
    auto = obj.pop("AutoDocNumber", None)
    custom = realm.preferences.get("SalesFormsPrefs", {}).get("CustomTxnNumbers", False)
    wants_auto = doc == "AUTO_GENERATE" or auto is True or (doc is None and not custom)
    if spec.auto_number and wants_auto:
        realm.last_doc_number += 1
        obj["DocNumber"] = str(realm.last_doc_number)
        return
    if doc is None:
        return
    doc = str(doc)
    if len(doc) > 21:
        raise faults.fault(
            "2050",
            "String length is either shorter or longer than supported by specification",
            "Length of the field exceeds 21 chars",
            "DocNumber",
        )
    obj["DocNumber"] = doc
    if doc.isdigit():
        realm.last_doc_number = max(realm.last_doc_number, int(doc))
    if not spec.doc_numbers or ctx.opts.allow_duplicate_docnum:
        return
    if spec.name == "JournalEntry":
        names = realm.preferences.get("OtherPrefs", {}).get("NameValue", [])
        warn = any(
            nv.get("Name") == "WarnDuplicateJournalNumber"
            and str(nv.get("Value")).lower() == "true"
            for nv in names
        )
        if not warn:
            return
    for other_id in sorted(
        realm.doc_ids(spec.name, doc), key=lambda x: int(x) if x.isdigit() else 0
    ):
        if other_id != eid:
            raise faults.duplicate_docnumber(doc, spec.name, other_id)


def _due_date(realm: Realm, obj: Entity, party: Entity | None) -> None:
    if obj.get("DueDate"):
        return
    term_ref = (
        obj.get("SalesTermRef")
        or (party or {}).get("SalesTermRef")
        or realm.preferences.get("SalesFormsPrefs", {}).get("DefaultTerms")
    )
    days = 30
    if isinstance(term_ref, dict):
        term = realm.get("Term", str(term_ref.get("value")))
        if term is not None:
            days = int(term.get("DueDays", 0) or 0)
    try:
        d = date.fromisoformat(str(obj["TxnDate"])[:10])
    except ValueError as exc:
        raise faults.fault(
            "2010",
            "Request has invalid or unsupported property",
            f"Invalid date {obj['TxnDate']}",
            "TxnDate",
        ) from exc
    obj["DueDate"] = (d + timedelta(days=days)).isoformat()


def _prepare_txn(ctx: Ctx, spec: EntitySpec, obj: Entity, eid: str, old: Entity | None) -> None:
    realm = ctx.realm
    for k in TXN_READ_ONLY:
        obj.pop(k, None)
    if spec.sales_form or spec.name in ("Deposit", "JournalEntry", "Purchase", "Bill"):
        obj.pop("TotalAmt", None)
    obj.setdefault("TxnDate", realm.clock.today())
    obj["TxnDate"] = str(obj["TxnDate"])[:10]
    _check_closed(realm, obj["TxnDate"])
    if old is not None:
        _check_closed(realm, old.get("TxnDate"))
    if (
        spec.sales_form
        and spec.name in ("Invoice", "CreditMemo", "Estimate")
        and "CustomerRef" not in obj
    ):
        raise faults.required_missing("CustomerRef")
    if spec.name == "RefundReceipt" and "DepositToAccountRef" not in obj:
        raise faults.required_missing("DepositToAccountRef")
    party = _party_for(realm, spec, obj)
    for key, target in REF_TARGETS.items():
        if key in obj and key not in ("CustomerRef", "VendorRef") and isinstance(obj[key], dict):
            ref_ok(realm, target, obj[key], key)
    rate = apply_currency(realm, obj, party)
    _doc_number(ctx, spec, obj, eid)
    if spec.sales_form:
        compute_sales_form(realm, spec.name, obj, eid, old)
        if party is not None:
            for addr in ("BillAddr", "ShipAddr"):
                if addr not in obj and isinstance(party.get(addr), dict):
                    obj[addr] = copy.deepcopy(party[addr])
        if realm.custom_fields:
            given = {str(c.get("DefinitionId")): c for c in obj.get("CustomField") or []}
            merged = []
            for d in realm.custom_fields:
                c = dict(d)
                g = given.get(d["DefinitionId"])
                if g and g.get("StringValue"):
                    c["StringValue"] = g["StringValue"]
                merged.append(c)
            obj["CustomField"] = merged
        obj.setdefault("ApplyTaxAfterDiscount", False)
        obj.setdefault("PrintStatus", "NeedToPrint")
        obj.setdefault("EmailStatus", "NotSet")
        if spec.name == "Invoice":
            for flag in (
                "AllowIPNPayment",
                "AllowOnlinePayment",
                "AllowOnlineCreditCardPayment",
                "AllowOnlineACHPayment",
            ):
                obj.setdefault(flag, False)
            if obj.get("Deposit") in (0, ZERO):
                obj.pop("Deposit")
            _due_date(realm, obj, party)
            _recalc_invoice(realm, obj, eid)
        elif spec.name in ("SalesReceipt", "RefundReceipt"):
            if spec.name == "SalesReceipt" and "DepositToAccountRef" not in obj:
                uf = realm.get("Account", "4")
                obj["DepositToAccountRef"] = {"value": "4", "name": (uf or {}).get("Name", "")}
            obj["Balance"] = ZERO
        elif spec.name == "CreditMemo":
            obj["Balance"] = obj["TotalAmt"]
            obj["RemainingCredit"] = obj["TotalAmt"]
        elif spec.name == "Estimate":
            obj.setdefault("TxnStatus", "Pending")
        if obj.get("LinkedTxn") == [] and spec.name != "Invoice":
            obj.pop("LinkedTxn")
        for k in ("InvoiceLink", "FreeFormAddress"):
            if obj.get(k) is False:
                obj.pop(k)
    elif spec.name == "Payment":
        _prepare_payment(ctx, obj, eid, old)
    else:
        _prepare_other_txn(ctx, spec, obj, eid, old)
    if multicurrency(realm):
        total = to_decimal(obj.get("TotalAmt", obj.get("Amount"))) or ZERO
        obj["HomeTotalAmt"] = money(total * rate)
        if "Balance" in obj:
            obj["HomeBalance"] = money((to_decimal(obj["Balance"]) or ZERO) * rate)
    elif obj.get("ExchangeRate") in (1, Decimal(1)):
        obj.pop("ExchangeRate")
    if (
        obj.get("GlobalTaxCalculation")
        and not multicurrency(realm)
        and realm.company_info.get("Country", "US") == "US"
    ):
        obj.pop("GlobalTaxCalculation")  # accepted but not applicable to US companies


def _prepare(ctx: Ctx, spec: EntitySpec, obj: Entity, eid: str, old: Entity | None) -> None:
    if spec.kind == "name":
        _prepare_name(ctx, spec, obj, eid, old)
    elif spec.kind == "attachable":
        attachments.prepare(ctx.realm, obj, eid, old, ctx.upload, ctx.base_url)
    else:
        _prepare_txn(ctx, spec, obj, eid, old)


def _commit(ctx: Ctx, spec: EntitySpec, obj: Entity, old: Entity | None, op: str) -> None:
    realm = ctx.realm
    eid = obj["Id"]
    if spec.name == "Payment" and old is not None:
        _payment_links(realm, old, eid, -1)
    realm.put(spec.name, obj)
    if spec.name == "Payment":
        _payment_links(realm, obj, eid, +1)
    _balance_change(realm, spec.name, old, obj)
    ctx.events.append((spec.name, eid, op))


# ----------------------------------------------------------------------------- public
def create(ctx: Ctx, spec: EntitySpec, body: Entity) -> Entity:
    if not spec.creatable:
        raise faults.unsupported_operation(f"/v3/company/{ctx.realm.realm_id}/{spec.path}")
    check_props(spec, body)
    obj = clean(copy.deepcopy(body))
    for k in SERVER_FIELDS:
        obj.pop(k, None)
    realm = ctx.realm
    eid = str(realm.next_id.get(spec.name, 1))  # taken for real only on success
    doc_seq = realm.last_doc_number
    try:
        _prepare(ctx, spec, obj, eid, None)
    except faults.QBOFault:
        realm.line_seq.pop((spec.name, eid), None)
        realm.last_doc_number = doc_seq
        raise
    eid = realm.new_id(spec.name)
    _envelope(obj, eid)
    _bump(ctx.realm, obj, None)
    _commit(ctx, spec, obj, None, "Create")
    return obj


def read(ctx: Ctx, spec: EntitySpec, eid: str) -> Entity:
    validate_id_text(eid)
    return _find(ctx.realm, spec, eid)


def _stale_check(ctx: Ctx, body: Entity, current: Entity) -> None:
    tok = _sync_token(body)
    if ctx.opts.force_stale or tok != str(current.get("SyncToken")):
        raise faults.stale_object()


def update(ctx: Ctx, spec: EntitySpec, body: Entity) -> Entity:
    check_props(spec, body)
    eid = _id(body)
    current = _find(ctx.realm, spec, eid)
    _stale_check(ctx, body, current)
    if (spec.name, eid) in ctx.realm.voided:
        raise faults.business("A voided transaction cannot be modified.")
    incoming = clean(copy.deepcopy(body))
    sparse = bool(incoming.pop("sparse", False)) and spec.name != "Deposit"
    for k in SERVER_FIELDS:
        incoming.pop(k, None)
    if sparse:
        obj = copy.deepcopy(current)
        obj.update(incoming)
    else:
        obj = incoming
    _prepare(ctx, spec, obj, eid, current)
    _envelope(obj, eid)
    obj["SyncToken"] = current["SyncToken"]
    obj["MetaData"] = copy.deepcopy(current.get("MetaData", {}))
    if _same(obj, current):
        return current  # nothing changed: QBO keeps SyncToken and LastUpdatedTime (observed)
    _bump(ctx.realm, obj, current)
    _commit(ctx, spec, obj, current, "Update")
    return obj


def delete(ctx: Ctx, spec: EntitySpec, body: Entity) -> Entity:
    eid = _id(body)
    current = _find(ctx.realm, spec, eid)
    if spec.name != "Attachable" or body.get("SyncToken") not in (None, ""):
        _stale_check(ctx, body, current)  # recorded: an Attachable is deleted by Id alone
    if spec.kind == "name":
        # name-list "delete" is a deactivation
        return update(
            ctx,
            spec,
            {"Id": eid, "SyncToken": current["SyncToken"], "sparse": True, "Active": False},
        )
    _check_closed(ctx.realm, current.get("TxnDate"))
    if spec.name == "Invoice" and ctx.realm.payment_links.get(eid):
        raise faults.business("This invoice has payments applied; delete the payments first.")
    if spec.name == "Payment":
        _payment_links(ctx.realm, current, eid, -1)
    _balance_change(ctx.realm, spec.name, current, None)
    ctx.realm.remove(spec.name, eid)
    if spec.name == "Attachable":
        ctx.realm.attachments.pop(eid, None)
    ctx.realm.voided.discard((spec.name, eid))
    ctx.events.append((spec.name, eid, "Delete"))
    return {"domain": "QBO", "status": "Deleted", "Id": eid}


def void(ctx: Ctx, spec: EntitySpec, body: Entity) -> Entity:
    if not spec.voidable:
        raise faults.unsupported_operation(f"/v3/company/{ctx.realm.realm_id}/{spec.path}")
    eid = _id(body)
    current = _find(ctx.realm, spec, eid)
    _stale_check(ctx, body, current)
    _check_closed(ctx.realm, current.get("TxnDate"))
    if spec.name == "Invoice" and ctx.realm.payment_links.get(eid):
        raise faults.business("This invoice has payments applied; void the payments first.")
    obj = copy.deepcopy(current)
    if spec.name == "Payment":
        _payment_links(ctx.realm, current, eid, -1)
        obj["Line"] = []
    for line in obj.get("Line") or []:
        if "Amount" in line:
            line["Amount"] = ZERO
        for sub in (line.get("GroupLineDetail") or {}).get("Line") or []:
            sub["Amount"] = ZERO
    for k in (
        "TotalAmt",
        "Balance",
        "HomeTotalAmt",
        "HomeBalance",
        "UnappliedAmt",
        "RemainingCredit",
        "Amount",
    ):
        if k in obj:
            obj[k] = ZERO
    tax = obj.get("TxnTaxDetail")
    if isinstance(tax, dict):
        tax["TotalTax"] = ZERO
        for tl in tax.get("TaxLine") or []:
            tl["Amount"] = ZERO
    obj["PrivateNote"] = "Voided"
    _bump(ctx.realm, obj, current)
    ctx.realm.voided.add((spec.name, eid))
    ctx.realm.put(spec.name, obj)
    _balance_change(ctx.realm, spec.name, current, obj)
    ctx.events.append((spec.name, eid, "Void"))
    return obj


def spec_by_entity_key(body: Entity) -> tuple[EntitySpec, Entity] | None:
    """For batch items: find the entity key (e.g. ``"Invoice"``) in an item."""
    for key, val in body.items():
        spec = SPECS.get(key)
        if spec is not None and isinstance(val, dict):
            return spec, val
    return None


def write(
    ctx: Ctx, spec: EntitySpec, body: Entity, operation: str | None, include: str | None
) -> Entity:
    """Route a POST to create/update/delete/void the way QBO does."""
    op = (operation or "").lower()
    inc = (include or "").lower()
    if op == "delete":
        return delete(ctx, spec, body)
    if op == "void" or (op == "update" and "void" in inc):
        if op == "update" and not spec.void_via_update:
            raise faults.unsupported_operation(f"/v3/company/{ctx.realm.realm_id}/{spec.path}")
        return void(ctx, spec, body)
    if op in ("update",) or body.get("Id") not in (None, ""):
        return update(ctx, spec, body)
    if op not in ("", "create"):
        raise faults.unsupported_operation(
            f"/v3/company/{ctx.realm.realm_id}/{spec.path}?operation={operation}"
        )
    return create(ctx, spec, body)
