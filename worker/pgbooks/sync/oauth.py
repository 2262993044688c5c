"""OAuth 2.0 for QuickBooks: the authorization-code flow (``pgbooks connect``) and token custody.

Exactly one refresher per realm: :meth:`TokenStore.refresh` takes the realm's session-level
advisory lock through ``api.connection__refresh_begin`` (no transaction stays open across the
HTTP call), calls the token endpoint while holding it, and persists the rotated pair AT ONCE, in
its own short transaction, before the new token is used; a database connection lost meanwhile
(restart, failover) is replaced and the store retried, since a rotated refresh token that is not
stored is gone for good. A worker that waited on the lock sees a newer ``token_version`` and
reuses that token instead of spending the (already rotated) refresh token. ``invalid_grant``
pauses the realm, unless another refresher stored newer tokens meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import psycopg
from psycopg.rows import dict_row

from pgbooks.sync.crypto import TokenCipher

log = logging.getLogger("pgbooks.sync.oauth")

SCOPE = "com.intuit.quickbooks.accounting"
DEFAULT_CLIENT_ID = "sandbox-client-id"
DEFAULT_CLIENT_SECRET = "sandbox-client-secret"  # the local sandbox's client; override in prod
EARLY_REFRESH = timedelta(seconds=120)


class AuthLost(RuntimeError):
    """The refresh token was refused (invalid_grant): the realm is paused."""


@dataclass(frozen=True)
class OAuthClient:
    client_id: str
    client_secret: str

    @classmethod
    def from_env(cls) -> OAuthClient:
        return cls(
            os.environ.get("PGBOOKS_QBO_CLIENT_ID", DEFAULT_CLIENT_ID),
            os.environ.get("PGBOOKS_QBO_CLIENT_SECRET", DEFAULT_CLIENT_SECRET),
        )

    @property
    def basic(self) -> tuple[str, str]:
        return (self.client_id, self.client_secret)


def _expiry(seconds: Any) -> datetime | None:
    if seconds is None:
        return None
    return datetime.now(UTC) + timedelta(seconds=float(seconds))


def token_fields(body: dict[str, Any], cipher: TokenCipher) -> dict[str, Any]:
    """Encrypted columns + expiries from a token endpoint answer."""
    return {
        "access": cipher.encrypt(str(body["access_token"])),
        "refresh": cipher.encrypt(str(body["refresh_token"])),
        "access_expires_at": _expiry(body.get("expires_in", 3600)),
        "refresh_expires_at": _expiry(body.get("x_refresh_token_expires_in")),
        "hard_expires_at": _expiry(body.get("x_refresh_token_hard_expires_in")),
    }


def discover(http: httpx.Client, discovery_url: str) -> dict[str, Any]:
    resp = http.get(discovery_url)
    resp.raise_for_status()
    return dict(resp.json())


def authorization_url(
    endpoint: str, client: OAuthClient, redirect_uri: str, state: str, realm_id: str | None
) -> str:
    query = {
        "client_id": client.client_id,
        "response_type": "code",
        "scope": SCOPE,
        "redirect_uri": redirect_uri,
        "state": state,
    }
    if realm_id:
        query["realmId"] = realm_id
    return f"{endpoint}?{urlencode(query)}"


def exchange_code(
    http: httpx.Client, token_url: str, client: OAuthClient, code: str, redirect_uri: str
) -> dict[str, Any]:
    resp = http.post(
        token_url,
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri},
        auth=client.basic,
        headers={"Accept": "application/json"},
    )
    if resp.status_code != 200:
        raise AuthLost(f"token endpoint refused the authorization code: {resp.text[:200]}")
    return dict(resp.json())


def connect(
    db_url: str,
    tenant_id: str,
    *,
    api_base_url: str,
    discovery_url: str,
    realm_id: str | None = None,
    code: str | None = None,
    redirect_uri: str = "http://127.0.0.1:8711/callback",
    client: OAuthClient | None = None,
    cipher: TokenCipher | None = None,
    discover_defaults: bool = True,
) -> dict[str, Any]:
    """Run the authorization-code flow and store the connection. Returns non-secret facts.

    Without ``code`` the authorization URL is requested directly: the local sandbox approves at
    once and redirects with ``code`` + ``realmId`` (a real company needs a browser; pass the
    ``code`` and ``realm_id`` from the callback URL instead)."""
    client = client or OAuthClient.from_env()
    cipher = cipher or TokenCipher()
    with httpx.Client(timeout=20.0) as http:
        disco = discover(http, discovery_url)
        if code is None:
            state = secrets.token_urlsafe(16)
            url = authorization_url(
                disco["authorization_endpoint"], client, redirect_uri, state, realm_id
            )
            resp = http.get(url, follow_redirects=False)
            if resp.status_code not in (301, 302, 303, 307):
                raise AuthLost(f"authorization endpoint did not redirect: {resp.text[:200]}")
            params = {
                k: v[0] for k, v in parse_qs(urlsplit(resp.headers["location"]).query).items()
            }
            if params.get("state") != state:
                raise AuthLost("authorization callback state does not match (possible CSRF)")
            code, realm_id = params["code"], params.get("realmId", realm_id)
        if not realm_id:
            raise AuthLost("the realm id (realmId of the callback) is required with --code")
        body = exchange_code(http, disco["token_endpoint"], client, code, redirect_uri)
    f = token_fields(body, cipher)
    with psycopg.connect(db_url, autocommit=True) as conn:
        version = conn.execute(
            "SELECT api.connection__upsert(%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (
                tenant_id,
                realm_id,
                api_base_url,
                disco["token_endpoint"],
                f["access"],
                f["refresh"],
                f["access_expires_at"],
                f["refresh_expires_at"],
                f["hard_expires_at"],
            ),
        ).fetchone()
    defaults: dict[str, Any] | None = None
    if discover_defaults:
        # Zero configuration: read the company's accounts, items, tax codes and preferences and
        # store them as the tenant's editable defaults (books.tenant_settings / account_map).
        from pgbooks.books.discover import discover_company_defaults

        company_url = f"{api_base_url.rstrip('/')}/v3/company/{realm_id}"
        with (
            psycopg.connect(db_url, autocommit=True) as conn,
            httpx.Client(timeout=30.0) as http,
        ):
            defaults = discover_company_defaults(
                conn, tenant_id, http, company_url, str(body["access_token"])
            )
    return {
        "tenant_id": tenant_id,
        "realm_id": realm_id,
        "defaults": defaults,
        "token_version": version[0] if version else None,
        "access_expires_at": f["access_expires_at"].isoformat() if f["access_expires_at"] else None,
        "refresh_expires_at": (
            f["refresh_expires_at"].isoformat() if f["refresh_expires_at"] else None
        ),
    }


@dataclass
class _Cached:
    token: str
    version: int
    expires_at: datetime | None


class TokenStore:
    """Per-process cache of decrypted access tokens, refreshed under the realm's advisory lock."""

    def __init__(
        self,
        db_url: str,
        http: httpx.AsyncClient,
        cipher: TokenCipher | None = None,
        client: OAuthClient | None = None,
        own_connection: bool = False,
    ) -> None:
        """``own_connection``: load tokens on a connection of the store's own (call
        :meth:`close`) rather than on the caller's."""
        self.db_url = db_url
        self.own_connection = own_connection
        self.http = http
        self.cipher = cipher or TokenCipher()
        self.client = client or OAuthClient.from_env()
        self._cache: dict[str, _Cached] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self._conn_lock = asyncio.Lock()
        self.refreshes = 0

    @staticmethod
    def _fresh(expires_at: datetime | None) -> bool:
        return expires_at is None or expires_at - datetime.now(UTC) > EARLY_REFRESH

    async def access_token(self, conn: psycopg.AsyncConnection[Any], tenant_id: str) -> str:
        cached = self._cache.get(tenant_id)
        if cached and self._fresh(cached.expires_at):
            return cached.token
        # Single flight per tenant: the requests of a round that all miss the cache at once
        # wait for one lookup instead of queueing one query each on the loop's connection.
        lock = self._locks.setdefault(tenant_id, asyncio.Lock())
        async with lock:
            cached = self._cache.get(tenant_id)
            if cached and self._fresh(cached.expires_at):
                return cached.token
            if not self.own_connection:
                return await self._load(conn, tenant_id)
            # On the store's own connection: the caller's is busy with claims and completions.
            async with self._conn_lock:
                if self._conn is None or self._conn.closed or self._conn.broken:
                    self._conn = await psycopg.AsyncConnection.connect(self.db_url, autocommit=True)
                return await self._load(self._conn, tenant_id)

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    async def _load(self, conn: psycopg.AsyncConnection[Any], tenant_id: str) -> str:
        cur = conn.cursor(row_factory=dict_row)
        await cur.execute("SELECT * FROM api.connection__get(%s)", (tenant_id,))
        row = await cur.fetchone()
        if row is None or row["access_token_enc"] is None:
            raise AuthLost(f"tenant {tenant_id} has no QuickBooks connection: run pgbooks connect")
        if self._fresh(row["access_expires_at"]):
            token = self.cipher.decrypt(row["access_token_enc"])
            self._cache[tenant_id] = _Cached(token, row["token_version"], row["access_expires_at"])
            return token
        return await self.refresh(tenant_id, row["token_version"])

    async def refresh(self, tenant_id: str, seen_version: int | None = None) -> str:
        """New access token; ``seen_version`` is the version the caller found stale."""
        if seen_version is None:
            cached = self._cache.get(tenant_id)
            seen_version = cached.version if cached else None
        conn = await psycopg.AsyncConnection.connect(self.db_url, autocommit=True)
        try:
            cur = conn.cursor(row_factory=dict_row)
            await cur.execute("SELECT * FROM api.connection__refresh_begin(%s)", (tenant_id,))
            row = await cur.fetchone()
            if row is None:
                raise AuthLost(f"tenant {tenant_id} has no QuickBooks connection")
            if row["paused"]:
                raise AuthLost(f"tenant {tenant_id} is paused: {row['paused_reason']}")
            if row["token_version"] != seen_version and self._fresh(row["access_expires_at"]):
                # Another refresher won the lock first: use its token, keep the refresh token.
                return self._use(tenant_id, row)
            resp = await self.http.post(
                row["token_url"],
                data={
                    "grant_type": "refresh_token",
                    "refresh_token": self.cipher.decrypt(row["refresh_token_enc"]),
                },
                auth=self.client.basic,
                headers={"Accept": "application/json"},
            )
            body: dict[str, Any] = {}
            try:
                body = dict(resp.json())
            except ValueError:
                body = {}
            if resp.status_code != 200:
                error = str(body.get("error") or f"HTTP {resp.status_code}")
                if error == "invalid_grant":
                    conn = await self._alive(conn)
                    now = await self._row(conn, tenant_id)
                    if now is not None and now["token_version"] != row["token_version"]:
                        # Our lock was lost (connection dropped) and another refresher stored
                        # the rotated pair: the refusal is about the superseded token only.
                        return self._use(tenant_id, now)
                    await conn.execute(
                        "SELECT api.connection__pause(%s, %s)",
                        (tenant_id, f"invalid_grant: {body.get('error_description', '')}"),
                    )
                    self._cache.pop(tenant_id, None)
                    raise AuthLost(f"tenant {tenant_id}: refresh token refused (invalid_grant)")
                raise RuntimeError(f"token refresh failed for tenant {tenant_id}: {error}")
            await self._probe("answered", conn)
            f = token_fields(body, self.cipher)
            conn, version = await self._persist(conn, tenant_id, row["token_version"], f)
            await self._probe("persisted", conn)
            self.refreshes += 1
            token = str(body["access_token"])
            self._cache[tenant_id] = _Cached(token, version, f["access_expires_at"])
            return token
        finally:
            if not conn.closed:
                with contextlib.suppress(psycopg.Error):
                    await conn.execute("SELECT api.connection__refresh_end(%s)", (tenant_id,))
            await conn.close()

    # Test hook: ``await probe(stage, conn)`` at "answered" (token endpoint answered, nothing
    # stored yet) and "persisted" (stored, not used yet). None in production.
    probe: Any = None

    async def _probe(self, stage: str, conn: psycopg.AsyncConnection[Any]) -> None:
        if self.probe is not None:
            await self.probe(stage, conn)

    def _use(self, tenant_id: str, row: dict[str, Any]) -> str:
        token = self.cipher.decrypt(row["access_token_enc"])
        self._cache[tenant_id] = _Cached(token, row["token_version"], row["access_expires_at"])
        return token

    async def _alive(self, conn: psycopg.AsyncConnection[Any]) -> psycopg.AsyncConnection[Any]:
        if conn.closed or conn.broken:
            await conn.close()
            return await psycopg.AsyncConnection.connect(self.db_url, autocommit=True)
        return conn

    @staticmethod
    async def _row(conn: psycopg.AsyncConnection[Any], tenant_id: str) -> dict[str, Any] | None:
        cur = conn.cursor(row_factory=dict_row)
        await cur.execute("SELECT * FROM api.connection__get(%s)", (tenant_id,))
        return await cur.fetchone()

    async def _persist(
        self,
        conn: psycopg.AsyncConnection[Any],
        tenant_id: str,
        expected_version: int,
        f: dict[str, Any],
    ) -> tuple[psycopg.AsyncConnection[Any], int]:
        """Store the rotated pair in its own short transaction, whatever it takes: the old
        refresh token is already spent. A lost connection is replaced and the store retried
        (for about a minute: a database restart or failover)."""
        delay = 0.1
        for attempt in itertools.count():
            try:
                conn = await self._alive(conn)
                cur = await conn.execute(
                    "SELECT api.connection__store_tokens(%s, %s, %s, %s, %s, %s, %s)",
                    (
                        tenant_id,
                        expected_version,
                        f["access"],
                        f["refresh"],
                        f["access_expires_at"],
                        f["refresh_expires_at"],
                        f["hard_expires_at"],
                    ),
                )
                stored = await cur.fetchone()
                return conn, int(stored[0]) if stored else 0
            except psycopg.OperationalError as exc:
                if attempt >= 60:
                    raise
                log.warning("storing refreshed tokens of %s: %s; retrying", tenant_id, exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)
        raise AssertionError("unreachable")

    def forget(self, tenant_id: str) -> None:
        self._cache.pop(tenant_id, None)
