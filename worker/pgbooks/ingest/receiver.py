"""The webhook receiver: ``pgbooks receive --port N``.

Routes (POST)::

    /webhooks/shopify/{tenant_id}/{channel_id}
    /webhooks/woocommerce/{tenant_id}/{channel_id}
    /webhooks/stripe/{tenant_id}/{channel_id}
    /webhooks/quickbooks[/{tenant_id}]   QuickBooks notifications (two-way sync): legacy
                                         eventNotifications or CloudEvents, intuit-signature
    GET /healthz                  200 when the database answers

The tenant is in the path because a channel id is only unique within its tenant. For each
delivery the receiver reads the body (bounded: 413 beyond ``max_body`` bytes), fetches the
channel's secrets, checks the signature over the raw bytes, and calls
``api.raw_event__receive``, which stores the delivery verbatim and decides the answer (200
stored or duplicate, 401 bad signature, 400 malformed JSON, 404 unknown channel, 413 too
large). Every one of these outcomes is a row in ``ingest.raw_events``. The answer is sent after
the row is committed and before any parsing: normalization runs in ``pgbooks ingest process``.
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

from pgbooks.ingest import signatures

PLATFORMS = ("shopify", "woocommerce", "stripe")
DEFAULT_MAX_BODY = 1024 * 1024  # 1 MiB: Shopify caps order payloads well below this

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

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        await pool.open()
        try:
            yield
        finally:
            await pool.close()

    async def webhook(request: Request) -> JSONResponse:
        platform = request.path_params["platform"]
        if platform not in PLATFORMS:
            return _error(404, "unknown_platform", f"no webhook route for platform {platform!r}")
        tenant_id = request.path_params["tenant_id"]
        channel_id = request.path_params["channel_id"]
        body, size, truncated = await _read_body(request, config.max_body)
        headers = _headers(request)
        try:
            async with pool.connection() as conn:
                cur = await conn.execute(_SECRETS_SQL, (tenant_id, channel_id, platform))
                row = await cur.fetchone()
                secrets: list[str] = list(row[1]) if row and row[1] else []
                result = (
                    "unchecked"
                    if truncated
                    else signatures.verify(
                        platform, headers, body, secrets, config.clock(), config.stripe_tolerance
                    )
                )
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
