"""Find a PostgreSQL server for tests and the demo, or start a private throwaway cluster.

Order of preference:

1. ``TEST_DATABASE_URL`` (any server; its database part is ignored, databases are created);
2. ``127.0.0.1:5432`` if it accepts user ``postgres`` without a password;
3. a private cluster in a temporary directory, started as the ``postgres`` OS user when we are
   root (Postgres refuses to run as root), stopped and deleted afterwards.

``PGBOOKS_PRIVATE_CLUSTER=1`` skips 1 and 2 (to exercise path 3 on a machine that has a server).
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg


@dataclass(frozen=True)
class Server:
    """Connection facts for a server; ``url(db)`` builds a libpq URL for one database."""

    host: str
    port: int
    user: str
    password: str | None = None

    def url(self, dbname: str) -> str:
        """A ``postgresql://`` URL for ``dbname`` on this server."""
        auth = self.user if self.password is None else f"{self.user}:{self.password}"
        return f"postgresql://{auth}@{self.host}:{self.port}/{dbname}"


def _accepts(url: str) -> bool:
    try:
        with psycopg.connect(url, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
        return True
    except psycopg.Error:
        return False


def server_from_url(url: str) -> Server:
    """Parse a ``postgresql://`` URL into a :class:`Server`."""
    parts = urlsplit(url)
    return Server(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 5432,
        user=parts.username or "postgres",
        password=parts.password,
    )


def maintenance_url(url: str) -> str:
    """The same server, database ``postgres`` (to create/drop other databases)."""
    return urlunsplit(urlsplit(url)._replace(path="/postgres"))


def find_server() -> Server | None:
    """``TEST_DATABASE_URL``, else the local trust server, else None."""
    env = os.environ.get("TEST_DATABASE_URL")
    if env:
        server = server_from_url(env)
        if not _accepts(server.url("postgres")):
            raise RuntimeError("TEST_DATABASE_URL is set but the server does not accept it")
        return server
    local = Server("127.0.0.1", 5432, "postgres")
    return local if _accepts(local.url("postgres")) else None


def _pg_bindir() -> Path:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    if candidates:
        return Path(candidates[0]).parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    raise RuntimeError("PostgreSQL server binaries not found: run `make setup`")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_postgres(cmd: list[str]) -> list[str]:
    """Postgres refuses to run as root: drop to the ``postgres`` OS user when we are root."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


@contextlib.contextmanager
def private_cluster() -> Iterator[Server]:
    """Start a throwaway cluster (trust auth, fsync off) and remove it afterwards."""
    bindir = _pg_bindir()
    workdir = Path(tempfile.mkdtemp(prefix="pgbooks-pg-"))
    data = workdir / "data"
    port = _free_port()
    if os.geteuid() == 0:
        shutil.chown(workdir, "postgres", "postgres")
    workdir.chmod(0o755)
    subprocess.run(
        _as_postgres(
            [
                str(bindir / "initdb"),
                "-D",
                str(data),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
                "--locale=C",
            ]
        ),
        check=True,
        capture_output=True,
    )
    opts = (
        f"-p {port} -c listen_addresses=127.0.0.1 -k {workdir} -c fsync=off "
        "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
    )
    subprocess.run(
        _as_postgres(
            [
                str(bindir / "pg_ctl"),
                "-D",
                str(data),
                "-o",
                opts,
                "-l",
                str(workdir / "server.log"),
                "-w",
                "-t",
                "60",
                "start",
            ]
        ),
        check=True,
        capture_output=True,
    )
    try:
        yield Server("127.0.0.1", port, "postgres")
    finally:
        subprocess.run(
            _as_postgres(
                [str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"]
            ),
            check=False,
            capture_output=True,
        )
        shutil.rmtree(workdir, ignore_errors=True)


@contextlib.contextmanager
def server() -> Iterator[Server]:
    """A usable server for the duration of the block (see module docstring)."""
    forced = os.environ.get("PGBOOKS_PRIVATE_CLUSTER", "") not in ("", "0")
    found = None if forced else find_server()
    if found is not None:
        yield found
        return
    with private_cluster() as started:
        yield started
