"""`pgbooks inbound ...` as a user runs it (subprocess against a real database and sandbox)."""

from __future__ import annotations

import json
import os
import signal
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


@pytest.mark.cli("inbound process", "inbound run")
def test_inbound_process_once_and_run_until_sigterm(two_way: TwoWay) -> None:
    url = two_way.books.db_url
    ok = _pgbooks(url, "policy", "Invoice", "PrivateNote", "qbo_wins", "--json")
    assert ok.returncode == 0, ok.stderr
    oid = two_way.order()
    two_way.deliver()
    inv = two_way.document(oid)

    # process: applies what is pending (a change captured as a webhook would), once.
    edited = two_way.edit("Invoice", inv["remote_id"], PrivateNote="by hand")
    two_way.db.execute(
        "SELECT logic.inbound_change__capture(%s, %s, 'Invoice', %s, 'Update', %s, 'manual')",
        (two_way.tenant, two_way.realm, inv["remote_id"], edited["MetaData"]["LastUpdatedTime"]),
    )
    once = _json(_pgbooks(url, "process", "--json"))
    assert once["applied"] == 1 and once["outcomes"] == {"accepted": 1}, once
    assert _pgbooks(url, "process").stdout.startswith("applied 0 change(s)")

    # run: a later edit is found by its own CDC sweep when due; SIGTERM is a clean stop (exit 0).
    two_way.edit("Invoice", inv["remote_id"], PrivateNote="second edit")
    two_way.db.execute(
        "UPDATE sync.inbound_realms SET next_sweep_at = now() WHERE tenant_id = %s",
        (two_way.tenant,),
    )
    env = {**os.environ, "DATABASE_URL": url, "PGBOOKS_TENANT": "acme"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "pgbooks", "inbound", "run", "--poll", "0.2", "--json"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        rows = two_way.wait_changes(
            lambda rs: any(r["source"] == "cdc" and r["status"] == "applied" for r in rs), 60
        )
        assert any(r["source"] == "cdc" and r["outcome"] == "accepted" for r in rows), rows
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert json.loads(out)["applied"] >= 1
    assert "Traceback" not in err
