"""`pgbooks qbo import|repost` as a user runs them (tests/qbobackfill covers resume and linking;
here: exit codes, human and --json output, secrets, against a connected sandbox company)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from qbo_sandbox.testing import SandboxHandle, running_sandbox

from .conftest import Cli

IMPORT_KEYS = {
    "tenant_id",
    "realm_id",
    "rows",
    "entities",
    "pages",
    "resumed",
    "skipped",
    "maps",
    "seconds",
}
REPOST_KEYS = {
    "tenant_id",
    "from",
    "to",
    "total",
    "done_before",
    "orders",
    "resumed",
    "completed",
    "outcomes",
    "dependencies",
    "errors",
    "seconds",
}


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxHandle]:
    with running_sandbox(seed=5) as sb:
        yield sb


@pytest.mark.cli("qbo import", "qbo repost")
def test_import_a_company_then_repost_a_month(
    cli: Cli, db: psycopg.Connection[Any], sandbox: SandboxHandle
) -> None:
    realm = sandbox.admin.create_realm(name="History company")["realm_id"]
    db.execute("INSERT INTO orders.tenants (tenant_id, name) VALUES ('acme', 'Acme')")
    connected = cli("connect", "--tenant", "acme", "--base-url", sandbox.base_url, "--realm", realm)
    assert connected.code == 0, connected

    imported = cli("qbo", "import", "--realm", realm, "--entities", "account,item", "--json")
    assert imported.code == 0, imported
    facts = imported.json()
    assert set(facts) == IMPORT_KEYS and facts["realm_id"] == realm
    assert facts["tenant_id"] == "acme" and facts["rows"] > 0  # the seeded chart and items
    mirrored = db.execute("SELECT count(*) FROM sync.qbo_mirror WHERE tenant_id = 'acme'")
    assert mirrored.fetchone() == (facts["rows"],)
    human = cli("qbo", "import", "--realm", realm, "--entities", "account", "--no-maps")
    assert human.code == 0 and human.stdout.startswith("imported "), human
    assert human.stderr == ""  # piped: no progress bar
    bad = cli("qbo", "import", "--realm", realm, "--entities", "nonsense")
    assert bad.code == 2 and "--entities" in bad.stderr, bad

    reposted = cli(
        "qbo", "repost", "--tenant", "acme", "--from", "2025-06-01", "--to", "2025-07-01", "--json"
    )
    assert reposted.code == 0, reposted
    facts = reposted.json()
    assert set(facts) == REPOST_KEYS
    assert facts["orders"] == 0 and facts["completed"] is True and facts["errors"] == []
    wrong = cli("qbo", "repost", "--tenant", "acme", "--from", "June", "--to", "2025-07-01")
    assert wrong.code == 2 and "YYYY-MM-DD" in wrong.stderr, wrong
