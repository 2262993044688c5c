"""`pgbooks audit ...` and `pgbooks close ...` as an auditor and a DBA run them: keys, chain
verification, receipts, signed exports verified offline, the four-eyes period close."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import psycopg
import pytest

from .conftest import Cli


def _books(db: psycopg.Connection[Any]) -> None:
    db.execute("SELECT set_config('pgbooks.user', 'alice', false)")
    db.execute("INSERT INTO orders.tenants (tenant_id, name) VALUES ('t1', 'One')")
    db.execute(
        "INSERT INTO orders.channels (tenant_id, channel_id, platform, name, currency)"
        " VALUES ('t1', 'shop', 'shopify', 'Shop', 'USD')"
    )
    db.execute(
        "INSERT INTO orders.orders (tenant_id, channel_id, order_id, currency, stated_total)"
        " VALUES ('t1', 'shop', '1001', 'USD', 10.50)"
    )
    db.execute(
        "INSERT INTO books.documents"
        " (tenant_id, doc_type, source_type, source_id, txn_date, currency, total_amount)"
        " VALUES ('t1', 'sales_receipt', 'order', '1001', '2026-01-05', 'USD', 10.50),"
        "        ('t1', 'sales_receipt', 'order', '1002', '2026-01-20', 'USD', 5.25)"
    )


@pytest.mark.cli(
    "audit keygen", "audit verify", "audit checkpoint", "audit receipt", "audit export",
    "audit verify-bundle",
)  # fmt: skip
def test_keys_verify_checkpoint_receipt_and_an_offline_bundle(
    cli: Cli, db: psycopg.Connection[Any], tmp_path: Path
) -> None:
    _books(db)
    key = tmp_path / "audit.key"
    made = cli("audit", "keygen", str(key), "--json")
    assert made.code == 0, made
    pub = made.json()["public_key"]
    assert len(pub) == 64 and made.json()["key"] == str(key)
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    private = key.read_text()
    assert "PRIVATE KEY" in private
    assert cli("audit", "keygen", str(key)).code == 1  # never overwrites a key

    ok = cli("audit", "verify", "t1", "--json")
    assert ok.code == 0, ok
    facts = ok.json()
    assert facts["ok"] is True and facts["checked"] >= 3
    human = cli("audit", "verify", "t1")
    assert human.stdout.startswith(f"ok: {facts['checked']} events"), human

    signed = cli("audit", "checkpoint", "t1", "--key", str(key), "--json")
    assert signed.code == 0, signed
    (cp,) = signed.json()["checkpoints"]
    assert cp["tenant_id"] == "t1" and cp["seq"] == facts["head_seq"]
    every = cli("audit", "checkpoint", env={"PGBOOKS_AUDIT_KEY": str(key)})
    assert every.code == 0 and every.stdout.startswith("t1: seq"), every

    receipt = cli("audit", "receipt", "1001", "--json")
    assert receipt.code == 0, receipt
    assert receipt.json()["tenant_id"] == "t1"
    assert [d["source_id"] for d in receipt.json()["documents"]] == ["1001"]
    human = cli("audit", "receipt", "1001", "--tenant", "t1")
    assert "document" in human.stdout and "audit #" in human.stdout

    out = tmp_path / "chain"
    exported = cli("audit", "export", "t1", str(out), "--key", str(key))
    assert exported.code == 0 and f"files to {out}" in exported.stdout, exported
    bundle = cli("audit", "verify-bundle", str(out), "--public-key", pub, "--json")
    assert bundle.code == 0, bundle
    assert bundle.json()["ok"] is True and bundle.json()["problems"] == []
    events = out / "audit_events.jsonl"
    events.write_bytes(events.read_bytes().replace(b"1001", b"1003", 1))
    tampered = cli("audit", "verify-bundle", str(out))
    assert tampered.code == 3 and "FAILED" in tampered.stdout, tampered

    for res in (made, signed, every, exported):
        assert private.strip().splitlines()[1] not in res.stdout + res.stderr


@pytest.mark.cli(
    "close period", "close override-request", "close override-approve", "close export",
    "close reopen",
)  # fmt: skip
def test_four_eyes_close_export_and_reopen(
    cli: Cli, db: psycopg.Connection[Any], tmp_path: Path
) -> None:
    _books(db)
    refused = cli("close", "period", "t1", "2026-01", "--user", "alice")
    assert refused.code == 1 and "PB722" in refused.stderr, refused
    assert "2 unposted document(s)" in refused.stderr

    asked = cli(
        "close", "override-request", "t1", "close_period", "2026-01", "--reason", "deadline",
        "--user", "alice", "--json",
    )  # fmt: skip
    assert asked.code == 0, asked
    oid = str(asked.json()["override_id"])
    same = cli("close", "override-approve", "t1", oid, "--reason", "me", "--user", "alice")
    assert same.code == 1 and "PB712" in same.stderr, same
    approved = cli(
        "close", "override-approve", "t1", oid, "--reason", "checked", "--json",
        env={"PGBOOKS_USER": "bob"},
    )  # fmt: skip
    assert approved.code == 0 and approved.json() == {"override_id": int(oid), "approved": True}

    closed = cli("close", "period", "t1", "2026-01", "--override", oid, "--user", "alice")
    assert closed.code == 0 and "t1 2026-01: closed" in closed.stdout, closed

    key = tmp_path / "audit.key"
    assert cli("audit", "keygen", str(key)).code == 0
    out = tmp_path / "close-2026-01"
    exported = cli(
        "close", "export", "t1", "2026-01", str(out), "--key", str(key), "--user", "carol",
        "--json",
    )  # fmt: skip
    assert exported.code == 0, exported
    manifest = exported.json()
    assert manifest["kind"] == "period" and "documents.jsonl" in manifest["files"]
    assert cli("audit", "verify-bundle", str(out)).code == 0
    again = cli("close", "export", "t1", "2026-01", str(out), "--user", "carol")
    assert again.code == 1 and "not empty" in again.stderr, again

    asked = cli(
        "close", "override-request", "t1", "reopen_period", "2026-01", "--reason", "late refund",
        "--user", "alice",
    )  # fmt: skip
    assert asked.code == 0 and asked.stdout.startswith("override "), asked
    rid = asked.stdout.split()[1]
    cli("close", "override-approve", "t1", rid, "--reason", "ok", "--user", "bob")
    reopened = cli("close", "reopen", "t1", "2026-01", "--override", rid, "--user", "alice")
    assert reopened.code == 0 and "t1 2026-01: reopened" in reopened.stdout, reopened
