"""Segregation of duties: the privilege matrix of every role, and tenant isolation by RLS."""

from __future__ import annotations

import psycopg
import pytest

ROLES = (
    "pgbooks_owner",
    "pgbooks_app",
    "pgbooks_worker",
    "pgbooks_analyst",
    "pgbooks_operator",
    "pgbooks_approver",
    "pgbooks_closer",
)
DATA = ["orders", "ingest", "books", "sync", "audit", "meta", "pgq"]
WRITE = ("INSERT", "UPDATE", "DELETE", "TRUNCATE")


def _table_privs(db: psycopg.Connection, role: str) -> set[tuple[str, str]]:
    rows = db.execute(
        """
        SELECT n.nspname || '.' || c.relname, p.priv
        FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
        CROSS JOIN unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE']) AS p (priv)
        WHERE n.nspname = ANY(%s) AND c.relkind IN ('r', 'p', 'v', 'm')
          AND has_table_privilege(%s, c.oid, p.priv)
        """,
        ([*DATA, "analytics"], role),
    ).fetchall()
    return {(r[0], r[1]) for r in rows}


def _functions(db: psycopg.Connection, role: str) -> set[str]:
    rows = db.execute(
        """
        SELECT n.nspname || '.' || p.proname FROM pg_proc AS p
        JOIN pg_namespace AS n ON n.oid = p.pronamespace
        WHERE n.nspname IN ('logic', 'api', 'analytics', 'close')
          AND has_function_privilege(%s, p.oid, 'EXECUTE')
        """,
        (role,),
    ).fetchall()
    return {r[0] for r in rows}


@pytest.mark.parametrize("role", ROLES)
def test_nobody_edits_audit(db: psycopg.Connection, role: str) -> None:
    privs = _table_privs(db, role)
    assert {(t, p) for t, p in privs if t.startswith("audit.") and p in WRITE} == set()


def test_app_writes_orders_only(db: psycopg.Connection) -> None:
    privs = _table_privs(db, "pgbooks_app")
    assert ("orders.orders", "INSERT") in privs and ("orders.tenants", "SELECT") in privs
    assert {t for t, _ in privs if not t.startswith("orders.")} == set()
    assert {p for t, p in privs if p in ("DELETE", "TRUNCATE")} == set()
    assert {f for f in _functions(db, "pgbooks_app") if not f.startswith("api.")} == set()


def test_worker_executes_api_only(db: psycopg.Connection) -> None:
    assert _table_privs(db, "pgbooks_worker") == set()
    fns = _functions(db, "pgbooks_worker")
    assert {f for f in fns if not f.startswith("api.")} == set()


# read-only (STABLE, SECURITY DEFINER) api functions that analytics views call; see README "Roles"
VIEW_BASE_FUNCTIONS = {"api.realms__status"}  # analytics.rpt_sync_health: one definition of backlog


def test_analyst_reads_analytics_views_only(db: psycopg.Connection) -> None:
    privs = _table_privs(db, "pgbooks_analyst")
    assert {(t, p) for t, p in privs if not t.startswith("analytics.") or p != "SELECT"} == set()
    # A view's functions run with the reader's EXECUTE right (tables with the view owner's), so the
    # analyst may execute analytics.* and exactly the read-only api functions a view is built on.
    outside = {f for f in _functions(db, "pgbooks_analyst") if not f.startswith("analytics.")}
    assert outside == VIEW_BASE_FUNCTIONS


def test_operator_approver_closer_have_no_table_writes(db: psycopg.Connection) -> None:
    for role in ("pgbooks_operator", "pgbooks_approver", "pgbooks_closer"):
        assert {(t, p) for t, p in _table_privs(db, role) if p != "SELECT"} == set(), role
    assert {t for t, _ in _table_privs(db, "pgbooks_closer")} <= {
        "audit.events",
        "audit.checkpoints",
        "audit.overrides",
        "books.periods",
    }
    approver = _functions(db, "pgbooks_approver")
    assert "close.override__approve" in approver
    assert "close.override__approve" not in _functions(db, "pgbooks_operator")
    assert "close.override__approve" not in _functions(db, "pgbooks_closer")
    assert "close.close_period" in _functions(db, "pgbooks_closer")
    assert "close.close_period" not in _functions(db, "pgbooks_operator")
    for role in ROLES:
        assert {f for f in _functions(db, role) if f.startswith("logic.")} == set(), role


def _login(db: psycopg.Connection, role: str) -> None:
    db.execute(f"SET ROLE {role}")


def test_roles_are_refused_in_practice(db: psycopg.Connection) -> None:
    db.execute("INSERT INTO orders.tenants (tenant_id, name) VALUES ('t1', 'One')")
    for role, sql in [
        ("pgbooks_app", "SELECT * FROM sync.exceptions"),
        ("pgbooks_app", "SELECT * FROM audit.events"),
        ("pgbooks_worker", "SELECT * FROM orders.tenants"),
        ("pgbooks_analyst", "SELECT * FROM books.documents"),
        ("pgbooks_closer", "UPDATE audit.events SET app_user = 'x'"),
        ("pgbooks_closer", "DELETE FROM audit.events"),
        ("pgbooks_operator", "SELECT close.close_period('t1', '2026-01')"),
        ("pgbooks_app", "SELECT logic.audit__append('t1', 'DATA_CHANGE', 'x', NULL, NULL)"),
    ]:
        _login(db, role)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            db.execute(sql)
        db.execute("RESET ROLE")


def test_app_writes_are_audited_with_its_role(db: psycopg.Connection) -> None:
    db.execute("SELECT set_config('pgbooks.tenant_id', 't1', false)")
    _login(db, "pgbooks_app")
    db.execute("INSERT INTO orders.tenants (tenant_id, name) VALUES ('t1', 'One')")
    db.execute("RESET ROLE")
    row = db.execute("SELECT db_role, table_name FROM audit.events").fetchone()
    assert row == ("pgbooks_app", "orders.tenants")


def test_rls_isolates_tenants(db: psycopg.Connection) -> None:
    db.execute("INSERT INTO orders.tenants (tenant_id, name) VALUES ('t1', 'One'), ('t2', 'Two')")
    _login(db, "pgbooks_app")
    assert db.execute("SELECT count(*) FROM orders.tenants").fetchone() == (0,)  # fail closed
    db.execute("SELECT set_config('pgbooks.tenant_id', 't1', false)")
    assert db.execute("SELECT tenant_id FROM orders.tenants").fetchall() == [("t1",)]
    with pytest.raises(psycopg.errors.InsufficientPrivilege) as err:
        db.execute("INSERT INTO orders.tenants (tenant_id, name) VALUES ('t3', 'Three')")
    assert "row-level security" in str(err.value)
    db.execute("RESET ROLE")
    _login(db, "pgbooks_closer")
    db.execute("SELECT set_config('pgbooks.tenant_id', 't2', false)")
    tenants = db.execute("SELECT DISTINCT tenant_id FROM audit.events").fetchall()
    assert tenants == [("t2",)]
    db.execute("RESET ROLE")
    # owner / superuser bypass (documented): the definer functions see every tenant
    assert db.execute("SELECT count(*) FROM orders.tenants").fetchone() == (2,)
