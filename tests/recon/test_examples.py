"""The recon examples under views/examples/ run on the seed scenario and print exactly their
committed ``.out`` (regenerate with ``PGBOOKS_UPDATE_EXAMPLES=1``)."""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path

import psycopg

from tests.derive import derive_pending

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
    """Each statement in its own transaction, as an app would write them (deferred triggers run),
    each followed by what the worker does after a commit: derive the queued orders."""
    for stmt in _statements(SEED.read_text()):
        conn.execute(stmt)
        derive_pending(conn)


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


def test_seeded_scenario_reconciles_to_zero_unexplained_cents_and_the_example_shows_it(
    db: psycopg.Connection,
) -> None:
    seed(db)
    row = db.execute(
        "SELECT count(*), sum(total_difference), sum(explained),"
        " sum(abs(total_difference - explained)) FROM analytics.rpt_payout_variance_check"
        " WHERE tenant_id = 'demo'"
    ).fetchone()
    assert row is not None and row[0] == 6 and row[1] == row[2] != 0 and row[3] == 0
    out = (EXAMPLES / "recon_variance.out").read_text().splitlines()
    header = next(i for i, ln in enumerate(out) if ln.startswith("payouts | total_difference"))
    cells = [c.strip() for c in out[header + 2].split("|")]
    assert cells[0] == "6"
    assert Decimal(cells[1]) == Decimal(cells[2]) == row[1] and Decimal(cells[3]) == 0
