"""A database built from migrations equals one built from the declarative sql/tables files.

On failure the unified diff of ``pg_dump --schema-only`` is printed: it is the draft of the
missing migration (or of the missing table-file change).
"""

from __future__ import annotations

import difflib
import re
import shutil
import subprocess

import psycopg
from alembic import command

from pgbooks.db.loadorder import read_loadorder
from pgbooks.db.migrate import alembic_config, run_sql_file


def _pg_dump(url: str) -> str:
    exe = shutil.which("pg_dump") or "/usr/lib/postgresql/15/bin/pg_dump"
    out = subprocess.run(
        [exe, "--schema-only", "--no-owner", "--exclude-table=meta.alembic_version", url],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    # Drop comments, blank lines and the per-dump random restrict key of newer pg_dump.
    lines = [
        ln
        for ln in out.splitlines()
        if ln.strip() and not ln.startswith("--") and not re.match(r"\\(un)?restrict ", ln)
    ]
    return "\n".join(lines) + "\n"


def test_migrations_build_exactly_the_declared_tables(
    empty_db_url: str, db_url: str, pg_server: object
) -> None:
    # db_url is a fresh template copy: migrations + code. Build the migrations-only twin in
    # empty_db_url, and the declarative twin by dropping everything and loading sql/tables.
    command.upgrade(alembic_config(empty_db_url), "head")
    with psycopg.connect(db_url, autocommit=True) as conn:
        schemas = conn.execute(
            "SELECT string_agg(quote_ident(nspname), ', ') FROM pg_namespace "
            "WHERE nspname NOT LIKE 'pg\\_%' AND nspname NOT IN ('information_schema', 'public')"
        ).fetchone()
        assert schemas is not None
        conn.execute(f"DROP SCHEMA {schemas[0]} CASCADE")
    with psycopg.connect(db_url) as conn:
        for path in read_loadorder().tables:
            run_sql_file(conn, path)
        conn.commit()

    from_migrations = _pg_dump(empty_db_url)
    from_tables = _pg_dump(db_url)
    diff = "".join(
        difflib.unified_diff(
            from_migrations.splitlines(keepends=True),
            from_tables.splitlines(keepends=True),
            "migrations",
            "sql/tables",
        )
    )
    assert from_migrations == from_tables, "schema drift:\n" + diff
