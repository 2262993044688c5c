"""The `pgbooks` command as a user runs it (subprocess): every subcommand explains itself, and
`pgbooks status` reads a real database (human and --json, meaningful exit codes)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import psycopg
import pytest

COMMANDS = [
    "db",
    "sandbox",
    "receive",
    "ingest",
    "backfill",
    "connect",
    "worker",
    "status",
    "exceptions",
    "bank",
    "recon",
    "audit",
    "close",
]


def _pgbooks(*args: str, url: str | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if url:
        env["DATABASE_URL"] = url
    return subprocess.run(
        [sys.executable, "-m", "pgbooks", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_every_subcommand_is_mounted_and_has_help() -> None:
    top = _pgbooks("--help")
    assert top.returncode == 0
    for name in COMMANDS:
        assert name in top.stdout, f"`pgbooks {name}` missing from --help"
    for name in COMMANDS:
        done = _pgbooks(name, "--help")
        assert done.returncode == 0, (name, done.stderr)
        assert "Usage" in done.stdout


def test_status_on_a_real_database(db_url: str, db: psycopg.Connection[Any]) -> None:
    empty = _pgbooks("status", "--json", url=db_url)
    assert empty.returncode == 0, empty.stderr
    assert json.loads(empty.stdout)["realms"] == []
    db.execute("INSERT INTO orders.tenants (tenant_id, name) VALUES ('acme', 'Acme')")
    # a tenant without a connected company needs attention: exit 3, and says so
    human = _pgbooks("status", url=db_url)
    assert human.returncode == 3, human.stderr
    assert "acme" in human.stdout and "not connected" in human.stdout
    facts = json.loads(_pgbooks("status", "--json", url=db_url).stdout)
    assert [r["tenant_id"] for r in facts["realms"]] == ["acme"]
    assert facts["realms"][0]["backlog"] == 0 and facts["attention"] is True


@pytest.mark.parametrize("args", [("status",), ("db", "status")])
def test_unreachable_database_is_exit_4_without_leaking_the_password(args: tuple[str]) -> None:
    done = _pgbooks(*args, url="postgresql://someone:s3cr3t-pw@127.0.0.1:1/nowhere")
    assert done.returncode == 4, (done.returncode, done.stderr)
    assert "s3cr3t-pw" not in done.stdout + done.stderr
