"""Transaction math: lines, subtotal, discount, shipping, tax, totals, multicurrency."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from . import faults
from .entities import PSEUDO_TAX_CODES, SHIPPING_ITEM_ID
from .jsonutil import money, to_decimal
from .state import Entity, Realm

ZERO = Decimal(0)


def num(value: Any, path: str) -> Decimal | None:
    """Decimal from a request value, or a 2010-style fault naming the field."""
    try:
        return to_decimal(value)
    except ValueError as exc:
        raise faults.fault(
            "2010",
            "Request has invalid or unsupported property",
            f"Property Name:Can not construct instance of java.math.BigDecimal from String value "
            f"'{value}': not a valid representation ({path})",
            element=path,
        ) from exc


def ref_ok(realm: Realm, entity: str, ref: Any, path: str) -> Entity:
    """Resolve a reference; unknown id → 2500, inactive → 610. Fills ``name``."""
    if not isinstance(ref, dict) or not ref.get("value"):
        raise faults.required_missing(path)
    obj = realm.visible(entity, str(ref["value"]))
    if obj is None:
        raise faults.invalid_reference(path)
    if obj.get("Active") is False:
        raise faults.object_not_found(path)
    ref["value"] = str(ref["value"])
    ref.pop("type", None)
    label = obj.get("DisplayName") or obj.get("Name") or obj.get("FullyQualifiedName")
    if label:
        ref["name"] = obj.get("FullyQualifiedName") or label
    return obj


def assign_line_ids(
    realm: Realm, entity: str, eid: str, lines: list[Entity], old_lines: list[Entity] | None
) -> None:
    """Keep ids of lines that already exist; give new lines fresh, never-reused ids."""
    old_ids = {str(x.get("Id")) for x in (old_lines or []) if x.get("Id")}
    for line in lines:
        lid = str(line.get("Id") or "")
        if not lid or lid not in old_ids:
            line["Id"] = realm.new_line_id(entity, eid)
        else:
            line["Id"] = lid


def _line_amount(line: Entity, path: str) -> Decimal:
    amt = num(line.get("Amount"), f"{path}.Amount")
    if amt is None:
        raise faults.required_missing(f"{path}.Amount")
    return money(amt)


def _qty_price_check(detail: Entity, line: Entity, path: str) -> None:
    qty = num(detail.get("Qty"), f"{path}.Qty")
    price = num(detail.get("UnitPrice"), f"{path}.UnitPrice")
    if qty == ZERO and price in (None, ZERO):
        detail.pop("Qty", None)
    if price == ZERO and qty is None:
        detail.pop("UnitPrice", None)
    if qty is not None and price is not None and qty != ZERO and price != ZERO:
        expected = money(qty * price)
        supplied = num(line.get("Amount"), f"{path}.Amount")
        if supplied is None:
            line["Amount"] = expected
        elif supplied != expected:
            raise faults.amount_mismatch(f"{supplied:,}")
        detail["Qty"] = qty
        detail["UnitPrice"] = price
    elif qty == ZERO and price == ZERO:
        detail.pop("Qty", None)
        detail.pop("UnitPrice", None)
    for k in ("TaxInclusiveAmt", "DiscountAmt", "DiscountRate"):
        if detail.get(k) in (0, ZERO):
            detail.pop(k, None)


def _tax_code(realm: Realm, detail: Entity, path: str, default: str) -> str:
    ref = detail.get("TaxCodeRef")
    if not isinstance(ref, dict) or not ref.get("value"):
        detail["TaxCodeRef"] = {"value": default}
        return default
    val = str(ref["value"])
    if val in PSEUDO_TAX_CODES:
        detail["TaxCodeRef"] = {"value": val}
        return val
    code = ref_ok(realm, "TaxCode", ref, f"{path}.TaxCodeRef")
    return "TAX" if code.get("Taxable", True) else "NON"


def compute_sales_form(
    realm: Realm, entity: str, obj: Entity, eid: str, old: Entity | None
) -> None:
    """Validate lines and compute Line ids, subtotal, discount, shipping, tax and TotalAmt."""
    prefs = realm.preferences
    sales_prefs = prefs.get("SalesFormsPrefs", {})
    lines_in = obj.get("Line")
    if not isinstance(lines_in, list) or not lines_in:
        raise faults.required_missing("Line")
    body: list[Entity] = []
    discounts: list[Entity] = []
    shipping_lines: list[Entity] = []
    subtotal = ZERO
    shipping = ZERO
    taxable = ZERO
    for line in lines_in:
        if not isinstance(line, dict):
            raise faults.required_missing("Line")
        for empty in ("LinkedTxn", "CustomField"):
            if line.get(empty) == []:
                line.pop(empty)
        dt = line.get("DetailType")
        if dt == "SubTotalLineDetail":
            continue
        path = f"Line.{dt}"
        if dt == "SalesItemLineDetail":
            det = line.get("SalesItemLineDetail")
            if not isinstance(det, dict):
                raise faults.required_missing("Line.SalesItemLineDetail")
            item_ref = det.get("ItemRef")
            is_ship = isinstance(item_ref, dict) and item_ref.get("value") == SHIPPING_ITEM_ID
            item: Entity | None = None
            if is_ship:
                if not sales_prefs.get("AllowShipping", False):
                    raise faults.invalid_reference(f"{path}.ItemRef")
                det["ItemRef"] = {"value": SHIPPING_ITEM_ID}
            elif item_ref is not None:
                item = ref_ok(realm, "Item", item_ref, f"{path}.ItemRef")
            else:
                default = realm.get("Item", "1")
                if default is not None:
                    det["ItemRef"] = {"value": "1", "name": default.get("Name", "Services")}
            _qty_price_check(det, line, path)
            amt = _line_amount(line, "Line")
            line["Amount"] = amt
            code = _tax_code(realm, det, path, "TAX" if item and item.get("Taxable") else "NON")
            if is_ship:
                shipping += amt
                shipping_lines.append(line)
            else:
                subtotal += amt
                body.append(line)
            if code == "TAX":
                taxable += amt
        elif dt == "DiscountLineDetail":
            det = line.get("DiscountLineDetail")
            if not isinstance(det, dict):
                raise faults.required_missing("Line.DiscountLineDetail")
            discounts.append(line)
        elif dt in ("DescriptionOnly", "DescriptionLineDetail"):
            line["DetailType"] = "DescriptionOnly"
            if line.get("Amount") in (None, "", 0):
                line.pop("Amount", None)
            body.append(line)
        elif dt == "GroupLineDetail":
            det = line.get("GroupLineDetail")
            if not isinstance(det, dict):
                raise faults.required_missing("Line.GroupLineDetail")
            total = ZERO
            for sub in det.get("Line") or []:
                sdet = sub.get("SalesItemLineDetail") or {}
                if sdet.get("ItemRef") is not None:
                    ref_ok(realm, "Item", sdet["ItemRef"], "Line.GroupLineDetail.Line.ItemRef")
                _qty_price_check(sdet, sub, "Line.GroupLineDetail.Line")
                a = _line_amount(sub, "Line.GroupLineDetail.Line")
                sub["Amount"] = a
                total += a
                if str((sdet.get("TaxCodeRef") or {}).get("value")) == "TAX":
                    taxable += a
            line["Amount"] = total
            subtotal += total
            body.append(line)
        else:
            raise faults.required_missing("Line.DetailType")
    discount = ZERO
    for d in discounts:
        det = d["DiscountLineDetail"]
        if det.get("PercentBased"):
            pct = num(det.get("DiscountPercent"), "Line.DiscountLineDetail.DiscountPercent")
            if pct is None:
                raise faults.required_missing("Line.DiscountLineDetail.DiscountPercent")
            d["Amount"] = money(subtotal * pct / 100)
        else:
            d["Amount"] = _line_amount(d, "Line")
            det.setdefault("PercentBased", False)
        if det.get("DiscountAccountRef"):
            ref_ok(
                realm,
                "Account",
                det["DiscountAccountRef"],
                "Line.DiscountLineDetail.DiscountAccountRef",
            )
        else:
            acct = realm.get("Account", str(sales_prefs.get("DefaultDiscountAccount", "")))
            if acct is not None:
                det["DiscountAccountRef"] = {"value": acct["Id"], "name": acct["Name"]}
        discount += d["Amount"]
    if discount > subtotal:
        raise faults.business("Discount cannot exceed the subtotal.", "Line.DiscountLineDetail")

    tax = _compute_tax(realm, obj, taxable, subtotal, discount)
    total = subtotal - discount + shipping + tax
    old_lines = old.get("Line") if old else None
    numbered = body + discounts + shipping_lines
    assign_line_ids(realm, entity, eid, numbered, old_lines)
    for i, line in enumerate(numbered, start=1):
        line["LineNum"] = i
    sub_line = {"Amount": subtotal, "DetailType": "SubTotalLineDetail", "SubTotalLineDetail": {}}
    obj["Line"] = [*body, sub_line, *discounts, *shipping_lines]
    obj["TotalAmt"] = money(total)


def _compute_tax(
    realm: Realm, obj: Entity, taxable: Decimal, subtotal: Decimal, discount: Decimal
) -> Decimal:
    detail = obj.get("TxnTaxDetail")
    if not isinstance(detail, dict):
        obj["TxnTaxDetail"] = {"TotalTax": ZERO}
        return ZERO
    code_ref = detail.get("TxnTaxCodeRef")
    base = taxable
    if obj.get("ApplyTaxAfterDiscount") and subtotal > 0 and discount > 0:
        base = money(taxable - discount * taxable / subtotal)
    if isinstance(code_ref, dict) and code_ref.get("value"):
        code = ref_ok(realm, "TaxCode", code_ref, "TxnTaxDetail.TxnTaxCodeRef")
        tax_lines: list[Entity] = []
        total = ZERO
        for rd in (code.get("SalesTaxRateList") or {}).get("TaxRateDetail") or []:
            rate = realm.get("TaxRate", str(rd["TaxRateRef"]["value"]))
            if rate is None:
                continue
            pct = to_decimal(rate.get("RateValue")) or ZERO
            amt = money(base * pct / 100)
            total += amt
            tax_lines.append(
                {
                    "Amount": amt,
                    "DetailType": "TaxLineDetail",
                    "TaxLineDetail": {
                        "TaxRateRef": {"value": rate["Id"]},
                        "PercentBased": True,
                        "TaxPercent": pct,
                        "NetAmountTaxable": base,
                    },
                }
            )
        explicit = num(detail.get("TotalTax"), "TxnTaxDetail.TotalTax")
        if explicit is not None and explicit != ZERO and explicit != total:
            total = money(explicit)  # caller-supplied tax amount is honoured (AST behaviour)
        obj["TxnTaxDetail"] = {
            "TxnTaxCodeRef": {"value": code["Id"]},
            "TotalTax": total,
            "TaxLine": tax_lines,
        }
        return total
    explicit = num(detail.get("TotalTax"), "TxnTaxDetail.TotalTax")
    total = money(explicit) if explicit is not None else ZERO
    kept = {"TotalTax": total}
    if detail.get("TaxLine"):
        kept["TaxLine"] = detail["TaxLine"]
    obj["TxnTaxDetail"] = kept
    return total


def apply_currency(realm: Realm, obj: Entity, party: Entity | None) -> Decimal:
    """Set ``CurrencyRef``/``ExchangeRate``; returns the rate (1 for home currency)."""
    prefs = realm.preferences.get("CurrencyPrefs", {})
    home = str((prefs.get("HomeCurrency") or {}).get("value", "USD"))
    enabled = bool(prefs.get("MultiCurrencyEnabled"))
    ref = obj.get("CurrencyRef")
    code = str(ref.get("value")) if isinstance(ref, dict) and ref.get("value") else None
    party_cur = None
    if party is not None and isinstance(party.get("CurrencyRef"), dict):
        party_cur = str(party["CurrencyRef"].get("value"))
    if code is None:
        code = party_cur if (enabled and party_cur) else home
    if code != home and not enabled:
        raise faults.business(
            f"Multicurrency is not enabled for this company; CurrencyRef {code} is not allowed.",
            "CurrencyRef",
        )
    if code not in realm.currencies:
        raise faults.invalid_reference("CurrencyRef")
    if enabled and party_cur and party_cur != code:
        raise faults.business(
            "The transaction needs to be in the same currency as the customer/vendor "
            f"({party_cur}), not {code}.",
            "CurrencyRef",
        )
    obj["CurrencyRef"] = {"value": code, "name": realm.currencies[code]}
    if code == home:
        rate = Decimal(1)
        if enabled:
            obj["ExchangeRate"] = rate
        else:
            obj.pop("ExchangeRate", None)
        return rate
    given = num(obj.get("ExchangeRate"), "ExchangeRate")
    if given is None or given <= 0 or given == 1:
        fx = realm.exchange_rates.get(code)
        if fx is None:
            raise faults.required_missing("ExchangeRate")
        given = fx
    obj["ExchangeRate"] = given
    return given


def multicurrency(realm: Realm) -> bool:
    return bool(realm.preferences.get("CurrencyPrefs", {}).get("MultiCurrencyEnabled"))
