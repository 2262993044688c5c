"""The QuickBooks books closing date (Preferences AccountingInfoPrefs.BookCloseDate) is read
from the company and honoured like a local close, against the sandbox over real HTTP: read at
connect (discovery), on the worker's schedule and after a 6210 answer; a document dated on or
before it is never sent as is: it is held with an exception naming the date (policy hold) or
moved to the first open day with a note naming its own date (adjust_in_open_period). Each change
of the date is one audited write."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import psycopg
import pytest
from psycopg.types.json import Jsonb

from pgbooks.status import collect
from pgbooks.sync.oauth import connect
from pgbooks.sync.worker import Worker, WorkerConfig, WorkerStats

from .helpers import load_shopify_order, shopify_order

ORDER = 1073459972  # Shopify fixture: paid 199.00, placed 2025-07-02
SRC = f"shop1:{ORDER}"
NOTE = " (dated 2025-07-02 in a closed period; booked on 2025-08-01)"


@pytest.fixture(autouse=True)
def _secret_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PGBOOKS_SECRET_KEY", "test-secret-key-for-pgbooks-closedate")


def _connect(
    db: psycopg.Connection, db_url: str, sb: Any, close: str | None, policy: str | None = None
) -> str:
    """Tenant 'shop' connected (OAuth + discovery, as `pgbooks connect`) to a fresh realm whose
    books are closed through ``close``."""
    realm = str(sb.admin.create_realm(name="Closed books company")["realm_id"])
    if close is not None:
        sb.admin.preferences({"AccountingInfoPrefs": {"BookCloseDate": close}}, realm)
    db.execute("INSERT INTO orders.tenants (tenant_id, name) VALUES ('shop', 'Shop')")
    db.execute(
        "INSERT INTO sync.settings (tenant_id, debounce, claim_timeout)"
        " VALUES ('shop', '20 milliseconds', '2 seconds')"
    )
    if policy is not None:
        db.execute(
            "INSERT INTO books.tenant_settings (tenant_id, closed_period_policy)"
            " VALUES ('shop', %s)",
            (policy,),
        )
    connect(
        db_url,
        "shop",
        api_base_url=sb.base_url,
        discovery_url=f"{sb.base_url}/.well-known/openid_configuration",
        realm_id=realm,
    )
    return realm


def _load(db: psycopg.Connection) -> None:
    load_shopify_order(
        db,
        "shop",
        shopify_order(ORDER),
        transactions=[{"transaction_id": "t1", "kind": "sale", "amount": "199.00"}],
    )


def _main(db: psycopg.Connection) -> dict[str, Any]:
    cur = db.execute(
        "SELECT document_id, status, txn_date, version, body FROM books.documents"
        " WHERE tenant_id = 'shop' AND source_type = 'order' AND source_id = %s"
        " AND source_role = 'main'",
        (SRC,),
    )
    names = [c.name for c in cur.description or []]
    row = cur.fetchone()
    assert row is not None
    return dict(zip(names, row, strict=True))


def _drain(db_url: str, timeout: float = 30.0, **cfg: Any) -> WorkerStats:
    cfg.setdefault("use_pgqueuer", False)
    cfg.setdefault("loops", 2)
    worker = Worker(db_url, "w-close", WorkerConfig(**cfg))
    return asyncio.run(worker.run(until_idle=True, timeout=timeout))


def _stored(db: psycopg.Connection) -> tuple[Any, ...] | None:
    return db.execute(
        "SELECT book_close_date, source FROM books.qbo_close_dates WHERE tenant_id = 'shop'"
    ).fetchone()


def _audited_changes(db: psycopg.Connection) -> list[tuple[Any, ...]]:
    return db.execute(
        "SELECT operation, reason_code, after ->> 'book_close_date' FROM audit.events"
        " WHERE tenant_id = 'shop' AND table_name = 'books.qbo_close_dates' ORDER BY seq"
    ).fetchall()


def _sent_6210(db: psycopg.Connection) -> int:
    """QuickBooks answers 6210 recorded by api.outbox__fail (event held, with an HTTP status)."""
    row = db.execute(
        "SELECT count(*) FROM sync.attempts WHERE tenant_id = 'shop' AND event = 'held'"
        " AND http_status IS NOT NULL"
    ).fetchone()
    assert row is not None
    return int(row[0])


def _exceptions(db: psycopg.Connection, status: str = "open") -> dict[str, dict[str, Any]]:
    rows = db.execute(
        "SELECT reason_code, message, detail, resolution FROM sync.exceptions"
        " WHERE tenant_id = 'shop' AND status = %s",
        (status,),
    ).fetchall()
    return {r[0]: {"message": r[1], "detail": r[2], "resolution": r[3]} for r in rows}


def test_known_closing_date_moves_a_late_order_to_the_first_open_day(
    db: psycopg.Connection, db_url: str, sandbox: Any
) -> None:
    realm = _connect(db, db_url, sandbox, "2025-07-31")
    assert _stored(db) == (dt.date(2025, 7, 31), "discovery")
    assert _audited_changes(db) == [("INSERT", "SETTING_CHANGE", "2025-07-31")]
    _load(db)
    main = _main(db)
    assert main["status"] == "ready" and main["txn_date"] == dt.date(2025, 8, 1)
    assert main["body"]["PrivateNote"].endswith(NOTE)
    _drain(db_url)
    receipts = sandbox.admin.entities("SalesReceipt", realm)
    assert len(receipts) == 1  # exactly one QuickBooks document
    assert receipts[0]["TxnDate"] == "2025-08-01"
    assert f"pgbooks order {SRC}" in receipts[0]["PrivateNote"]
    assert receipts[0]["PrivateNote"].endswith(NOTE)
    assert _sent_6210(db) == 0  # nothing dated in the closed books went out
    assert _exceptions(db) == {}
    facts = collect(db_url)
    assert [r["qbo_book_close_date"] for r in facts["realms"]] == [dt.date(2025, 7, 31)]


def test_known_closing_date_holds_a_late_order_under_the_hold_policy(
    db: psycopg.Connection, db_url: str, sandbox: Any
) -> None:
    realm = _connect(db, db_url, sandbox, "2025-07-31", policy="hold")
    _load(db)
    main = _main(db)
    assert main["status"] == "blocked" and main["txn_date"] is None
    exc = _exceptions(db)["PERIOD_CLOSED"]
    assert "QuickBooks books closing date 2025-07-31" in exc["message"]
    assert exc["detail"]["qbo_book_close_date"] == "2025-07-31"
    assert exc["detail"]["first_open_date"] == "2025-08-01"
    _drain(db_url)
    assert sandbox.admin.entities("SalesReceipt", realm) == []
    assert _sent_6210(db) == 0
    facts = collect(db_url)
    assert facts["attention"] and facts["realms"][0]["open_exceptions"] >= 1


def test_closing_date_moved_after_discovery_one_6210_then_rerouted(
    db: psycopg.Connection, db_url: str, sandbox: Any
) -> None:
    realm = _connect(db, db_url, sandbox, None)
    assert _stored(db) == (None, "discovery")
    _load(db)
    main = _main(db)
    assert main["txn_date"] == dt.date(2025, 7, 2)  # open when derived
    # The bookkeeper closes July in QuickBooks after pgbooks read the preferences.
    sandbox.admin.preferences({"AccountingInfoPrefs": {"BookCloseDate": "2025-07-31"}}, realm)
    _drain(db_url)
    assert _sent_6210(db) == 1  # one refusal, then the preferences were read again
    assert _stored(db) == (dt.date(2025, 7, 31), "fault_6210")
    moved = _main(db)
    assert moved["txn_date"] == dt.date(2025, 8, 1) and moved["version"] == main["version"] + 1
    assert moved["body"]["PrivateNote"].endswith(NOTE)
    receipts = sandbox.admin.entities("SalesReceipt", realm)
    assert len(receipts) == 1 and receipts[0]["TxnDate"] == "2025-08-01"
    assert _exceptions(db) == {}
    resolved = _exceptions(db, "resolved")["PERIOD_CLOSED"]
    assert "2025-08-01" in resolved["resolution"] and "2025-07-31" in resolved["resolution"]
    assert _audited_changes(db) == [
        ("INSERT", "SETTING_CHANGE", None),
        ("UPDATE", "SETTING_CHANGE", "2025-07-31"),
    ]
    rerouted = db.execute(
        "SELECT count(*) FROM audit.events WHERE tenant_id = 'shop'"
        " AND table_name = 'books.documents' AND reason_code = 'LATE_POSTING_REROUTED'"
    ).fetchone()
    assert rerouted == (1,)
    # Deriving the order again keeps the moved date and note: nothing new to send.
    db.execute("SELECT api.order__derive('shop', 'shop1', %s)", (str(ORDER),))
    assert _main(db)["version"] == moved["version"]


def test_closing_date_moved_after_discovery_holds_then_schedule_releases(
    db: psycopg.Connection, db_url: str, sandbox: Any
) -> None:
    realm = _connect(db, db_url, sandbox, None, policy="hold")
    _load(db)
    sandbox.admin.preferences({"AccountingInfoPrefs": {"BookCloseDate": "2025-07-31"}}, realm)
    _drain(db_url)
    assert _sent_6210(db) == 1
    assert sandbox.admin.entities("SalesReceipt", realm) == []
    exc = _exceptions(db)["PERIOD_CLOSED"]
    assert "QuickBooks books closing date 2025-07-31" in exc["message"]
    main = _main(db)
    assert main["txn_date"] == dt.date(2025, 7, 2)  # held, not moved
    outbox = db.execute(
        "SELECT state FROM sync.outbox WHERE tenant_id = 'shop' AND document_id = %s",
        (main["document_id"],),
    ).fetchone()
    assert outbox == ("held",)
    # A late discount while held: never sent, so rewritten in place (no reversal of a document
    # QuickBooks does not hold), and still held.
    with db.transaction():
        db.execute(
            "UPDATE orders.orders SET stated_total = 189.00, stated_total_discounts = 10.00"
            " WHERE order_id = %s",
            (str(ORDER),),
        )
        db.execute(
            "INSERT INTO orders.discount_allocations (tenant_id, channel_id, order_id,"
            " allocation_id, amount) VALUES ('shop', 'shop1', %s, 'late', 10.00)",
            (str(ORDER),),
        )
    roles = db.execute(
        "SELECT source_role FROM books.documents WHERE source_type = 'order' AND source_id = %s",
        (SRC,),
    ).fetchall()
    assert roles == [("main",)]
    changed = _main(db)
    assert changed["version"] == main["version"] + 1
    assert changed["txn_date"] == dt.date(2025, 7, 2)
    _drain(db_url)
    assert sandbox.admin.entities("SalesReceipt", realm) == []
    # The bookkeeper reopens July in QuickBooks; the scheduled job (pgqueuer scheduler,
    # qbo_close_refresh every second here) reads it and releases the held entry.
    sandbox.admin.preferences({"AccountingInfoPrefs": {"BookCloseDate": None}}, realm)
    for _ in range(10):
        worker = Worker(db_url, "w-sched", WorkerConfig(loops=1, use_pgqueuer=True, close_every=1))
        asyncio.run(worker.run(timeout=3.0))
        if _stored(db) == (None, "schedule"):
            break
    assert _stored(db) == (None, "schedule")
    schedules = db.execute(
        "SELECT count(*) FROM pgq.pgqueuer_schedules WHERE entrypoint = 'qbo_close_refresh'"
    ).fetchone()
    assert schedules == (1,)
    _drain(db_url)
    receipts = sandbox.admin.entities("SalesReceipt", realm)
    assert len(receipts) == 1 and receipts[0]["TxnDate"] == "2025-07-02"
    assert str(receipts[0]["TotalAmt"]) in ("189", "189.0", "189.00")
    assert _exceptions(db) == {}
    assert _sent_6210(db) == 1


def test_effective_boundary_is_the_later_of_local_and_quickbooks_close(
    db: psycopg.Connection,
) -> None:
    db.execute("INSERT INTO orders.tenants (tenant_id, name) VALUES ('shop', 'Shop')")
    prefs = Jsonb({"AccountingInfoPrefs": {"BookCloseDate": "2025-07-31"}})
    out = db.execute("SELECT api.qbo_close__apply('shop', 'r1', %s, 'manual')", (prefs,)).fetchone()
    assert out is not None and out[0]["changed"] is True
    again = db.execute(
        "SELECT api.qbo_close__apply('shop', 'r1', %s, 'schedule')", (prefs,)
    ).fetchone()
    assert again is not None and again[0]["changed"] is False
    assert len(_audited_changes(db)) == 1  # an unchanged refresh writes nothing

    def posting(day: str) -> Any:
        row = db.execute(
            "SELECT close.period__posting_date('shop', %s),"
            " logic.books_period__open_date('shop', %s)",
            (day, day),
        ).fetchone()
        assert row is not None
        return row

    assert posting("2025-07-31") == (dt.date(2025, 8, 1), dt.date(2025, 8, 1))
    assert posting("2025-08-01") == (dt.date(2025, 8, 1), dt.date(2025, 8, 1))
    db.execute("UPDATE books.tenant_settings SET closed_through = '2025-08-15'")
    assert posting("2025-07-31")[1] == dt.date(2025, 8, 16)  # local close is later
    db.execute("UPDATE books.tenant_settings SET closed_through = '2025-06-30'")
    assert posting("2025-07-31")[1] == dt.date(2025, 8, 1)  # QuickBooks close is later
    # a month closed locally on top of the QuickBooks date
    db.execute(
        "INSERT INTO books.periods (tenant_id, period_start, period_end, status, closed_at)"
        " VALUES ('shop', '2025-08-01', '2025-08-31', 'closed', now())"
    )
    assert posting("2025-07-10") == (dt.date(2025, 9, 1), dt.date(2025, 9, 1))


def test_malformed_closing_date_is_refused_with_pb725(db: psycopg.Connection) -> None:
    db.execute("INSERT INTO orders.tenants (tenant_id, name) VALUES ('shop', 'Shop')")
    with pytest.raises(psycopg.Error) as err:
        db.execute(
            "SELECT api.qbo_close__apply('shop', 'r1', %s)",
            (Jsonb({"AccountingInfoPrefs": {"BookCloseDate": "last Tuesday"}}),),
        )
    assert err.value.sqlstate == "PB725" and "last Tuesday" in str(err.value)
    assert _stored(db) is None
