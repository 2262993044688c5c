"""Run a migration's sibling ``.sql`` file verbatim on alembic's own connection.

``op.execute`` would pass the text through SQLAlchemy, which treats ``:word`` as a bind
parameter; the raw psycopg connection runs multiple statements, ``$$`` bodies and ``%`` as is,
inside alembic's transaction.
"""

from __future__ import annotations

from pathlib import Path

from alembic import op


def run_sibling_sql(py_file: str) -> None:
    """Execute ``NNNN_slug.sql`` next to the ``NNNN_slug.py`` that calls this."""
    sql_path = Path(py_file).with_suffix(".sql")
    driver_conn = op.get_bind().connection.driver_connection
    if driver_conn is None:
        raise RuntimeError("no DBAPI connection")
    driver_conn.execute(sql_path.read_text())


def roll_forward_only() -> None:
    """pgbooks migrations are roll-forward only: fix forward with a new migration."""
    raise NotImplementedError("pgbooks migrations are roll-forward only; write a new migration")
