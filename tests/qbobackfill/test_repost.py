"""Repost of a date range of historical orders: derive, link to QuickBooks' copy, arm, deliver."""

from __future__ import annotations

from collections import Counter
from datetime import date

import psycopg
import pytest

from pgbooks.qbo import backfill as bf
from tests.qbobackfill.conftest import Shop, customers, receipts


def _doc_numbers(shop: Shop) -> Counter[str]:
    return Counter(str(r.get("DocNumber")) for r in shop.entities("SalesReceipt"))


def test_repost_links_what_quickbooks_has_and_posts_the_rest_once(shop: Shop) -> None:
    # QuickBooks already holds the receipts of orders 3001..3004 (an earlier integration).
    buyers = shop.batch("Customer", customers(3))
    existing = shop.batch(
        "SalesReceipt", receipts([b["Id"] for b in buyers], [f"{3000 + i}" for i in range(1, 5)])
    )
    shop.batch("SalesReceipt", receipts([buyers[0]["Id"]], ["COUNTER-1"]))  # a bookkeeper's own
    for i in range(1, 13):
        shop.order(f"{3000 + i}", f"2025-02-{i:02d}T12:00:00Z")
    shop.order("2999", "2025-01-31T23:59:59Z")  # before the range
    shop.order("3100", "2025-03-01T00:00:00Z")  # the day `to` is excluded
    # History loaded with delivery not armed (e.g. restored without the sync state).
    shop.db.execute("DELETE FROM sync.outbox WHERE tenant_id = 'shop'")
    shop.run_import(entities=["SalesReceipt", "Customer"])

    result = bf.run_repost(shop.db_url, "shop", date(2025, 2, 1), date(2025, 3, 1), batch=5)

    assert result.total == 12 and result.orders == 12 and result.completed
    assert result.steps == 3  # 5 + 5 + 2
    assert result.outcomes.get("linked") == 4
    assert result.outcomes.get("armed") == 8
    # The shared web-sales customer: armed by the first step, already queued in the next two.
    assert result.dependencies == {"armed": 1, "queued": 2}
    assert result.errors == []
    shop.drain()
    numbers = _doc_numbers(shop)
    assert {n: numbers[n] for n in (f"{3000 + i}" for i in range(1, 13))} == {
        f"{3000 + i}": 1 for i in range(1, 13)
    }
    assert "2999" not in numbers and "3100" not in numbers
    for e in existing:  # linked, left as they were
        (now,) = shop.entities("SalesReceipt", Id=e["Id"])
        assert now["SyncToken"] == e["SyncToken"]

    # The analyst's view of QuickBooks after a new import: who made each document.
    shop.run_import(entities=["SalesReceipt"])
    origins = dict(
        shop.db.execute(
            "SELECT origin, count(*) FROM analytics.rpt_qbo_documents WHERE tenant_id = 'shop'"
            " GROUP BY origin"
        ).fetchall()
    )
    assert origins == {"linked": 4, "posted_by_pgbooks": 8, "quickbooks_only": 1}
    only = shop.db.execute(
        "SELECT doc_number, document_id FROM analytics.rpt_qbo_documents"
        " WHERE tenant_id = 'shop' AND origin = 'quickbooks_only'"
    ).fetchall()
    assert only == [("COUNTER-1", None)]

    # Again: everything is posted or linked; nothing is armed, nothing new in QuickBooks.
    again = bf.run_repost(shop.db_url, "shop", date(2025, 2, 1), date(2025, 3, 1))
    assert not again.resumed and again.orders == 12
    assert set(again.outcomes) == {"posted"}
    assert set(again.dependencies) == {"posted"}
    shop.drain()
    assert _doc_numbers(shop) == numbers


def test_two_quickbooks_documents_with_our_doc_number_block_instead_of_guessing(
    shop: Shop,
) -> None:
    buyers = shop.batch("Customer", customers(1))
    # QuickBooks refuses a duplicate DocNumber through the API (6140) but a company can hold
    # them (imports, the preference off at the time): load two verbatim.
    twins = receipts([buyers[0]["Id"]] * 2, ["4001", "4001"])
    for n, body in enumerate(twins):
        body.update(Id=str(900 + n), TotalAmt="25.00", TxnDate="2025-04-01")
    shop.sb.admin.import_entities({"SalesReceipt": twins}, shop.realm_id)
    shop.order("4001", "2025-04-01T09:00:00Z")
    shop.run_import(entities=["SalesReceipt"])

    result = bf.run_repost(shop.db_url, "shop", date(2025, 4, 1), date(2025, 4, 2))
    assert result.outcomes.get("attention") == 1
    shop.drain()
    assert _doc_numbers(shop)["4001"] == 2  # not a third one
    reasons = [
        r[0]
        for r in shop.db.execute(
            "SELECT reason_code FROM sync.exceptions WHERE tenant_id = 'shop' AND status = 'open'"
        ).fetchall()
    ]
    assert "DOC_NUMBER_AMBIGUOUS" in reasons


