"""Signed checkpoints and exported bundles, verified offline by `pgbooks audit verify-bundle`."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

from pgbooks.audit import bundle, ops, signing
from pgbooks.cli import app


@pytest.fixture
def key_path(tmp_path: Path) -> Path:
    path = tmp_path / "audit.key"
    signing.generate_key(path)
    return path


@pytest.fixture
def closed(books: psycopg.Connection) -> psycopg.Connection:
    books.execute("SELECT set_config('pgbooks.user', 'alice', false)")
    oid = books.execute(
        "SELECT close.override__request('t1', 'close_period', '2026-01', 'deadline')"
    ).fetchone()
    assert oid is not None
    books.execute("SELECT set_config('pgbooks.user', 'bob', false)")
    books.execute("SELECT close.override__approve('t1', %s, 'ok')", (oid[0],))
    books.execute("SELECT set_config('pgbooks.user', 'alice', false)")
    books.execute("SELECT close.close_period('t1', '2026-01', %s)", (oid[0],))
    return books


def test_checkpoint_is_signed_outside_and_checked_inside(
    books: psycopg.Connection, key_path: Path
) -> None:
    key = signing.load_key(key_path)
    cp = ops.checkpoint(books, "t1", key)
    stored = books.execute(
        "SELECT statement, public_key, signature FROM audit.checkpoints WHERE tenant_id = 't1'"
    ).fetchone()
    assert stored is not None and json.loads(stored[0])["seq"] == cp["seq"] == 3
    assert signing.verify_signature(
        signing.CHECKPOINT_DOMAIN, stored[0].encode(), bytes(stored[1]), bytes(stored[2])
    )
    forged = signing.sign_checkpoint(key, "t1", 2, "ab" * 32)
    with pytest.raises(psycopg.Error) as err:
        books.execute(
            "SELECT close.checkpoint__record('t1', %s, %s, %s)",
            (forged.statement, forged.public_key, forged.signature),
        )
    assert err.value.sqlstate == "PB703"


def test_deleted_tail_is_caught_by_checkpoint(books: psycopg.Connection, key_path: Path) -> None:
    ops.checkpoint(books, "t1", signing.load_key(key_path))  # head seq 3, event 4 logs it
    books.execute("SET session_replication_role = replica")
    books.execute("DELETE FROM audit.events WHERE tenant_id = 't1' AND seq >= 3")
    books.execute("SET session_replication_role = origin")
    res = ops.verify(books, "t1")
    assert res["ok"] is False and res["first_bad_seq"] == 3
    assert "events deleted" in res["problem"]


def test_chain_export_proves_the_chain_only_grew(
    books: psycopg.Connection, key_path: Path, tmp_path: Path
) -> None:
    key = signing.load_key(key_path)
    ops.checkpoint(books, "t1", key)
    books.execute("UPDATE books.documents SET total_amount = 12 WHERE source_id = '1001'")
    out = tmp_path / "chain"
    ops.export_chain(books, "t1", out, key)
    pub = signing.load_public(str(key_path) + ".pub")
    rep = bundle.verify_bundle(out, pub)
    assert rep.ok, rep.problems
    assert rep.facts["checkpoints_verified"] == 2
    # A superuser rewrites history and re-hashes the whole chain: the old signed head is gone.
    books.execute("SET session_replication_role = replica")
    books.execute(
        "UPDATE audit.events SET app_user = 'mallory', canonical = logic.audit__canonical_v2("
        "tenant_id, seq, event_time, txid, db_role, 'mallory', reason_code, table_name, operation,"
        " row_key, before, after) WHERE tenant_id = 't1' AND seq = 2"
    )
    books.execute(
        """
        DO $$
        DECLARE r record; v_prev bytea := '\\x' || repeat('00', 32);
        BEGIN
          FOR r IN SELECT * FROM audit.events WHERE tenant_id = 't1' ORDER BY seq LOOP
            UPDATE audit.events SET prev_hash = v_prev, canonical = logic.audit__canonical_v2(
              r.tenant_id, r.seq, r.event_time, r.txid, r.db_role, r.app_user, r.reason_code,
              r.table_name, r.operation, r.row_key, r.before, r.after)
            WHERE tenant_id = 't1' AND seq = r.seq;
            UPDATE audit.events SET hash = sha256(v_prev || convert_to(canonical, 'UTF8'))
            WHERE tenant_id = 't1' AND seq = r.seq
            RETURNING hash INTO v_prev;
          END LOOP;
        END $$
        """
    )
    books.execute("SET session_replication_role = origin")
    out2 = tmp_path / "chain2"
    bundle.write_bundle(out2, ops._chain_files(books, "t1"), kind="chain", key=key)
    rep = bundle.verify_bundle(out2, pub)
    assert not rep.ok
    assert any("not on the exported chain" in p for p in rep.problems)


def test_period_bundle_verifies_and_fails_after_any_byte_change(
    closed: psycopg.Connection, key_path: Path, tmp_path: Path, db_url: str
) -> None:
    out = tmp_path / "bundle"
    runner = CliRunner()
    env = {"DATABASE_URL": db_url, "PGBOOKS_USER": "carol"}
    res = runner.invoke(
        app, ["close", "export", "t1", "2026-01", str(out), "--key", str(key_path)], env=env
    )
    assert res.exit_code == 0, res.output
    names = sorted(p.name for p in out.iterdir())
    assert {"documents.jsonl", "audit_events.jsonl", "checkpoints.jsonl", "manifest.json"} <= set(
        names
    )
    docs = (out / "documents.jsonl").read_text().splitlines()
    assert [json.loads(d)["source_id"] for d in docs] == ["1001", "1002"]
    pub = (Path(str(key_path) + ".pub")).read_text().strip()
    ok = runner.invoke(app, ["audit", "verify-bundle", str(out), "--public-key", pub, "--json"])
    assert ok.exit_code == 0, ok.output
    facts = json.loads(ok.output)
    assert facts["checkpoints_verified"] >= 1 and facts["documents"] == 2
    assert facts["period"] == "2026-01"

    for name in names:
        path = out / name
        original = path.read_bytes()
        variants = [original + b"\n"]  # an added byte (the only change of an empty file)
        for pos in {0, len(original) // 2, len(original) - 1} if original else ():
            changed = bytearray(original)
            changed[pos] ^= 0x01
            variants.append(bytes(changed))
        for variant in variants:
            path.write_bytes(variant)
            bad = runner.invoke(app, ["audit", "verify-bundle", str(out)])
            assert bad.exit_code == 3, f"{name} change not detected: {variant[:40]!r}"
        path.write_bytes(original)
    assert runner.invoke(app, ["audit", "verify-bundle", str(out)]).exit_code == 0
    # a re-signed bundle by another key is refused when the auditor pins the key
    (out / "extra.txt").write_text("x")
    assert runner.invoke(app, ["audit", "verify-bundle", str(out)]).exit_code == 3


def test_export_of_open_period_is_refused(books: psycopg.Connection, tmp_path: Path) -> None:
    with pytest.raises(psycopg.Error) as err:
        ops.export_period(books, "t1", "2026-01", tmp_path / "b", None)
    assert err.value.sqlstate == "PB724"


def test_cli_verify_reports_broken_chain(books: psycopg.Connection, db_url: str) -> None:
    runner = CliRunner()
    env = {"DATABASE_URL": db_url}
    assert runner.invoke(app, ["audit", "verify", "t1"], env=env).exit_code == 0
    books.execute("SET session_replication_role = replica")
    books.execute("UPDATE audit.events SET canonical = canonical || ' ' WHERE seq = 2")
    books.execute("SET session_replication_role = origin")
    res = runner.invoke(app, ["audit", "verify", "t1", "--json"], env=env)
    assert res.exit_code == 3
    assert json.loads(res.output)["first_bad_seq"] == 2
