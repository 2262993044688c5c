"""Processing off the request path: claim, normalize in a subtransaction, applied or quarantined.

The mechanics are tested with a test-only normalizer for the ``custom`` platform (installed in
the per-test database), so these tests do not depend on what the real normalizers accept.
"""

from __future__ import annotations

import json
import threading
from typing import Any

import psycopg
import pytest

from pgbooks.ingest import processor

from .conftest import TENANT, add_channel, raw_event

# Applies payloads with an "id"; PB-class refusal without one; a CHECK violation for qty < 0.
_NORMALIZER = """
CREATE TABLE ingest.test_applied (
    k text PRIMARY KEY,
    qty integer CONSTRAINT test_applied_qty_non_negative CHECK (qty >= 0)
);
CREATE FUNCTION logic.custom__normalize(
    p_tenant_id text, p_channel_id text, p_topic text, p_payload jsonb
) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    IF p_payload ->> 'id' IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'PB101', MESSAGE = 'payload.id: required';
    END IF;
    INSERT INTO ingest.test_applied VALUES (p_payload ->> 'id', (p_payload ->> 'qty')::integer);
    RETURN 'order:' || (p_payload ->> 'id');
END $$;
"""


def receive(db: psycopg.Connection[Any], payload: Any, delivery: str | None = None) -> int:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    row = db.execute(
        "SELECT raw_event_id, status FROM api.raw_event__receive(%s, 'custom', 'app', '{}', %s,"
        " 'valid', p_topic => 'order', p_delivery_id => %s)",
        (TENANT, body, delivery),
    ).fetchone()
    assert row is not None and row[1] == "pending", row
    return int(row[0])


@pytest.fixture
def custom(db: psycopg.Connection[Any]) -> psycopg.Connection[Any]:
    add_channel(db, "app", "custom", "s")
    return db


def test_without_a_normalizer_events_are_quarantined_not_lost(
    custom: psycopg.Connection[Any],
) -> None:
    rid = receive(custom, {"id": "1"})
    assert custom.execute("SELECT * FROM api.raw_events__process(10)").fetchone() == (1, 0, 1)
    row = raw_event(custom, rid)
    assert (row["status"], row["reason_code"]) == ("quarantined", "NO_NORMALIZER")
    assert "logic.custom__normalize" in row["message"]


def test_good_and_bad_payloads_in_one_batch(custom: psycopg.Connection[Any]) -> None:
    custom.execute(_NORMALIZER)
    good = receive(custom, {"id": "A", "qty": 2})
    missing = receive(custom, {"qty": 1})
    negative = receive(custom, {"id": "B", "qty": -1})
    garbage = receive(custom, {"id": "C", "qty": "many"})
    later = receive(custom, {"id": "D", "qty": 0})
    assert custom.execute("SELECT * FROM api.raw_events__process(10)").fetchone() == (5, 2, 3)

    assert raw_event(custom, good)["status"] == "applied"
    assert raw_event(custom, good)["result"] == "order:A"
    assert raw_event(custom, later)["status"] == "applied"

    row = raw_event(custom, missing)
    assert (row["status"], row["reason_code"]) == ("quarantined", "NORMALIZER_REJECTED")
    assert row["message"] == "payload.id: required"
    assert row["error_detail"]["sqlstate"] == "PB101"

    row = raw_event(custom, negative)
    assert (row["reason_code"], row["error_detail"]["constraint"]) == (
        "CONSTRAINT_VIOLATED",
        "test_applied_qty_non_negative",
    )
    assert raw_event(custom, garbage)["reason_code"] == "INVALID_VALUE"
    # The failed events' partial work was rolled back with their subtransaction.
    keys = [r[0] for r in custom.execute("SELECT k FROM ingest.test_applied ORDER BY k")]
    assert keys == ["A", "D"]
    # Operators see each quarantine in the exception queue.
    exc = custom.execute(
        "SELECT reason_code, category, source_id FROM sync.exceptions"
        " WHERE source_type = 'raw_event' ORDER BY source_id::bigint"
    ).fetchall()
    assert exc == [
        ("NORMALIZER_REJECTED", "source_data", str(missing)),
        ("CONSTRAINT_VIOLATED", "source_data", str(negative)),
        ("INVALID_VALUE", "source_data", str(garbage)),
    ]


def test_retry_after_a_fix_applies_the_quarantined_event(custom: psycopg.Connection[Any]) -> None:
    rid = receive(custom, {"id": "R", "qty": 1})
    processor.drain(custom)
    assert raw_event(custom, rid)["status"] == "quarantined"
    custom.execute(_NORMALIZER)  # the fix: a normalizer is installed
    assert custom.execute("SELECT api.raw_event__retry(%s, %s)", (TENANT, rid)).fetchone() == (
        True,
    )
    assert custom.execute("SELECT api.raw_event__retry(%s, %s)", (TENANT, rid)).fetchone() == (
        False,
    )
    totals = processor.drain(custom)
    assert (totals.claimed, totals.applied) == (1, 1)
    row = raw_event(custom, rid)
    assert (row["status"], row["attempts"], row["reason_code"]) == ("applied", 2, None)


