"""Books fixtures: a tenant with discovered defaults, a shared local QuickBooks sandbox."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest

from pgbooks.books.discover import discover_company_defaults
from qbo_sandbox.testing import running_sandbox


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Any]:
    """One sandbox per test module (each test creates its own realm when it posts)."""
    with running_sandbox(seed=7) as sb:
        yield sb


@pytest.fixture
def tenant(db: psycopg.Connection, sandbox: Any) -> str:
    """Tenant 'shop' connected to the sandbox's demo company, defaults discovered."""
    db.execute("INSERT INTO orders.tenants (tenant_id, name) VALUES ('shop', 'Shop')")
    with httpx.Client(timeout=10) as client:
        discover_company_defaults(db, "shop", client, sandbox.company_url, sandbox.access_token)
    return "shop"
