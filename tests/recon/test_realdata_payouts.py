"""Real Shopify and Stripe payouts (tests/fixtures/realdata, attribution in SOURCES.md there)
through the normalizers, a bank statement and the matcher: a consistent payout matches its
deposit; a Stripe payout whose balance transactions do not sum to the paid amount is a variance
with cause inconsistent_source_data, never a match; nothing is left unexplained."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg

from pgbooks.recon.importer import import_bytes

REAL = Path(__file__).resolve().parents[1] / "fixtures" / "realdata"


def _real(source: str, name: str) -> Any:
    return json.loads((REAL / source / name).read_text())


def _normalize(db: psycopg.Connection, platform: str, channel: str, topic: str, obj: Any) -> None:
    db.execute(
        f"SELECT logic.{platform}__normalize('t1', %s, %s, %s::jsonb)",
        (channel, topic, json.dumps(obj)),
    )


def _stripe_event(kind: str, obj: dict[str, Any], created: int) -> dict[str, Any]:
    return {
        "id": f"evt_{created}",
        "object": "event",
        "type": kind,
        "created": created,
        "data": {"object": obj},
    }


def test_real_payouts_match_or_become_inconsistent_source_data(db: psycopg.Connection) -> None:
    db.execute("INSERT INTO orders.tenants (tenant_id, name) VALUES ('t1', 'Tenant One')")
    for channel_id, platform in (("shop", "shopify"), ("stripe", "stripe")):
        db.execute(
            "INSERT INTO orders.channels (tenant_id, channel_id, platform, name, currency,"
            " webhook_secret) VALUES ('t1', %s, %s, %s, 'USD', 'secret')",
            (channel_id, platform, channel_id),
        )
    # Shopify: payout 623721858 of 41.90, paid 2019-11-12
    _normalize(db, "shopify", "shop", "payouts/paid", _real("shopify", "pyapi__payout.json"))
    # Stripe: payout of 11.00 (arrival 2009-02-13) and a real balance transaction (net 19.12)
    # that the payout's balance-transaction listing attributes to it: they do not add up
    payout = dict(_real("stripe", "derived__stripe_mock__payout.json"), status="paid")
    _normalize(db, "stripe", "stripe", "payout.paid", _stripe_event("payout.paid", payout, 20))
    btx = dict(
        _real("stripe", "djstripe__balance_transaction_txn_fake_ch_fakefakefakefakefake0001.json"),
        payout=payout["id"],
    )
    _normalize(db, "stripe", "stripe", "balance_transaction.created", _stripe_event("x", btx, 21))
    assert db.execute(
        "SELECT payout_id, amount FROM orders.payouts ORDER BY payout_id"
    ).fetchall() == [("623721858", Decimal("41.90")), (payout["id"], Decimal("11.00"))]

    # the bank statement carries both deposits, each for the amount the payout states
    csv = (
        b"Date,Description,Amount\n"
        b"2009-02-13,STRIPE TRANSFER,11.00\n"
        b"2019-11-13,SHOPIFY PAYOUT,41.90\n"
    )
    import_bytes(
        db, "t1", csv, file_name="real.csv", account_id="chk", currency="USD", profile="generic"
    )
    db.execute("SELECT api.bank__match('t1', 5)")

    states = dict(
        db.execute(
            "SELECT payout_id, recon_state FROM analytics.rpt_payout_reconciliation"
            " WHERE tenant_id = 't1'"
        ).fetchall()
    )
    assert states == {"623721858": "matched", payout["id"]: "inconsistent_source_data"}
    assert db.execute(
        "SELECT count(*) FROM ingest.bank_matches WHERE payout_id = %s", (payout["id"],)
    ).fetchone() == (0,)
    causes = db.execute(
        "SELECT cause, amount FROM analytics.rpt_payout_variance"
        " WHERE tenant_id = 't1' AND payout_id = %s AND cause <> 'unposted_document'"
        " ORDER BY cause",
        (payout["id"],),
    ).fetchall()
    # 20.00 charged, 0.88 fee, 19.12 net, but 11.00 paid out: 8.12 is inconsistent source data
    assert causes == [
        ("inconsistent_source_data", Decimal("8.1200")),
        ("processor_fee", Decimal("0.8800")),
    ]
    unexplained = db.execute(
        "SELECT coalesce(sum(total_difference - explained), 0)"
        " FROM analytics.rpt_payout_variance_check WHERE tenant_id = 't1'"
    ).fetchone()
    assert unexplained == (Decimal("0"),)
