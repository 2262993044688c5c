"""Outbound webhooks: legacy ``eventNotifications`` or CloudEvents, signed, retried."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from .config import SandboxConfig

log = logging.getLogger("qbo_sandbox.webhooks")

PAST = {
    "Create": "created",
    "Update": "updated",
    "Delete": "deleted",
    "Void": "voided",
    "Merge": "merged",
    "Emailed": "emailed",
}


def sign(body: bytes, verifier_token: str) -> str:
    """``intuit-signature``: base64(HMAC-SHA256(verifier token, raw body))."""
    digest = hmac.new(verifier_token.encode("utf-8"), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def verify(body: bytes, signature: str, verifier_token: str) -> bool:
    """Constant-time check of an ``intuit-signature`` header (what a receiver does)."""
    return hmac.compare_digest(sign(body, verifier_token), signature)


@dataclass
class Endpoint:
    """A webhook subscriber. ``realms``/``entities`` empty = everything."""

    url: str
    verifier_token: str
    format: str = "legacy"  # "legacy" | "cloudevents"
    realms: list[str] = field(default_factory=list)
    entities: list[str] = field(default_factory=list)

    def wants(self, ev: Event) -> bool:
        return (not self.realms or ev.realm_id in self.realms) and (
            not self.entities or ev.entity in self.entities
        )


@dataclass
class Event:
    realm_id: str
    entity: str
    entity_id: str
    operation: str
    last_updated: str
    event_id: str
    time_utc: str


@dataclass
class Delivery:
    """One notification (several events) to one endpoint, with its attempts."""

    delivery_id: str
    url: str
    format: str
    body: str
    signature: str
    event_ids: list[str]
    attempts: list[dict[str, Any]] = field(default_factory=list)
    delivered: bool = False
    gave_up: bool = False


def legacy_payload(events: list[Event]) -> dict[str, Any]:
    by_realm: dict[str, list[dict[str, str]]] = {}
    for ev in events:
        by_realm.setdefault(ev.realm_id, []).append(
            {
                "name": ev.entity,
                "id": ev.entity_id,
                "operation": ev.operation,
                "lastUpdated": ev.last_updated,
            }
        )
    return {
        "eventNotifications": [
            {"realmId": r, "dataChangeEvent": {"entities": ents}} for r, ents in by_realm.items()
        ]
    }


def cloudevents_payload(events: list[Event]) -> list[dict[str, Any]]:
    return [
        {
            "specversion": "1.0",
            "id": ev.event_id,
            "source": "intuit.qbo-sandbox",
            "type": f"qbo.{ev.entity.lower()}.{PAST.get(ev.operation, ev.operation.lower())}.v1",
            "datacontenttype": "application/json",
            "time": ev.time_utc,
            "intuitentityid": ev.entity_id,
            "intuitaccountid": ev.realm_id,
            "data": {},
        }
        for ev in events
    ]


class Dispatcher:
    """Collects change events, aggregates them briefly, delivers per endpoint in order."""

    def __init__(self, cfg: SandboxConfig) -> None:
        self.cfg = cfg
        self.endpoints: list[Endpoint] = []
        self.pending: list[Event] = []
        self.deliveries: list[Delivery] = []
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._queues: dict[str, asyncio.Queue[Delivery]] = {}
        self._workers: list[asyncio.Task[None]] = []
        self._client: httpx.AsyncClient | None = None

    def configure(self, endpoints: list[Endpoint]) -> None:
        self.endpoints = endpoints

    def emit(
        self, realm_id: str, entity: str, entity_id: str, operation: str, last_updated: str
    ) -> None:
        if not self.endpoints:
            return
        now = datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
        self.pending.append(
            Event(realm_id, entity, entity_id, operation, last_updated, str(uuid.uuid4()), now)
        )
        if self._wake is not None:
            self._wake.set()

    async def start(self) -> None:
        self._wake = asyncio.Event()
        self._client = httpx.AsyncClient(timeout=self.cfg.webhook_timeout)
        self._task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        for t in [self._task, *self._workers]:
            if t is not None:
                t.cancel()
        for t in [self._task, *self._workers]:
            if t is not None:
                try:
                    await t
                except (asyncio.CancelledError, Exception):  # noqa: S110 - shutting down
                    pass
        if self._client is not None:
            await self._client.aclose()

    async def _loop(self) -> None:
        assert self._wake is not None
        while True:
            await self._wake.wait()
            self._wake.clear()
            if self.cfg.webhook_batch_seconds > 0:
                await asyncio.sleep(self.cfg.webhook_batch_seconds)
            events, self.pending = self.pending, []
            for ep in list(self.endpoints):
                mine = [e for e in events if ep.wants(e)]
                for i in range(0, len(mine), 100):  # at most 100 events per delivery
                    self._enqueue(ep, mine[i : i + 100])

    def _enqueue(self, ep: Endpoint, events: list[Event]) -> None:
        payload: Any = (
            legacy_payload(events) if ep.format == "legacy" else cloudevents_payload(events)
        )
        body = json.dumps(payload, separators=(",", ":"))
        d = Delivery(
            str(uuid.uuid4()),
            ep.url,
            ep.format,
            body,
            sign(body.encode("utf-8"), ep.verifier_token),
            [e.event_id for e in events],
        )
        self.deliveries.append(d)
        q = self._queues.get(ep.url)
        if q is None:
            q = self._queues[ep.url] = asyncio.Queue()
            self._workers.append(asyncio.create_task(self._worker(q)))
        q.put_nowait(d)

    async def _worker(self, q: asyncio.Queue[Delivery]) -> None:
        while True:
            d = await q.get()
            await self._deliver(d)  # later deliveries wait until this one is acknowledged

    async def _deliver(self, d: Delivery) -> None:
        assert self._client is not None
        ctype = "application/json" if d.format == "legacy" else "application/cloudevents+json"
        headers = {
            "intuit-signature": d.signature,
            "Content-Type": ctype,
            "intuit-t-id": d.delivery_id,
            "User-Agent": "qbo-sandbox-webhooks/1",
        }
        for delay in self.cfg.webhook_retry_delays:
            if delay > 0:
                await asyncio.sleep(delay)
            attempt: dict[str, Any] = {"at": datetime.now(UTC).isoformat()}
            try:
                resp = await self._client.post(
                    d.url, content=d.body.encode("utf-8"), headers=headers
                )
                attempt["status"] = resp.status_code
                ok = 200 <= resp.status_code < 300
            except httpx.HTTPError as exc:
                attempt["error"] = type(exc).__name__
                ok = False
            d.attempts.append(attempt)
            if ok:
                d.delivered = True
                return
        d.gave_up = True
        log.warning(
            "webhook delivery %s to %s gave up after %d attempts",
            d.delivery_id,
            d.url,
            len(d.attempts),
        )

    def status(self) -> dict[str, Any]:
        return {
            "endpoints": [asdict(e) for e in self.endpoints],
            "pending_events": len(self.pending),
            "deliveries": [asdict(d) for d in self.deliveries],
        }
