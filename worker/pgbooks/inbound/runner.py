"""The inbound worker: fetch changed entities, run CDC sweeps, hand everything to SQL.

* ``process``: ``api.inbound_changes__claim`` says which entity to read; the answer (or the
  HTTP status when the object is gone) goes to ``api.inbound_change__apply``, which compares it
  three ways under the conflict policies. Transport errors, 429 and 5xx go to
  ``api.inbound_change__fail`` (retried later).
* ``sweep``: for each realm ``api.inbound_sweeps__due`` names, ``GET /cdc?entities=...&
  changedSince=...``; the answer goes to ``api.inbound_sweep__record`` (captures, watermark,
  next sweep by the adaptive rule).
* ``run``: both, in a loop woken by ``LISTEN pgbooks_inbound`` with a poll as a safety net.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
import psycopg
from psycopg.types.json import Jsonb, set_json_loads

from pgbooks.sync.oauth import AuthLost, TokenStore
from pgbooks.sync.qbo import MINOR_VERSION, QboClient, dumps_exact, loads_exact

log = logging.getLogger("pgbooks.inbound")

_CLAIM = (
    "SELECT tenant_id, change_id, realm_id, base_url, entity, remote_id, operation, needs_fetch "
    "FROM api.inbound_changes__claim(%s, %s)"
)
_APPLY = "SELECT outcome, detail FROM api.inbound_change__apply(%s, %s, %s, %s)"
_FAIL = "SELECT api.inbound_change__fail(%s, %s, %s)"
_DUE = (
    "SELECT tenant_id, realm_id, base_url, entities, changed_since "
    "FROM api.inbound_sweeps__due(%s, %s)"
)
_POSTPONE = "SELECT api.inbound_sweep__postpone(%s, %s)"
_RECORD = "SELECT objects, new_changes, next_sweep_at FROM api.inbound_sweep__record(%s, %s, %s)"


@dataclass
class InboundStats:
    fetched: int = 0
    applied: int = 0
    retried: int = 0
    sweeps: int = 0
    swept_objects: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)


def _cdc_time(value: datetime) -> str:
    """changedSince in the ISO form QuickBooks accepts (offset included)."""
    return value.isoformat(timespec="seconds")


class InboundRunner:
    """One process's inbound side (any number may run: claims are SKIP LOCKED)."""

    def __init__(self, db_url: str, http: httpx.AsyncClient, tokens: TokenStore | None = None):
        self.db_url = db_url
        self.http = http
        self.qbo = QboClient(http)
        self.tokens = tokens or TokenStore(db_url, http)
        self.stats = InboundStats()

    async def connect(self) -> psycopg.AsyncConnection[Any]:
        conn = await psycopg.AsyncConnection.connect(self.db_url, autocommit=True)
        set_json_loads(loads_exact, conn)
        return conn

    async def _get(
        self, conn: psycopg.AsyncConnection[Any], tenant: str, url: str, params: dict[str, str]
    ) -> httpx.Response:
        token = await self.tokens.access_token(conn, tenant)
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        resp = await self.http.get(url, params=params, headers=headers)
        if resp.status_code == 401:  # expired early or revoked: one refresh, one retry
            token = await self.tokens.refresh(tenant)
            headers["Authorization"] = f"Bearer {token}"
            resp = await self.http.get(url, params=params, headers=headers)
        return resp

    # ------------------------------------------------------------------ changes
    async def process(
        self, conn: psycopg.AsyncConnection[Any], limit: int = 20, tenant: str | None = None
    ) -> int:
        """Claim and apply one batch of pending changes; returns how many were claimed."""
        cur = await conn.execute(_CLAIM, (limit, tenant))
        rows = await cur.fetchall()
        for tenant_id, change_id, realm_id, base_url, entity, remote_id, _op, needs_fetch in rows:
            entity_obj: Any = None
            status = 200
            if needs_fetch:
                url = f"{QboClient.company_url(base_url, realm_id)}/{entity.lower()}/{remote_id}"
                try:
                    resp = await self._get(conn, tenant_id, url, {"minorversion": MINOR_VERSION})
                except (httpx.HTTPError, AuthLost) as exc:
                    await conn.execute(
                        _FAIL, (tenant_id, change_id, f"{type(exc).__name__}: {exc}")
                    )
                    self.stats.retried += 1
                    continue
                self.stats.fetched += 1
                status = resp.status_code
                if status == 200:
                    body = loads_exact(resp.content)
                    entity_obj = body.get(entity) if isinstance(body, dict) else None
                if status == 429 or status >= 500 or (status == 200 and entity_obj is None):
                    await conn.execute(_FAIL, (tenant_id, change_id, f"HTTP {status}"))
                    self.stats.retried += 1
                    continue
            cur = await conn.execute(
                _APPLY,
                (
                    tenant_id,
                    change_id,
                    None if entity_obj is None else Jsonb(entity_obj, dumps=dumps_exact),
                    status,
                ),
            )
            res = await cur.fetchone()
            outcome = str(res[0]) if res else "?"
            self.stats.applied += 1
            self.stats.outcomes[outcome] = self.stats.outcomes.get(outcome, 0) + 1
        return len(rows)

    async def drain(self, tenant: str | None = None, limit: int = 20) -> InboundStats:
        """Apply every pending change (claimable now), then return."""
        async with await self.connect() as conn:
            while await self.process(conn, limit, tenant):
                pass
        return self.stats

    # ------------------------------------------------------------------ CDC
    async def sweep(self, tenant: str | None = None, force: bool = False) -> list[dict[str, Any]]:
        """Run the CDC sweeps that are due (``force``: all, now); one result per realm."""
        async with await self.connect() as conn:
            return await self.sweep_on(conn, tenant, force)

    async def sweep_on(
        self, conn: psycopg.AsyncConnection[Any], tenant: str | None = None, force: bool = False
    ) -> list[dict[str, Any]]:
        """:meth:`sweep` on an open connection."""
        results: list[dict[str, Any]] = []
        cur = await conn.execute(_DUE, (tenant, force))
        for tenant_id, realm_id, base_url, entities, since in await cur.fetchall():
            url = f"{QboClient.company_url(base_url, realm_id)}/cdc"
            params = {
                "entities": entities,
                "changedSince": _cdc_time(since),
                "minorversion": MINOR_VERSION,
            }
            error: str | None = None
            try:
                resp = await self._get(conn, tenant_id, url, params)
                if resp.status_code != 200:
                    error = f"HTTP {resp.status_code}: {resp.text[:300]}"
            except (httpx.HTTPError, AuthLost) as exc:
                error = f"{type(exc).__name__}: {exc}"
            if error is not None:
                await conn.execute(_POSTPONE, (tenant_id, error))
                results.append({"tenant_id": tenant_id, "error": error})
                continue
            rec = await conn.execute(
                _RECORD, (tenant_id, since, Jsonb(loads_exact(resp.content), dumps=dumps_exact))
            )
            row = await rec.fetchone()
            assert row is not None
            self.stats.sweeps += 1
            self.stats.swept_objects += int(row[0])
            results.append(
                {
                    "tenant_id": tenant_id,
                    "realm_id": realm_id,
                    "changed_since": since,
                    "objects": row[0],
                    "new_changes": row[1],
                    "next_sweep_at": row[2],
                }
            )

        return results

    # ------------------------------------------------------------------ loop
    async def run(self, stop: asyncio.Event, poll: float = 1.0) -> InboundStats:
        """Apply changes as they arrive and sweep each realm when due, until ``stop``."""
        wake = asyncio.Event()
        listener = asyncio.create_task(self._listen(wake, stop))
        try:
            while not stop.is_set():
                try:
                    async with await self.connect() as conn:
                        while not stop.is_set():
                            busy = await self.process(conn)
                            await self.sweep_on(conn)
                            if busy:
                                continue
                            with contextlib.suppress(asyncio.TimeoutError):
                                await asyncio.wait_for(wake.wait(), poll)
                            wake.clear()
                except psycopg.OperationalError as exc:
                    log.warning("inbound: database unreachable (%s); retrying", exc)
                    await asyncio.sleep(1.0)
        finally:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await listener
        return self.stats

    async def _listen(self, wake: asyncio.Event, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                async with await psycopg.AsyncConnection.connect(
                    self.db_url, autocommit=True
                ) as conn:
                    await conn.execute("LISTEN pgbooks_inbound")
                    async for _note in conn.notifies():
                        wake.set()
            except psycopg.OperationalError:
                await asyncio.sleep(1.0)


async def run_once(
    db_url: str, tenant: str | None = None, sweep: bool = True, force: bool = False
) -> tuple[list[dict[str, Any]], InboundStats]:
    """One sweep (forced or due) and a drain of pending changes: what ``pgbooks inbound sweep``
    and the tests run."""
    async with httpx.AsyncClient(timeout=20.0) as http:
        runner = InboundRunner(db_url, http)
        swept = await runner.sweep(tenant, force) if sweep else []
        stats = await runner.drain(tenant)
    return swept, stats


async def run_forever(db_url: str, stop: asyncio.Event, poll: float = 1.0) -> InboundStats:
    async with httpx.AsyncClient(timeout=20.0) as http:
        return await InboundRunner(db_url, http).run(stop, poll)
