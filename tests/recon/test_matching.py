"""Payouts <-> bank deposits: reference, amount + date window, batches; inconsistent payouts are a
variance with cause inconsistent_source_data, never a match; nothing left unexplained."""

from __future__ import annotations

from decimal import Decimal

import psycopg
import pytest

from tests.recon.test_examples import seed


def _state(db: psycopg.Connection) -> dict[str, tuple]:
    rows = db.execute(
        "SELECT payout_id, recon_state, match_rule FROM analytics.rpt_payout_reconciliation"
        " WHERE tenant_id = 'demo'"
    ).fetchall()
    return {r[0]: (r[1], r[2]) for r in rows}


def test_one_to_one_many_to_one_and_unmatched_both_sides(db: psycopg.Connection) -> None:
    seed(db)
    assert _state(db) == {
        "po_1": ("matched", "reference"),
        "1001": ("matched", "amount_date"),
        "1002": ("matched", "batch"),
        "1003": ("matched", "batch"),
        "po_bad": ("inconsistent_source_data", None),
        "1004": ("unmatched", None),
        "1005": ("not_paid", None),
    }
    unmatched = db.execute(
        "SELECT side, amount FROM analytics.rpt_bank_unmatched WHERE tenant_id = 'demo'"
        " ORDER BY side, amount"
    ).fetchall()
    assert unmatched == [
        ("bank", Decimal("77.7700")),
        ("bank", Decimal("500.0000")),
        ("payout", Decimal("33.0000")),
        ("payout", Decimal("500.0000")),
    ]


def test_inconsistent_payout_is_a_variance_and_an_exception_not_a_match(
    db: psycopg.Connection,
) -> None:
    seed(db)
    # a 500.00 deposit is on the statement, yet po_bad (sources net 505.00) is not matched to it
    assert db.execute(
        "SELECT count(*) FROM ingest.bank_matches WHERE payout_id = 'po_bad'"
    ).fetchone() == (0,)
    causes = db.execute(
        "SELECT cause, amount FROM analytics.rpt_payout_variance"
        " WHERE tenant_id = 'demo' AND payout_id = 'po_bad' AND cause <> 'unposted_document'"
        " ORDER BY cause"
    ).fetchall()
    assert causes == [
        ("inconsistent_source_data", Decimal("5.0000")),
        ("processor_fee", Decimal("15.0000")),
    ]
    # one open exception for it (raised by the books rules on its blocked document, or by the
    # matcher when no document exists), none for the consistent payouts
    exc = db.execute(
        "SELECT reason_code, category, source_id FROM sync.exceptions"
        " WHERE tenant_id = 'demo' AND status = 'open' AND source_type = 'payout'"
    ).fetchall()
    assert exc == [("PAYOUT_MISMATCH", "source_data", "stripe:po_bad")]


def test_matcher_raises_the_exception_when_no_document_books_the_payout(
    db: psycopg.Connection,
) -> None:
    seed(db)
    db.execute(
        "INSERT INTO orders.payouts (tenant_id, channel_id, payout_id, status, amount, currency,"
        " payout_date, arrival_date) VALUES"
        " ('demo', 'shop', 'x1', 'paid', 10.00, 'USD', '2024-04-01', '2024-04-02')"
    )
    db.execute(
        "INSERT INTO orders.balance_transactions (tenant_id, channel_id, balance_transaction_id,"
        " payout_id, type, amount, fee, net, currency) VALUES"
        " ('demo', 'shop', 'bx', 'x1', 'charge', 11.00, 0.50, 10.50, 'USD')"
    )
    # whatever the books rules did, the mismatch is open exactly once for x1
    db.execute("SELECT api.bank__match('demo', 5)")
    db.execute("SELECT api.bank__match('demo', 5)")
    rows = db.execute(
        "SELECT reason_code FROM sync.exceptions WHERE source_id = 'shop:x1' AND status = 'open'"
    ).fetchall()
    assert rows == [("PAYOUT_MISMATCH",)]


def test_every_cent_is_explained(db: psycopg.Connection) -> None:
    seed(db)
    rows = db.execute(
        "SELECT payout_id, total_difference, explained FROM analytics.rpt_payout_variance_check"
        " WHERE tenant_id = 'demo' AND total_difference <> explained"
    ).fetchall()
    assert rows == []
    total = db.execute(
        "SELECT sum(total_difference) FROM analytics.rpt_payout_variance_check"
        " WHERE tenant_id = 'demo'"
    ).fetchone()
    assert total == (Decimal("63.7000"),)


