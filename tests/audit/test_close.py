"""Period close: blockers, four-eyes overrides, nothing posts into a closed period."""

from __future__ import annotations

import psycopg
import pytest


def _as(db: psycopg.Connection, user: str) -> None:
    db.execute("SELECT set_config('pgbooks.user', %s, false)", (user,))


def _err(db: psycopg.Connection, sql: str, params: tuple = ()) -> psycopg.Error:
    with pytest.raises(psycopg.Error) as err:
        db.execute(sql, params)
    return err.value


def _override(db: psycopg.Connection, action: str, subject: str, approver: str = "bob") -> int:
    _as(db, "alice")
    row = db.execute(
        "SELECT close.override__request('t1', %s, %s, 'year-end deadline')", (action, subject)
    ).fetchone()
    assert row is not None
    _as(db, approver)
    db.execute("SELECT close.override__approve('t1', %s, 'checked the list')", (row[0],))
    _as(db, "alice")
    return int(row[0])


def test_close_refused_with_unposted_documents(books: psycopg.Connection) -> None:
    err = _err(books, "SELECT close.close_period('t1', '2026-01')")
    assert err.sqlstate == "PB722"
    assert "2 unposted document(s)" in str(err)


def test_close_refused_with_open_exception(books: psycopg.Connection) -> None:
    books.execute("UPDATE books.documents SET status = 'cancelled' WHERE tenant_id = 't1'")
    books.execute(
        "INSERT INTO sync.exceptions (tenant_id, source_type, source_id, reason_code, category,"
        " message, first_seen_at) VALUES ('t1', 'order', '1003', 'TOTALS_MISMATCH',"
        " 'source_data', 'lines do not sum', '2026-01-10')"
    )
    err = _err(books, "SELECT close.close_period('t1', '2026-01')")
    assert err.sqlstate == "PB722" and "1 open exception(s)" in str(err)
    books.execute("UPDATE sync.exceptions SET status = 'resolved', resolved_at = now()")
    res = books.execute("SELECT close.close_period('t1', '2026-01')").fetchone()
    assert res is not None and res[0]["status"] == "closed"


def test_period_must_be_a_month(books: psycopg.Connection) -> None:
    assert _err(books, "SELECT close.close_period('t1', '2026-13')").sqlstate == "PB720"


def test_four_eyes_override_by_same_person_is_refused(books: psycopg.Connection) -> None:
    _as(books, "alice")
    row = books.execute(
        "SELECT close.override__request('t1', 'close_period', '2026-01', 'deadline')"
    ).fetchone()
    assert row is not None
    err = _err(books, "SELECT close.override__approve('t1', %s, 'me again')", (row[0],))
    assert err.sqlstate == "PB712" and "different person" in str(err)
    # unapproved: still refused
    err = _err(books, "SELECT close.close_period('t1', '2026-01', %s)", (row[0],))
    assert err.sqlstate == "PB714"


def test_override_needs_a_named_person(books: psycopg.Connection) -> None:
    books.execute("SELECT set_config('pgbooks.user', '', false)")
    err = _err(books, "SELECT close.override__request('t1', 'close_period', '2026-01', 'x')")
    assert err.sqlstate == "PB710"


def test_approved_override_closes_once_and_is_audited(books: psycopg.Connection) -> None:
    oid = _override(books, "close_period", "2026-01")
    res = books.execute("SELECT close.close_period('t1', '2026-01', %s)", (oid,)).fetchone()
    assert res is not None and res[0]["blockers_overridden"]["unposted_documents"] != []
    steps = books.execute(
        "SELECT step, app_user FROM audit.overrides WHERE override_id = %s ORDER BY recorded_at",
        (oid,),
    ).fetchall()
    assert steps == [("request", "alice"), ("approve", "bob"), ("use", "alice")]
    reasons = [
        r[0]
        for r in books.execute(
            "SELECT reason_code FROM audit.events WHERE tenant_id = 't1' ORDER BY seq"
        ).fetchall()
    ]
    assert reasons[-4:] == [
        "OVERRIDE_REQUESTED",
        "OVERRIDE_APPROVED",
        "OVERRIDE_USED",
        "PERIOD_CLOSED",
    ]
    # reopen needs its own override; the used one is refused
    err = _err(books, "SELECT close.reopen_period('t1', '2026-01', %s)", (oid,))
    assert err.sqlstate == "PB711"
    err = _err(books, "SELECT close.reopen_period('t1', '2026-01', NULL)")
    assert err.sqlstate == "PB714"
    reopen = _override(books, "reopen_period", "2026-01")
    books.execute("SELECT close.reopen_period('t1', '2026-01', %s)", (reopen,))
    err = _err(books, "SELECT close.reopen_period('t1', '2026-01', %s)", (reopen,))
    assert err.sqlstate == "PB724"  # already open
    ok = books.execute("SELECT ok FROM close.audit__verify('t1')").fetchone()
    assert ok == (True,)


def test_posting_into_closed_period_is_rerouted(books: psycopg.Connection) -> None:
    oid = _override(books, "close_period", "2026-01")
    books.execute("SELECT close.close_period('t1', '2026-01', %s)", (oid,))
    got = books.execute(
        "SELECT close.period__posting_date('t1', '2026-01-15'), "
        "close.period__posting_date('t1', '2026-02-03'), "
        "close.period__posting_date('t2', '2026-01-15')"
    ).fetchone()
    assert got is not None and [str(d) for d in got] == ["2026-02-01", "2026-02-03", "2026-01-15"]
    books.execute(
        "INSERT INTO books.documents (tenant_id, doc_type, source_type, source_id, txn_date,"
        " currency, total_amount) VALUES ('t1', 'sales_receipt', 'order', '1009', '2026-01-30',"
        " 'USD', 1)"
    )
    moved = books.execute(
        "SELECT txn_date::text FROM books.documents WHERE source_id = '1009'"
    ).fetchone()
    assert moved == ("2026-02-01",)
    ev = books.execute(
        "SELECT after FROM audit.events WHERE tenant_id = 't1' "
        "AND reason_code = 'LATE_POSTING_REROUTED'"
    ).fetchone()
    assert ev is not None and ev[0]["original_txn_date"] == "2026-01-30"
    # a document already in the closed period cannot change
    err = _err(books, "UPDATE books.documents SET total_amount = 99 WHERE source_id = '1001'")
    assert err.sqlstate == "PB721" and "adjustment" in (err.diag.message_hint or "")


def test_posting_into_closed_period_is_refused_by_policy(books: psycopg.Connection) -> None:
    oid = _override(books, "close_period", "2026-01")
    books.execute("SELECT close.close_period('t1', '2026-01', %s, 'refuse')", (oid,))
    err = _err(
        books,
        "INSERT INTO books.documents (tenant_id, doc_type, source_type, source_id, txn_date,"
        " currency, total_amount) VALUES ('t1', 'sales_receipt', 'order', '1009', '2026-01-30',"
        " 'USD', 1)",
    )
    assert err.sqlstate == "PB721" and "closed period" in str(err)
    # other tenants are not affected
    books.execute(
        "INSERT INTO books.documents (tenant_id, doc_type, source_type, source_id, txn_date,"
        " currency, total_amount) VALUES ('t2', 'sales_receipt', 'order', '2009', '2026-01-30',"
        " 'EUR', 1)"
    )
