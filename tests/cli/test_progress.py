"""Progress bars on long work (backfill, ingest process --once, bank import, close and audit
export): drawn on stderr when it is a terminal, never when piped, never with --json or --quiet,
so scripts get clean output."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import psycopg
import pytest

from pgbooks.demo import STATEMENT

from .conftest import Cli, _ran


def _on_a_terminal(cli: Cli, *args: str) -> tuple[int, str, str]:
    """Run with stderr on a pseudo-terminal (stdout piped): (exit code, stdout, terminal)."""
    _ran.append(args)
    master, slave = pty.openpty()
    env = cli._env({"TERM": "xterm-256color"})
    proc = subprocess.Popen(
        [sys.executable, "-m", "pgbooks", *args],
        env=env,
        cwd=cli.cwd,
        stdout=subprocess.PIPE,
        stderr=slave,
        text=True,
    )
    os.close(slave)
    chunks: list[bytes] = []

    def drain() -> None:
        while True:
            try:
                data = os.read(master, 4096)
            except OSError:  # EIO: the child closed the terminal
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=drain)
    reader.start()
    out, _ = proc.communicate(timeout=120)
    reader.join(timeout=10)
    os.close(master)
    return proc.returncode, out, b"".join(chunks).decode(errors="replace")


def _tenant(db: psycopg.Connection[Any]) -> None:
    db.execute("INSERT INTO orders.tenants (tenant_id, name) VALUES ('acme', 'Acme')")
    db.execute(
        "INSERT INTO orders.channels (tenant_id, channel_id, platform, name, currency)"
        " VALUES ('acme', 'shop', 'shopify', 'Shop', 'USD')"
    )


@pytest.mark.cli("bank import", "backfill", "ingest process")
def test_bank_import_and_backfill_draw_a_bar_only_on_a_terminal(
    cli: Cli, db: psycopg.Connection[Any], tmp_path: Path
) -> None:
    _tenant(db)
    code, out, tty = _on_a_terminal(cli, "bank", "import", str(STATEMENT), "--tenant", "acme")
    assert code == 0, tty
    assert "imported bank_statement.csv" in tty and "━" in tty  # the bar, on the terminal
    assert "━" not in out and "bank_statement.csv: csv" in out  # the result, on stdout

    code, out, tty = _on_a_terminal(
        cli, "bank", "import", str(STATEMENT), "--tenant", "acme", "--json"
    )
    assert code == 0 and tty == "" and json.loads(out)["already_imported"] is True
    code, out, tty = _on_a_terminal(cli, "bank", "import", str(STATEMENT), "-t", "acme", "-q")
    assert code == 0 and tty == "" and "already imported" in out
    piped = cli("bank", "import", str(STATEMENT), "--tenant", "acme")
    assert piped.stderr == "" and "already imported" in piped.stdout

    order = json.loads(
        (Path(__file__).parents[1] / "fixtures/realdata/ingest/shopify__slince__Order__view.json")
        .read_bytes()
    )["order"]  # fmt: skip
    pages = tmp_path / "pages"
    pages.mkdir()
    (pages / "00.json").write_text(json.dumps({"orders": [order]}))
    args = ("backfill", "orders", "--source", str(pages), "--channel", "shop", "--tenant", "acme")
    code, out, tty = _on_a_terminal(cli, *args, "--platform", "shopify")
    assert code == 0 and "backfill orders" in tty and "1 records, page 1" in tty, tty
    assert out.startswith("1 pages, 1 records")
    code, out, tty = _on_a_terminal(cli, *args, "--platform", "shopify", "--reset", "--json")
    assert code == 0 and tty == "" and json.loads(out)["records"] == 1

    code, out, tty = _on_a_terminal(cli, "ingest", "process", "--once")
    assert code == 0, tty
    assert "process raw events" in tty and "1/1" in tty and out.startswith("processed 1: 1 applied")


@pytest.mark.cli("close export", "audit export")
def test_exports_draw_a_bar_only_on_a_terminal(
    cli: Cli, db: psycopg.Connection[Any], tmp_path: Path
) -> None:
    _tenant(db)
    code, out, tty = _on_a_terminal(cli, "audit", "export", "acme", str(tmp_path / "a"))
    assert code == 0, tty
    files = len(json.loads((tmp_path / "a" / "manifest.json").read_text())["files"])
    assert f"{files}/{files}" in tty and "━" in tty
    assert out.startswith(f"wrote {files} files")
    code, out, tty = _on_a_terminal(cli, "audit", "export", "acme", str(tmp_path / "b"), "-q")
    assert code == 0 and tty == ""

    asked = cli(
        "close", "override-request", "acme", "close_period", "2026-01", "--reason", "r",
        "--user", "alice",
    )  # fmt: skip
    oid = asked.stdout.split()[1]
    assert (
        cli("close", "override-approve", "acme", oid, "--reason", "ok", "--user", "bob").code == 0
    )
    assert cli("close", "period", "acme", "2026-01", "--override", oid, "--user", "alice").code == 0
    code, out, tty = _on_a_terminal(
        cli, "close", "export", "acme", "2026-01", str(tmp_path / "c"), "--user", "carol"
    )
    assert code == 0, tty
    assert "export acme 2026-01" in tty or "wrote" in tty
    assert "━" in tty and out.startswith("wrote ")
    code, out, tty = _on_a_terminal(
        cli, "close", "export", "acme", "2026-01", str(tmp_path / "d"), "--user", "carol", "--json"
    )
    assert code == 0 and tty == "" and json.loads(out)["kind"] == "period"
