"""`pgbooks inbound ...` as a user runs it (subprocess against a real database and sandbox)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest

from tests.inbound.conftest import TwoWay


def _pgbooks(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": url, "PGBOOKS_TENANT": "acme"}
    return subprocess.run(
        [sys.executable, "-m", "pgbooks", "inbound", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _json(proc: subprocess.CompletedProcess[str]) -> Any:
    assert proc.returncode in (0, 3), proc.stderr
    return json.loads(proc.stdout)


@pytest.mark.cli(
    "inbound enable", "inbound policy", "inbound sweep", "inbound status", "inbound take-theirs",
    "inbound take-ours", "inbound merge",
)  # fmt: skip
def test_inbound_cli_end_to_end(two_way: TwoWay) -> None:
    url = two_way.books.db_url
    # enable: the verifier token is stored, never printed.
    out = _pgbooks(url, "enable", "--verifier-token", "s3cret-token", "--sweep-min", "5", "--json")
    facts = _json(out)
    assert facts["has_verifier_token"] is True and "s3cret-token" not in out.stdout

    # policy: a money field is refused with the rule's name, a phone is accepted.
    bad = _pgbooks(url, "policy", "Invoice", "TotalAmt", "qbo_wins")
    assert bad.returncode == 1 and "conflict_policies_money_fields_review" in bad.stderr
    ok = _pgbooks(url, "policy", "Invoice", "PrivateNote", "qbo_wins", "--json")
    assert _json(ok)["policy"] == "qbo_wins"

    # An edit in QuickBooks, found by `inbound sweep`, shown by `inbound status`.
    oid = two_way.order()
    two_way.deliver()
    inv = two_way.document(oid)
    two_way.edit("Invoice", inv["remote_id"], PrivateNote="from the bookkeeper")
    swept = _json(_pgbooks(url, "sweep", "--json"))
    assert swept["outcomes"].get("accepted") == 1, swept

    # A reviewed field: status says attention (exit 3), take-theirs settles it.
    two_way.edit("Invoice", inv["remote_id"], TxnDate="2026-01-05")
    _json(_pgbooks(url, "sweep", "--json"))
    status = _pgbooks(url, "status")
    assert status.returncode == 3 and "open conflicts 1" in status.stdout
    [exc] = two_way.exceptions("CONFLICT_REVIEW")
    missing = _pgbooks(url, "take-theirs", str(exc["exception_id"]))
    assert missing.returncode == 2  # --reason is required
    done = _pgbooks(
        url, "take-theirs", str(exc["exception_id"]), "--reason", "date fixed", "--actor", "bob"
    )
    assert done.returncode == 0 and "take_theirs (bob)" in done.stdout
    again = _pgbooks(url, "take-ours", str(exc["exception_id"]), "--reason", "x")
    assert again.returncode == 1 and "PB812" in again.stderr
    status = _json(_pgbooks(url, "status", "--json"))
    assert status["tenants"][0]["open_conflicts"] == 0 and status["tenants"][0]["pending"] == 0
    merge_usage = _pgbooks(url, "merge", "1", "--take", "nonsense", "--reason", "x")
    assert merge_usage.returncode == 2
