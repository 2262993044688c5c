"""Fixtures for the delivery engine: a session sandbox, a fresh realm + tenant per test, and
helpers that write documents the way BOOKS does (docs/document-contract.md)."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from psycopg.types.json import Jsonb, set_json_loads

from pgbooks.sync.oauth import connect
from pgbooks.sync.qbo import dumps_exact, loads_exact
from pgbooks.sync.worker import Worker, WorkerConfig, WorkerStats
from qbo_sandbox.testing import SandboxHandle, running_sandbox

SERVICES_ITEM = "1"  # seeded non-taxable item of every sandbox realm
_source = itertools.count(1)


@pytest.fixture(autouse=True)
def _secret_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PGBOOKS_SECRET_KEY", "test-secret-key-for-pgbooks-sync")


@pytest.fixture(scope="session")
def sandbox() -> Iterator[SandboxHandle]:
    with running_sandbox(seed=11) as sb:
        yield sb


@dataclass
class Books:
    """One tenant connected to one fresh sandbox realm."""

    db: psycopg.Connection
    db_url: str
    sb: SandboxHandle
    tenant_id: str
    realm_id: str

    # -------------------------------------------------------------- documents
    def doc(
        self,
        doc_type: str,
        body: dict[str, Any],
        *,
        total: Decimal | str | None = None,
        depends_on: list[int] | None = None,
        doc_number: str | None = None,
        source_id: str | None = None,
    ) -> int:
        row = self.db.execute(
            """
            INSERT INTO books.documents (tenant_id, doc_type, source_type, source_id, currency,
                total_amount, depends_on, body, doc_number)
            VALUES (%s, %s, 'manual', %s, 'USD', %s, %s, %s, %s) RETURNING document_id
            """,
            (
                self.tenant_id,
                doc_type,
                source_id or f"src-{next(_source)}",
                total,
                depends_on or [],
                Jsonb(body, dumps=dumps_exact),
                doc_number,
            ),
        ).fetchone()
        assert row is not None
        return int(row[0])

    def customer(self, name: str) -> int:
        return self.doc("customer", {"DisplayName": name})

    def sales_receipt(self, customer_doc: int, amount: str, doc_number: str | None = None) -> int:
        body: dict[str, Any] = {
            "CustomerRef": {"document_id": customer_doc},
            "Line": [sale_line(amount)],
        }
        if doc_number:
            body["DocNumber"] = doc_number
        return self.doc(
            "sales_receipt", body, total=amount, depends_on=[customer_doc], doc_number=doc_number
        )

    def bump(self, document_id: int, body_patch: dict[str, Any], total: str | None = None) -> None:
        self.db.execute(
            """
            UPDATE books.documents SET version = version + 1, body = body || %s,
                total_amount = coalesce(%s, total_amount), updated_at = now()
            WHERE tenant_id = %s AND document_id = %s
            """,
            (Jsonb(body_patch, dumps=dumps_exact), total, self.tenant_id, document_id),
        )

    # -------------------------------------------------------------- state
    def remote_id(self, document_id: int) -> str | None:
        row = self.db.execute(
            "SELECT remote_id FROM sync.remote_objects WHERE tenant_id = %s AND document_id = %s",
            (self.tenant_id, document_id),
        ).fetchone()
        return None if row is None else str(row[0])

    def outbox(self, document_id: int) -> dict[str, Any]:
        cur = self.db.execute(
            "SELECT * FROM sync.outbox WHERE tenant_id = %s AND document_id = %s",
            (self.tenant_id, document_id),
        )
        names = [c.name for c in cur.description or []]
        row = cur.fetchone()
        assert row is not None
        return dict(zip(names, row, strict=True))

    def exceptions(self, status: str = "open") -> list[tuple[Any, ...]]:
        return self.db.execute(
            """
            SELECT reason_code, category, document_id, message, diff FROM sync.exceptions
            WHERE tenant_id = %s AND status = %s ORDER BY exception_id
            """,
            (self.tenant_id, status),
        ).fetchall()

    def attempts(self, event: str) -> int:
        row = self.db.execute(
            "SELECT count(*) FROM sync.attempts WHERE tenant_id = %s AND event = %s",
            (self.tenant_id, event),
        ).fetchone()
        return int(row[0]) if row else 0

    def count(self, entity: str, **filters: Any) -> int:
        return self.sb.admin.count(entity, self.realm_id, **filters)

    def entities(self, entity: str, **filters: Any) -> list[dict[str, Any]]:
        return self.sb.admin.entities(entity, self.realm_id, **filters)

    def faults(self, **settings: Any) -> None:
        self.sb.admin.faults(self.realm_id, **settings)

    def drain(self, timeout: float = 30.0, **cfg: Any) -> WorkerStats:
        return drain(self.db_url, timeout=timeout, **cfg)


def sale_line(amount: str, item: str = SERVICES_ITEM) -> dict[str, Any]:
    return {
        "Amount": Decimal(amount),
        "DetailType": "SalesItemLineDetail",
        "SalesItemLineDetail": {"ItemRef": {"value": item}},
    }


def drain(db_url: str, timeout: float = 30.0, name: str = "w1", **cfg: Any) -> WorkerStats:
    cfg.setdefault("use_pgqueuer", False)
    cfg.setdefault("loops", 2)
    worker = Worker(db_url, name, WorkerConfig(**cfg))
    return asyncio.run(worker.run(until_idle=True, timeout=timeout))


def new_tenant(
    db: psycopg.Connection,
    db_url: str,
    sb: SandboxHandle,
    tenant_id: str,
    *,
    debounce_ms: int = 20,
    **settings: Any,
) -> Books:
    realm = sb.admin.create_realm(name=f"Company {tenant_id}")["realm_id"]
    db.execute(
        "INSERT INTO orders.tenants (tenant_id, name) VALUES (%s, %s)", (tenant_id, tenant_id)
    )
    cols = {"debounce": f"{debounce_ms} milliseconds", "claim_timeout": "2 seconds", **settings}
    db.execute(
        f"INSERT INTO sync.settings (tenant_id, {', '.join(cols)}) "  # noqa: S608 - test-only
        f"VALUES (%s{', %s' * len(cols)})",
        (tenant_id, *cols.values()),
    )
    connect(
        db_url,
        tenant_id,
        api_base_url=sb.base_url,
        discovery_url=f"{sb.base_url}/.well-known/openid_configuration",
        realm_id=realm,
    )
    return Books(db, db_url, sb, tenant_id, realm)


@pytest.fixture
def books(db: psycopg.Connection, db_url: str, sandbox: SandboxHandle) -> Books:
    set_json_loads(loads_exact, db)
    return new_tenant(db, db_url, sandbox, "acme")
