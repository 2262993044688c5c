"""Fault injection: lost responses, 5xx, 429 bursts, forced 5010, revocation, determinism."""

from __future__ import annotations

import time

import httpx
import pytest

from qbo_sandbox.config import FaultConfig
from qbo_sandbox.testing import running_sandbox

from .conftest import Company, new_customer


def test_lost_response_commits_write_but_client_gets_no_reply(company: Company) -> None:
    company.sb.admin.faults(company.realm_id, lost_next=1)
    with pytest.raises(httpx.RemoteProtocolError):
        company.post("/customer", {"DisplayName": "Lost Reply"}, requestid="lost-1")
    assert company.count("Customer", DisplayName="Lost Reply") == 1  # the write happened
    retry = company.post("/customer", {"DisplayName": "Lost Reply"}, requestid="lost-1")
    assert retry.status_code == 200  # requestid replay returns the original success
    assert company.count("Customer") == 1
    plain = company.post("/customer", {"DisplayName": "Lost Reply"})
    assert plain.status_code == 400  # without requestid the retry is a duplicate (6240)


def test_injected_5xx_and_429_burst_and_stale(company: Company) -> None:
    admin = company.sb.admin
    admin.faults(company.realm_id, error_next=1, error_status=503)
    r = company.post("/customer", {"DisplayName": "Err"})
    assert r.status_code == 503 and r.json()["Fault"]["type"] == "SystemFault"
    assert company.count("Customer") == 0
    admin.faults(company.realm_id, throttle_next=2)
    assert [company.get("/term/1").status_code for _ in range(3)] == [429, 429, 200]
    cust = new_customer(company)
    admin.faults(company.realm_id, stale_next=1)
    upd = {"Id": cust["Id"], "SyncToken": "0", "sparse": True, "Notes": "x"}
    assert company.post("/customer", upd).json()["Fault"]["Error"][0]["code"] == "5010"
    assert company.post("/customer", upd).status_code == 200


def test_latency_injection(company: Company) -> None:
    company.sb.admin.faults(company.realm_id, latency_ms=150)
    t = time.perf_counter()
    company.get("/term/1")
    assert time.perf_counter() - t >= 0.14
    company.sb.admin.faults(company.realm_id, latency_ms=0)


def test_token_revocation(company: Company) -> None:
    assert company.sb.admin.revoke_tokens(company.realm_id) == 1
    r = company.get("/term/1")
    assert r.status_code == 401 and "revoked" in r.json()["fault"]["error"][0]["detail"]


def _run(seed: int) -> tuple[list[int], list[str]]:
    fc = FaultConfig(error_rate=0.3, lost_response_rate=0.3)
    with running_sandbox(seed=seed) as sb:
        sb.admin.faults(sb.realm_id, **fc.to_json())
        codes: list[int] = []
        with httpx.Client(headers=sb.auth_headers()) as c:
            for i in range(30):
                try:
                    r = c.post(f"{sb.company_url}/customer", json={"DisplayName": f"C{i}"})
                    codes.append(r.status_code)
                except httpx.RemoteProtocolError:
                    codes.append(-1)
        names = sorted(x["DisplayName"] for x in sb.admin.entities("Customer"))
        return codes, names


def test_fault_injection_is_deterministic_under_seed() -> None:
    a = _run(42)
    b = _run(42)
    c = _run(43)
    assert a == b
    assert a != c
    codes, names = a
    assert {200, 503, -1} <= set(codes)
    assert len(names) == codes.count(200) + codes.count(-1)  # lost = committed
