"""The unmodified python-quickbooks client against the sandbox (issue 3, first 'done when')."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest
from quickbooks.batch import batch_create
from quickbooks.exceptions import QuickbooksException, ValidationException
from quickbooks.objects import (
    Attachable,
    Customer,
    Invoice,
    Item,
    Payment,
    RefundReceipt,
    SalesReceipt,
)
from quickbooks.objects.base import AttachableRef, Ref
from quickbooks.objects.detailline import SalesItemLine, SalesItemLineDetail
from quickbooks.objects.payment import PaymentLine

from .conftest import Company


def _ref(value: str) -> Ref:
    r = Ref()
    r.value = value
    return r


def _line(item: str, qty: int, price: str, amount: str) -> SalesItemLine:
    line = SalesItemLine()
    line.Amount = Decimal(amount)
    line.SalesItemLineDetail = SalesItemLineDetail()
    line.SalesItemLineDetail.ItemRef = _ref(item)
    line.SalesItemLineDetail.Qty = qty
    line.SalesItemLineDetail.UnitPrice = Decimal(price)
    return line


def _customer(qb: object, name: str) -> Customer:
    c = Customer()
    c.DisplayName = name
    return c.save(qb=qb)  # save() returns the object parsed from the response


def test_customer_crud_and_query(company: Company) -> None:
    qb = company.qb()
    c = _customer(qb, "O'Neil Trading")
    assert c.Id and c.SyncToken == "0"
    got = Customer.get(c.Id, qb=qb)
    assert got.DisplayName == "O'Neil Trading"
    got.CompanyName = "O'Neil Ltd"
    assert got.save(qb=qb).SyncToken == "1"
    found = Customer.filter(DisplayName="O'Neil Trading", qb=qb)
    assert [x.Id for x in found] == [c.Id]
    assert Customer.count(qb=qb) == 1
    assert Customer.where("Active = True", order_by="DisplayName DESC", qb=qb)[0].Id == c.Id
    # deactivate = name-list "delete"
    got = Customer.get(c.Id, qb=qb)
    got.Active = False
    got.save(qb=qb)
    assert Customer.all(qb=qb) == []
    assert Customer.get(c.Id, qb=qb).DisplayName == "O'Neil Trading (deleted)"


def test_stale_update_gets_5010(company: Company) -> None:
    qb = company.qb()
    c = _customer(qb, "Stale Co")
    a = Customer.get(c.Id, qb=qb)
    b = Customer.get(c.Id, qb=qb)
    a.Notes = "first"
    a.save(qb=qb)
    b.Notes = "second"
    with pytest.raises(QuickbooksException) as exc:
        b.save(qb=qb)
    assert exc.value.error_code == 5010
    assert "Stale Object Error" in exc.value.message
    assert Customer.get(c.Id, qb=qb).Notes == "first"


def test_item_invoice_payment_void_delete(company: Company) -> None:
    qb = company.qb()
    item = Item()
    item.Name = "Widget"
    item.Type = "NonInventory"
    item.UnitPrice = Decimal("12.50")
    item.IncomeAccountRef = _ref("1")
    item = item.save(qb=qb)
    assert Item.get(item.Id, qb=qb).Name == "Widget"

    cust = _customer(qb, "Invoice Customer")
    inv = Invoice()
    inv.CustomerRef = cust.to_ref()
    inv.Line.append(_line(item.Id, 3, "12.50", "37.50"))
    inv = inv.save(qb=qb)
    assert Decimal(str(inv.TotalAmt)) == Decimal("37.50")
    assert inv.DocNumber

    pay = Payment()
    pay.CustomerRef = cust.to_ref()
    pay.TotalAmt = Decimal("20")
    pl = PaymentLine()
    pl.Amount = Decimal("20")
    pl.LinkedTxn.append(inv.to_linked_txn())
    pay.Line.append(pl)
    pay = pay.save(qb=qb)
    assert Decimal(str(Invoice.get(inv.Id, qb=qb).Balance)) == Decimal("17.50")

    pay.void(qb=qb)
    voided = Payment.get(pay.Id, qb=qb)
    assert Decimal(str(voided.TotalAmt)) == 0 and voided.PrivateNote == "Voided"
    assert Decimal(str(Invoice.get(inv.Id, qb=qb).Balance)) == Decimal("37.50")

    inv2 = Invoice.get(inv.Id, qb=qb)
    inv2.void(qb=qb)
    again = Invoice.get(inv.Id, qb=qb)
    assert Decimal(str(again.TotalAmt)) == 0 and again.SyncToken == "1"

    inv3 = Invoice()
    inv3.CustomerRef = cust.to_ref()
    inv3.Line.append(_line(item.Id, 1, "12.50", "12.50"))
    inv3 = inv3.save(qb=qb)
    inv3.delete(qb=qb)
    with pytest.raises(QuickbooksException) as exc:
        Invoice.get(inv3.Id, qb=qb)
    assert exc.value.error_code == 610


def test_sales_receipt_and_refund_receipt(company: Company) -> None:
    qb = company.qb()
    cust = _customer(qb, "Receipt Customer")
    sr = SalesReceipt()
    sr.CustomerRef = cust.to_ref()
    sr.Line.append(_line("3", 2, "9.99", "19.98"))
    sr = sr.save(qb=qb)
    got = SalesReceipt.get(sr.Id, qb=qb)
    assert Decimal(str(got.TotalAmt)) == Decimal("19.98")
    assert got.DepositToAccountRef.value == "4"
    got.PrivateNote = "updated"
    got.save(qb=qb)
    assert SalesReceipt.get(sr.Id, qb=qb).SyncToken == "1"

    rr = RefundReceipt()
    rr.CustomerRef = cust.to_ref()
    rr.DepositToAccountRef = _ref("6")
    rr.Line.append(_line("3", 1, "9.99", "9.99"))
    rr = rr.save(qb=qb)
    assert Decimal(str(RefundReceipt.get(rr.Id, qb=qb).TotalAmt)) == Decimal("9.99")
    rr.delete(qb=qb)
    assert company.count("RefundReceipt") == 0

    sr2 = SalesReceipt.get(sr.Id, qb=qb)
    sr2.void(qb=qb)
    assert SalesReceipt.get(sr.Id, qb=qb).PrivateNote == "Voided"
    sr3 = SalesReceipt.get(sr.Id, qb=qb)
    sr3.delete(qb=qb)
    assert company.count("SalesReceipt") == 0


def test_batch_create_and_line_math_fault(company: Company) -> None:
    qb = company.qb()
    customers = []
    for name in ("Batch A", "Batch B", "Batch A"):
        c = Customer()
        c.DisplayName = name
        customers.append(c)
    results = batch_create(customers, qb=qb)
    assert len(results.successes) == 2
    assert len(results.faults) == 1
    assert results.faults[0].Error[0].code == "6240"
    assert company.count("Customer") == 2

    inv = Invoice()
    inv.CustomerRef = results.successes[0].to_ref()
    inv.Line.append(_line("3", 3, "0.335", "1.00"))  # 3 * 0.335 = 1.005 -> 1.01
    with pytest.raises(QuickbooksException) as exc:
        inv.save(qb=qb)
    assert exc.value.error_code == 6070


def test_unknown_reference_is_validation_error(company: Company) -> None:
    qb = company.qb()
    inv = Invoice()
    inv.CustomerRef = _ref("999")
    inv.Line.append(_line("3", 1, "1", "1"))
    with pytest.raises(ValidationException) as exc:
        inv.save(qb=qb)
    assert exc.value.error_code == 2500


def test_attachment_upload_note_and_delete(company: Company) -> None:
    """python-quickbooks uploads with its own LF-only, base64 multipart body."""
    qb = company.qb()
    cust = _customer(qb, "Attach Co")
    inv = Invoice()
    inv.CustomerRef = cust.to_ref()
    inv.Line.append(_line("3", 1, "5", "5"))
    inv = inv.save(qb=qb)

    def link() -> AttachableRef:
        ref = AttachableRef()
        ref.EntityRef = inv.to_ref()
        return ref

    content = bytes(range(256)) * 8 + b"\r\nend"
    att = Attachable()
    att.AttachableRef.append(link())
    att.FileName = "statement.bin"
    att.ContentType = "application/octet-stream"
    att._FileBytes = content
    saved = att.save(qb=qb)
    assert saved.Id and saved.Size == len(content) and saved.FileName == "statement.bin"
    assert httpx.get(saved.TempDownloadUri).content == content
    got = Attachable.get(saved.Id, qb=qb)
    assert got.AttachableRef[0].EntityRef.value == inv.Id
    assert got.AttachableRef[0].EntityRef.type == "Invoice"

    note = Attachable()
    note.AttachableRef.append(link())
    note.Note = "Customer asked for a PDF copy"
    note = note.save(qb=qb)
    assert Attachable.get(note.Id, qb=qb).Note == "Customer asked for a PDF copy"
    linked = Attachable.where(f"AttachableRef.EntityRef.value = '{inv.Id}'", qb=qb)
    assert sorted(a.Id for a in linked) == sorted([saved.Id, note.Id])

    got.delete(qb=qb)
    with pytest.raises(QuickbooksException) as exc:
        Attachable.get(saved.Id, qb=qb)
    assert exc.value.error_code == 610
    assert httpx.get(saved.TempDownloadUri).status_code == 404
