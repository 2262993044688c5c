"""Fixtures for the historical backfill: a sandbox per module, a fresh realm + connected tenant
per test, seeding through the sandbox's own API (batch creates), and simple paid orders."""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from pgbooks.qbo import backfill as bf
from qbo_sandbox.testing import SandboxHandle, running_sandbox
from tests.derive import derive_pending
from tests.sync.conftest import drain, new_tenant

ROOT = Path(__file__).resolve().parents[2]
SECRET = "test-secret-key-for-pgbooks-qbobackfill"
_seq = itertools.count(1)


@pytest.fixture(autouse=True)
def _secret_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PGBOOKS_SECRET_KEY", SECRET)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxHandle]:
    with running_sandbox(seed=9) as sb:
        yield sb


@dataclass
class Shop:
    """A tenant connected to its own fresh sandbox realm."""

    db: psycopg.Connection
    db_url: str
    sb: SandboxHandle
    tenant_id: str
    realm_id: str

    # ------------------------------------------------------------ QuickBooks side
    def token(self) -> str:
        return self.sb.admin.access_token(self.realm_id)

    def batch(self, entity: str, bodies: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Create entities through the company API, 30 per batch request (as a client would)."""
        url = f"{self.sb.base_url}/v3/company/{self.realm_id}/batch"
        headers = {"Authorization": f"Bearer {self.token()}", "Accept": "application/json"}
        out: list[dict[str, Any]] = []
        with httpx.Client(timeout=30) as client:
            for i in range(0, len(bodies), 30):
                chunk = bodies[i : i + 30]
                ops = [
                    {"bId": str(j), "operation": "create", entity: body}
                    for j, body in enumerate(chunk)
                ]
                resp = client.post(url, json={"BatchItemRequest": ops}, headers=headers)
                assert resp.status_code == 200, resp.text
                for item in resp.json()["BatchItemResponse"]:
                    assert entity in item, item
                    out.append(item[entity])
        return out

    def update(self, entity: str, body: dict[str, Any]) -> dict[str, Any]:
        url = f"{self.sb.base_url}/v3/company/{self.realm_id}/{entity.lower()}"
        headers = {"Authorization": f"Bearer {self.token()}", "Accept": "application/json"}
        resp = httpx.post(url, json=body, headers=headers, timeout=30)
        assert resp.status_code == 200, resp.text
        return dict(resp.json()[entity])

    def count(self, entity: str, **filters: Any) -> int:
        return self.sb.admin.count(entity, self.realm_id, **filters)

    def entities(self, entity: str, **filters: Any) -> list[dict[str, Any]]:
        return self.sb.admin.entities(entity, self.realm_id, **filters)

    # ------------------------------------------------------------ pgbooks side
    def order(
        self,
        number: str,
        placed_at: str,
        amount: str = "25.00",
        *,
        sku: str = "SKU-1",
        title: str = "Widget",
        email: str | None = None,
        channel: str = "web",
    ) -> str:
        """A paid one-line order (no tax, no shipping): one SalesReceipt with DocNumber."""
        oid = f"o{next(_seq)}"
        cust = f"c-{email}" if email else None
        with self.db.transaction():
            self.db.execute(
                "INSERT INTO orders.channels (tenant_id, channel_id, platform, name, currency) "
                "VALUES (%s, %s, 'shopify', 'Web', 'USD') ON CONFLICT DO NOTHING",
                (self.tenant_id, channel),
            )
            if cust:
                self.db.execute(
                    "INSERT INTO orders.customers (tenant_id, channel_id, customer_id, email,"
                    " display_name) VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                    (self.tenant_id, channel, cust, email, email.split("@")[0] if email else None),
                )
            self.db.execute(
                "INSERT INTO orders.orders (tenant_id, channel_id, order_id, order_number,"
                " customer_id, email, currency, financial_status, placed_at, stated_subtotal,"
                " stated_total_discounts, stated_total_shipping, stated_total_tax, stated_total)"
                " VALUES (%s, %s, %s, %s, %s, %s, 'USD', 'paid', %s, %s, 0, 0, 0, %s)",
                (
                    self.tenant_id,
                    channel,
                    oid,
                    number,
                    cust,
                    email,
                    placed_at,
                    Decimal(amount),
                    Decimal(amount),
                ),
            )
            self.db.execute(
                "INSERT INTO orders.order_lines (tenant_id, channel_id, order_id, line_id, sku,"
                " title, quantity, unit_price, taxable) VALUES (%s, %s, %s, 'l1', %s, %s, 1, %s,"
                " false)",
                (self.tenant_id, channel, oid, sku, title, Decimal(amount)),
            )
        derive_pending(self.db)  # as the worker does after the commit
        return oid

    def scalar(self, sql: str, *args: Any) -> Any:
        row = self.db.execute(sql, args).fetchone()
        return None if row is None else row[0]

    def mirror_count(self, entity: str | None = None) -> int:
        if entity is None:
            return int(
                self.scalar(
                    "SELECT count(*) FROM sync.qbo_mirror WHERE tenant_id = %s", self.tenant_id
                )
            )
        return int(
            self.scalar(
                "SELECT count(*) FROM sync.qbo_mirror WHERE tenant_id = %s AND entity = %s",
                self.tenant_id,
                entity,
            )
        )

    def checkpoint(self, kind: str, scope: str) -> tuple[int, bool] | None:
        row = self.db.execute(
            "SELECT done_count, completed FROM sync.qbo_backfill_checkpoints"
            " WHERE tenant_id = %s AND kind = %s AND scope = %s",
            (self.tenant_id, kind, scope),
        ).fetchone()
        return None if row is None else (int(row[0]), bool(row[1]))

    def run_import(self, **kw: Any) -> bf.ImportResult:
        return asyncio.run(bf.run_import(self.db_url, self.realm_id, **kw))

    def drain(self, timeout: float = 60.0) -> Any:
        return drain(self.db_url, timeout=timeout)

    # ------------------------------------------------------------ CLI
    def env(self) -> dict[str, str]:
        return {**os.environ, "DATABASE_URL": self.db_url, "PGBOOKS_SECRET_KEY": SECRET}

    def cli(
        self, *args: str, timeout: float = 120, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "pgbooks", *args],
            env={**self.env(), **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=ROOT,
        )

    def kill_when(self, args: list[str], ready: Any, timeout: float = 60) -> int:
        """Start ``pgbooks ARGS``, SIGKILL it once ``ready()`` is true; return its exit code."""
        proc = subprocess.Popen(
            [sys.executable, "-m", "pgbooks", *args],
            env=self.env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            cwd=ROOT,
        )
        deadline = time.monotonic() + timeout
        try:
            while not ready():
                if proc.poll() is not None:
                    err = proc.stderr.read() if proc.stderr else b""
                    raise AssertionError(f"finished before the kill: {proc.returncode} {err!r}")
                assert time.monotonic() < deadline, "never reached the kill point"
                time.sleep(0.05)
            proc.send_signal(signal.SIGKILL)
            return proc.wait(timeout=10)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            if proc.stderr:
                proc.stderr.close()


@pytest.fixture
def shop(db: psycopg.Connection, db_url: str, sandbox: SandboxHandle) -> Shop:
    books = new_tenant(db, db_url, sandbox, "shop", debounce_ms=0)
    # Custom transaction numbers on: documents carry the order number as DocNumber, which is how
    # a document already in QuickBooks is recognised.
    sandbox.admin.preferences({"SalesFormsPrefs": {"CustomTxnNumbers": True}}, books.realm_id)
    db.execute(
        "UPDATE books.tenant_settings SET custom_txn_numbers = true WHERE tenant_id = 'shop'"
    )
    return Shop(db, db_url, sandbox, books.tenant_id, books.realm_id)


def customers(n: int, prefix: str = "Buyer") -> list[dict[str, Any]]:
    return [
        {
            "DisplayName": f"{prefix} {i:04d}",
            "PrimaryEmailAddr": {"Address": f"{prefix.lower()}{i:04d}@example.com"},
        }
        for i in range(n)
    ]


def items(n: int, income_account: str, with_sku: bool = True) -> list[dict[str, Any]]:
    return [
        {
            "Name": f"Product {i:03d}",
            "Type": "NonInventory",
            "IncomeAccountRef": {"value": income_account},
            **({"Sku": f"P-{i:03d}"} if with_sku else {}),
        }
        for i in range(n)
    ]


def receipts(
    customer_ids: list[str], numbers: list[str], amount: str = "25.00"
) -> list[dict[str, Any]]:
    return [
        {
            "DocNumber": num,
            "CustomerRef": {"value": customer_ids[i % len(customer_ids)]},
            "Line": [
                {
                    "Amount": amount,
                    "DetailType": "SalesItemLineDetail",
                    "SalesItemLineDetail": {"ItemRef": {"value": "1"}},
                }
            ],
        }
        for i, num in enumerate(numbers)
    ]
