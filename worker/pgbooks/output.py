"""Human output by default, ``--json`` for scripts: one place decides how results print.

Results go to stdout; errors and progress bars go to stderr. Progress bars show only on a
terminal and never with ``--json`` or ``--quiet``, so a script's output stays clean. Every error
message is scrubbed of this process's secrets (database password, keys) before it is printed.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

from pgbooks.config import scrub

console = Console()
err_console = Console(stderr=True)

JSON_OPT = typer.Option(False, "--json", help="Machine-readable output (JSON on stdout).")
QUIET_OPT = typer.Option(
    False, "--quiet", "-q", help="No progress bar (it only shows on a terminal anyway)."
)


def emit(data: dict[str, Any], *, as_json: bool, human: str) -> None:
    """Print ``data`` as JSON when asked, else the human sentence(s)."""
    if as_json:
        sys.stdout.write(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")
    else:
        console.print(human, highlight=False)


def fail(message: str) -> None:
    """Print an error for a human on stderr (secrets scrubbed)."""
    err_console.print(f"[bold red]error:[/] {escape(scrub(message))}", highlight=False)


def progress(*columns: ProgressColumn | str, quiet: bool = False) -> Progress:
    """A progress display on stderr; disabled off a terminal and when ``quiet`` (--json/-q).

    Without ``columns``: spinner, description, bar, done/total, elapsed time.
    """
    cols = columns or (
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    return Progress(
        *cols, console=err_console, disable=quiet or not err_console.is_terminal, transient=False
    )
