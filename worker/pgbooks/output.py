"""Human output by default, ``--json`` for scripts: one place decides how results print."""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console

console = Console()
err_console = Console(stderr=True)


def emit(data: dict[str, Any], *, as_json: bool, human: str) -> None:
    """Print ``data`` as JSON when asked, else the human sentence(s)."""
    if as_json:
        sys.stdout.write(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")
    else:
        console.print(human, highlight=False)


def fail(message: str) -> None:
    """Print an error for a human on stderr."""
    err_console.print(f"[bold red]error:[/] {message}", highlight=False)
