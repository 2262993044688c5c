"""`pgbooks db migrate` builds a database from nothing and is idempotent."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import psycopg

from pgbooks.db.migrate import head_revision, migrate, status

CATALOG_FINGERPRINT = """
SELECT md5(string_agg(x, ',' ORDER BY x)) FROM (
    SELECT n.nspname || '.' || c.relname || ':' || c.relkind::text || ':' || c.oid::text AS x
    FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
    WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
    UNION ALL
    SELECT n.nspname || '.' || p.proname || ':' || p.oid::text
    FROM pg_proc AS p JOIN pg_namespace AS n ON n.oid = p.pronamespace
    WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
) AS objects
"""


def _fingerprint(url: str) -> str:
    with psycopg.connect(url) as conn:
        row = conn.execute(CATALOG_FINGERPRINT).fetchone()
        assert row is not None
        return str(row[0])


def test_migrate_twice_on_empty_database_second_run_is_a_noop(empty_db_url: str) -> None:
    first = migrate(empty_db_url)
    assert first.revision_before is None
    assert first.revision_after == head_revision()
    assert first.code_reloaded
    before = _fingerprint(empty_db_url)

    second = migrate(empty_db_url)
    assert second.revision_before == second.revision_after == head_revision()
    assert not second.code_reloaded
    # Same objects with the same OIDs: nothing was dropped or recreated.
    assert _fingerprint(empty_db_url) == before
    assert status(empty_db_url).up_to_date
    # Database-level ACLs are not copied by CREATE DATABASE ... TEMPLATE, so check them here.
    with psycopg.connect(empty_db_url) as conn:
        row = conn.execute(
            "SELECT has_database_privilege('public', current_database(), 'CONNECT'), "
            "has_database_privilege('pgbooks_app', current_database(), 'CONNECT')"
        ).fetchone()
    assert row == (False, True)


def test_forced_reload_recreates_code_and_records_it(db_url: str) -> None:
    assert migrate(db_url, force_reload=True).code_reloaded
    with psycopg.connect(db_url) as conn:
        row = conn.execute("SELECT count(*) FROM meta.code_loads").fetchone()
    assert row is not None and row[0] == 2


def _cli(*args: str, url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": url}
    return subprocess.run(
        [sys.executable, "-m", "pgbooks", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_cli_db_migrate_and_status_as_a_user_runs_them(empty_db_url: str) -> None:
    st = _cli("db", "status", "--json", url=empty_db_url)
    assert st.returncode == 3, st.stderr  # attention: migrations pending
    assert json.loads(st.stdout)["revision"] is None

    first = _cli("db", "migrate", "--json", url=empty_db_url)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["migrations_applied"] is True
    second = _cli("db", "migrate", "--json", url=empty_db_url)
    assert second.returncode == 0, second.stderr
    out = json.loads(second.stdout)
    assert out["migrations_applied"] is False and out["code_reloaded"] is False

    st = _cli("db", "status", url=empty_db_url)
    assert st.returncode == 0, st.stderr
    assert "pending:  none" in st.stdout


def test_cli_reports_unreachable_database_without_leaking_password() -> None:
    res = _cli("db", "status", url="postgresql://someone:s3cr3t@127.0.0.1:1/nowhere")
    assert res.returncode == 4
    assert "s3cr3t" not in res.stdout + res.stderr
    assert "cannot reach" in res.stderr
