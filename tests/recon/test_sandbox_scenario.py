"""The seeded scenario (views/examples/recon_seed.sql) delivered to the local QuickBooks sandbox
over real HTTP by the worker: QuickBooks acknowledges what is deliverable, and the payouts still
reconcile to zero unexplained cents."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import psycopg
import pytest

from pgbooks.sync.oauth import connect
from qbo_sandbox.testing import SandboxHandle, running_sandbox
from tests.recon.test_examples import seed
from tests.sync.conftest import drain


@pytest.fixture(autouse=True)
def _secret_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PGBOOKS_SECRET_KEY", "test-secret-key-for-pgbooks-recon")


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxHandle]:
    with running_sandbox(seed=12) as sb:
        yield sb


def test_seeded_scenario_through_the_sandbox(
    db: psycopg.Connection, db_url: str, sandbox: SandboxHandle
) -> None:
    seed(db)
    # the example's stand-in acknowledgement goes: the real one comes from the sandbox
    db.execute("DELETE FROM sync.remote_objects WHERE tenant_id = 'demo'")
    realm = sandbox.admin.create_realm(name="Demo Shop")["realm_id"]
    # the company's chart of accounts, with the ids the seed maps its roles to
    accounts = db.execute(
        "SELECT account_id, account_name, role FROM books.account_map WHERE tenant_id = 'demo'"
    ).fetchall()
    kinds = {"bank": "Bank", "income": "Income", "processor_fees": "Expense"}
    sandbox.admin.import_entities(
        {
            "Account": [
                {
                    "Id": a,
                    "Name": n,
                    "AccountType": kinds.get(r, "Other Current Asset"),
                    "Active": True,
                }
                for a, n, r in accounts
            ]
        },
        realm=realm,
    )
    db.execute(
        "INSERT INTO sync.settings (tenant_id, debounce, claim_timeout)"
        " VALUES ('demo', '20 milliseconds', '2 seconds')"
    )
    connect(
        db_url,
        "demo",
        api_base_url=sandbox.base_url,
        discovery_url=f"{sandbox.base_url}/.well-known/openid_configuration",
        realm_id=realm,
    )
    drain(db_url, timeout=60)
    rows = db.execute(
        "SELECT day::text, source_type, channel_id, documents, acknowledged, completeness"
        " FROM analytics.rpt_completeness WHERE tenant_id = 'demo' ORDER BY 1, 2, 3"
    ).fetchall()
    # every deliverable document is acknowledged; what diverges is exactly what the seed broke
    assert rows == [
        ("2024-03-01", "order", "shop", 1, 1, "events_not_applied"),  # quarantined delivery
        ("2024-03-02", "payout", "stripe", 1, 1, "complete"),
        ("2024-03-03", "order", "shop", 1, 0, "amount_mismatch"),  # o3 blocked: lines 12 != 15
        ("2024-03-03", "refund", "shop", 0, 0, "missing_documents"),  # refunds without an order
        ("2024-03-04", "payout", "shop", 1, 1, "complete"),
        ("2024-03-04", "payout", "stripe", 1, 0, "amount_mismatch"),  # po_bad: 505 vs 500
        ("2024-03-06", "payout", "shop", 2, 2, "complete"),
        ("2024-03-07", "refund", "shop", 0, 0, "missing_documents"),
    ]
    health = db.execute(
        "SELECT realm_id, backlog, accepted_1h, failures_1h, error_rate_pct, open_exceptions"
        " FROM analytics.rpt_sync_health WHERE tenant_id = 'demo'"
    ).fetchone()
    assert health == (realm, 0, 6, 0, Decimal("0.00"), 2)
    assert db.execute(
        "SELECT reason_code FROM sync.exceptions WHERE status = 'open' ORDER BY 1"
    ).fetchall() == [("PAYOUT_MISMATCH",), ("TOTALS_MISMATCH",)]
    deposits = sandbox.admin.entities("Deposit", realm)
    assert sorted(Decimal(str(d["TotalAmt"])) for d in deposits) == [
        Decimal("40.00"),
        Decimal("60.00"),
        Decimal("100.00"),
        Decimal("250.00"),
    ]
    unexplained = db.execute(
        "SELECT count(*), sum(abs(total_difference - explained))"
        " FROM analytics.rpt_payout_variance_check WHERE tenant_id = 'demo'"
    ).fetchone()
    assert unexplained == (6, Decimal("0"))