def test_rerun_is_stable_and_a_changed_payout_is_rematched(db: psycopg.Connection) -> None:
    seed(db)
    before = _state(db)
    again = db.execute("SELECT api.bank__match('demo', 5)").fetchone()
    assert again is not None
    res = again[0]
    assert res["matched_reference"] + res["matched_amount_date"] + res["matched_batch"] == 0
    assert _state(db) == before
    open_exc = (
        "SELECT count(*) FROM sync.exceptions WHERE status = 'open' AND source_type = 'payout'"
    )
    assert db.execute(open_exc).fetchone() == (1,)
    # the provider corrects po_bad's amount to what its transactions say: still no 505 deposit
    db.execute("UPDATE orders.payouts SET amount = 505.00 WHERE payout_id = 'po_bad'")
    db.execute("UPDATE orders.payouts SET amount = 61.00 WHERE payout_id = 'po_1'")
    res2 = db.execute("SELECT api.bank__match('demo', 5)").fetchone()
    assert res2 is not None and res2[0]["released_stale"] == 1
    state = _state(db)
    assert state["po_bad"] == ("unmatched", None)
    assert state["po_1"] == ("inconsistent_source_data", None)


def test_identical_twins_pair_up_and_window_is_respected(db: psycopg.Connection) -> None:
    seed(db)
    db.execute(
        "INSERT INTO orders.payouts (tenant_id, channel_id, payout_id, status, amount, currency,"
        " payout_date, arrival_date) VALUES"
        " ('demo', 'shop', 't1', 'paid', 42.00, 'USD', '2024-04-01', '2024-04-02'),"
        " ('demo', 'shop', 't2', 'paid', 42.00, 'USD', '2024-04-01', '2024-04-02'),"
        " ('demo', 'shop', 'late', 'paid', 19.00, 'USD', '2024-04-01', '2024-04-02')"
    )
    lines = [
        ("2024-04-02", "42.00", "A"),
        ("2024-04-03", "42.00", "B"),
        ("2024-04-20", "19.00", "too late"),
    ]
    doc = {
        "file_sha256": "cd" * 32,
        "format": "csv",
        "statements": [
            {
                "account_id": "chk-001",
                "currency": "USD",
                "lines": [
                    {
                        "booking_date": d,
                        "amount": a,
                        "currency": "USD",
                        "description": t,
                        "fingerprint": f"{i:064x}",
                        "dedup_key": f"april-{i}",
                    }
                    for i, (d, a, t) in enumerate(lines)
                ],
            }
        ],
    }
    db.execute("SELECT api.bank_statement__import('demo', %s)", (psycopg.types.json.Jsonb(doc),))
    db.execute("SELECT api.bank__match('demo', 5)")
    state = _state(db)
    assert state["t1"] == ("matched", "amount_date") and state["t2"] == ("matched", "amount_date")
    assert state["late"] == ("unmatched", None)
    with pytest.raises(psycopg.Error) as err:
        db.execute("SELECT api.bank__match('demo', 400)")
    assert err.value.sqlstate == "PB820"


def test_manual_match_needs_a_reason_and_survives_reruns(db: psycopg.Connection) -> None:
    seed(db)
    line = db.execute("SELECT bank_line_id FROM ingest.bank_lines WHERE amount = 77.77").fetchone()
    assert line is not None
    with pytest.raises(psycopg.Error) as err:
        db.execute("SELECT api.bank__match_manual('demo', 'shop', '1004', %s, '')", (line[0],))
    assert err.value.sqlstate == "PB811"
    db.execute(
        "SELECT api.bank__match_manual('demo', 'shop', '1004', %s, 'bank merged two deposits')",
        (line[0],),
    )
    db.execute("SELECT api.bank__match('demo', 5)")
    assert _state(db)["1004"] == ("matched", "manual")
    # 77.77 received for a 33.00 payout: the difference is attributed, not left unexplained
    causes = db.execute(
        "SELECT cause, amount FROM analytics.rpt_payout_variance"
        " WHERE payout_id = '1004' AND cause <> 'unposted_document' ORDER BY cause"
    ).fetchall()
    assert ("inconsistent_source_data", Decimal("-44.7700")) in causes
    assert db.execute(
        "SELECT count(*) FROM analytics.rpt_payout_variance_check"
        " WHERE total_difference <> explained"
    ).fetchone() == (0,)
