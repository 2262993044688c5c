"""The audit chain: every change recorded, linked per tenant, append-only, tamper-evident."""

from __future__ import annotations

import hashlib

import psycopg
import pytest


def _verify(db: psycopg.Connection, tenant: str = "t1") -> tuple:
    row = db.execute(
        "SELECT ok, checked, first_bad_seq, problem FROM close.audit__verify(%s)", (tenant,)
    ).fetchone()
    assert row is not None
    return tuple(row)


def test_every_change_is_recorded_with_actor_reason_and_diff(books: psycopg.Connection) -> None:
    books.execute("SELECT set_config('pgbooks.reason', 'MANUAL_CORRECTION', false)")
    books.execute("UPDATE books.documents SET total_amount = 11 WHERE source_id = '1001'")
    books.execute("DELETE FROM books.documents WHERE source_id = '1002'")
    rows = books.execute(
        "SELECT seq, table_name, operation, reason_code, app_user, db_role, before, after "
        "FROM audit.events WHERE tenant_id = 't1' ORDER BY seq"
    ).fetchall()
    assert [(r[1], r[2]) for r in rows] == [
        ("orders.tenants", "INSERT"),
        ("books.documents", "INSERT"),
        ("books.documents", "INSERT"),
        ("books.documents", "UPDATE"),
        ("books.documents", "DELETE"),
    ]
    assert [r[0] for r in rows] == [1, 2, 3, 4, 5]
    upd = rows[3]
    assert upd[3] == "MANUAL_CORRECTION" and upd[4] == "alice" and upd[5] == "postgres"
    assert upd[6] == {"total_amount": 10.5} and upd[7] == {"total_amount": 11}
    assert rows[4][6]["source_id"] == "1002" and rows[4][7] is None
    assert rows[1][3] == "BOOKS_RULE"  # default reason from the schema
    assert _verify(books) == (True, 5, None, None)


def test_chains_are_per_tenant_and_link_by_sha256(books: psycopg.Connection) -> None:
    rows = books.execute(
        "SELECT e.seq, e.prev_hash, e.hash, x.canonical FROM audit.events AS e "
        "JOIN close.audit__export('t2') AS x ON x.seq = e.seq "
        "WHERE e.tenant_id = 't2' ORDER BY e.seq"
    ).fetchall()
    assert [r[0] for r in rows] == [1, 2, 3]
    prev = bytes(32)
    for _seq, prev_hash, hash_, canonical in rows:
        assert bytes(prev_hash) == prev
        assert hashlib.sha256(prev + canonical.encode()).digest() == bytes(hash_)
        prev = bytes(hash_)


def test_encoding_ignores_session_settings(books: psycopg.Connection) -> None:
    books.execute(
        "SET TimeZone = 'Pacific/Chatham'; SET DateStyle = 'SQL, DMY'; "
        "SET extra_float_digits = -3; SET IntervalStyle = 'sql_standard'"
    )
    books.execute("UPDATE books.documents SET txn_date = '2026-01-09' WHERE source_id = '1001'")
    assert _verify(books)[0] is True
    after = books.execute(
        "SELECT after FROM audit.events WHERE tenant_id = 't1' ORDER BY seq DESC LIMIT 1"
    ).fetchone()
    assert after == ({"txn_date": "2026-01-09"},)
    created = books.execute(
        "SELECT after ->> 'created_at' FROM audit.events WHERE tenant_id = 't1' AND seq = 1"
    ).fetchone()
    assert created is not None and created[0].endswith("+00:00")


@pytest.mark.parametrize(
    "stmt",
    [
        "UPDATE audit.events SET app_user = 'x'",
        "DELETE FROM audit.events",
        "TRUNCATE audit.events",
        "TRUNCATE audit.checkpoints",
        "TRUNCATE audit.overrides",
    ],
)
def test_audit_tables_refuse_change_even_for_superuser(
    books: psycopg.Connection, stmt: str
) -> None:
    with pytest.raises(psycopg.Error) as err:
        books.execute(stmt)
    assert err.value.sqlstate == "PB701"
    assert "append-only" in str(err.value)


def _tamper(db: psycopg.Connection, sql: str) -> None:
    db.execute("SET session_replication_role = replica")  # superuser: triggers off
    db.execute(sql)
    db.execute("SET session_replication_role = origin")


