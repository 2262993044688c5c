"""Two-way sync fixtures: a sandbox whose webhooks reach a real receiver, a tenant connected to a
fresh realm with two-way sync enabled, and helpers that act in QuickBooks through its API."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx
import psycopg
import pytest
from psycopg.types.json import set_json_loads

from pgbooks.inbound.runner import InboundStats, run_once
from pgbooks.ingest.receiver import ReceiverConfig, running_receiver
from pgbooks.sync.qbo import dumps_exact, loads_exact
from qbo_sandbox.testing import SandboxHandle, running_sandbox
from tests.derive import derive_pending
from tests.sync.conftest import Books, new_tenant

VERIFIER = "verifier-token-of-the-intuit-app"
_orders = itertools.count(1)


@pytest.fixture(autouse=True)
def _secret_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PGBOOKS_SECRET_KEY", "test-secret-key-for-pgbooks-sync")


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxHandle]:
    with running_sandbox(seed=13) as sb:
        yield sb


@dataclass
class TwoWay:
    """A tenant of pgbooks connected to one sandbox realm, with two-way sync on."""

    books: Books
    qbo: httpx.Client  # the bookkeeper's hands in QuickBooks (real HTTP to the sandbox)

    @property
    def db(self) -> psycopg.Connection:
        return self.books.db

    @property
    def tenant(self) -> str:
        return self.books.tenant_id

    @property
    def realm(self) -> str:
        return self.books.realm_id

    # ------------------------------------------------------------------ pgbooks side
    def order(
        self,
        *,
        status: str = "pending",
        qty: int = 2,
        price: str = "12.50",
        email: str = "ada@example.com",
    ) -> str:
        """A pending order (-> Invoice) of ``qty`` x ``price``, no tax, no shipping."""
        oid = f"A-{next(_orders)}"
        total = Decimal(price) * qty
        with self.db.transaction():
            self.db.execute(
                "INSERT INTO orders.channels (tenant_id, channel_id, platform, name, currency)"
                " VALUES (%s, 'pos', 'custom', 'Counter', 'USD') ON CONFLICT DO NOTHING",
                (self.tenant,),
            )
            self.db.execute(
                "INSERT INTO orders.orders (tenant_id, channel_id, order_id, order_number, email,"
                " currency, financial_status, placed_at, stated_subtotal, stated_total_discounts,"
                " stated_total_shipping, stated_total_tax, stated_total)"
                " VALUES (%s, 'pos', %s, %s, %s, 'USD', %s, now(), %s, 0, 0, 0, %s)",
                (self.tenant, oid, "#" + oid, email, status, total, total),
            )
            self.db.execute(
                "INSERT INTO orders.order_lines (tenant_id, channel_id, order_id, line_id, sku,"
                " title, quantity, unit_price) VALUES (%s, 'pos', %s, '1', 'PEG-10',"
                " 'Tent pegs', %s, %s)",
                (self.tenant, oid, qty, Decimal(price)),
            )
        derive_pending(self.db)  # as the worker does after the commit
        return oid

    def document(self, order_id: str, role: str = "main") -> dict[str, Any]:
        derive_pending(self.db)  # what the worker derived since the last write
        cur = self.db.execute(
            "SELECT d.*, r.remote_id, r.sync_token, r.remote_status, r.snapshot"
            " FROM books.documents AS d LEFT JOIN sync.remote_objects AS r USING (tenant_id,"
            " document_id) WHERE d.tenant_id = %s AND d.source_type = 'order'"
            " AND d.source_id = %s AND d.source_role = %s",
            (self.tenant, "pos:" + order_id, role),
        )
        names = [c.name for c in cur.description or []]
        row = cur.fetchone()
        assert row is not None, f"no {role} document for order {order_id}"
        return dict(zip(names, row, strict=True))

    def deliver(self) -> None:
        stats = self.books.drain(timeout=30)
        assert stats.failed == 0, stats

    def inbound(self, sweep: bool = False) -> InboundStats:
        _swept, stats = asyncio.run(
            run_once(self.books.db_url, self.tenant, sweep=sweep, force=True)
        )
        return stats

    def changes(self) -> list[dict[str, Any]]:
        cur = self.db.execute(
            "SELECT * FROM sync.inbound_changes WHERE tenant_id = %s ORDER BY change_id",
            (self.tenant,),
        )
        names = [c.name for c in cur.description or []]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]

    def wait_changes(self, predicate: Any, timeout: float = 15.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while True:
            rows = self.changes()
            if predicate(rows) or time.monotonic() > deadline:
                return rows
            time.sleep(0.1)

    def exceptions(self, reason: str | None = None) -> list[dict[str, Any]]:
        cur = self.db.execute(
            "SELECT * FROM sync.exceptions WHERE tenant_id = %s AND status = 'open'"
            " AND (%s::text IS NULL OR reason_code = %s) ORDER BY exception_id",
            (self.tenant, reason, reason),
        )
        names = [c.name for c in cur.description or []]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]

    # ------------------------------------------------------------------ QuickBooks side
    def read(self, entity: str, remote_id: str) -> dict[str, Any]:
        r = self.qbo.get(f"/{entity.lower()}/{remote_id}")
        assert r.status_code == 200, r.text
        return dict(loads_exact(r.content)[entity])

    def write(self, entity: str, body: dict[str, Any], **params: str) -> dict[str, Any]:
        r = self.qbo.post(
            f"/{entity.lower()}",
            content=dumps_exact(body),
            params=params,
            headers={"Content-Type": "application/json"},
        )
        assert r.status_code == 200, r.text
        return dict(loads_exact(r.content)[entity])

    def edit(self, entity: str, remote_id: str, **fields: Any) -> dict[str, Any]:
        """A bookkeeper's sparse update in QuickBooks."""
        cur = self.read(entity, remote_id)
        return self.write(
            entity, {"Id": remote_id, "SyncToken": cur["SyncToken"], "sparse": True, **fields}
        )

    def webhooks(self, url: str | None, fmt: str = "legacy", token: str = VERIFIER) -> None:
        eps = (
            []
            if url is None
            else [{"url": url, "verifier_token": token, "format": fmt, "realms": [self.realm]}]
        )
        self.books.sb.admin.webhooks(eps)


def enable(db: psycopg.Connection, tenant: str, token: str | None = VERIFIER) -> None:
    db.execute("SELECT api.inbound_realm__configure(%s, %s)", (tenant, token))


@pytest.fixture
def two_way(db: psycopg.Connection, db_url: str, sandbox: SandboxHandle) -> Iterator[TwoWay]:
    set_json_loads(loads_exact, db)
    books = new_tenant(db, db_url, sandbox, "acme")
    enable(db, "acme")
    access = sandbox.admin.access_token(books.realm_id)
    with httpx.Client(
        base_url=f"{sandbox.base_url}/v3/company/{books.realm_id}",
        headers={"Authorization": f"Bearer {access}", "Accept": "application/json"},
        timeout=10,
    ) as qbo:
        yield TwoWay(books, qbo)
    sandbox.admin.webhooks([])


@pytest.fixture
def receiver_url(db_url: str) -> Iterator[str]:
    with running_receiver(ReceiverConfig(db_url, pool_size=2)) as url:
        yield url
