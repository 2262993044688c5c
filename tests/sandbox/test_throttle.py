"""Per-realm throttling with the XML ThrottleExceeded body."""

from __future__ import annotations

import asyncio

import httpx

from qbo_sandbox.config import FaultConfig, SandboxConfig, ThrottleConfig
from qbo_sandbox.testing import running_sandbox


def test_per_second_limit_returns_xml_429_per_realm() -> None:
    cfg = SandboxConfig(throttle=ThrottleConfig(enabled=True, per_second=5, per_minute=500))
    with running_sandbox(cfg) as sb:
        other = sb.admin.create_realm()
        with httpx.Client(headers=sb.auth_headers()) as c:
            codes = [c.get(f"{sb.company_url}/account/1").status_code for _ in range(8)]
            assert codes[:5] == [200] * 5 and 429 in codes[5:]
            r = c.get(f"{sb.company_url}/account/1")
            assert r.status_code == 429 and r.headers["content-type"].startswith("application/xml")
            assert b"ThrottleExceeded" in r.content and b'code="3001"' in r.content
            o = httpx.get(
                f"{sb.base_url}/v3/company/{other['realm_id']}/account/1",
                headers={"Authorization": f"Bearer {other['token']['access_token']}"},
            )
            assert o.status_code == 200  # limits are per realm
        sb.admin.throttle(enabled=False)
        assert all(
            httpx.get(f"{sb.company_url}/account/1", headers=sb.auth_headers()).status_code == 200
            for _ in range(10)
        )


def test_per_minute_and_batch_limits() -> None:
    cfg = SandboxConfig(
        throttle=ThrottleConfig(enabled=True, per_second=100, per_minute=6, batch_per_minute=2)
    )
    with running_sandbox(cfg) as sb, httpx.Client(headers=sb.auth_headers()) as c:
        batch = {"BatchItemRequest": [{"bId": "1", "Query": "select * from Term"}]}
        codes = [c.post(f"{sb.company_url}/batch", json=batch).status_code for _ in range(3)]
        assert codes == [200, 200, 429]
        more = [c.get(f"{sb.company_url}/term/1").status_code for _ in range(5)]
        assert more == [200, 200, 200, 200, 429]  # 2 batches + 4 gets = 6 per minute
        sb.admin.advance_clock(61)
        assert c.get(f"{sb.company_url}/term/1").status_code == 200


def test_concurrent_limit() -> None:
    cfg = SandboxConfig(throttle=ThrottleConfig(enabled=True, per_second=100, concurrent=3))
    faults = {cfg.demo_realm: FaultConfig(latency_ms=300)}
    with running_sandbox(cfg, faults=faults) as sb:

        async def go() -> list[int]:
            async with httpx.AsyncClient(headers=sb.auth_headers()) as ac:
                rs = await asyncio.gather(*[ac.get(f"{sb.company_url}/term/1") for _ in range(5)])
                return sorted(r.status_code for r in rs)

        assert asyncio.run(go()) == [200, 200, 200, 429, 429]
