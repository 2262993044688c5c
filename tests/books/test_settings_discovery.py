"""Tenant settings as rows, and defaults discovered from the QuickBooks company."""

from __future__ import annotations

from typing import Any

import httpx
import psycopg
import pytest
from psycopg.types.json import Jsonb

from pgbooks.books.discover import discover_company_defaults, fetch_company_facts


def test_discovery_reads_the_sandbox_company_and_maps_every_role(
    db: psycopg.Connection, sandbox: Any
) -> None:
    db.execute("INSERT INTO orders.tenants (tenant_id, name) VALUES ('acme', 'Acme')")
    with httpx.Client(timeout=10) as client:
        found = discover_company_defaults(
            db, "acme", client, sandbox.company_url, sandbox.access_token
        )
    assert found["missing_roles"] == []
    roles = dict(
        db.execute(
            "SELECT role, account_id FROM books.account_map WHERE tenant_id = 'acme'"
        ).fetchall()
    )
    # The demo chart of accounts (sandbox/qbo_sandbox/demo.py).
    assert roles["undeposited_funds"] == "4"
    assert roles["income"] == "1"
    assert roles["discounts"] == "11"
    assert roles["shipping_income"] == "12"
    assert roles["sales_tax_payable"] == "13"
    assert roles["processor_fees"] == "16"
    assert roles["bank"] == "6"
    assert roles["uncategorized_income"] == "3"
    assert roles["uncategorized_expense"] == "7"
    assert roles["clearing"] == "4"
    s = db.execute(
        "SELECT home_currency, multicurrency_enabled, custom_txn_numbers, shipping_item_id, "
        "gift_card_item_id, default_item_id, us_tax_code_id, discovered_at IS NOT NULL "
        "FROM books.tenant_settings WHERE tenant_id = 'acme'"
    ).fetchone()
    assert s == ("USD", False, False, "SHIPPING_ITEM_ID", "4", "3", "2", True)
    codes = dict(db.execute("SELECT tax_key, tax_code_id FROM books.tax_code_map").fetchall())
    assert codes == {"California": "2", "exempt": "NON"}


def test_rediscovery_keeps_manual_rows(db: psycopg.Connection, sandbox: Any) -> None:
    db.execute("INSERT INTO orders.tenants (tenant_id, name) VALUES ('acme', 'Acme')")
    db.execute(
        "INSERT INTO books.account_map (tenant_id, role, account_id, source) "
        "VALUES ('acme', 'income', '2', 'manual')"
    )
    with httpx.Client(timeout=10) as client:
        facts = fetch_company_facts(client, sandbox.company_url, sandbox.access_token)
    for _ in range(2):  # idempotent
        db.execute("SELECT api.tenant__apply_company_facts('acme', %s)", (Jsonb(facts),))
    assert db.execute(
        "SELECT account_id, source FROM books.account_map "
        "WHERE tenant_id = 'acme' AND role = 'income'"
    ).fetchone() == ("2", "manual")
    assert db.execute("SELECT count(*) FROM books.account_map WHERE role = 'bank'").fetchone() == (
        1,
    )


def test_facts_that_are_not_an_object_are_refused_with_pb501(db: psycopg.Connection) -> None:
    db.execute("INSERT INTO orders.tenants (tenant_id, name) VALUES ('acme', 'Acme')")
    with pytest.raises(psycopg.Error) as err:
        db.execute("SELECT api.tenant__apply_company_facts('acme', '[]')")
    assert err.value.sqlstate == "PB501"


def test_settings_reject_unknown_posting_mode(db: psycopg.Connection) -> None:
    db.execute("INSERT INTO orders.tenants (tenant_id, name) VALUES ('acme', 'Acme')")
    with pytest.raises(psycopg.errors.CheckViolation, match="tenant_settings_posting_mode_known"):
        db.execute(
            "INSERT INTO books.tenant_settings (tenant_id, posting_mode) VALUES ('acme', 'daily')"
        )


def test_worker_role_may_apply_facts_but_not_touch_tables(db: psycopg.Connection) -> None:
    db.execute("INSERT INTO orders.tenants (tenant_id, name) VALUES ('acme', 'Acme')")
    db.execute("SET ROLE pgbooks_worker")
    try:
        out = db.execute(
            "SELECT api.tenant__apply_company_facts('acme', %s)",
            (Jsonb({"accounts": [{"Id": "9", "Name": "Checking", "AccountType": "Bank"}]}),),
        ).fetchone()
        assert out is not None and out[0]["bank"] == "9"
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            db.execute("SELECT * FROM books.account_map")
    finally:
        db.execute("RESET ROLE")
