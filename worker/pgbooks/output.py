"""Human output by default, ``--json`` for scripts: one place decides how results print.

Results go to stdout; errors and progress bars go to stderr. Progress bars show only on a
terminal and never with ``--json`` or ``--quiet``, so a script's output stays clean. Every error
message is scrubbed of this process's secrets (database password, keys) before it is printed.
"""

from __future__ import annotations

import contextlib
import json
import signal
import sys
from collections.abc import Iterator
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


@contextlib.contextmanager
def stop_signals_exit_zero() -> Iterator[None]:
    """Around ``uvicorn.run``: a SIGTERM/SIGINT asking a server to stop is a clean exit (0).

    uvicorn shuts down gracefully on those signals, then re-raises the signal to the handler
    installed before it (which would kill the process with -15 or raise KeyboardInterrupt);
    here that handler does nothing, so the command returns normally once the server stopped.
    """
    stops = (signal.SIGTERM, signal.SIGINT)
    previous = {s: signal.signal(s, lambda *_: None) for s in stops}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