def test_superuser_cannot_edit_a_snapshot_apart_from_the_hashed_bytes(
    books: psycopg.Connection,
) -> None:
    # before/after/row_key are generated from the stored canonical text: even with triggers
    # off a superuser cannot write them directly...
    with pytest.raises(psycopg.errors.GeneratedAlways):
        _tamper(
            books,
            "UPDATE audit.events SET after = jsonb_set(after, '{total_amount}', '1') "
            "WHERE tenant_id = 't1' AND seq = 2",
        )
    books.execute("SET session_replication_role = origin")
    assert _verify(books)[0] is True
    # ...and turning a snapshot into a plain column to edit it is named by verify.
    _tamper(
        books,
        "ALTER TABLE audit.events ALTER COLUMN after DROP EXPRESSION; "
        "UPDATE audit.events SET after = jsonb_set(after, '{total_amount}', '1') "
        "WHERE tenant_id = 't1' AND seq = 2",
    )
    ok, _checked, _bad, problem = _verify(books)
    assert ok is False
    assert "audit.events after no longer as defined" in problem


def test_superuser_edit_of_the_canonical_text_is_named(books: psycopg.Connection) -> None:
    # editing the stored bytes also rewrites the generated snapshot: the hash no longer matches
    _tamper(
        books,
        "UPDATE audit.events SET canonical = replace(canonical, '10.5', '1.5') "
        "WHERE tenant_id = 't1' AND seq = 2",
    )
    after = books.execute(
        "SELECT after ->> 'total_amount' FROM audit.events WHERE tenant_id = 't1' AND seq = 2"
    ).fetchone()
    assert after is not None and after[0].startswith("1.5")
    ok, _checked, bad, problem = _verify(books)
    assert (ok, bad) == (False, 2)
    assert "content does not match" in problem
    assert _verify(books, "t2")[0] is True  # other tenants unaffected


@pytest.mark.parametrize(
    "assignment",
    [
        "app_user = 'mallory'",
        "db_role = 'pgbooks_worker'",
        "reason_code = 'DATA_CHANGE'",
        "event_time = event_time + interval '1 microsecond'",
        "txid = txid + 1",
        "table_name = 'books.document_lines'",
        "operation = 'DELETE'",
        "seq = 1000",
        "tenant_id = 't3'",
        "version = 1",
    ],
)
def test_superuser_edit_of_a_scalar_column_is_refused_or_named(
    books: psycopg.Connection, assignment: str
) -> None:
    # the scalar columns must equal the header of the hashed text (CHECK events_header_matches):
    # an edit is refused even with triggers off...
    with pytest.raises((psycopg.errors.CheckViolation, psycopg.errors.InvalidTextRepresentation)):
        _tamper(books, f"UPDATE audit.events SET {assignment} WHERE tenant_id = 't1' AND seq = 2")  # noqa: S608
    books.execute("SET session_replication_role = origin")
    assert _verify(books)[0] is True
    # ...and dropping the CHECK to make it is named by verify.
    edit = f"UPDATE audit.events SET {assignment} WHERE tenant_id = 't1' AND seq = 2"  # noqa: S608
    try:
        _tamper(books, "ALTER TABLE audit.events DROP CONSTRAINT events_header_matches; " + edit)
    except psycopg.errors.InvalidTextRepresentation:
        # version: the generated snapshots cannot even be parsed as the other encoding
        assert assignment.startswith("version")
        return
    ok, _checked, _bad, problem = _verify(books)
    assert ok is False
    assert "events_header_matches no longer as defined" in problem


def test_a_header_check_added_back_not_valid_is_named(books: psycopg.Connection) -> None:
    row = books.execute(
        "SELECT pg_get_constraintdef(oid) FROM pg_constraint"
        " WHERE conname = 'events_header_matches'"
    ).fetchone()
    assert row is not None
    add_back = f"ALTER TABLE audit.events ADD CONSTRAINT events_header_matches {row[0]} NOT VALID"
    _tamper(
        books,
        "ALTER TABLE audit.events DROP CONSTRAINT events_header_matches; "
        "UPDATE audit.events SET app_user = 'mallory' WHERE tenant_id = 't1' AND seq = 2",
    )
    _tamper(books, add_back)
    ok, _checked, _bad, problem = _verify(books)
    assert ok is False and "events_header_matches" in problem


