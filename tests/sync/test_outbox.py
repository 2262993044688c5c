"""The debounced outbox and the claim rules, at the SQL level (no HTTP)."""

from __future__ import annotations

import itertools
import time

import psycopg

from tests.sync.conftest import Books, sale_line


def _claim(db_url: str, worker: str, limit: int = 30) -> list[tuple]:
    with psycopg.connect(db_url, autocommit=True) as conn:
        return conn.execute(
            "SELECT document_id, operation, request_id, bid FROM api.outbox__claim(%s, %s)",
            (worker, limit),
        ).fetchall()


def test_burst_of_five_updates_in_a_second_sends_one_request(books: Books) -> None:
    books.db.execute("UPDATE sync.settings SET debounce = '400 milliseconds'")
    cust = books.customer("Burst")
    for _ in range(5):
        books.bump(cust, {"Notes": f"n{time.monotonic()}"})
        time.sleep(0.05)
    entry = books.outbox(cust)
    assert entry["version"] == 6 and entry["state"] == "pending"
    jobs = books.db.execute(
        "SELECT count(*) FROM pgq.pgqueuer WHERE entrypoint = 'sync_outbox'"
    ).fetchone()
    # wake-ups only, deduplicated per 100 ms slot: at most one per write (6) + connect's own
    assert jobs is not None and 1 <= jobs[0] <= 7
    assert _claim(books.db_url, "early") == []  # still inside the debounce window
    stats = books.drain()
    assert stats.requests == 1
    customers = books.entities("Customer", DisplayName="Burst")
    assert len(customers) == 1 and customers[0]["Notes"].startswith("n")
    assert books.attempts("accepted") == 1


def test_claim_is_single_flight_and_never_hands_out_an_entry_twice(books: Books) -> None:
    books.db.execute("UPDATE sync.settings SET debounce = '0', batch_per_minute = 0")
    for i in range(6):
        books.customer(f"Single {i}")
    books.db.execute("UPDATE sync.rate_buckets SET tokens = 100")
    books.db.execute("UPDATE sync.settings SET per_second = 1000, per_minute = 6000")
    first = _claim(books.db_url, "a", 3)
    second = _claim(books.db_url, "b", 30)
    ids = [r[0] for r in first + second]
    assert len(ids) == len(set(ids)) == 6
    assert _claim(books.db_url, "c") == []


def test_claim_respects_per_realm_in_flight_cap(books: Books) -> None:
    books.db.execute(
        "UPDATE sync.settings SET debounce = '0', batch_per_minute = 0, max_in_flight = 2, "
        "per_second = 1000, per_minute = 6000"
    )
    books.db.execute("UPDATE sync.rate_buckets SET tokens = 100")
    for i in range(5):
        books.customer(f"Cap {i}")
    assert len(_claim(books.db_url, "a")) == 2
    assert _claim(books.db_url, "b") == []


def test_backlog_goes_out_as_one_batch_request(books: Books) -> None:
    books.db.execute("UPDATE sync.settings SET debounce = '0'")
    for i in range(5):
        books.customer(f"Batch {i}")
    rows = _claim(books.db_url, "a")
    assert len(rows) == 5
    assert len({r[2] for r in rows}) == 1  # one requestid for the batch
    assert sorted(r[3] for r in rows) == ["1", "2", "3", "4", "5"]
    assert all(len(r[2]) <= 36 for r in rows)


def test_document_waits_until_its_dependencies_have_a_remote_id(books: Books) -> None:
    books.db.execute("UPDATE sync.settings SET debounce = '0', batch_per_minute = 0")
    cust = books.customer("Dep")
    sr = books.sales_receipt(cust, "1.00")
    rows = _claim(books.db_url, "a")
    assert [r[0] for r in rows] == [cust]
    assert sr not in [r[0] for r in _claim(books.db_url, "b")]


def test_request_id_is_deterministic_per_version_and_at_most_50_chars(books: Books) -> None:
    books.db.execute("UPDATE sync.settings SET debounce = '0', batch_per_minute = 0")
    cust = books.customer("Rid")
    (row,) = _claim(books.db_url, "a")
    rid = row[2]
    assert len(rid) <= 50
    # Same inputs, same id: the janitor's replay of this version would use it again.
    again = books.db.execute(
        "SELECT request_id FROM sync.outbox WHERE document_id = %s", (cust,)
    ).fetchone()
    assert again == (rid,)


