"""The commit-time append (one chain append per transaction) and canonical encoding v1 -> v2."""

from __future__ import annotations

import threading
from pathlib import Path

import psycopg
import pytest
from alembic import command

from pgbooks.audit import bundle
from pgbooks.db.migrate import alembic_config, reload_code

V1_INSERT = """
INSERT INTO audit.events (tenant_id, seq, event_time, txid, db_role, app_user, reason_code,
    table_name, operation, prev_hash, hash, version, canonical)
SELECT 't9', s.seq, s.t, 77, 'postgres', NULL, 'DATA_CHANGE', 'legacy.table', 'INSERT',
    decode(repeat('00', 32), 'hex'), decode(repeat('00', 32), 'hex'), 1,
    {canonical}
FROM (VALUES (1, '2025-12-01 10:00:00.123456+00'::timestamptz),
             (2, '2025-12-01 10:00:01+00'::timestamptz)) AS s (seq, t)
"""
V1_TEXT = (
    "logic.audit__canonical('t9', s.seq, s.t, 77, 'postgres', NULL, 'DATA_CHANGE',"
    " 'legacy.table', 'INSERT', jsonb_build_object('id', s.seq), NULL,"
    " jsonb_build_object('id', s.seq, 'amount', 1.10, 'note', E'a \"quoted\"\\nline'))"
)
# link the two hand-written v1 rows the way the v1 append did
V1_LINK = """
DO $$
DECLARE r record; v_prev bytea := decode(repeat('00', 32), 'hex');
BEGIN
  SET LOCAL session_replication_role = replica;
  FOR r IN SELECT * FROM audit.events WHERE tenant_id = 't9' ORDER BY seq LOOP
    UPDATE audit.events
    SET prev_hash = v_prev, hash = sha256(v_prev || convert_to(r.canonical, 'UTF8'))
    WHERE tenant_id = 't9' AND seq = r.seq RETURNING hash INTO v_prev;
  END LOOP;
END $$
"""


def _verify(db: psycopg.Connection, tenant: str) -> tuple:
    row = db.execute(
        "SELECT ok, checked, first_bad_seq, problem FROM close.audit__verify(%s)", (tenant,)
    ).fetchone()
    assert row is not None
    return tuple(row)


def test_a_transaction_appends_once_at_commit(db: psycopg.Connection) -> None:
    db.execute("INSERT INTO orders.tenants (tenant_id, name) VALUES ('t1', 'One')")
    with db.transaction():
        for i in range(3):
            db.execute(
                "INSERT INTO books.documents (tenant_id, doc_type, source_type, source_id,"
                " txn_date, currency, total_amount)"
                " VALUES ('t1', 'sales_receipt', 'order', %s, '2026-01-05', 'USD', 1)",
                (str(i),),
            )
        # staged, not yet in the chain: nothing appended before commit
        assert db.execute("SELECT count(*) FROM audit.events").fetchone() == (1,)
        assert db.execute("SELECT count(*) FROM audit.pending").fetchone() == (3,)
        assert db.execute("SELECT count(*) FROM audit.pending_tx").fetchone() == (1,)
    rows = db.execute(
        "SELECT seq, txid, version, after ->> 'source_id' FROM audit.events "
        "WHERE table_name = 'books.documents' ORDER BY seq"
    ).fetchall()
    assert [(r[0], r[2], r[3]) for r in rows] == [(2, 2, "0"), (3, 2, "1"), (4, 2, "2")]
    assert len({r[1] for r in rows}) == 1  # one transaction
    assert db.execute("SELECT count(*) FROM audit.pending").fetchone() == (0,)
    assert db.execute("SELECT count(*) FROM audit.pending_tx").fetchone() == (0,)
    assert _verify(db, "t1") == (True, 4, None, None)


