"""Fixtures: one sandbox server per test session, a fresh company (realm) per test."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from qbo_sandbox.testing import SandboxHandle, running_sandbox


@pytest.fixture(scope="session")
def sandbox() -> Iterator[SandboxHandle]:
    with running_sandbox(seed=1) as sb:
        yield sb


@dataclass
class Company:
    """A fresh realm in the shared sandbox plus an authorised HTTP client for it."""

    sb: SandboxHandle
    realm_id: str
    token: str
    http: httpx.Client

    def post(self, path: str, body: Any = None, **params: Any) -> httpx.Response:
        return self.http.post(path, json=body, params=params)

    def get(self, path: str, **params: Any) -> httpx.Response:
        return self.http.get(path, params=params)

    def query(self, text: str) -> httpx.Response:
        return self.http.post(
            "/query", content=text.encode(), headers={"Content-Type": "application/text"}
        )

    def count(self, entity: str, **filters: Any) -> int:
        return self.sb.admin.count(entity, self.realm_id, **filters)

    def qb(self) -> Any:
        return self.sb.quickbooks(self.realm_id, self.token)


@pytest.fixture
def company(sandbox: SandboxHandle) -> Iterator[Company]:
    created = sandbox.admin.create_realm()
    realm_id = created["realm_id"]
    token = created["token"]["access_token"]
    with httpx.Client(
        base_url=f"{sandbox.base_url}/v3/company/{realm_id}",
        headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
        timeout=10,
    ) as http:
        yield Company(sandbox, realm_id, token, http)


def invoice_body(
    customer_id: str, *lines: tuple[str, Any, Any, Any], **extra: Any
) -> dict[str, Any]:
    """Invoice JSON with (item_id, qty, unit_price, amount) lines."""
    out: list[dict[str, Any]] = []
    for item, qty, price, amount in lines:
        detail: dict[str, Any] = {"ItemRef": {"value": item}}
        if qty is not None:
            detail["Qty"] = qty
        if price is not None:
            detail["UnitPrice"] = price
        line: dict[str, Any] = {"DetailType": "SalesItemLineDetail", "SalesItemLineDetail": detail}
        if amount is not None:
            line["Amount"] = amount
        out.append(line)
    return {"CustomerRef": {"value": customer_id}, "Line": out, **extra}


def new_customer(c: Company, name: str = "Ann Smith", **extra: Any) -> dict[str, Any]:
    r = c.post("/customer", {"DisplayName": name, **extra})
    assert r.status_code == 200, r.text
    return r.json()["Customer"]  # type: ignore[no-any-return]
