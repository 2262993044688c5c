"""CDC sweep state: watermark + overlap, adaptive interval, failures postponed (real sandbox)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx

from pgbooks.inbound.runner import InboundRunner
from tests.inbound.conftest import TwoWay


def _sweep(two_way: TwoWay, force: bool = True) -> list[dict[str, object]]:
    async def go() -> list[dict[str, object]]:
        async with httpx.AsyncClient(timeout=10) as http:
            return await InboundRunner(two_way.books.db_url, http).sweep(two_way.tenant, force)

    return asyncio.run(go())


def _realm(two_way: TwoWay) -> dict[str, object]:
    cur = two_way.db.execute(
        "SELECT * FROM sync.inbound_realms WHERE tenant_id = %s", (two_way.tenant,)
    )
    names = [c.name for c in cur.description or []]
    row = cur.fetchone()
    assert row is not None
    return dict(zip(names, row, strict=True))


def test_watermark_overlap_and_adaptive_interval(two_way: TwoWay) -> None:
    two_way.db.execute(
        "SELECT api.inbound_realm__configure(%s, NULL, true, '2 minutes', '30 seconds',"
        " '15 minutes')",
        (two_way.tenant,),
    )
    # Quiet realm: the longest interval.
    [res] = _sweep(two_way)
    r = _realm(two_way)
    assert r["sweep_interval"] == timedelta(minutes=15)
    assert r["cdc_watermark"] >= res["changed_since"]  # type: ignore[operator]
    due = two_way.db.execute(
        "SELECT changed_since FROM api.inbound_sweeps__due(%s, true)", (two_way.tenant,)
    ).fetchone()
    assert due is not None and due[0] == r["cdc_watermark"] - timedelta(minutes=2)
    assert two_way.db.execute(
        "SELECT count(*) FROM api.inbound_sweeps__due(%s, false)", (two_way.tenant,)
    ).fetchone() == (0,)

    # Busy realm: sweep_max / (1 + writes in the last 15 minutes), never under sweep_min.
    for _ in range(3):
        two_way.order()
    two_way.deliver()
    _sweep(two_way)
    n = two_way.db.execute(
        "SELECT (SELECT count(*) FROM sync.attempts WHERE tenant_id = %s AND event = 'accepted')"
        " + (SELECT count(*) FROM sync.inbound_changes WHERE tenant_id = %s)",
        (two_way.tenant, two_way.tenant),
    ).fetchone()
    assert n is not None and n[0] >= 4
    expected = max(timedelta(seconds=30), timedelta(minutes=15) / (1 + n[0]))
    assert _realm(two_way)["sweep_interval"] == expected


def test_failed_sweep_is_postponed_and_skips_nothing(two_way: TwoWay) -> None:
    before = _realm(two_way)
    two_way.books.faults(error_next=1)
    [res] = _sweep(two_way)
    assert "error" in res and "HTTP 5" in str(res["error"])
    after = _realm(two_way)
    assert after["cdc_watermark"] == before["cdc_watermark"]
    assert after["next_sweep_at"] > before["next_sweep_at"]  # type: ignore[operator]
    [ok] = _sweep(two_way)
    assert "error" not in ok
