"""Operator exception functions: list, show, retry, resolve, ignore, bulk retry by reason code."""

from __future__ import annotations

import json

import psycopg
import pytest
from typer.testing import CliRunner, Result

from pgbooks.cli import app


def _seed(db: psycopg.Connection) -> dict[str, int]:
    db.execute("INSERT INTO orders.tenants (tenant_id, name) VALUES ('acme', 'Acme')")
    ids: dict[str, int] = {}
    for src in ("o1", "o2", "o3"):
        row = db.execute(
            "INSERT INTO books.documents (tenant_id, doc_type, source_type, source_id, status,"
            " currency, total_amount) VALUES ('acme', 'sales_receipt', 'order', %s, 'blocked',"
            " 'USD', 10) RETURNING document_id",
            (src,),
        ).fetchone()
        assert row is not None
        ids["doc_" + src] = row[0]
    for name, doc, code, cat in (
        ("map1", "doc_o1", "ITEM_UNMAPPED", "mapping"),
        ("map2", "doc_o2", "ITEM_UNMAPPED", "mapping"),
        ("fault", "doc_o3", "QBO_FAULT_6240", "remote"),
        ("fault_twice", "doc_o3", "READBACK_DIFF", "verification"),
    ):
        row = db.execute(
            "INSERT INTO sync.exceptions (tenant_id, document_id, reason_code, category, message,"
            " diff, occurrences) VALUES ('acme', %s, %s, %s, %s, %s, 2) RETURNING exception_id",
            (ids[doc], code, cat, f"{code} on {doc}", json.dumps({"TotalAmt": [10, 11]})),
        ).fetchone()
        assert row is not None
        ids[name] = row[0]
    return ids


def _doc_status(db: psycopg.Connection, doc: int) -> str:
    row = db.execute(
        "SELECT status FROM books.documents WHERE tenant_id = 'acme' AND document_id = %s", (doc,)
    ).fetchone()
    assert row is not None
    return str(row[0])


def test_list_and_show_give_reason_diff_and_remedy(db: psycopg.Connection) -> None:
    ids = _seed(db)
    rows = db.execute(
        "SELECT exception_id, reason_code FROM api.exception__list('acme')"
    ).fetchall()
    assert [r[1] for r in rows] == [
        "ITEM_UNMAPPED",
        "ITEM_UNMAPPED",
        "QBO_FAULT_6240",
        "READBACK_DIFF",
    ]
    only = db.execute(
        "SELECT count(*) FROM api.exception__list('acme', 'open', 'ITEM_UNMAPPED')"
    ).fetchone()
    assert only == (2,)
    shown = db.execute("SELECT api.exception__show('acme', %s)", (ids["map1"],)).fetchone()
    assert shown is not None
    assert shown[0]["diff"] == {"TotalAmt": [10, 11]}
    assert "mapping" in shown[0]["remedy"]
    with pytest.raises(psycopg.Error) as err:
        db.execute("SELECT api.exception__show('acme', 999999)")
    assert err.value.sqlstate == "PB810"


def test_retry_records_actor_and_reason_and_releases_the_document(db: psycopg.Connection) -> None:
    ids = _seed(db)
    out = db.execute(
        "SELECT api.exception__retry('acme', %s, 'tax code fixed in QBO', 'alice')", (ids["fault"],)
    ).fetchone()
    assert out is not None and out[0]["status"] == "resolved"
    row = db.execute(
        "SELECT status, resolved_by, resolution FROM sync.exceptions WHERE exception_id = %s",
        (ids["fault"],),
    ).fetchone()
    assert row == ("resolved", "alice", "retried: tax code fixed in QBO")
    audited = db.execute(
        "SELECT app_user, reason_code, after ->> 'resolution' FROM audit.events"
        " WHERE tenant_id = 'acme' AND table_name = 'sync.exceptions' AND operation = 'UPDATE'"
    ).fetchall()
    assert audited == [("alice", "EXCEPTION_ACTION", "retried: tax code fixed in QBO")]
    # the other open exception on the same document still holds it
    assert out[0]["document_released"] is False
    assert _doc_status(db, ids["doc_o3"]) == "blocked"
    db.execute(
        "SELECT api.exception__resolve('acme', %s, 'fixed in QuickBooks by hand', 'bob')",
        (ids["fault_twice"],),
    )
    assert _doc_status(db, ids["doc_o3"]) == "ready"
    # closed exceptions cannot be acted on again
    with pytest.raises(psycopg.Error) as err:
        db.execute("SELECT api.exception__retry('acme', %s, 'again', 'alice')", (ids["fault"],))
    assert err.value.sqlstate == "PB812" and "already resolved" in str(err.value)


