"""The webhook receiver: ``pgbooks receive --port N``.

Routes (POST)::

    /webhooks/shopify/{tenant_id}/{channel_id}
    /webhooks/woocommerce/{tenant_id}/{channel_id}
    /webhooks/stripe/{tenant_id}/{channel_id}
    /webhooks/shopify | woocommerce | stripe   one endpoint for many stores: the channel is found
                                         from the delivery (X-Shopify-Shop-Domain,
                                         X-WC-Webhook-Source, Stripe "account" or the configured
                                         default account) by api.raw_event__route
    /webhooks/quickbooks[/{tenant_id}]   QuickBooks notifications (two-way sync): legacy
                                         eventNotifications or CloudEvents, intuit-signature
    GET /healthz                  200 when the database answers

On the per-channel routes the tenant is in the path because a channel id is only unique within
its tenant; on the per-platform route the account the delivery names is unique per platform
(orders.channels_external_account_unique), so it gives tenant and channel. For each
delivery the receiver reads the body (bounded: 413 beyond ``max_body`` bytes), fetches the
channel's secrets, checks the signature over the raw bytes, and calls
``api.raw_event__receive``, which stores the delivery verbatim and decides the answer (200
stored or duplicate, 401 bad signature, 400 malformed JSON, 404 unknown channel, 413 too
large). Every one of these outcomes is a row in ``ingest.raw_events``. The answer is sent after
the row is committed and before any parsing: normalization runs in ``pgbooks ingest process``.

Rate limit (:mod:`pgbooks.ingest.ratelimit`): a token bucket per tenant once the channel is known,
per source IP for an unknown tenant, channel or account (so inventing names does not escape the
limit). Over the limit: 429 with ``Retry-After``, counted in ``ingest.receiver_throttles`` (every
``throttle_flush`` seconds), body not stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.types.json import Jsonb
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from pgbooks.ingest import ratelimit, signatures

PLATFORMS = ("shopify", "woocommerce", "stripe")
DEFAULT_MAX_BODY = 1024 * 1024  # 1 MiB: Shopify caps order payloads well below this

_ROUTE_SQL = (
    "SELECT route_state, tenant_id, channel_id, external_account_id, secrets"
    " FROM api.raw_event__route(%s, %s, %s, %s)"
)
_RECEIVE_ROUTED_SQL = (
    "SELECT raw_event_id, status, reason_code, message, duplicate_of, http_status"
    " FROM api.raw_event__receive_routed(%s, %s, %s, %s, %s, %s, %s)"
)
_THROTTLE_SQL = "SELECT api.receiver_throttle__record(%s, %s, %s, %s, %s)"
_SECRETS_SQL = "SELECT channel_state, secrets FROM api.raw_event__channel_secrets(%s, %s, %s)"
_QBO_TOKENS_SQL = "SELECT channel_state, secrets FROM api.qbo_webhook__tokens(%s)"
_QBO_RECEIVE_SQL = (
    "SELECT raw_event_id, status, reason_code, message, duplicate_of, http_status "
    "FROM api.qbo_webhook__receive(%s, %s, %s, %s, %s, %s)"
)
_RECEIVE_SQL = (
    "SELECT raw_event_id, status, reason_code, message, duplicate_of, http_status "
    "FROM api.raw_event__receive(%s, %s, %s, %s, %s, %s, %s, %s)"
)


class ConnectionPool:
    """A fixed set of autocommit async connections handed out one request at a time."""

    def __init__(self, url: str, size: int) -> None:
        self.url = url
        self.size = size
        self._idle: asyncio.Queue[psycopg.AsyncConnection[Any]] = asyncio.Queue()
        self._all: list[psycopg.AsyncConnection[Any]] = []

    async def open(self) -> None:
        for _ in range(self.size):
            conn = await psycopg.AsyncConnection.connect(self.url, autocommit=True)
            self._all.append(conn)
            self._idle.put_nowait(conn)

    async def close(self) -> None:
        for conn in self._all:
            await conn.close()
        self._all.clear()

    @contextlib.asynccontextmanager
    async def connection(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        conn = await self._idle.get()
        try:
            if conn.closed or conn.broken:
                conn = await self._replace(conn)
            yield conn
        finally:
            self._idle.put_nowait(conn)

    async def _replace(self, old: psycopg.AsyncConnection[Any]) -> psycopg.AsyncConnection[Any]:
        new = await psycopg.AsyncConnection.connect(self.url, autocommit=True)
        self._all[self._all.index(old)] = new
        return new


@dataclass(frozen=True)
class ReceiverConfig:
    """What a receiver needs: where to store, how much to accept, which clock to trust."""

    database_url: str
    max_body: int = DEFAULT_MAX_BODY
    pool_size: int = 4
    stripe_tolerance: int = signatures.STRIPE_TOLERANCE_S
    clock: Callable[[], float] = time.time
    # Stripe account of the endpoint's owner: the account of routed Stripe events that carry no
    # "account" (only Connect events of connected accounts do).
    stripe_account: str | None = None
    rate: ratelimit.Rate = ratelimit.TENANT_DEFAULT  # per tenant
    unknown_rate: ratelimit.Rate = ratelimit.UNKNOWN_DEFAULT  # per source IP, unknown routes
    monotonic: Callable[[], float] = time.monotonic  # the buckets' clock
    throttle_flush: float = 5.0  # seconds between writes of the 429 counts


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": code, "message": message}, status_code=status)


def _headers(request: Request) -> dict[str, str]:
    out: dict[str, str] = {}
    for raw_key, raw_value in request.headers.raw:
        key = raw_key.decode("latin-1").lower()
        value = raw_value.decode("latin-1")
        out[key] = f"{out[key]}, {value}" if key in out else value
    return out


async def _read_body(request: Request, limit: int) -> tuple[bytes, int, bool]:
    """(bytes kept, size as sent, truncated). Stops reading past ``limit``."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        return b"", int(declared), True
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            kept = b"".join(chunks)
            return (kept + chunk)[:limit], max(size, int(declared or 0)), True
        chunks.append(chunk)
    return b"".join(chunks), size, False