def test_superuser_delete_is_detected(books: psycopg.Connection) -> None:
    _tamper(books, "DELETE FROM audit.events WHERE tenant_id = 't1' AND seq = 2")
    ok, _checked, bad, problem = _verify(books)
    assert (ok, bad) == (False, 3)
    assert "missing" in problem


def _move(src: int, dst: int) -> str:
    # a row moved to another seq, its stored text's header rewritten to match (the header CHECK
    # allows nothing else), its hashes kept
    return (
        f"UPDATE audit.events SET seq = {dst}, canonical = replace(canonical,"  # noqa: S608
        f" '[2, \"t1\", {src}, ', '[2, \"t1\", {dst}, ') WHERE tenant_id = 't1' AND seq = {src}; "
    )


def test_superuser_reorder_is_detected(books: psycopg.Connection) -> None:
    _tamper(books, _move(2, 1000) + _move(3, 2) + _move(1000, 3))
    rows = books.execute(
        "SELECT seq, after ->> 'source_id' FROM audit.events WHERE tenant_id = 't1' ORDER BY seq"
    ).fetchall()
    assert rows[1:3] == [(2, "1002"), (3, "1001")]  # really swapped
    ok, _checked, bad, _problem = _verify(books)
    assert (ok, bad) == (False, 2)


def test_superuser_reorder_without_the_text_is_refused(books: psycopg.Connection) -> None:
    with pytest.raises(psycopg.errors.CheckViolation):
        _tamper(books, "UPDATE audit.events SET seq = 1000 WHERE tenant_id = 't1' AND seq = 2")


def test_superuser_rehash_of_one_link_breaks_the_next(books: psycopg.Connection) -> None:
    # An edit whose own hash is recomputed still breaks the link to its successor.
    _tamper(
        books,
        "UPDATE audit.events SET app_user = 'mallory', canonical = logic.audit__canonical_v2("
        "tenant_id, seq, event_time, txid, db_role, 'mallory', reason_code, table_name, operation,"
        " row_key, before, after) WHERE tenant_id = 't1' AND seq = 2; "
        "UPDATE audit.events SET hash = sha256(prev_hash || convert_to(canonical, 'UTF8')) "
        "WHERE tenant_id = 't1' AND seq = 2",
    )
    ok, _checked, bad, problem = _verify(books)
    assert (ok, bad) == (False, 3)
    assert "link broken" in problem


def test_verify_range(books: psycopg.Connection) -> None:
    row = books.execute("SELECT ok, checked FROM close.audit__verify('t1', 2, 3)").fetchone()
    assert row == (True, 2)


def test_tables_added_later_are_audited_on_reload(books: psycopg.Connection) -> None:
    cov = dict(books.execute("SELECT table_name, audited FROM close.audit__coverage()").fetchall())
    assert cov["books.documents"] is True and cov["sync.exceptions"] is True
    # the canonical event stream is derived from audited orders rows: not audited twice
    assert cov["orders.events"] is False and cov["orders.orders"] is True
    trig = books.execute(
        "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'books.documents'::regclass "
        "AND tgname LIKE 'tg_documents__audit_%'"
    ).fetchone()
    assert trig == (3,)


HOSTILE = [
    "plain",
    'quote " backslash \\ slash /',
    "control \x01\x08\x0c\n\r\t\x1f end",
    "unicode é ✓ 𝄞 \u2028",
    "",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_canonical_encoding_is_the_jsonb_array_text(books: psycopg.Connection, text: str) -> None:
    """audit__canonical writes the v1 bytes directly; they must equal the jsonb array's text."""
    row = books.execute(
        "WITH v AS (SELECT %(t)s::text AS t, '2026-01-02 03:04:05.678901+00'::timestamptz AS ts,"
        " jsonb_build_object('k', %(t)s::text) AS k,"
        " jsonb_build_object(%(t)s::text, 1.50, 'n', NULL,"
        " 'a', jsonb_build_array(%(t)s::text, true)) AS b)"
        " SELECT logic.audit__canonical("
        " t, 7, ts, 42, t, NULL, 'DATA_CHANGE', t, 'UPDATE', k, b, NULL),"
        " jsonb_build_array(1, t, 7::bigint, (extract(EPOCH FROM ts) * 1000000)::bigint,"
        " 42::bigint, t, NULL::text, 'DATA_CHANGE'::text, t, 'UPDATE'::text, k, b,"
        " NULL::jsonb)::text"
        " FROM v",
        {"t": text},
    ).fetchone()
    assert row is not None
    assert row[0] == row[1]
