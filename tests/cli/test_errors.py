"""Errors as a user meets them: every command that needs the database exits 4 with a one-line
message when it cannot reach it (the password in DATABASE_URL never shown), a database error is
exit 1 naming its SQLSTATE, bad arguments are exit 2. Never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import Cli, leaf_commands

UNREACHABLE = "postgresql://someone:s3cr3t-pw@127.0.0.1:1/nowhere"

# The smallest valid arguments of every leaf command that needs the database. A new command
# must be added here or to NO_DATABASE (test_every_command_is_classified).
DB_ARGS: dict[str, tuple[str, ...]] = {
    "db migrate": (),
    "db status": (),
    "status": (),
    "ingest process": ("--once",),
    "ingest status": (),
    "backfill": (
        "orders",
        "--source",
        "{tmp}",
        "--channel",
        "c",
        "--tenant",
        "t",
        "--platform",
        "shopify",
    ),
    "connect": ("--tenant", "t", "--base-url", "http://127.0.0.1:1", "--realm", "1"),
    "worker": ("--until-idle",),
    "bank import": ("{file}", "--tenant", "t"),
    "recon match": ("--tenant", "t"),
    "recon unmatched": ("--tenant", "t"),
    "recon refresh": ("--tenant", "t"),
    "books derive": ("--tenant", "t"),
    "exceptions list": ("--tenant", "t"),
    "exceptions show": ("1", "--tenant", "t"),
    "exceptions retry": ("1", "--reason", "r", "--tenant", "t"),
    "exceptions resolve": ("1", "--reason", "r", "--tenant", "t"),
    "exceptions ignore": ("1", "--reason", "r", "--tenant", "t"),
    "audit verify": ("t",),
    "audit checkpoint": ("t", "--key", "{key}"),
    "audit receipt": ("1",),
    "audit export": ("t", "{tmp}/out"),
    "close period": ("t", "2026-01"),
    "close reopen": ("t", "2026-01", "--override", "1"),
    "close override-request": ("t", "close_period", "2026-01", "--reason", "r"),
    "close override-approve": ("t", "1", "--reason", "r"),
    "close export": ("t", "2026-01", "{tmp}/out"),
    "receive": ("--port", "0"),
    "qbo import": ("--realm", "1"),
    "inbound enable": ("--tenant", "t"),
    "inbound sweep": ("--tenant", "t"),
    "inbound process": ("--tenant", "t"),
    "inbound run": ("--poll", "0.2"),
    "inbound status": ("--tenant", "t"),
    "inbound policy": ("Invoice", "PrivateNote", "qbo_wins", "--tenant", "t"),
    "inbound take-ours": ("1", "--reason", "r", "--tenant", "t"),
    "inbound take-theirs": ("1", "--reason", "r", "--tenant", "t"),
    "inbound merge": ("1", "--take", "A=ours", "--reason", "r", "--tenant", "t"),
    "qbo repost": ("--tenant", "t", "--from", "2025-01-01", "--to", "2025-02-01"),
}
NO_DATABASE = {"sandbox serve", "audit keygen", "audit verify-bundle"}


def test_every_command_is_classified() -> None:
    assert set(DB_ARGS) | NO_DATABASE == leaf_commands()


@pytest.mark.parametrize("command", sorted(DB_ARGS))
def test_unreachable_database_is_exit_4_without_the_password(command: str, tmp_path: Path) -> None:
    key = tmp_path / "audit.key"
    statement = tmp_path / "s.csv"
    statement.write_text("Date,Description,Amount\n2026-01-01,x,1.00\n")
    cli = Cli(UNREACHABLE, tmp_path)
    if command == "audit checkpoint":
        assert cli("audit", "keygen", str(key)).code == 0
    args = [a.format(tmp=tmp_path, file=statement, key=key) for a in DB_ARGS[command]]
    done = cli(*command.split(), *args, timeout=60)
    assert done.code == 4, done
    assert "cannot reach" in done.stderr and "someone:***@127.0.0.1:1/nowhere" in done.stderr
    assert "s3cr3t-pw" not in done.stdout + done.stderr


@pytest.mark.cli("exceptions show")
def test_database_error_is_exit_1_with_its_sqlstate(module_db_url: str, tmp_path: Path) -> None:
    cli = Cli(module_db_url, tmp_path)
    done = cli("exceptions", "show", "999999", "--tenant", "nobody")
    assert done.code == 1, done
    assert done.stderr.startswith("error: PB") and done.stdout == ""


def test_bad_arguments_are_exit_2(tmp_path: Path) -> None:
    cli = Cli(UNREACHABLE, tmp_path)
    assert cli("bank", "import").code == 2
    assert cli("status", "--no-such-option").code == 2
    assert cli("exceptions", "list", unset=("PGBOOKS_TENANT",)).code == 2  # no tenant given
