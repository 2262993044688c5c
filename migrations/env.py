"""Alembic environment: online mode only, one transaction for the whole upgrade.

Migrations are raw SQL files (see ``sqlfile.py``); there is no SQLAlchemy metadata. The version
table lives in the ``meta`` schema so that ``public`` stays empty.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

config = context.config


def run_migrations_online() -> None:
    """Run every pending migration in a single transaction (Postgres DDL is transactional)."""
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("sqlalchemy.url is not set; use `pgbooks db migrate`")
    engine = create_engine(url, poolclass=NullPool)
    with engine.connect() as connection:
        connection.execute(text("CREATE SCHEMA IF NOT EXISTS meta"))
        context.configure(
            connection=connection,
            target_metadata=None,
            version_table_schema="meta",
            transaction_per_migration=False,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


if context.is_offline_mode():
    raise RuntimeError("offline (--sql) mode is not supported: migrations run SQL files verbatim")
run_migrations_online()
