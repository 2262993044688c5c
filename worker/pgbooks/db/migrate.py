"""``pgbooks db migrate`` and ``pgbooks db status``.

Migrate = alembic ``upgrade head`` (immutable, numbered schema changes) followed by a reload of
every replaceable object (``[code]`` in LOADORDER) in one transaction. The reload is skipped when
the code checksum equals the last one loaded, so a second run changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import psycopg
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

from pgbooks import paths
from pgbooks.db.loadorder import LoadOrder, read_loadorder

# Serialises concurrent deploys of the same database (two `db migrate` at once).
_DEPLOY_LOCK_KEY = 0x70_67_62_6B  # "pgbk"


@dataclass(frozen=True)
class MigrateResult:
    """What a migrate run did."""

    revision_before: str | None
    revision_after: str | None
    code_reloaded: bool
    code_checksum: str


@dataclass(frozen=True)
class DbStatus:
    """Where a database stands relative to this checkout."""

    revision: str | None
    head: str | None
    pending_migrations: tuple[str, ...]
    code_checksum_loaded: str | None
    code_checksum_current: str

    @property
    def up_to_date(self) -> bool:
        """True when no migration is pending and the loaded code is this checkout's."""
        return not self.pending_migrations and (
            self.code_checksum_loaded == self.code_checksum_current
        )


def sqlalchemy_url(url: str) -> str:
    """Alembic talks through SQLAlchemy; select the psycopg 3 driver explicitly."""
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    raise ValueError("DATABASE_URL must start with postgresql://")


def alembic_config(url: str) -> Config:
    """An alembic Config built in code (no alembic.ini needed at run time)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(paths.MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", sqlalchemy_url(url).replace("%", "%%"))
    return cfg


def check_reachable(url: str) -> None:
    """Raise psycopg.OperationalError (no traceback noise from SQLAlchemy) if unreachable."""
    with psycopg.connect(url, connect_timeout=5) as conn:
        conn.execute("SELECT 1")


def current_revision(url: str) -> str | None:
    """The alembic revision stamped in the database, or None for an empty one."""
    engine = create_engine(sqlalchemy_url(url), poolclass=NullPool)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"version_table_schema": "meta"})
            return ctx.get_current_revision()
    finally:
        engine.dispose()


def head_revision() -> str | None:
    """The newest migration in this checkout."""
    return ScriptDirectory(str(paths.MIGRATIONS_DIR)).get_current_head()


def pending_revisions(current: str | None) -> tuple[str, ...]:
    """Revisions between ``current`` and head, oldest first."""
    script = ScriptDirectory(str(paths.MIGRATIONS_DIR))
    revs = [r.revision for r in script.iterate_revisions("head", current)]
    return tuple(reversed(revs))


def loaded_checksum(conn: psycopg.Connection) -> str | None:
    """Checksum of the code last loaded, or None when never loaded."""
    exists = conn.execute("SELECT to_regclass('meta.code_loads') IS NOT NULL").fetchone()
    if not exists or not exists[0]:
        return None
    row = conn.execute(
        "SELECT checksum FROM meta.code_loads ORDER BY loaded_at DESC, load_id DESC LIMIT 1"
    ).fetchone()
    return None if row is None else str(row[0])


def run_sql_file(conn: psycopg.Connection, path: Path) -> None:
    """Execute one SQL file verbatim (several statements, ``$$`` bodies, ``%`` all fine)."""
    text = path.read_text()
    try:
        conn.execute(text.encode())  # file content, not user input
    except psycopg.Error as exc:
        rel = path.relative_to(paths.ROOT) if path.is_relative_to(paths.ROOT) else path
        raise RuntimeError(f"loading {rel} failed: {exc}") from exc


def reload_code(url: str, order: LoadOrder | None = None, *, force: bool = False) -> bool:
    """Drop and reload every replaceable object in one transaction. Returns True if reloaded."""
    order = order or read_loadorder()
    checksum = order.code_checksum()
    with psycopg.connect(url, autocommit=False) as conn:
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_DEPLOY_LOCK_KEY,))
        if not force and loaded_checksum(conn) == checksum:
            conn.rollback()
            return False
        for path in order.code:
            run_sql_file(conn, path)
        conn.execute(
            "INSERT INTO meta.code_loads (checksum, file_count) VALUES (%s, %s)",
            (checksum, len(order.code)),
        )
        conn.commit()
    return True


def migrate(url: str, *, force_reload: bool = False) -> MigrateResult:
    """alembic upgrade head, then reload the replaceable code (skipped when unchanged)."""
    order = read_loadorder()
    check_reachable(url)
    before = current_revision(url)
    command.upgrade(alembic_config(url), "head")
    after = current_revision(url)
    reloaded = reload_code(url, order, force=force_reload)
    return MigrateResult(before, after, reloaded, order.code_checksum())


def status(url: str) -> DbStatus:
    """Compare a database with this checkout."""
    check_reachable(url)
    rev = current_revision(url)
    with psycopg.connect(url) as conn:
        loaded = loaded_checksum(conn)
    return DbStatus(
        revision=rev,
        head=head_revision(),
        pending_migrations=pending_revisions(rev),
        code_checksum_loaded=loaded,
        code_checksum_current=read_loadorder().code_checksum(),
    )
