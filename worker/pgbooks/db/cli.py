"""``pgbooks db migrate|status``."""

from __future__ import annotations

import psycopg
import typer

from pgbooks import exitcodes
from pgbooks.config import load_settings, redact_url
from pgbooks.output import emit, fail

app = typer.Typer(help="Database schema: migrations and code reloads.", no_args_is_help=True)

JSON_OPT = typer.Option(False, "--json", help="Machine-readable output.")


@app.command("migrate")
def migrate_cmd(
    force_reload: bool = typer.Option(
        False, "--force-reload", help="Reload sql/code and views even if unchanged."
    ),
    as_json: bool = JSON_OPT,
) -> None:
    """Apply pending migrations (alembic upgrade head), then reload replaceable code.

    Idempotent: a second run applies nothing and skips the reload when the code is unchanged.
    """
    from pgbooks.db import migrate as m  # alembic is slow to import: only when needed

    url = load_settings().database_url
    try:
        res = m.migrate(url, force_reload=force_reload)
    except psycopg.OperationalError as exc:
        fail(f"cannot reach {redact_url(url)}: {exc}")
        raise typer.Exit(exitcodes.NO_DATABASE) from exc
    applied = res.revision_before != res.revision_after
    human = (
        f"schema: {'migrated ' + str(res.revision_before) + ' -> ' if applied else 'at '}"
        f"{res.revision_after}\n"
        f"code:   {'reloaded' if res.code_reloaded else 'unchanged'} ({res.code_checksum[:12]})"
    )
    emit(
        {
            "revision_before": res.revision_before,
            "revision_after": res.revision_after,
            "migrations_applied": applied,
            "code_reloaded": res.code_reloaded,
            "code_checksum": res.code_checksum,
        },
        as_json=as_json,
        human=human,
    )


@app.command("status")
def status_cmd(as_json: bool = JSON_OPT) -> None:
    """Show the schema revision and whether the loaded code matches this checkout.

    Exit code 0 when up to date, 3 when migrations are pending or the code is stale.
    """
    from pgbooks.db import migrate as m

    url = load_settings().database_url
    try:
        st = m.status(url)
    except psycopg.OperationalError as exc:
        fail(f"cannot reach {redact_url(url)}: {exc}")
        raise typer.Exit(exitcodes.NO_DATABASE) from exc
    code_state = (
        "current" if st.code_checksum_loaded == st.code_checksum_current else "stale/not loaded"
    )
    human = (
        f"database: {redact_url(url)}\n"
        f"revision: {st.revision} (head {st.head})\n"
        f"pending:  {', '.join(st.pending_migrations) or 'none'}\n"
        f"code:     {code_state}"
    )
    emit(
        {
            "database": redact_url(url),
            "revision": st.revision,
            "head": st.head,
            "pending_migrations": list(st.pending_migrations),
            "code_checksum_loaded": st.code_checksum_loaded,
            "code_checksum_current": st.code_checksum_current,
            "up_to_date": st.up_to_date,
        },
        as_json=as_json,
        human=human,
    )
    if not st.up_to_date:
        raise typer.Exit(exitcodes.ATTENTION)
