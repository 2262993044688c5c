"""`pgbooks sandbox serve`, `connect`, `worker` and `status` as a user runs them: the sandbox
is a real HTTP server, the OAuth flow and the delivery go over real HTTP."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from pgbooks.sync.crypto import TokenCipher
from qbo_sandbox.testing import SandboxHandle, running_sandbox

from .conftest import SECRET_KEY, Cli, free_port

REALM_KEYS = {
    "tenant_id",
    "realm_id",
    "backlog",
    "held",
    "oldest_pending_s",
    "accepted_5m",
    "accepted_1h",
    "failures_1h",
    "open_exceptions",
    "paused",
    "token_expired",
    "reconnect_due_days",
    "last_success_at",
}


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxHandle]:
    with running_sandbox(seed=3) as sb:
        yield sb


@pytest.mark.cli("sandbox serve")
def test_sandbox_serve_answers_then_stops_cleanly_and_writes_its_snapshot(
    cli: Cli, tmp_path: Path
) -> None:
    port = free_port()
    snapshot = tmp_path / "snapshot.json"
    server = cli.start("sandbox", "serve", "--port", str(port), "--snapshot", str(snapshot))
    disco = server.wait_http(f"http://127.0.0.1:{port}/.well-known/openid_configuration")
    assert disco.status_code == 200 and "token_endpoint" in disco.json()
    stopped = server.terminate()
    assert stopped.code == 0, stopped.stdout
    assert json.loads(snapshot.read_text())  # written at shutdown: the stop was graceful


def _customer(db: psycopg.Connection[Any], name: str) -> int:
    row = db.execute(
        "INSERT INTO books.documents (tenant_id, doc_type, source_type, source_id, body)"
        " VALUES ('acme', 'customer', 'manual', %s, %s) RETURNING document_id",
        (name, json.dumps({"DisplayName": name})),
    ).fetchone()
    assert row is not None
    return int(row[0])


def _remote_id(db: psycopg.Connection[Any], document_id: int) -> str | None:
    row = db.execute(
        "SELECT remote_id FROM sync.remote_objects WHERE tenant_id = 'acme' AND document_id = %s",
        (document_id,),
    ).fetchone()
    return None if row is None else str(row[0])


@pytest.mark.cli("connect", "worker", "status")
def test_connect_deliver_and_status(
    cli: Cli, db: psycopg.Connection[Any], sandbox: SandboxHandle
) -> None:
    realm = sandbox.admin.create_realm(name="CLI company")["realm_id"]
    db.execute("INSERT INTO orders.tenants (tenant_id, name) VALUES ('acme', 'Acme')")
    db.execute(
        "INSERT INTO sync.settings (tenant_id, debounce, claim_timeout)"
        " VALUES ('acme', '20 milliseconds', '2 seconds')"
    )
    waiting = cli("status")
    assert waiting.code == 3 and "not connected" in waiting.stdout, waiting

    no_key = cli(
        "connect", "--tenant", "acme", "--base-url", sandbox.base_url, "--realm", realm,
        unset=("PGBOOKS_SECRET_KEY",),
    )  # fmt: skip
    assert no_key.code == 1 and "PGBOOKS_SECRET_KEY" in no_key.stderr, no_key

    done = cli("connect", "--tenant", "acme", "--base-url", sandbox.base_url, "--realm", realm)
    assert done.code == 0, done
    assert f"connected tenant acme to realm {realm}" in done.stdout
    stored = db.execute(
        "SELECT access_token_enc, refresh_token_enc FROM sync.connections WHERE tenant_id = 'acme'"
    ).fetchone()
    assert stored is not None
    for blob in stored:  # stored encrypted, never printed
        token = TokenCipher(SECRET_KEY).decrypt(blob)
        assert len(token) > 8 and token not in done.stdout + done.stderr
    again = cli(
        "connect", "--tenant", "acme", "--base-url", sandbox.base_url, "--realm", realm, "--json",
        "--no-discover",
    )  # fmt: skip
    assert again.code == 0, again
    facts = again.json()
    assert facts["tenant_id"] == "acme" and facts["realm_id"] == realm
    assert not {"access_token", "refresh_token"} & set(facts)

    first = _customer(db, "Ann Smith")
    drained = cli("worker", "--until-idle", "--loops", "1", "--json")
    assert drained.code == 0, drained
    stats = drained.json()
    assert {"requests", "accepted", "failed"} <= set(stats) and stats["accepted"] >= 1
    assert _remote_id(db, first) is not None

    # a long-running worker: delivers what arrives, stops cleanly on SIGTERM
    second = _customer(db, "Bob Jones")
    server = cli.start("worker", "--name", "cli-test", "--loops", "1")
    deadline = time.monotonic() + 60
    while _remote_id(db, second) is None:
        assert server.proc.poll() is None, server.output()
        assert time.monotonic() < deadline, server.output()
        time.sleep(0.2)
    stopped = server.terminate()
    assert stopped.code == 0, stopped.stdout
    assert "worker stopped" in stopped.stdout and SECRET_KEY not in stopped.stdout

    # an order written while no worker runs waits in the derive queue, and status says so
    db.execute(
        "INSERT INTO orders.channels (tenant_id, channel_id, platform, name, currency)"
        " VALUES ('acme', 'app', 'custom', 'App', 'USD')"
    )
    db.execute(
        "INSERT INTO orders.orders (tenant_id, channel_id, order_id, currency, stated_total)"
        " VALUES ('acme', 'app', 'o1', 'USD', 0)"
    )
    status = cli("status", "--json")
    assert status.code == 0, status
    facts = status.json()
    assert set(facts) == {"realms", "raw_events", "derive_backlog", "attention", "at"}
    (queued,) = facts["derive_backlog"]
    assert (queued["tenant_id"], queued["pending"], queued["failing"]) == ("acme", 1, 0)
    (row,) = facts["realms"]
    assert REALM_KEYS <= set(row)
    assert row["realm_id"] == realm and row["backlog"] == 0 and row["accepted_1h"] >= 2
    human = cli("status")
    assert human.code == 0 and "acme" in human.stdout and "valid" in human.stdout
    assert "books derive queue: 1 orders/payouts waiting" in human.stdout
