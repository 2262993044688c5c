"""When derivation runs: off the writer's commit, once per order, never lost.

A write to an order queues one derive request per order per transaction (books.derive_requests,
in the writer's transaction); the worker derives the queue (api.books__derive_pending) once per
order however many requests it holds, and deletes them in the transaction that writes the
documents. A tenant with derive_at_commit derives in the writer's transaction instead. Counted
with the transaction's own function statistics (pg_stat_xact_user_functions).
"""

from __future__ import annotations

import psycopg
import pytest

from tests.derive import derive_pending

ORDER = (
    "INSERT INTO orders.orders (tenant_id, channel_id, order_id, currency, stated_total)"
    " SELECT 'd1', 'app', 'o' || g, 'USD', 15.00 FROM generate_series(1, %s) AS g"
)
LINES = (
    "INSERT INTO orders.order_lines (tenant_id, channel_id, order_id, line_id, title, quantity,"
    " unit_price) SELECT 'd1', 'app', 'o' || g, l::text, 'Widget', 1, 5.00"
    " FROM generate_series(1, %s) AS g, generate_series(1, 3) AS l"
)


def _calls(db: psycopg.Connection) -> int:
    # PostgreSQL 15 flushes function statistics lazily: the "xact" view may still hold calls of
    # an earlier transaction, so callers take a difference within one transaction.
    row = db.execute(
        "SELECT coalesce(sum(calls), 0) FROM pg_stat_xact_user_functions"
        " WHERE schemaname = 'logic' AND funcname = 'order__derive'"
    ).fetchone()
    assert row is not None
    return int(row[0])


def _requests(db: psycopg.Connection) -> list[tuple[str, str]]:
    return [
        (r[0], r[1])
        for r in db.execute(
            "SELECT subject_type, subject_id FROM books.derive_requests WHERE tenant_id = 'd1'"
            " ORDER BY request_id"
        ).fetchall()
    ]


def _main_docs(db: psycopg.Connection) -> int:
    row = db.execute(
        "SELECT count(*) FROM books.documents WHERE tenant_id = 'd1' AND source_type = 'order'"
        " AND source_role = 'main'"
    ).fetchone()
    assert row is not None
    return int(row[0])


def _setup(db: psycopg.Connection) -> None:
    db.execute("SET track_functions = 'all'")
    db.execute("INSERT INTO orders.tenants (tenant_id, name) VALUES ('d1', 'D1')")
    db.execute(
        "INSERT INTO orders.channels (tenant_id, channel_id, platform, name, currency)"
        " VALUES ('d1', 'app', 'custom', 'app', 'USD')"
    )


def test_the_commit_queues_one_request_per_order_and_derives_nothing(
    db: psycopg.Connection,
) -> None:
    _setup(db)
    with db.transaction():
        before = _calls(db)
        db.execute(ORDER, (25,))
        db.execute(LINES, (25,))
        # the header written again in the same transaction: still one request
        db.execute("UPDATE orders.orders SET order_number = '#1' WHERE order_id = 'o1'")
        db.execute("UPDATE orders.orders SET order_number = '#1b' WHERE order_id = 'o1'")
        db.execute("SET CONSTRAINTS ALL IMMEDIATE")  # fire the deferred triggers now
        assert _calls(db) - before == 0  # nothing derived in the writer's transaction
    assert sorted(_requests(db)) == sorted(("order", f"o{g}") for g in range(1, 26))
    woken = db.execute(
        "SELECT count(*) FROM pgq.pgqueuer WHERE entrypoint = 'books_derive'"
    ).fetchone()
    assert woken is not None and woken[0] >= 1  # the worker is woken through pgqueuer
    assert _main_docs(db) == 0
    with db.transaction():
        before = _calls(db)
        assert db.execute("SELECT api.books__derive_pending()").fetchone() == (25,)
        assert _calls(db) - before == 25
    assert _requests(db) == []
    assert _main_docs(db) == 25
    body = db.execute(
        "SELECT body ->> 'PrivateNote' FROM books.documents WHERE tenant_id = 'd1'"
        " AND source_id = 'app:o1' AND source_role = 'main'"
    ).fetchone()
    assert body is not None and "#1b" in body[0]  # derived from the last version