def test_rolled_back_savepoint_leaves_no_event(db: psycopg.Connection) -> None:
    db.execute("INSERT INTO orders.tenants (tenant_id, name) VALUES ('t1', 'One')")
    with db.transaction():
        db.execute("UPDATE orders.tenants SET name = 'Kept' WHERE tenant_id = 't1'")
        try:
            with db.transaction():
                db.execute("UPDATE orders.tenants SET name = 'Gone' WHERE tenant_id = 't1'")
                raise RuntimeError("roll back the savepoint")
        except RuntimeError:
            pass
    afters = db.execute(
        "SELECT after ->> 'name' FROM audit.events WHERE tenant_id = 't1' ORDER BY seq"
    ).fetchall()
    assert afters == [("One",), ("Kept",)]
    assert _verify(db, "t1")[0] is True


def test_an_action_appends_behind_earlier_changes_and_later_changes_follow(
    db: psycopg.Connection,
) -> None:
    db.execute("INSERT INTO orders.tenants (tenant_id, name) VALUES ('t1', 'One')")
    with db.transaction():
        db.execute("UPDATE orders.tenants SET name = 'A' WHERE tenant_id = 't1'")
        db.execute(
            "SELECT logic.audit__append('t1', 'MANUAL_CORRECTION', 'test.action', NULL, '{}')"
        )
        # the action appended at once (callers read the head right after it)
        assert db.execute("SELECT max(seq) FROM audit.events").fetchone() == (3,)
        db.execute("UPDATE orders.tenants SET name = 'B' WHERE tenant_id = 't1'")
    rows = db.execute(
        "SELECT seq, operation, after ->> 'name' FROM audit.events ORDER BY seq"
    ).fetchall()
    assert rows == [
        (1, "INSERT", "One"),
        (2, "UPDATE", "A"),
        (3, "ACTION", None),
        (4, "UPDATE", "B"),
    ]
    assert _verify(db, "t1")[0] is True


def test_missing_tenant_is_refused(db: psycopg.Connection) -> None:
    with pytest.raises(psycopg.Error) as err:
        db.execute("SELECT logic.audit__append(NULL, 'DATA_CHANGE', 'test.action', NULL, '{}')")
    assert err.value.sqlstate == "PB702"
    assert "test.action" in str(err.value)


def test_the_tenant_lock_is_not_held_before_commit(db: psycopg.Connection, db_url: str) -> None:
    """A writer of a tenant no longer blocks the tenant's other writers until it commits."""
    db.execute("INSERT INTO orders.tenants (tenant_id, name) VALUES ('t1', 'One')")
    with psycopg.connect(db_url) as slow:
        slow.execute("UPDATE orders.tenants SET name = 'slow' WHERE tenant_id = 't1'")
        done = threading.Event()

        def other() -> None:
            with psycopg.connect(db_url, autocommit=True) as fast:
                fast.execute("SET lock_timeout = '5s'")
                fast.execute(
                    "INSERT INTO books.documents (tenant_id, doc_type, source_type, source_id,"
                    " txn_date, currency, total_amount)"
                    " VALUES ('t1', 'sales_receipt', 'order', 'x', '2026-01-05', 'USD', 1)"
                )
            done.set()

        th = threading.Thread(target=other)
        th.start()
        assert done.wait(20), "the second writer waited for the first one's commit"
        th.join()
        slow.commit()
    rows = db.execute("SELECT seq, table_name FROM audit.events ORDER BY seq").fetchall()
    assert rows == [(1, "orders.tenants"), (2, "books.documents"), (3, "orders.tenants")]
    assert _verify(db, "t1")[0] is True


