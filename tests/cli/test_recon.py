"""`pgbooks bank import`, `recon match|unmatched`, `exceptions ...` as an operator runs them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import psycopg
import pytest

from pgbooks.demo import STATEMENT

from .conftest import Cli

IMPORT_KEYS = {"already_imported", "format", "lines", "new_lines", "statement_ids", "statements"}
MATCH_KEYS = {
    "matched_reference",
    "matched_amount_date",
    "matched_batch",
    "released_stale",
    "inconsistent_payouts",
    "unmatched_payouts",
    "unmatched_deposits",
}


def _tenant(db: psycopg.Connection[Any]) -> None:
    db.execute("INSERT INTO orders.tenants (tenant_id, name) VALUES ('acme', 'Acme')")
    db.execute(
        "INSERT INTO orders.channels (tenant_id, channel_id, platform, name, currency)"
        " VALUES ('acme', 'shop', 'shopify', 'Shop', 'USD')"
    )


@pytest.mark.cli("bank import", "recon match", "recon unmatched")
def test_import_a_statement_match_and_list_unmatched(
    cli: Cli, db: psycopg.Connection[Any], tmp_path: Path
) -> None:
    _tenant(db)
    # the payout the statement's SHOPIFY PAYOUT line pays (same reference, amount, date)
    db.execute(
        "INSERT INTO orders.payouts (tenant_id, channel_id, payout_id, status, amount, currency,"
        " payout_date, arrival_date, bank_reference) VALUES ('acme', 'shop', '623721858',"
        " 'paid', 41.90, 'USD', '2019-11-11', '2019-11-12', '623721858')"
    )
    lines = len(STATEMENT.read_text().splitlines()) - 1
    first = cli("bank", "import", str(STATEMENT), "--tenant", "acme", "--json")
    assert first.code == 0, first
    facts = first.json()
    assert IMPORT_KEYS <= set(facts)
    assert facts["lines"] == facts["new_lines"] == lines and facts["already_imported"] is False
    again = cli("bank", "import", str(STATEMENT), env={"PGBOOKS_TENANT": "acme"})
    assert again.code == 0 and "already imported" in again.stdout, again

    bad = tmp_path / "broken.csv"
    bad.write_text(STATEMENT.read_text().replace("41.90", "forty-one"))
    refused = cli("bank", "import", str(bad), "--tenant", "acme")
    assert refused.code == 1 and "broken.csv refused, nothing imported" in refused.stderr

    match = cli("recon", "match", "--tenant", "acme", "--json")
    res = match.json()
    assert set(res) == MATCH_KEYS
    attention = bool(res["unmatched_payouts"] or res["inconsistent_payouts"])
    assert match.code == (3 if attention else 0), match
    matched = res["matched_reference"] + res["matched_amount_date"] + res["matched_batch"]
    assert matched == 1 and res["unmatched_payouts"] == 0
    human = cli("recon", "match", "--tenant", "acme")
    assert "unmatched_payouts: 0" in human.stdout

    unmatched = cli("recon", "unmatched", "--tenant", "acme", "--json")
    rows = unmatched.json()["unmatched"]
    assert unmatched.code == (3 if rows else 0), unmatched
    assert all(set(r) == {"side", "key", "amount", "currency", "on_date", "age_days", "reason"}
               for r in rows)  # fmt: skip
    assert "623721858" not in {r["key"] for r in rows}  # the matched payout is not listed
    human = cli("recon", "unmatched", "--tenant", "acme")
    assert human.code == unmatched.code


def _exceptions(db: psycopg.Connection[Any]) -> dict[str, int]:
    db.execute("INSERT INTO orders.tenants (tenant_id, name) VALUES ('acme', 'Acme')")
    ids: dict[str, int] = {}
    for name, code in (
        ("a", "ITEM_UNMAPPED"),
        ("b", "ITEM_UNMAPPED"),
        ("c", "QBO_FAULT_6240"),
        ("d", "READBACK_DIFF"),
    ):
        row = db.execute(
            "INSERT INTO books.documents (tenant_id, doc_type, source_type, source_id, status,"
            " currency, total_amount) VALUES ('acme', 'sales_receipt', 'order', %s, 'blocked',"
            " 'USD', 10) RETURNING document_id",
            (name,),
        ).fetchone()
        assert row is not None
        row = db.execute(
            "INSERT INTO sync.exceptions (tenant_id, document_id, reason_code, category, message,"
            " diff) VALUES ('acme', %s, %s, 'mapping', %s, %s) RETURNING exception_id",
            (row[0], code, f"{code} on {name}", json.dumps({"TotalAmt": [10, 11]})),
        ).fetchone()
        assert row is not None
        ids[name] = int(row[0])
    return ids


@pytest.mark.cli(
    "exceptions list", "exceptions show", "exceptions retry", "exceptions resolve",
    "exceptions ignore",
)  # fmt: skip
def test_work_the_exception_queue(cli: Cli, db: psycopg.Connection[Any]) -> None:
    ids = _exceptions(db)
    cli.env["PGBOOKS_TENANT"] = "acme"
    listed = cli("exceptions", "list", "--json")
    assert listed.code == 0, listed
    rows = listed.json()["exceptions"]
    assert [r["exception_id"] for r in rows] == sorted(ids.values())
    assert {"exception_id", "status", "reason_code", "occurrences", "message"} <= set(rows[0])
    human = cli("exceptions", "list", "--reason-code", "ITEM_UNMAPPED")
    assert len(human.stdout.splitlines()) == 2 and "QBO_FAULT_6240" not in human.stdout

    shown = cli("exceptions", "show", str(ids["c"]), "--json")
    assert shown.code == 0, shown
    assert shown.json()["diff"] == {"TotalAmt": [10, 11]} and shown.json()["remedy"]
    assert "remedy" in cli("exceptions", "show", str(ids["c"])).stdout

    empty_reason = cli("exceptions", "resolve", str(ids["c"]), "--reason", " ")
    assert empty_reason.code == 2 and "--reason" in empty_reason.stderr
    both = cli("exceptions", "retry", str(ids["c"]), "--reason-code", "X", "--reason", "r")
    assert both.code == 2

    resolved = cli("exceptions", "resolve", str(ids["c"]), "--reason", "fixed", "--json")
    assert resolved.code == 0 and resolved.json()["status"] == "resolved", resolved
    ignored = cli("exceptions", "ignore", str(ids["d"]), "--reason", "accepted", "--actor", "bob")
    assert ignored.code == 0, ignored
    assert ignored.stdout.startswith(f"exception {ids['d']}: ignored by bob")
    retried = cli("exceptions", "retry", "--reason-code", "ITEM_UNMAPPED", "--reason", "mapped")
    assert retried.code == 0, retried
    assert retried.stdout.startswith("retried 2 open ITEM_UNMAPPED exception(s)")
    assert cli("exceptions", "list", "--json").json() == {"exceptions": []}
    everything = cli("exceptions", "list", "--status", "all", "--json").json()["exceptions"]
    assert sorted(r["status"] for r in everything) == [
        "ignored",
        "resolved",
        "resolved",
        "resolved",
    ]
    actors = db.execute(
        "SELECT app_user FROM audit.events WHERE table_name = 'sync.exceptions'"
        " AND operation = 'UPDATE' AND row_key->>'exception_id' = %s",
        (str(ids["d"]),),
    ).fetchall()
    assert ("bob",) in actors


@pytest.mark.cli("recon refresh")
def test_refresh_the_reconciliation_rollup(cli: Cli, db: psycopg.Connection[Any]) -> None:
    _tenant(db)
    db.execute(
        "INSERT INTO orders.orders (tenant_id, channel_id, order_id, currency, stated_total,"
        " placed_at) VALUES ('acme', 'shop', '1001', 'USD', 10.50, '2026-01-05T10:00:00Z')"
    )
    everything = cli("recon", "refresh", "--tenant", "acme", "--all", "--json")
    assert everything.code == 0, everything
    days = everything.json()["days"]
    assert isinstance(days, int) and days >= 1  # at least the order's day
    again = cli("recon", "refresh", "--tenant", "acme")
    assert again.code == 0 and again.stdout.startswith("0 day(s) recomputed"), again