def test_a_linked_document_whose_total_differs_is_flagged_not_overwritten(shop: Shop) -> None:
    buyers = shop.batch("Customer", customers(1))
    (remote,) = shop.batch("SalesReceipt", receipts([buyers[0]["Id"]], ["5001"], amount="24.00"))
    shop.order("5001", "2025-05-01T09:00:00Z", amount="25.00")
    shop.run_import(entities=["SalesReceipt"])
    bf.run_repost(shop.db_url, "shop", date(2025, 5, 1), date(2025, 6, 1))
    shop.drain()
    (now,) = shop.entities("SalesReceipt", DocNumber="5001")
    assert now["Id"] == remote["Id"] and str(now["TotalAmt"]) in ("24.00", "24", "24.0")
    row = shop.db.execute(
        "SELECT category, detail ->> 'remote_total', detail ->> 'local_total' FROM sync.exceptions"
        " WHERE tenant_id = 'shop' AND reason_code = 'LINKED_TOTAL_DIFFERS'"
    ).fetchone()
    assert row is not None and row[0] == "conflict"
    assert (float(row[1]), float(row[2])) == (24.0, 25.0)


def test_bad_ranges_are_refused_by_name(shop: Shop) -> None:
    with pytest.raises(psycopg.Error) as exc:
        bf.run_repost(shop.db_url, "shop", date(2025, 3, 1), date(2025, 3, 1))
    assert exc.value.sqlstate == "PB906"
    assert "from must be before to" in str(exc.value)
    with pytest.raises(psycopg.Error) as exc:
        bf.run_repost(shop.db_url, "nobody", date(2025, 3, 1), date(2025, 4, 1))
    assert exc.value.sqlstate == "PB905"


def test_delivery_links_a_document_armed_before_the_import(shop: Shop) -> None:
    """No repost at all: the worker meets the link rule before it would create."""
    buyers = shop.batch("Customer", customers(1))
    (remote,) = shop.batch("SalesReceipt", receipts([buyers[0]["Id"]], ["8001"]))
    shop.order("8001", "2025-08-01T09:00:00Z")  # armed in the outbox at once
    shop.order("8002", "2025-08-01T10:00:00Z")
    shop.run_import(entities=["SalesReceipt"])
    shop.drain()
    numbers = _doc_numbers(shop)
    assert (numbers["8001"], numbers["8002"]) == (1, 1)
    linked = shop.db.execute(
        "SELECT r.remote_id, a.detail ->> 'matched_by' FROM sync.remote_objects AS r"
        " JOIN books.documents AS d USING (tenant_id, document_id)"
        " JOIN sync.attempts AS a USING (tenant_id, document_id)"
        " WHERE d.tenant_id = 'shop' AND d.doc_number = '8001' AND a.worker = 'qbo-link'"
    ).fetchall()
    assert linked == [(remote["Id"], "doc_number")]


def test_without_doc_numbers_the_private_note_marker_links_what_an_earlier_install_posted(
    shop: Shop,
) -> None:
    # A company without custom transaction numbers: our documents carry no DocNumber, so the
    # only thing that identifies what an earlier pgbooks install posted is its PrivateNote marker.
    shop.sb.admin.preferences({"SalesFormsPrefs": {"CustomTxnNumbers": False}}, shop.realm_id)
    shop.db.execute(
        "UPDATE books.tenant_settings SET custom_txn_numbers = false WHERE tenant_id = 'shop'"
    )
    buyers = shop.batch("Customer", customers(1))
    oids = [shop.order(f"{6000 + i}", f"2025-06-0{i}T12:00:00Z") for i in (1, 2, 3)]
    shop.db.execute("DELETE FROM sync.outbox WHERE tenant_id = 'shop'")  # sync state lost
    notes = {
        oid: shop.scalar(
            "SELECT body ->> 'PrivateNote' FROM books.documents WHERE tenant_id = 'shop'"
            " AND doc_type = 'sales_receipt' AND source_id LIKE '%%' || %s AND doc_number IS NULL",
            oid,
        )
        for oid in oids
    }
    assert all(n and n.startswith("pgbooks order ") for n in notes.values()), notes
    # What the earlier install posted for the first two orders, plus a bookkeeper's own receipt.
    earlier = receipts([buyers[0]["Id"]] * 3, ["", "", ""])
    for body, note in zip(
        earlier, [notes[oids[0]], notes[oids[1]], "paid at the counter"], strict=True
    ):
        del body["DocNumber"]
        body["PrivateNote"] = note
    posted = shop.batch("SalesReceipt", earlier)
    shop.run_import(entities=["SalesReceipt"])

    result = bf.run_repost(shop.db_url, "shop", date(2025, 6, 1), date(2025, 7, 1))
    assert result.outcomes.get("linked") == 2 and result.outcomes.get("armed") == 1, result
    shop.drain()
    receipts_now = shop.entities("SalesReceipt")
    by_note = Counter(str(r.get("PrivateNote")) for r in receipts_now)
    assert [by_note[notes[o]] for o in oids] == [1, 1, 1]  # nothing posted twice
    assert len(receipts_now) == 4  # 3 there before + the third order's
    linked = shop.db.execute(
        "SELECT r.remote_id, a.detail ->> 'matched_by' FROM sync.remote_objects AS r"
        " JOIN sync.attempts AS a USING (tenant_id, document_id)"
        " WHERE r.tenant_id = 'shop' AND a.worker = 'qbo-link' ORDER BY r.remote_id::int"
    ).fetchall()
    assert linked == [(posted[0]["Id"], "private_note"), (posted[1]["Id"], "private_note")]