def _source_ip(request: Request) -> str:
    # The TCP peer, or the X-Forwarded-For of a proxy uvicorn trusts (its default: only one on
    # 127.0.0.1, FORWARDED_ALLOW_IPS); anyone else's X-Forwarded-For is ignored.
    return request.client.host if request.client else "unknown"


def _answer(stored: tuple[Any, ...]) -> JSONResponse:
    """The HTTP answer to a stored delivery, as the storage function decided it."""
    raw_event_id, status, reason, message, duplicate_of, http_status = stored
    payload: dict[str, Any] = {"raw_event_id": raw_event_id, "status": status}
    if reason is not None:
        payload["reason_code"] = reason
        payload["message"] = message
    if duplicate_of is not None:
        payload["duplicate_of"] = duplicate_of
    if http_status >= 400:
        payload["error"] = reason.lower()
    return JSONResponse(payload, status_code=http_status)


def create_app(config: ReceiverConfig) -> Starlette:
    """The ASGI application (used by ``pgbooks receive``, tests and the benchmark)."""
    pool = ConnectionPool(config.database_url, config.pool_size)
    tenants = ratelimit.TokenBuckets(config.rate, config.monotonic)
    sources = ratelimit.TokenBuckets(config.unknown_rate, config.monotonic)
    refusals = ratelimit.RefusalCounter(config.clock)

    async def flush_refusals() -> None:
        rows = refusals.drain()
        if not rows:
            return
        try:
            async with pool.connection() as conn:
                await conn.execute(_THROTTLE_SQL, [list(col) for col in zip(*rows, strict=True)])
        except psycopg.Error:
            refusals.restore(rows)  # database away: counted again at the next flush

    async def flush_loop() -> None:
        while True:
            await asyncio.sleep(config.throttle_flush)
            await flush_refusals()

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        await pool.open()
        flusher = asyncio.create_task(flush_loop())
        try:
            yield
        finally:
            flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await flusher
            await flush_refusals()
            await pool.close()

    def throttled(request: Request, tenant_id: str | None) -> JSONResponse | None:
        """None when the request may go on; else the 429 (counted, nothing stored)."""
        kind, key = ("tenant", tenant_id) if tenant_id else ("ip", _source_ip(request))
        wait = (tenants if kind == "tenant" else sources).take(key)
        if wait <= 0:
            return None
        refusals.add(kind, key)
        after = ratelimit.retry_after(wait)
        response = JSONResponse(
            {
                "error": "rate_limited",
                "message": f"too many deliveries for this {kind}; retry after {after} s",
                "retry_after": int(after),
            },
            status_code=429,
            headers={"Retry-After": after},
        )
        return response

    async def webhook(request: Request) -> JSONResponse:
        platform = request.path_params["platform"]
        if platform not in PLATFORMS:
            return _error(404, "unknown_platform", f"no webhook route for platform {platform!r}")
        tenant_id = request.path_params["tenant_id"]
        channel_id = request.path_params["channel_id"]
        try:
            async with pool.connection() as conn:
                cur = await conn.execute(_SECRETS_SQL, (tenant_id, channel_id, platform))
                row = await cur.fetchone()
        except psycopg.OperationalError:
            return _error(503, "store_unavailable", "the delivery could not be stored; retry")
        refused = throttled(request, tenant_id if row is not None and row[0] == "ok" else None)
        if refused is not None:
            return refused  # before the body is read: it is not stored
        # Read without holding a connection: a slow sender must not starve the pool.
        body, size, truncated = await _read_body(request, config.max_body)
        headers = _headers(request)
        secrets: list[str] = list(row[1]) if row and row[1] else []
        result = (
            "unchecked"
            if truncated
            else signatures.verify(
                platform, headers, body, secrets, config.clock(), config.stripe_tolerance
            )
        )
        try:
            async with pool.connection() as conn:
                cur = await conn.execute(
                    _RECEIVE_SQL,
                    (
                        tenant_id,
                        platform,
                        channel_id,
                        Jsonb(headers),
                        body,
                        result,
                        size,
                        truncated,
                    ),
                )
                stored = await cur.fetchone()
        except psycopg.OperationalError:
            return _error(503, "store_unavailable", "the delivery could not be stored; retry")
        assert stored is not None
        return _answer(stored)

    async def routed(request: Request) -> JSONResponse:
        # One endpoint for many stores: the delivery names its account, SQL finds the channel.
        platform = request.path_params["platform"]
        if platform not in PLATFORMS:
            return _error(404, "unknown_platform", f"no webhook route for platform {platform!r}")
        body, size, truncated = await _read_body(request, config.max_body)
        headers = _headers(request)
        try:
            async with pool.connection() as conn:
                cur = await conn.execute(
                    _ROUTE_SQL,
                    (
                        platform,
                        Jsonb(headers),
                        body if platform == "stripe" else None,  # Connect "account"
                        config.stripe_account,
                    ),
                )
                route = await cur.fetchone()
                assert route is not None
                refused = throttled(request, route[1] if route[0] == "ok" else None)
                if refused is not None:
                    return refused
                secrets: list[str] = list(route[4]) if route[4] else []
                result = (
                    "unchecked"
                    if truncated
                    else signatures.verify(
                        platform, headers, body, secrets, config.clock(), config.stripe_tolerance
                    )
                )
                cur = await conn.execute(
                    _RECEIVE_ROUTED_SQL,
                    (
                        platform,
                        Jsonb(headers),
                        body,
                        result,
                        size,
                        truncated,
                        config.stripe_account,
                    ),
                )
                stored = await cur.fetchone()
        except psycopg.OperationalError:
            return _error(503, "store_unavailable", "the delivery could not be stored; retry")
        assert stored is not None
        return _answer(stored)

    async def quickbooks(request: Request) -> JSONResponse:
        # Store first (api.qbo_webhook__receive), answer at once: the changes are captured as
        # rows; fetching and comparing the entities runs in the inbound worker.
        tenant_id = request.path_params.get("tenant_id")
        body, size, truncated = await _read_body(request, config.max_body)
        headers = _headers(request)
        try:
            async with pool.connection() as conn:
                cur = await conn.execute(_QBO_TOKENS_SQL, (tenant_id,))
                row = await cur.fetchone()
                tokens: list[str] = list(row[1]) if row and row[1] else []
                result = (
                    "unchecked"
                    if truncated
                    else signatures.verify_base64_hmac(
                        headers.get("intuit-signature"), body, tokens
                    )
                )
                cur = await conn.execute(
                    _QBO_RECEIVE_SQL, (tenant_id, Jsonb(headers), body, result, size, truncated)
                )
                stored = await cur.fetchone()
        except psycopg.OperationalError:
            return _error(503, "store_unavailable", "the notification could not be stored; retry")
        assert stored is not None
        return _answer(stored)

    async def healthz(_request: Request) -> JSONResponse:
        try:
            async with pool.connection() as conn:
                await conn.execute("SELECT 1")
        except psycopg.OperationalError:
            return _error(503, "store_unavailable", "database unreachable")
        return JSONResponse({"ok": True})

    async def http_error(_request: Request, exc: Exception) -> JSONResponse:
        status = exc.status_code if isinstance(exc, HTTPException) else 400
        detail = exc.detail if isinstance(exc, HTTPException) else str(exc)
        return _error(status, "http_" + str(status), str(detail))

    return Starlette(
        exception_handlers={HTTPException: http_error},
        routes=[
            Route("/webhooks/quickbooks", quickbooks, methods=["POST"]),
            Route("/webhooks/quickbooks/{tenant_id}", quickbooks, methods=["POST"]),
            Route("/webhooks/{platform}", routed, methods=["POST"]),
            Route("/webhooks/{platform}/{tenant_id}/{channel_id}", webhook, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
        ],
        lifespan=lifespan,
    )


@contextlib.contextmanager
def running_receiver(config: ReceiverConfig, host: str = "127.0.0.1") -> Iterator[str]:
    """Serve a receiver on a free port in a background thread; yields its base URL.

    For tests and the benchmark: a real TCP server (uvicorn), stopped and joined on exit.
    """
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(config), log_level="warning", access_log=False, lifespan="on")
    )
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name=f"receiver-{port}", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("receiver did not start")
        time.sleep(0.01)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