def test_ignore_needs_a_reason_and_keeps_the_document_blocked(db: psycopg.Connection) -> None:
    ids = _seed(db)
    with pytest.raises(psycopg.Error) as err:
        db.execute("SELECT api.exception__ignore('acme', %s, '  ', 'alice')", (ids["map1"],))
    assert err.value.sqlstate == "PB811" and "reason" in str(err.value)
    db.execute(
        "SELECT api.exception__ignore('acme', %s, 'test order, never booked', 'alice')",
        (ids["map1"],),
    )
    row = db.execute(
        "SELECT status, resolution FROM sync.exceptions WHERE exception_id = %s", (ids["map1"],)
    ).fetchone()
    assert row == ("ignored", "ignored: test order, never booked")
    assert _doc_status(db, ids["doc_o1"]) == "blocked"


def test_bulk_retry_by_reason_code_after_a_mapping_fix(db: psycopg.Connection) -> None:
    ids = _seed(db)
    out = db.execute(
        "SELECT api.exception__retry_by_reason('acme', 'ITEM_UNMAPPED', 'SKU mapped', 'carol')"
    ).fetchone()
    assert out is not None
    assert out[0]["retried"] == 2
    assert sorted(out[0]["exception_ids"]) == sorted([ids["map1"], ids["map2"]])
    assert _doc_status(db, ids["doc_o1"]) == "ready" and _doc_status(db, ids["doc_o2"]) == "ready"
    left = db.execute("SELECT count(*) FROM api.exception__list('acme')").fetchone()
    assert left == (2,)


def test_operator_role_can_act_but_not_touch_tables(db: psycopg.Connection) -> None:
    ids = _seed(db)
    db.execute("SET ROLE pgbooks_operator")
    try:
        db.execute("SELECT api.exception__retry('acme', %s, 'mapped', 'dave')", (ids["map1"],))
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            db.execute("UPDATE sync.exceptions SET status = 'ignored'")
    finally:
        db.execute("RESET ROLE")


def test_cli_list_show_retry_ignore(db_url: str, db: psycopg.Connection) -> None:
    ids = _seed(db)
    env = {
        "COLUMNS": "300",
        "DATABASE_URL": db_url,
        "PGBOOKS_TENANT": "acme",
        "PGBOOKS_USER": "erin",
    }

    def run(*args: str) -> Result:
        return CliRunner().invoke(app, ["exceptions", *args], env=env)

    listed = run("list", "--json")
    assert listed.exit_code == 0, listed.output
    assert len(json.loads(listed.stdout)["exceptions"]) == 4
    shown = run("show", str(ids["fault"]), "--json")
    assert json.loads(shown.stdout)["reason_code"] == "QBO_FAULT_6240"
    bulk = run("retry", "--reason-code", "ITEM_UNMAPPED", "--reason", "mapped SKU-1", "--json")
    assert bulk.exit_code == 0 and json.loads(bulk.stdout)["retried"] == 2
    no_reason = run("ignore", str(ids["fault"]), "--reason", "")
    assert no_reason.exit_code == 2
    ign = run("ignore", str(ids["fault"]), "--reason", "duplicate in QBO already")
    assert ign.exit_code == 0, ign.output
    row = db.execute(
        "SELECT resolved_by FROM sync.exceptions WHERE exception_id = %s", (ids["fault"],)
    ).fetchone()
    assert row == ("erin",)
    again = run("ignore", str(ids["fault"]), "--reason", "x")
    assert again.exit_code == 1 and "PB812" in again.stderr
