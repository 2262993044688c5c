"""Structural conventions: what each schema may hold, comments, privileges, function bodies."""

from __future__ import annotations

import psycopg
import pytest

DATA_SCHEMAS = ("meta", "orders", "ingest", "books", "sync", "audit")
CODE_SCHEMAS = ("logic", "api", "analytics", "close")
ROLES = (
    "pgbooks_owner",
    "pgbooks_app",
    "pgbooks_worker",
    "pgbooks_analyst",
    "pgbooks_operator",
    "pgbooks_approver",
    "pgbooks_closer",
)


def test_data_schemas_hold_no_functions_or_views(db: psycopg.Connection) -> None:
    rows = db.execute(
        """
        SELECT n.nspname || '.' || p.proname FROM pg_proc AS p
        JOIN pg_namespace AS n ON n.oid = p.pronamespace WHERE n.nspname = ANY(%(s)s)
        UNION ALL
        SELECT n.nspname || '.' || c.relname FROM pg_class AS c
        JOIN pg_namespace AS n ON n.oid = c.relnamespace
        WHERE n.nspname = ANY(%(s)s) AND c.relkind IN ('v', 'm')
        """,
        {"s": list(DATA_SCHEMAS)},
    ).fetchall()
    assert rows == []


def test_code_schemas_hold_no_tables(db: psycopg.Connection) -> None:
    rows = db.execute(
        """
        SELECT n.nspname || '.' || c.relname FROM pg_class AS c
        JOIN pg_namespace AS n ON n.oid = c.relnamespace
        WHERE n.nspname = ANY(%s) AND c.relkind IN ('r', 'p', 'S', 'f')
        """,
        (list(CODE_SCHEMAS),),
    ).fetchall()
    assert rows == []


def test_public_schema_is_empty(db: psycopg.Connection) -> None:
    rows = db.execute(
        """
        SELECT c.relname FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public'
        UNION ALL
        SELECT p.proname FROM pg_proc AS p JOIN pg_namespace AS n ON n.oid = p.pronamespace
        WHERE n.nspname = 'public'
        """
    ).fetchall()
    assert rows == []


def test_every_public_object_has_a_comment(db: psycopg.Connection) -> None:
    rows = db.execute(
        """
        SELECT 'schema ' || nspname FROM pg_namespace
        WHERE nspname = ANY(%(all)s) AND obj_description(oid, 'pg_namespace') IS NULL
        UNION ALL
        SELECT 'relation ' || n.nspname || '.' || c.relname FROM pg_class AS c
        JOIN pg_namespace AS n ON n.oid = c.relnamespace
        WHERE n.nspname = ANY(%(all)s) AND c.relkind IN ('r', 'p', 'v', 'm')
          AND n.nspname <> 'meta' OR (n.nspname = 'meta' AND c.relname <> 'alembic_version'
          AND c.relkind = 'r')
        EXCEPT
        SELECT 'relation ' || n.nspname || '.' || c.relname FROM pg_class AS c
        JOIN pg_namespace AS n ON n.oid = c.relnamespace
        WHERE obj_description(c.oid, 'pg_class') IS NOT NULL
        UNION ALL
        SELECT 'column ' || n.nspname || '.' || c.relname || '.' || a.attname
        FROM pg_attribute AS a JOIN pg_class AS c ON c.oid = a.attrelid
        JOIN pg_namespace AS n ON n.oid = c.relnamespace
        WHERE n.nspname = ANY(%(data)s) AND c.relkind IN ('r', 'p') AND a.attnum > 0
          AND NOT a.attisdropped AND c.relname <> 'alembic_version'
          AND col_description(c.oid, a.attnum) IS NULL
        UNION ALL
        SELECT 'function ' || p.oid::regprocedure::text FROM pg_proc AS p
        JOIN pg_namespace AS n ON n.oid = p.pronamespace
        WHERE n.nspname = ANY(%(code)s) AND obj_description(p.oid, 'pg_proc') IS NULL
        ORDER BY 1
        """,
        {
            "all": list(DATA_SCHEMAS + CODE_SCHEMAS),
            "data": list(DATA_SCHEMAS),
            "code": list(CODE_SCHEMAS),
        },
    ).fetchall()
    assert [r[0] for r in rows] == []


def test_roles_exist_and_public_has_no_privileges(db: psycopg.Connection) -> None:
    present = {r[0] for r in db.execute("SELECT rolname FROM pg_roles").fetchall()}
    assert set(ROLES) <= present
    leaks = db.execute(
        """
        SELECT 'schema ' || nspname FROM pg_namespace
        WHERE nspname = ANY(%(s)s) AND (has_schema_privilege('public', oid, 'USAGE')
                                         OR has_schema_privilege('public', oid, 'CREATE'))
        UNION ALL
        SELECT 'function ' || p.oid::regprocedure::text FROM pg_proc AS p
        JOIN pg_namespace AS n ON n.oid = p.pronamespace
        WHERE n.nspname = ANY(%(s)s) AND has_function_privilege('public', p.oid, 'EXECUTE')
        """,
        {"s": ["public", *DATA_SCHEMAS, *CODE_SCHEMAS]},
    ).fetchall()
    assert [r[0] for r in leaks] == []


@pytest.fixture
def plpgsql_check(db: psycopg.Connection) -> psycopg.Connection:
    db.execute("CREATE EXTENSION IF NOT EXISTS plpgsql_check")
    return db


def test_plpgsql_check_reports_no_error(plpgsql_check: psycopg.Connection) -> None:
    # Trigger functions are checked against every table they are attached to.
    rows = plpgsql_check.execute(
        """
        WITH targets AS (
            SELECT p.oid AS fn, coalesce(t.tgrelid, 0) AS rel
            FROM pg_proc AS p
            JOIN pg_namespace AS n ON n.oid = p.pronamespace
            JOIN pg_language AS l ON l.oid = p.prolang AND l.lanname = 'plpgsql'
            LEFT JOIN pg_trigger AS t ON t.tgfoid = p.oid
            WHERE n.nspname = ANY(%s)
        )
        SELECT t.fn::regprocedure::text, t.rel::regclass::text, c.lineno, c.message
        FROM targets AS t
        CROSS JOIN LATERAL plpgsql_check_function_tb(t.fn, t.rel, fatal_errors => false) AS c
        WHERE c.level = 'error'
        """,
        (list(CODE_SCHEMAS),),
    ).fetchall()
    assert rows == []