def test_concurrent_processors_apply_each_event_exactly_once(
    custom: psycopg.Connection[Any], db_url: str
) -> None:
    custom.execute(_NORMALIZER)
    ids = [receive(custom, {"id": str(i), "qty": 1}) for i in range(120)]
    results: list[processor.Totals] = []

    def work() -> None:
        with psycopg.connect(db_url, autocommit=True) as conn:
            results.append(processor.drain(conn, batch=7))

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(r.applied for r in results) == len(ids)
    row = custom.execute(
        "SELECT count(*), max(attempts) FROM ingest.raw_events WHERE status = 'applied'"
    ).fetchone()
    assert row == (len(ids), 1)


def test_processor_wakes_up_on_notify(custom: psycopg.Connection[Any], db_url: str) -> None:
    custom.execute(_NORMALIZER)
    stop = threading.Event()
    out: list[processor.Totals] = []
    worker = threading.Thread(
        target=lambda: out.append(processor.run(db_url, poll_interval=60, stop=stop))
    )
    worker.start()
    try:
        rid = receive(custom, {"id": "N", "qty": 1})
        for _ in range(100):
            if raw_event(custom, rid)["status"] == "applied":
                break
            threading.Event().wait(0.05)
        # Applied well before the 60 s poll: the NOTIFY woke the processor.
        assert raw_event(custom, rid)["status"] == "applied"
    finally:
        stop.set()
        worker.join(timeout=10)
    assert out and out[0].applied == 1


def test_process_rejects_a_bad_limit(custom: psycopg.Connection[Any]) -> None:
    with pytest.raises(psycopg.Error) as err:
        custom.execute("SELECT * FROM api.raw_events__process(0)")
    assert err.value.sqlstate == "PB403" and "p_limit" in str(err.value)


def test_a_commit_time_check_failing_quarantines_one_event_not_the_batch(
    custom: psycopg.Connection[Any],
) -> None:
    # Like the orders totals check: a deferred constraint trigger that runs at COMMIT.
    custom.execute(_NORMALIZER)
    custom.execute(
        """
        CREATE FUNCTION logic.tg_test_applied__check() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.qty > 100 THEN
                RAISE EXCEPTION USING ERRCODE = 'PB199', MESSAGE = 'qty: more than 100';
            END IF;
            RETURN NULL;
        END $$;
        CREATE CONSTRAINT TRIGGER tg_test_applied__check AFTER INSERT ON ingest.test_applied
        DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION logic.tg_test_applied__check();
        """
    )
    ok1 = receive(custom, {"id": "a", "qty": 1})
    bad = receive(custom, {"id": "b", "qty": 101})
    ok2 = receive(custom, {"id": "c", "qty": 2})
    assert custom.execute("SELECT * FROM api.raw_events__process(10)").fetchone() == (3, 2, 1)
    row = raw_event(custom, bad)
    assert (row["status"], row["reason_code"], row["message"]) == (
        "quarantined",
        "NORMALIZER_REJECTED",
        "qty: more than 100",
    )
    assert raw_event(custom, ok1)["status"] == raw_event(custom, ok2)["status"] == "applied"
    keys = [r[0] for r in custom.execute("SELECT k FROM ingest.test_applied ORDER BY k")]
    assert keys == ["a", "c"]


def test_the_worker_role_can_receive_and_process_through_api_only(
    custom: psycopg.Connection[Any],
) -> None:
    custom.execute(_NORMALIZER)
    custom.execute("SET ROLE pgbooks_worker")
    rid = receive(custom, {"id": "W", "qty": 1})
    assert custom.execute("SELECT * FROM api.raw_events__process(10)").fetchone() == (1, 1, 0)
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        custom.execute("SELECT count(*) FROM ingest.raw_events")
    custom.execute("RESET ROLE")
    assert raw_event(custom, rid)["status"] == "applied"


def test_cli_process_once_and_status(
    custom: psycopg.Connection[Any], db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from pgbooks.cli import app

    monkeypatch.setenv("DATABASE_URL", db_url)
    custom.execute(_NORMALIZER)
    receive(custom, {"id": "1", "qty": 1})
    receive(custom, {"qty": 1})
    res = CliRunner().invoke(app, ["ingest", "process", "--once", "--json"])
    assert res.exit_code == 3, res.output  # something was quarantined: needs attention
    assert json.loads(res.output) == {"claimed": 2, "applied": 1, "quarantined": 1}
    res = CliRunner().invoke(app, ["ingest", "status", "--json"])
    assert res.exit_code == 3
    counts = {(c["status"], c["events"]) for c in json.loads(res.output)["counts"]}
    assert counts == {("applied", 1), ("quarantined", 1)}