def test_stale_claim_is_released_by_the_janitor_as_ambiguous(books: Books) -> None:
    books.db.execute(
        "UPDATE sync.settings SET debounce = '0', batch_per_minute = 0, claim_timeout = '50 ms'"
    )
    doc = books.doc("sales_receipt", {"Line": [sale_line("3.00")]})
    (row,) = _claim(books.db_url, "dead-worker")
    time.sleep(0.1)
    released = books.db.execute("SELECT api.outbox__reap('janitor')").fetchone()
    assert released == (1,)
    entry = books.outbox(doc)
    assert entry["state"] == "pending" and entry["ambiguous"] and entry["request_id"] == row[2]
    assert books.attempts("released") == 1
    books.db.execute("UPDATE sync.rate_buckets SET tokens = 10")
    (again,) = _claim(books.db_url, "w2")
    assert again[2] == row[2]  # replayed with the same requestid, not re-rendered


def test_worker_role_can_only_call_api(books: Books) -> None:
    books.db.execute("CREATE ROLE sync_test_worker LOGIN IN ROLE pgbooks_worker")
    try:
        books.db.execute("SET ROLE sync_test_worker")
        books.db.execute("SELECT * FROM api.outbox__backlog()")
        try:
            books.db.execute("SELECT * FROM sync.outbox")
            raise AssertionError("pgbooks_worker must not read sync tables")
        except psycopg.errors.InsufficientPrivilege:
            pass
    finally:
        books.db.execute("RESET ROLE")
        books.db.execute("DROP ROLE sync_test_worker")


def test_heartbeat_renews_only_the_claims_a_worker_still_holds(books: Books) -> None:
    books.db.execute("UPDATE sync.settings SET debounce = '0', batch_per_minute = 0")
    books.customer("Beat")
    (row,) = books.db.execute("SELECT claim_id FROM api.outbox__claim('w', 5)").fetchall()
    lost = books.db.execute("SELECT api.outbox__heartbeat('w', %s)", ([],)).fetchone()
    kept = books.db.execute("SELECT api.outbox__heartbeat('w', %s)", ([row[0]],)).fetchone()
    assert (lost, kept) == ((0,), (1,))


def test_claim_reserves_at_most_half_a_second_of_tokens_with_send_delays(books: Books) -> None:
    books.db.execute("UPDATE sync.settings SET batch_per_minute = 0")  # 500/min, 10/s
    for i in range(8):
        books.customer(f"Reserved {i}")
    books.db.execute("UPDATE sync.outbox SET due_at = now()")
    books.db.execute("UPDATE sync.rate_buckets SET tokens = 0, refilled_at = clock_timestamp()")
    rows = books.db.execute(
        "SELECT send_delay FROM api.outbox__claim('w', 30) ORDER BY send_delay"
    ).fetchall()
    delays = [float(r[0]) for r in rows]
    # rate (500 - 10) / 60 = 8.17 tokens/s: half a second holds 4 tokens, 0.122 s apart
    # (the few ms between the UPDATE and the claim refill a little: 4 or 5 tokens)
    assert len(delays) in (4, 5)
    assert all(0.1 < b - a < 0.14 for a, b in itertools.pairwise(delays))
    assert delays[0] < 0.13 and delays[-1] <= 0.5
    # The bucket is reserved: an immediate second claim gets nothing.
    assert _claim(books.db_url, "w2") == []


def test_claim_skips_a_realm_until_half_of_its_horizon_is_free(books: Books) -> None:
    books.db.execute("UPDATE sync.settings SET batch_per_minute = 0")  # 8.17 tokens/s
    for i in range(12):
        books.customer(f"Horizon {i}")
    books.db.execute("UPDATE sync.outbox SET due_at = now()")
    # reserved 0.6 s ahead, beyond the 0.5 s horizon: not visited
    books.db.execute(
        "UPDATE sync.rate_buckets SET tokens = 0, "
        "refilled_at = clock_timestamp() + interval '0.6 seconds'"
    )
    assert _claim(books.db_url, "w") == []
    # reserved 0.1 s ahead: 0.4 s free, visited, 3 or 4 tokens handed out (5 if the machine is
    # slow enough for the claim to run 0.2 s after the UPDATE)
    books.db.execute(
        "UPDATE sync.rate_buckets SET tokens = 0, "
        "refilled_at = clock_timestamp() + interval '0.1 seconds'"
    )
    assert len(_claim(books.db_url, "w")) in (3, 4, 5)
