"""The QuickBooks books closing date as an operator sees it: read by `pgbooks connect`, honoured
by `pgbooks worker` (nothing dated on or before it is sent), shown by `pgbooks status` and by the
PERIOD_CLOSED exception of `pgbooks exceptions list` (hold policy), over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from qbo_sandbox.testing import SandboxHandle, running_sandbox

from ..books.helpers import load_shopify_order, shopify_order
from .conftest import Cli


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxHandle]:
    with running_sandbox(seed=5) as sb:
        yield sb


@pytest.mark.cli("connect", "worker", "status", "exceptions list")
def test_closing_date_read_at_connect_shown_by_status_and_exceptions(
    cli: Cli, db: psycopg.Connection[Any], sandbox: SandboxHandle
) -> None:
    realm = sandbox.admin.create_realm(name="Closed books CLI")["realm_id"]
    sandbox.admin.preferences({"AccountingInfoPrefs": {"BookCloseDate": "2025-07-31"}}, realm)
    db.execute("INSERT INTO orders.tenants (tenant_id, name) VALUES ('shop', 'Shop')")
    db.execute(
        "INSERT INTO sync.settings (tenant_id, debounce, claim_timeout)"
        " VALUES ('shop', '20 milliseconds', '2 seconds')"
    )
    db.execute(
        "INSERT INTO books.tenant_settings (tenant_id, closed_period_policy)"
        " VALUES ('shop', 'hold')"
    )
    done = cli("connect", "--tenant", "shop", "--base-url", sandbox.base_url, "--realm", realm)
    assert done.code == 0, done
    load_shopify_order(
        db,
        "shop",
        shopify_order(1073459972),  # placed 2025-07-02
        transactions=[{"transaction_id": "t1", "kind": "sale", "amount": "199.00"}],
    )
    drained = cli("worker", "--until-idle", "--loops", "1", "--json")
    assert drained.code == 0, drained
    assert sandbox.admin.entities("SalesReceipt", realm) == []  # held, never sent

    status = cli("status", "--json")
    assert status.code == 3, status  # an open exception needs attention
    (row,) = status.json()["realms"]
    assert row["qbo_book_close_date"] == "2025-07-31" and row["open_exceptions"] >= 1
    human = cli("status")
    assert "books closed" in human.stdout and "2025-07-31" in human.stdout, human

    listed = cli("exceptions", "list", "--tenant", "shop", "--json")
    assert listed.code == 0, listed
    (exc,) = [e for e in listed.json()["exceptions"] if e["reason_code"] == "PERIOD_CLOSED"]
    assert "QuickBooks books closing date 2025-07-31" in exc["message"]
