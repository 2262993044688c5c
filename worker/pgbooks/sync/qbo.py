"""QuickBooks Online transport: one HTTP exchange in, one :class:`Answer` out.

No decisions here: the answer (status, parsed body, normalised Fault, Retry-After, or the kind of
transport error) goes back to ``api.outbox__complete`` / ``api.outbox__fail`` which classify it.
Transport errors are split by whether the request may have reached QuickBooks:
``connect`` (it did not) vs ``timeout`` / ``disconnected`` (it may have: ambiguous).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

MINOR_VERSION = "75"


def loads_exact(data: str | bytes) -> Any:
    """JSON with every non-integer number as ``Decimal`` (money never becomes a float)."""
    return json.loads(data, parse_float=Decimal)


def dumps_exact(value: Any) -> str:
    """JSON writer that keeps ``Decimal`` as an exact JSON number."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dict):
        return (
            "{" + ",".join(f"{json.dumps(str(k))}:{dumps_exact(v)}" for k, v in value.items()) + "}"
        )
    if isinstance(value, list | tuple):
        return "[" + ",".join(dumps_exact(v) for v in value) + "]"
    return json.dumps(value)


@dataclass
class Answer:
    """What came back from one request."""

    status: int | None
    body: Any = None
    fault: dict[str, Any] | None = None
    retry_after: float | None = None
    transport_error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == 200 and self.fault is None

    @property
    def fault_code(self) -> str | None:
        if not self.fault:
            return None
        errors = self.fault.get("Error") or []
        return str(errors[0].get("code")) if errors else None


def normalise_fault(raw: Any) -> dict[str, Any] | None:
    """QuickBooks' ``Fault`` object, or the lower-case 401 envelope mapped onto it."""
    if not isinstance(raw, dict):
        return None
    if isinstance(raw.get("Fault"), dict):
        return dict(raw["Fault"])
    low = raw.get("fault")
    if isinstance(low, dict):
        return {
            "type": low.get("type"),
            "Error": [
                {
                    "Message": e.get("message"),
                    "Detail": e.get("detail"),
                    "code": e.get("code"),
                    "element": e.get("element"),
                }
                for e in low.get("error") or []
            ],
        }
    return None


def _retry_after(resp: httpx.Response) -> float | None:
    value = resp.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            import time

            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            return None


def _answer(resp: httpx.Response) -> Answer:
    body: Any = None
    try:
        body = loads_exact(resp.content) if resp.content else None
    except ValueError:
        body = None  # 429 comes back as XML even when JSON was asked for
    fault = normalise_fault(body)
    if fault is None and resp.status_code >= 400:
        fault = {
            "type": "HTTP",
            "Error": [{"code": str(resp.status_code), "Message": resp.reason_phrase}],
        }
        if resp.status_code == 429:
            fault = {"type": "SERVICE", "Error": [{"code": "3001", "Message": "ThrottleExceeded"}]}
    return Answer(resp.status_code, body, fault, _retry_after(resp))


def _transport_error(exc: Exception) -> str:
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout):
        return "connect"
    if isinstance(exc, httpx.TimeoutException):
        return "timeout"
    return "disconnected"


class QboClient:
    """Thin async client for the QuickBooks v3 company API.

    ``concurrency`` requests at most are handed to httpx at once (keep it at or below the
    client's ``max_connections``): the others wait on a semaphore. Requests queued inside
    httpcore's pool cost O(queued x connections) per pool event (profiled: over a third of a
    worker's CPU with 50 busy realms); a semaphore queue is O(1)."""

    def __init__(self, http: httpx.AsyncClient, concurrency: int = 64) -> None:
        self.http = http
        self._slots = asyncio.Semaphore(concurrency)

    @staticmethod
    def company_url(base_url: str, realm_id: str) -> str:
        return f"{base_url.rstrip('/')}/v3/company/{realm_id}"

    async def _send(
        self, method: str, url: str, token: str, params: dict[str, str], body: Any = None
    ) -> Answer:
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        async with self._slots:
            return await self._send_now(method, url, headers, params, body)

    async def _send_now(
        self, method: str, url: str, headers: dict[str, str], params: dict[str, str], body: Any
    ) -> Answer:
        try:
            if body is None:
                resp = await self.http.request(method, url, params=params, headers=headers)
            else:
                resp = await self.http.request(
                    method,
                    url,
                    params=params,
                    headers={**headers, "Content-Type": "application/json"},
                    content=dumps_exact(body).encode(),
                )
        except httpx.HTTPError as exc:
            return Answer(None, transport_error=_transport_error(exc))
        return _answer(resp)

    async def write(
        self,
        base_url: str,
        realm_id: str,
        token: str,
        entity: str,
        operation: str,
        request_id: str,
        body: dict[str, Any],
    ) -> Answer:
        """create / update / void / delete of one entity, keyed by ``requestid``."""
        params = {"requestid": request_id, "minorversion": MINOR_VERSION}
        if operation in ("void", "delete"):
            params["operation"] = operation
        url = f"{self.company_url(base_url, realm_id)}/{entity.lower()}"
        return await self._send("POST", url, token, params, body)

    async def batch(
        self,
        base_url: str,
        realm_id: str,
        token: str,
        request_id: str,
        items: list[tuple[str, str, str, dict[str, Any]]],
    ) -> Answer:
        """One batch request; ``items`` are ``(bId, entity, operation, body)``."""
        ops = []
        for bid, entity, operation, body in items:
            op: dict[str, Any] = {"bId": bid, entity: body}
            if operation == "void":
                op.update(operation="update", optionsData="void")
            else:
                op["operation"] = operation
            ops.append(op)
        params = {"requestid": request_id, "minorversion": MINOR_VERSION}
        url = f"{self.company_url(base_url, realm_id)}/batch"
        return await self._send("POST", url, token, params, {"BatchItemRequest": ops})

    async def read(
        self, base_url: str, realm_id: str, token: str, entity: str, remote_id: str
    ) -> Answer:
        url = f"{self.company_url(base_url, realm_id)}/{entity.lower()}/{remote_id}"
        return await self._send("GET", url, token, {"minorversion": MINOR_VERSION})

    async def preferences(self, base_url: str, realm_id: str, token: str) -> Answer:
        """The company's Preferences (``body.Preferences``: books closing date, currencies...)."""
        url = f"{self.company_url(base_url, realm_id)}/preferences"
        return await self._send("GET", url, token, {"minorversion": MINOR_VERSION})

    async def query(self, base_url: str, realm_id: str, token: str, text: str) -> Answer:
        """One query (``select * from Entity where ...``); rows in ``body.QueryResponse``."""
        url = f"{self.company_url(base_url, realm_id)}/query"
        return await self._send("GET", url, token, {"query": text, "minorversion": MINOR_VERSION})
