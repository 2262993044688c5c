"""Fault injection: each test ends with exactly one QuickBooks object per intended document,
amounts equal to the cent (ground truth from the sandbox admin API)."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import httpx

from pgbooks.sync.worker import Worker, WorkerConfig
from tests.sync.conftest import Books, sale_line


def _receipts(books: Books, n: int, prefix: str) -> list[int]:
    cust = books.customer(f"{prefix} customer")
    return [
        books.sales_receipt(cust, f"{i + 1}.{i:02d}", doc_number=f"{prefix}-{i}") for i in range(n)
    ]


def _assert_exactly_once(books: Books, prefix: str, n: int) -> None:
    for i in range(n):
        found = books.entities("SalesReceipt", DocNumber=f"{prefix}-{i}")
        assert len(found) == 1, f"{prefix}-{i}: {len(found)} objects"
        assert Decimal(str(found[0]["TotalAmt"])) == Decimal(f"{i + 1}.{i:02d}")
    assert books.count("Customer", DisplayName=f"{prefix} customer") == 1


def test_lost_response_after_commit_does_not_duplicate(books: Books) -> None:
    books.faults(lost_next=2)  # the customer create and the first receipt commit, answers lost
    _receipts(books, 3, "LOST")
    books.drain()
    _assert_exactly_once(books, "LOST", 3)
    ambiguous = books.db.execute(
        "SELECT count(DISTINCT document_id) FROM sync.attempts WHERE event = 'ambiguous'"
    ).fetchone()
    replayed = books.db.execute(
        "SELECT count(*) FROM sync.attempts "
        "WHERE event = 'accepted' AND (detail->>'was_ambiguous')::bool"
    ).fetchone()
    assert ambiguous is not None and ambiguous[0] >= 2  # customer + receipts' batch
    assert replayed == ambiguous  # every ambiguous document resolved by replay, none re-sent


def test_5xx_is_retried_with_backoff_until_posted(books: Books) -> None:
    books.faults(error_next=3)
    _receipts(books, 2, "ERR")
    books.drain()
    _assert_exactly_once(books, "ERR", 2)
    assert books.attempts("transient") == 3


def test_429_storm_backs_off_and_posts_once(books: Books) -> None:
    books.faults(throttle_next=3)
    _receipts(books, 2, "THR")
    books.drain()
    _assert_exactly_once(books, "THR", 2)
    assert books.attempts("transient") == 3


def test_transient_failures_are_bounded(books: Books) -> None:
    books.db.execute("UPDATE sync.settings SET max_attempts = 2")
    books.faults(error_next=10)
    cust = books.customer("Bounded")
    books.drain()
    assert books.count("Customer", DisplayName="Bounded") == 0
    assert books.outbox(cust)["state"] == "failed"
    assert [e[0] for e in books.exceptions()] == ["RETRY_EXHAUSTED"]


def test_forced_5010_rereads_and_reapplies_inside_the_claim(books: Books) -> None:
    cust = books.customer("Stale")
    sr = books.sales_receipt(cust, "20.00", doc_number="ST-1")
    books.drain()
    books.faults(stale_next=1)
    books.bump(sr, {"Line": [sale_line("25.00")]}, total="25.00")
    stats = books.drain()
    found = books.entities("SalesReceipt", DocNumber="ST-1")
    assert len(found) == 1 and Decimal(str(found[0]["TotalAmt"])) == Decimal("25.00")
    assert stats.stale_retries == 1 and books.attempts("stale_retry") == 1
    assert books.exceptions() == []


def test_change_made_in_quickbooks_is_never_blindly_overwritten(books: Books) -> None:
    cust = books.customer("Theirs")
    sr = books.sales_receipt(cust, "30.00", doc_number="TH-1")
    books.drain()
    remote = books.entities("SalesReceipt", DocNumber="TH-1")[0]
    # A bookkeeper edits the amount in QuickBooks.
    token = books.sb.admin.access_token(books.realm_id)
    resp = httpx.post(
        f"{books.sb.base_url}/v3/company/{books.realm_id}/salesreceipt",
        json={
            "Id": remote["Id"],
            "SyncToken": remote["SyncToken"],
            "sparse": True,
            "Line": [sale_line("31.00") | {"Amount": 31.00}],
        },
        headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
    )
    assert resp.status_code == 200, resp.text
    books.bump(sr, {"Line": [sale_line("35.00")]}, total="35.00")
    books.drain()
    found = books.entities("SalesReceipt", DocNumber="TH-1")
    assert len(found) == 1 and Decimal(str(found[0]["TotalAmt"])) == Decimal("31.00")
    exc = books.exceptions()
    assert [(e[0], e[1], e[2]) for e in exc] == [("REMOTE_CHANGED", "conflict", sr)]
    assert any(d["path"] == "Line" for d in exc[0][4])


def test_two_workers_racing_post_each_document_once(books: Books) -> None:
    books.db.execute("UPDATE sync.settings SET batch_per_minute = 0")
    _receipts(books, 20, "RACE")

    async def both() -> None:
        w1 = Worker(books.db_url, "w1", WorkerConfig(loops=3, use_pgqueuer=False))
        w2 = Worker(books.db_url, "w2", WorkerConfig(loops=3, use_pgqueuer=False))
        await asyncio.gather(
            w1.run(until_idle=True, timeout=30), w2.run(until_idle=True, timeout=30)
        )

    asyncio.run(both())
    _assert_exactly_once(books, "RACE", 20)
    assert books.attempts("accepted") == 21


def test_re_arming_without_a_new_version_sends_nothing(books: Books) -> None:
    cust = books.customer("Again")
    books.drain()
    books.db.execute(
        "UPDATE books.documents SET status = 'blocked' WHERE document_id = %s", (cust,)
    )
    books.db.execute("UPDATE books.documents SET status = 'ready' WHERE document_id = %s", (cust,))
    stats = books.drain()
    assert stats.requests == 0
    assert books.count("Customer", DisplayName="Again") == 1
    assert books.attempts("skipped") == 1


def test_batch_item_faults_are_handled_item_by_item(books: Books) -> None:
    books.customer("Batch One")
    bad = books.doc("customer", {"DisplayName": "Batch Two", "Bogus": 1})
    books.customer("Batch Three")
    # Made ready together (one statement): they fall due together and go out as one batch.
    books.db.execute("UPDATE books.documents SET status = 'draft'")
    books.db.execute("UPDATE books.documents SET status = 'ready'")
    stats = books.drain()
    assert stats.batches >= 1
    assert books.count("Customer", DisplayName="Batch One") == 1
    assert books.count("Customer", DisplayName="Batch Three") == 1
    assert books.count("Customer", DisplayName="Batch Two") == 0
    assert [(e[0], e[2]) for e in books.exceptions()] == [("QBO_FAULT_2010", bad)]


def test_ambiguous_create_is_looked_up_when_the_replay_cache_expired(books: Books) -> None:
    cust = books.customer("Ghost O'Hara")
    books.db.execute("UPDATE sync.outbox SET due_at = now()")
    (claim_id, request_id, body) = books.db.execute(
        "SELECT claim_id, request_id, body FROM api.outbox__claim('w', 5)"
    ).fetchone()
    # The request reaches QuickBooks and commits; our side only sees a timeout.
    token = books.sb.admin.access_token(books.realm_id)
    sent = httpx.post(
        f"{books.sb.base_url}/v3/company/{books.realm_id}/customer",
        params={"requestid": request_id},
        json=body,
        headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
    )
    assert sent.status_code == 200, sent.text
    cls = books.db.execute(
        "SELECT api.outbox__fail(%s, NULL, NULL, NULL, 'timeout', 'w')", (claim_id,)
    ).fetchone()
    assert cls == ("ambiguous",)
    # Intuit's requestid cache is not forever: a replay now would create a second customer.
    assert books.sb.admin.forget_requestids(books.realm_id) >= 1
    stats = books.drain()
    assert stats.lookups_found == 1
    assert books.count("Customer", DisplayName="Ghost O'Hara") == 1
    assert books.remote_id(cust) == sent.json()["Customer"]["Id"]
    assert books.outbox(cust)["state"] == "done"
    assert books.exceptions() == []


def test_lookup_query_of_an_ambiguous_create(books: Books) -> None:
    rows = books.db.execute(
        """
        SELECT logic.outbox__lookup('SalesReceipt', '{"DocNumber": "A''1\\\\"}'),
               logic.outbox__lookup('Customer', '{"DisplayName": "Ann"}'),
               logic.outbox__lookup('Deposit', '{"Line": []}')
        """
    ).fetchone()
    assert rows == (
        "select * from SalesReceipt where DocNumber = 'A\\'1\\\\'",
        "select * from Customer where DisplayName = 'Ann'",
        None,
    )
