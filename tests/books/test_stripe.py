"""Golden test: real Stripe charges, refunds, balance transactions and payouts (the recorded API
objects in tests/fixtures/realdata/stripe), written by the Stripe normalizer exactly as a webhook
would, become the expected documents; each payload's totals equal the source to the cent and the
local sandbox (which recomputes totals) accepts it.

Every Stripe fixture is a test-mode object (``livemode: false``): test-mode orders are booked only
into a test company (``books.tenant_settings.test_orders``), which is why a tenant connected to
nothing, or to Intuit's production API, gets no document for them."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg

from .helpers import documents, exceptions, post_all

STRIPE = Path(__file__).resolve().parents[1] / "fixtures" / "realdata" / "stripe"


def _obj(name: str) -> dict[str, Any]:
    return dict(json.loads((STRIPE / name).read_text()))


def _event(obj: dict[str, Any], etype: str, created: int | None = None) -> dict[str, Any]:
    """The Event envelope Stripe wraps every webhook object in."""
    return {
        "id": f"evt_{obj['id']}_{etype}",
        "object": "event",
        "type": etype,
        "created": created or obj.get("created") or 1700000000,
        "livemode": obj.get("livemode", False),
        "data": {"object": obj},
    }


def _send(db: psycopg.Connection, tenant: str, etype: str, obj: dict[str, Any], **kw: Any) -> str:
    with db.transaction():  # one webhook = one transaction: books derive at its commit
        row = db.execute(
            "SELECT logic.stripe__normalize(%s, 'stripe', %s, %s::jsonb)",
            (tenant, etype, json.dumps(_event(obj, etype, **kw))),
        ).fetchone()
    assert row is not None
    return str(row[0])


def _stripe_channel(db: psycopg.Connection, tenant: str) -> None:
    db.execute(
        "INSERT INTO orders.channels (tenant_id, channel_id, platform, name, currency)"
        " VALUES (%s, 'stripe', 'stripe', 'Stripe account', 'USD')",
        (tenant,),
    )


def _connect(db: psycopg.Connection, tenant: str, base_url: str) -> None:
    db.execute(
        "INSERT INTO sync.connections (tenant_id, realm_id, base_url) VALUES (%s, '1', %s)",
        (tenant, base_url),
    )


def _doc(db: psycopg.Connection, tenant: str, source: str, role: str = "main") -> dict[str, Any]:
    found = [
        d
        for d in documents(db, tenant)
        if (d["source_type"] + ":" + d["source_id"], d["source_role"]) == (source, role)
    ]
    assert len(found) == 1, (source, role, documents(db, tenant))
    return found[0]


def _cents(minor: int) -> Decimal:
    return Decimal(minor) / 100


def test_test_mode_charge_is_booked_only_into_a_test_company(
    db: psycopg.Connection, tenant: str, sandbox: Any
) -> None:
    _stripe_channel(db, tenant)
    charge = _obj("payrails__charge.succeeded.json")["object"]
    assert charge["livemode"] is False
    # Not connected yet: a test-mode charge must not reach books that may be a real company.
    _send(db, tenant, "charge.succeeded", charge)
    assert documents(db, tenant) == []
    # Connected to Intuit's production API: still not booked (auto).
    _connect(db, tenant, "https://quickbooks.api.intuit.com")
    db.execute("SELECT api.order__derive(%s, 'stripe', %s)", (tenant, charge["id"]))
    assert documents(db, tenant) == []
    # The operator may force it either way.
    db.execute(
        "UPDATE books.tenant_settings SET test_orders = 'book' WHERE tenant_id = %s", (tenant,)
    )
    db.execute("SELECT api.order__derive(%s, 'stripe', %s)", (tenant, charge["id"]))
    assert _doc(db, tenant, f"order:stripe:{charge['id']}")["doc_type"] == "sales_receipt"


def test_real_stripe_charges_refunds_and_payout_become_documents_to_the_cent(
    db: psycopg.Connection, tenant: str, sandbox: Any
) -> None:
    _stripe_channel(db, tenant)
    _connect(db, tenant, sandbox.base_url)  # the local sandbox: a test company, test mode booked

    # 1. A captured charge (pay-rails fixture): a SalesReceipt of its amount, paid into clearing.
    paid = _obj("payrails__charge.succeeded.json")["object"]
    assert _send(db, tenant, "charge.succeeded", paid) == f"order:{paid['id']}"
    sr = _doc(db, tenant, f"order:stripe:{paid['id']}")
    assert (sr["doc_type"], sr["status"], sr["total_amount"]) == (
        "sales_receipt",
        "ready",
        _cents(paid["amount"]),
    )
    assert [ln["Amount"] for ln in sr["body"]["Line"]] == [float(_cents(paid["amount"]))]
    assert sr["body"]["DepositToAccountRef"] == {"value": "4"}  # Undeposited Funds (discovered)
    assert sr["body"]["TxnTaxDetail"]["TotalTax"] == 0

    # 2. A captured charge with its balance transaction (dj-stripe fixtures): Stripe's fee 0.88.
    fee_charge = _obj("djstripe__charge_ch_fakefakefakefakefake0001.json")
    fee_txn = _obj("djstripe__balance_transaction_txn_fake_ch_fakefakefakefakefake0001.json")
    _send(db, tenant, "charge.succeeded", fee_charge)
    assert _doc(db, tenant, f"order:stripe:{fee_charge['id']}")["total_amount"] == _cents(
        fee_charge["amount"]
    )

    # 3. An authorized, uncaptured charge (stripe-mock): an Invoice; its refund: a CreditMemo.
    auth = _obj("derived__stripe_mock__charge.json")
    refund = _obj("derived__stripe_mock__refund.json")
    assert auth["captured"] is False and refund["charge"] == auth["id"]
    _send(db, tenant, "charge.succeeded", auth)
    inv = _doc(db, tenant, f"order:stripe:{auth['id']}")
    assert (inv["doc_type"], inv["total_amount"]) == ("invoice", _cents(auth["amount"]))
    _send(db, tenant, "charge.refunded", refund)
    cm = _doc(db, tenant, f"refund:stripe:{refund['id']}")
    assert (cm["doc_type"], cm["status"], cm["total_amount"]) == (
        "credit_memo",
        "ready",
        _cents(refund["amount"]),
    )

    # 4. A partial refund of the captured charge (the stripe-mock refund object, pointed at the
    #    pay-rails charge): a RefundReceipt out of the clearing account.
    partial = dict(copy.deepcopy(refund), id="re_partial_payrails", charge=paid["id"])
    _send(db, tenant, "charge.refunded", partial)
    rr = _doc(db, tenant, f"refund:stripe:{partial['id']}")
    assert (rr["doc_type"], rr["status"], rr["total_amount"]) == (
        "refund_receipt",
        "ready",
        _cents(partial["amount"]),
    )
    assert rr["body"]["DepositToAccountRef"] == {"value": "4"}

    # 5. The payout (stripe-mock) that settles both charges' balance transactions. Stripe lists a
    #    payout's balance transactions by payout id; the normalizer reads it as "payout".
    auth_txn = _obj("derived__stripe_mock__balance_transaction.json")
    for txn in (fee_txn, auth_txn):
        _send(db, tenant, "balance.available", dict(txn, payout="po_1Pgc79B7WZ01zgkWu1KToYf4"))
    payout = _obj("derived__stripe_mock__payout.json")
    assert payout["status"] == "in_transit"
    _send(db, tenant, "payout.created", payout)
    assert [d for d in documents(db, tenant) if d["source_type"] == "payout"] == []  # not paid yet
    # Paid, with the amount the recorded payout states (11.00): its balance transactions net
    # 19.12 + 1.00, so the deposit is blocked with the difference, never plugged.
    _send(db, tenant, "payout.paid", dict(payout, status="paid"), created=payout["created"] + 1)
    dep = _doc(db, tenant, "payout:stripe:" + payout["id"])
    assert dep["status"] == "blocked"
    net = _cents(fee_txn["net"]) + _cents(auth_txn["net"])
    mismatch = exceptions(db, tenant)["PAYOUT_MISMATCH"]
    assert Decimal(str(mismatch["detail"]["difference"])) == net - _cents(payout["amount"])
    # The same payout paying exactly what its balance transactions net: a Deposit of the net,
    # charges from clearing and Stripe's fee to processor fees.
    db.execute(
        "UPDATE orders.payouts SET amount = %s WHERE tenant_id = %s AND payout_id = %s",
        (net, tenant, payout["id"]),
    )
    dep = _doc(db, tenant, "payout:stripe:" + payout["id"])
    assert (dep["doc_type"], dep["status"], dep["total_amount"]) == ("deposit", "ready", net)
    assert [
        (Decimal(str(x["Amount"])), x["DepositLineDetail"]["AccountRef"]["value"])
        for x in dep["body"]["Line"]
    ] == [
        (_cents(fee_txn["amount"] + auth_txn["amount"]), "4"),
        (-_cents(fee_txn["fee"] + auth_txn["fee"]), "16"),
    ]
    assert "PAYOUT_MISMATCH" not in exceptions(db, tenant)

    # Everything ready is accepted by the sandbox, which recomputes each total to the cent.
    answers = post_all(db, tenant, sandbox, sandbox.admin.create_realm())
    for d in (sr, inv, cm, rr, dep):
        assert Decimal(str(answers[d["document_id"]]["TotalAmt"])) == d["total_amount"]


def test_stripe_payout_summary_per_payout_and_test_payouts_follow_test_orders(
    db: psycopg.Connection, tenant: str, sandbox: Any
) -> None:
    db.execute(
        "UPDATE books.tenant_settings SET posting_mode = 'per_payout' WHERE tenant_id = %s",
        (tenant,),
    )
    _stripe_channel(db, tenant)
    charge = _obj("djstripe__charge_ch_fakefakefakefakefake0001.json")
    txn = _obj("djstripe__balance_transaction_txn_fake_ch_fakefakefakefakefake0001.json")
    payout = dict(_obj("derived__stripe_mock__payout.json"), status="paid", amount=txn["net"])
    _send(db, tenant, "charge.succeeded", charge)
    _send(db, tenant, "balance.available", dict(txn, payout=payout["id"]))
    _send(db, tenant, "payout.paid", payout)
    # Not connected: the payout settles a test-mode charge, so it is not booked either.
    assert documents(db, tenant) == []
    _connect(db, tenant, sandbox.base_url)
    db.execute("SELECT api.payout__derive(%s, 'stripe', %s)", (tenant, payout["id"]))
    je = _doc(db, tenant, "payout:stripe:" + payout["id"])
    assert (je["doc_type"], je["status"], je["total_amount"]) == (
        "journal_entry",
        "ready",
        _cents(charge["amount"]),
    )
    lines = [
        (
            x["JournalEntryLineDetail"]["PostingType"],
            x["JournalEntryLineDetail"]["AccountRef"]["value"],
            Decimal(str(x["Amount"])),
        )
        for x in je["body"]["Line"]
    ]
    # The charge (found through the balance transaction's source) is the sale; Stripe's fee
    # and the net to the bank balance it.
    assert lines == [
        ("Credit", "1", _cents(charge["amount"])),
        ("Debit", "16", _cents(txn["fee"])),
        ("Debit", "6", _cents(txn["net"])),
    ]
    answers = post_all(db, tenant, sandbox, sandbox.admin.create_realm())
    assert Decimal(str(answers[je["document_id"]]["TotalAmt"])) == je["total_amount"]