def test_a_burst_of_updates_of_one_order_derives_once(db: psycopg.Connection) -> None:
    _setup(db)
    db.execute(ORDER, (1,))
    db.execute(LINES, (1,))
    for i in range(10):  # ten transactions, each its own request
        db.execute("UPDATE orders.orders SET order_number = %s WHERE order_id = 'o1'", (f"#{i}",))
    assert len(_requests(db)) == 12
    with db.transaction():
        before = _calls(db)
        assert db.execute("SELECT api.books__derive_pending()").fetchone() == (1,)
        assert _calls(db) - before == 1
    assert _requests(db) == []
    body = db.execute(
        "SELECT body ->> 'PrivateNote' FROM books.documents WHERE tenant_id = 'd1'"
        " AND source_id = 'app:o1' AND source_role = 'main'"
    ).fetchone()
    assert body is not None and "#9" in body[0]


def test_payments_added_to_older_orders_queue_each_order_once(db: psycopg.Connection) -> None:
    _setup(db)
    with db.transaction():
        db.execute(ORDER, (2,))
        db.execute(LINES, (2,))
    derive_pending(db)
    with db.transaction():
        # five payment rows on two orders whose headers this transaction does not write
        db.execute(
            "INSERT INTO orders.transactions (tenant_id, channel_id, transaction_id, order_id,"
            " kind, status, amount, currency) SELECT 'd1', 'app', 't' || g, 'o' || (g % 2 + 1),"
            " 'capture', 'success', 3.00, 'USD' FROM generate_series(1, 5) AS g"
        )
        db.execute("UPDATE orders.transactions SET gateway = 'stripe' WHERE tenant_id = 'd1'")
    assert sorted(_requests(db)) == [("order", "o1"), ("order", "o2")]
    assert derive_pending(db) == 2


def test_a_request_is_never_lost_when_derivation_dies(db: psycopg.Connection) -> None:
    """The order commits; the worker dies mid-derivation (its transaction rolls back): the
    request is still there and a later run derives the order."""
    _setup(db)
    with db.transaction():
        db.execute(ORDER, (1,))
        db.execute(LINES, (1,))
    with pytest.raises(psycopg.errors.QueryCanceled), db.transaction():
        assert db.execute("SELECT api.books__derive_pending()").fetchone() == (1,)
        assert _main_docs(db) == 1
        db.execute("SET LOCAL statement_timeout = 1")
        db.execute("SELECT pg_sleep(1)")  # the worker's transaction never commits
    assert _requests(db) == [("order", "o1")]
    assert _main_docs(db) == 0
    assert derive_pending(db) == 1
    assert _main_docs(db) == 1 and _requests(db) == []


def test_a_failing_derivation_is_kept_with_its_error(db: psycopg.Connection) -> None:
    _setup(db)
    db.execute(ORDER, (2,))
    # o2 cannot be derived: a rule raises (simulated by a settings row the rules refuse)
    db.execute(
        "CREATE FUNCTION pg_temp.boom() RETURNS trigger LANGUAGE plpgsql AS $$"
        " BEGIN IF NEW.source_id = 'app:o2' THEN RAISE EXCEPTION 'rule failed'; END IF;"
        " RETURN NEW; END $$"
    )
    db.execute(
        "CREATE TRIGGER boom BEFORE INSERT ON books.documents FOR EACH ROW"
        " EXECUTE FUNCTION pg_temp.boom()"
    )
    assert db.execute("SELECT api.books__derive_pending()").fetchone() == (1,)
    rows = db.execute(
        "SELECT subject_id, attempts, last_error FROM books.derive_requests WHERE tenant_id = 'd1'"
    ).fetchall()
    assert [(r[0], r[1]) for r in rows] == [("o2", 1)]
    assert "rule failed" in rows[0][2]
    backlog = db.execute("SELECT * FROM api.books__derive_backlog()").fetchall()
    assert [(b[0], b[1], b[2]) for b in backlog] == [("d1", 0, 1)]
    db.execute("DROP TRIGGER boom ON books.documents")
    assert derive_pending(db) == 1
    assert _main_docs(db) == 2


def test_derive_at_commit_derives_in_the_writers_transaction(db: psycopg.Connection) -> None:
    _setup(db)
    db.execute(
        "INSERT INTO books.tenant_settings (tenant_id, derive_at_commit) VALUES ('d1', true)"
    )
    with db.transaction():
        before = _calls(db)
        db.execute(ORDER, (3,))
        db.execute(LINES, (3,))
        db.execute("UPDATE orders.orders SET order_number = '#1' WHERE order_id = 'o1'")
        db.execute("SET CONSTRAINTS ALL IMMEDIATE")
        assert _calls(db) - before == 3
    assert _requests(db) == []
    assert _main_docs(db) == 3
