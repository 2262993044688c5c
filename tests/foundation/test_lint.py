"""Lint what runs: sqlfluff for SQL files, ruff and mypy for Python (same commands as
``make lint``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pgbooks import paths

BIN = Path(sys.executable).parent


def _run(*cmd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        cmd, cwd=paths.ROOT, capture_output=True, text=True, check=False, timeout=600
    )


@pytest.mark.parametrize(
    "cmd",
    [
        pytest.param(
            (str(BIN / "sqlfluff"), "lint", "sql", "views", "migrations/versions"),
            id="sqlfluff",
        ),
        pytest.param((str(BIN / "ruff"), "check", "."), id="ruff-check"),
        pytest.param((str(BIN / "ruff"), "format", "--check", "."), id="ruff-format"),
        pytest.param((str(BIN / "mypy"), "worker", "sandbox", "migrations"), id="mypy"),
    ],
)
def test_linter_is_clean(cmd: tuple[str, ...]) -> None:
    res = _run(*cmd)
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
