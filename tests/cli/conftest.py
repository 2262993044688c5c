"""The ``pgbooks`` command as a user runs it: a subprocess, a real database, real HTTP.

Every test here is marked ``@pytest.mark.cli("group sub", ...)`` with the leaf commands it runs;
``test_registry.py`` fails when a leaf command of the typer app has no such test, and the
autouse fixture below fails a marked test that did not actually run its commands as a
subprocess. See CONVENTIONS.md ("CLI").

Secrets: every subprocess gets a ``DATABASE_URL`` carrying a password (the local trust server
ignores it) and a ``PGBOOKS_SECRET_KEY``; every run asserts neither appears in its stdout or
stderr, whatever the exit code.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
import typer
from pytest_postgresql.janitor import DatabaseJanitor

from pgbooks import devdb
from pgbooks.cli import app

# Per-run secrets: recognisable, never expected in any output.
DB_PASSWORD = "pw-" + secrets.token_hex(8)
SECRET_KEY = "sk-" + secrets.token_hex(16)
_ran: list[tuple[str, ...]] = []
_counter = iter(range(1_000_000))


def leaf_commands() -> set[str]:
    """Every leaf command of the ``pgbooks`` typer app, as "group sub" paths."""
    out: set[str] = set()

    def walk(cmd: Any, path: tuple[str, ...]) -> None:
        if hasattr(cmd, "commands"):  # a group (typer vendors its own click)
            for name, sub in cmd.commands.items():
                walk(sub, (*path, name))
        else:
            out.add(" ".join(path))

    walk(typer.main.get_command(app), ())
    return out


def command_path(args: tuple[str, ...]) -> str:
    """The leaf command an argument list names ("bank import" for bank import FILE ...)."""
    cmd: Any = typer.main.get_command(app)
    path: list[str] = []
    for arg in args:
        if not hasattr(cmd, "commands") or arg not in cmd.commands:
            break
        cmd = cmd.commands[arg]
        path.append(arg)
    return " ".join(path)


@pytest.fixture(autouse=True)
def _commands_were_run(request: pytest.FixtureRequest) -> Iterator[None]:
    """A test marked ``cli("x y")`` must really run ``pgbooks x y`` as a subprocess."""
    _ran.clear()
    yield
    marker = request.node.get_closest_marker("cli")
    if marker is None or getattr(request.node, "rep_call_failed", True):
        return
    ran = {command_path(a) for a in _ran}
    missing = [c for c in marker.args if c not in ran]
    assert not missing, f"marked cli({', '.join(missing)}) but never ran it as a subprocess"


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    rep = yield
    if rep.when == "call":
        item.rep_call_failed = rep.failed  # type: ignore[attr-defined]
    return rep


def with_password(url: str) -> str:
    """``url`` with the per-run password (kept if it already has one: a real password)."""
    parts = urlsplit(url)
    if parts.password:
        return url
    user_host = parts.netloc.rsplit("@", 1)
    netloc = f"{user_host[0]}:{DB_PASSWORD}@{user_host[1]}" if len(user_host) == 2 else None
    assert netloc, f"no user in {url}"
    return urlunsplit(parts._replace(netloc=netloc))


def _secrets_of(url: str) -> list[str]:
    pw = urlsplit(url).password
    return [s for s in (pw, SECRET_KEY) if s]


@dataclass
class Result:
    """A finished ``pgbooks`` run."""

    args: tuple[str, ...]
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)

    def __str__(self) -> str:
        return f"pgbooks {' '.join(self.args)} -> {self.code}\n{self.stdout}\n{self.stderr}"


@dataclass
class Server:
    """A long-running ``pgbooks`` process (receive, worker, sandbox serve)."""

    args: tuple[str, ...]
    proc: subprocess.Popen[str]
    log: Path
    secrets: list[str]
    stopped: Result | None = None

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_http(self, url: str, timeout: float = 60.0) -> httpx.Response:
        """Readiness probe: poll ``url`` until it answers (the process must stay alive)."""
        deadline = time.monotonic() + timeout
        while True:
            assert self.proc.poll() is None, f"exited {self.proc.returncode}:\n{self.output()}"
            try:
                return httpx.get(url, timeout=2.0)
            except httpx.HTTPError:
                assert time.monotonic() < deadline, f"{url} not ready:\n{self.output()}"
                time.sleep(0.1)

    def terminate(self, timeout: float = 30.0) -> Result:
        """SIGTERM, wait, and return the outcome (secrets checked in its output)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"did not stop on SIGTERM:\n{self.output()}") from None
        out = self.output()
        for s in self.secrets:
            assert s not in out, f"secret printed by pgbooks {' '.join(self.args)}"
        self.stopped = Result(self.args, code, out, "")
        return self.stopped


@dataclass
class Cli:
    """Runs ``python -m pgbooks`` as a user would, against one database."""

    url: str
    cwd: Path
    env: dict[str, str] = field(default_factory=dict)
    servers: list[Server] = field(default_factory=list)

    def _env(self, extra: dict[str, str] | None, unset: tuple[str, ...] = ()) -> dict[str, str]:
        base = {
            k: v
            for k, v in os.environ.items()
            if k != "DATABASE_URL" and not k.startswith("PGBOOKS_")
        }
        base |= {
            "DATABASE_URL": self.url,
            "PGBOOKS_SECRET_KEY": SECRET_KEY,
            "COLUMNS": "200",
            "PYTHONUNBUFFERED": "1",
        }
        full = base | self.env | (extra or {})
        return {k: v for k, v in full.items() if k not in unset}

    def __call__(
        self,
        *args: str,
        env: dict[str, str] | None = None,
        unset: tuple[str, ...] = (),
        cwd: Path | None = None,
        timeout: float = 120,
    ) -> Result:
        _ran.append(args)
        full = self._env(env, unset)
        done = subprocess.run(
            [sys.executable, "-m", "pgbooks", *args],
            env=full,
            cwd=cwd or self.cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        res = Result(args, done.returncode, done.stdout, done.stderr)
        for s in _secrets_of(full.get("DATABASE_URL", self.url)):
            assert s not in res.stdout + res.stderr, f"secret printed: {res}"
        assert "Traceback" not in res.stderr, f"a traceback instead of a message: {res}"
        return res

    def start(self, *args: str, env: dict[str, str] | None = None) -> Server:
        """Start a long-running command; stopped (SIGTERM) at the end of the test if still up."""
        _ran.append(args)
        full = self._env(env)
        log = self.cwd / f"server-{next(_counter)}.log"
        proc = subprocess.Popen(
            [sys.executable, "-m", "pgbooks", *args],
            env=full,
            cwd=self.cwd,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
            text=True,
        )
        server = Server(args, proc, log, _secrets_of(full["DATABASE_URL"]))
        self.servers.append(server)
        return server


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def cli(db_url: str, tmp_path: Path) -> Iterator[Cli]:
    """``pgbooks`` against a fresh database (for commands that write)."""
    runner = Cli(with_password(db_url), tmp_path)
    yield runner
    for s in runner.servers:
        if s.proc.poll() is None:
            s.proc.kill()
            s.proc.wait()


@pytest.fixture(scope="module")
def module_db_url(pg_server: devdb.Server, db_template: str) -> Iterator[str]:
    """One database per test module (for modules whose commands only read)."""
    name = f"pgbooks_cli_{os.getpid()}_{next(_counter)}"
    with DatabaseJanitor(
        user=pg_server.user,
        host=pg_server.host,
        port=pg_server.port,
        password=pg_server.password,
        dbname=name,
        template_dbname=db_template,
    ):
        yield pg_server.url(name)