def test_a_chain_switches_from_v1_to_v2_at_a_link(db: psycopg.Connection, tmp_path: Path) -> None:
    db.execute(V1_INSERT.format(canonical=V1_TEXT))
    db.execute(V1_LINK)
    v1 = db.execute(
        "SELECT canonical, row_key, before, after FROM audit.events"
        " WHERE tenant_id = 't9' AND seq = 1"
    ).fetchone()
    assert v1 is not None and v1[0].startswith('[1, "t9", 1, ')
    assert (v1[1], v1[2], v1[3]["note"]) == ({"id": 1}, None, 'a "quoted"\nline')
    assert _verify(db, "t9") == (True, 2, None, None)
    db.execute("INSERT INTO orders.tenants (tenant_id, name) VALUES ('t9', 'Nine')")
    rows = db.execute(
        "SELECT seq, version FROM audit.events WHERE tenant_id = 't9' ORDER BY seq"
    ).fetchall()
    assert rows == [(1, 1), (2, 1), (3, 2)]
    assert _verify(db, "t9") == (True, 3, None, None)
    # the offline verifier reads both encodings
    chain = [
        {"seq": s, "prev_hash": p, "hash": h, "canonical": c}
        for s, p, h, c in db.execute("SELECT * FROM close.audit__export('t9')").fetchall()
    ]
    rep = bundle.Report()
    bundle._check_chain(chain, "t9", rep)
    assert rep.ok, rep.problems
    assert rep.facts["audit_head_seq"] == 3
    # a v1 row's stored text edited: named by the hash check
    db.execute("SET session_replication_role = replica")
    db.execute(
        "UPDATE audit.events SET canonical = canonical || ' ' WHERE tenant_id = 't9' AND seq = 2"
    )
    db.execute("SET session_replication_role = origin")
    ok, _checked, bad, problem = _verify(db, "t9")
    assert (ok, bad) == (False, 2) and "content does not match" in problem


def test_migration_keeps_v1_chains_verifiable(empty_db_url: str) -> None:
    """Events hashed with encoding v1 before migration 0018 verify unchanged after it."""
    command.upgrade(alembic_config(empty_db_url), "0017")
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        conn.execute(
            """
            INSERT INTO audit.events (tenant_id, seq, event_time, txid, db_role, app_user,
                reason_code, table_name, operation, row_key, before, after, prev_hash, hash)
            SELECT 't9', s.seq, s.t, 77, 'postgres', NULL, 'DATA_CHANGE', 'legacy.table', 'INSERT',
                jsonb_build_object('id', s.seq), NULL,
                jsonb_build_object('id', s.seq, 'amount', 1.10),
                decode(repeat('00', 32), 'hex'), decode(repeat('00', 32), 'hex')
            FROM (VALUES (1, '2025-12-01 10:00:00.5+00'::timestamptz),
                         (2, '2025-12-01 10:00:01+00'::timestamptz)) AS s (seq, t)
            """
        )
        conn.execute(
            """
            DO $$
            DECLARE r record; v_prev bytea := decode(repeat('00', 32), 'hex');
            BEGIN
              FOR r IN SELECT e.seq, '[1, "t9", ' || e.seq || ', '
                  || ((extract(EPOCH FROM e.event_time) * 1000000)::bigint)::text
                  || ', 77, "postgres", null, "DATA_CHANGE", "legacy.table", "INSERT", '
                  || e.row_key::text || ', null, ' || e.after::text || ']' AS c
                  FROM audit.events AS e ORDER BY e.seq LOOP
                UPDATE audit.events SET prev_hash = v_prev,
                    hash = sha256(v_prev || convert_to(r.c, 'UTF8'))
                WHERE seq = r.seq RETURNING hash INTO v_prev;
              END LOOP;
            END $$
            """
        )
    command.upgrade(alembic_config(empty_db_url), "head")
    reload_code(empty_db_url, force=True)
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        assert _verify(conn, "t9") == (True, 2, None, None)
        row = conn.execute(
            "SELECT version, row_key, after FROM audit.events WHERE seq = 2"
        ).fetchone()
        assert row == (1, {"id": 2}, {"id": 2, "amount": 1.10})
        conn.execute("INSERT INTO orders.tenants (tenant_id, name) VALUES ('t9', 'Nine')")
        assert _verify(conn, "t9") == (True, 3, None, None)
