"""The recon examples under views/examples/ run on the seed scenario and print exactly their
committed ``.out`` (regenerate with ``PGBOOKS_UPDATE_EXAMPLES=1``)."""

from __future__ import annotations

import os
from pathlib import Path

import psycopg

EXAMPLES = Path(__file__).resolve().parents[2] / "views" / "examples"
SEED = EXAMPLES / "recon_seed.sql"


def _statements(text: str) -> list[str]:
    body = "\n".join(ln for ln in text.splitlines() if not ln.lstrip().startswith("--"))
    return [s.strip() for s in body.split(";\n") if s.strip().rstrip(";").strip()]


def render(conn: psycopg.Connection, sql_text: str) -> str:
    """Run each statement; print its result as an aligned text table (psql-like)."""
    out: list[str] = []
    for stmt in _statements(sql_text):
        cur = conn.execute(stmt.rstrip(";"))
        cols = [c.name for c in cur.description or []]
        rows = [["" if v is None else str(v) for v in r] for r in cur.fetchall()]
        widths = [max([len(c)] + [len(r[i]) for r in rows]) for i, c in enumerate(cols)]
        out.append(" | ".join(c.ljust(w) for c, w in zip(cols, widths, strict=True)).rstrip())
        out.append("-+-".join("-" * w for w in widths))
        out.extend(
            " | ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in rows
        )
        out.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
        out.append("")
    return "\n".join(out)


def seed(conn: psycopg.Connection) -> None:
    """Each statement in its own transaction, as an app would write them (deferred triggers run)."""
    for stmt in _statements(SEED.read_text()):
        conn.execute(stmt)


def test_examples_print_their_committed_output(db: psycopg.Connection) -> None:
    seed(db)
    update = os.environ.get("PGBOOKS_UPDATE_EXAMPLES") == "1"
    examples = sorted(p for p in EXAMPLES.glob("recon_*.sql") if p != SEED)
    assert len(examples) >= 5
    for path in examples:
        got = render(db, path.read_text())
        golden = path.with_suffix(".out")
        if update:
            golden.write_text(got)
        assert golden.exists(), f"{golden.name} missing: run with PGBOOKS_UPDATE_EXAMPLES=1"
        assert got == golden.read_text(), f"{path.name} output changed"
