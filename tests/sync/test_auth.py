"""OAuth: authorization-code connect, encrypted tokens, one refresher, invalid_grant pause."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from typing import Any

import httpx

from pgbooks.sync.oauth import AuthLost, TokenStore, connect
from tests.sync.conftest import Books


def test_connect_stores_tokens_encrypted_only(books: Books) -> None:
    row = books.db.execute(
        "SELECT realm_id, access_token_enc, refresh_token_enc, token_version, paused "
        "FROM sync.connections WHERE tenant_id = %s",
        (books.tenant_id,),
    ).fetchone()
    assert row is not None
    realm, access, refresh, version, paused = row
    assert realm == books.realm_id and version == 1 and not paused
    assert bytes(access).startswith(b"gAAAA")  # Fernet ciphertext, never the token itself
    assert b"RT1-" not in bytes(refresh)


def test_expired_access_token_is_refreshed_once_and_delivery_continues(books: Books) -> None:
    books.sb.admin.expire_tokens(books.realm_id)
    books.customer("After Expiry")
    stats = books.drain()
    assert books.count("Customer", DisplayName="After Expiry") == 1
    assert stats.refreshes == 1
    version = books.db.execute("SELECT token_version FROM sync.connections").fetchone()
    assert version == (2,)


def test_concurrent_refreshers_rotate_the_refresh_token_exactly_once(books: Books) -> None:
    async def race() -> list[str]:
        async with httpx.AsyncClient() as http:
            stores = [TokenStore(books.db_url, http) for _ in range(4)]
            return await asyncio.gather(*(s.refresh(books.tenant_id, 1) for s in stores))

    tokens = asyncio.run(race())
    assert len(set(tokens)) == 1  # the losers reused the winner's token
    version = books.db.execute("SELECT token_version FROM sync.connections").fetchone()
    assert version == (2,)

    # The stored (rotated) refresh token still works: refresh once more.
    async def again() -> str:
        async with httpx.AsyncClient() as http:
            return await TokenStore(books.db_url, http).refresh(books.tenant_id, 2)

    assert asyncio.run(again()) not in tokens


def test_revoked_grant_pauses_realm_with_auth_expired_until_reconnected(books: Books) -> None:
    books.sb.admin.revoke_tokens(books.realm_id)
    cust = books.customer("Revoked")
    books.drain(timeout=10)
    assert books.count("Customer", DisplayName="Revoked") == 0
    paused = books.db.execute("SELECT paused, paused_reason FROM sync.connections").fetchone()
    assert paused is not None and paused[0] and "invalid_grant" in paused[1]
    exc = books.exceptions()
    assert [(e[0], e[1]) for e in exc] == [("AUTH_EXPIRED", "config")]
    assert (
        "pgbooks connect"
        in books.db.execute("SELECT detail->>'remedy' FROM sync.exceptions").fetchone()[0]
    )
    assert books.outbox(cust)["state"] == "pending"  # kept, not failed
    # Reconnect: the realm resumes and the document goes out once.
    connect(
        books.db_url,
        books.tenant_id,
        api_base_url=books.sb.base_url,
        discovery_url=f"{books.sb.base_url}/.well-known/openid_configuration",
        realm_id=books.realm_id,
    )
    books.drain()
    assert books.count("Customer", DisplayName="Revoked") == 1
    assert books.exceptions() == []


def test_refresh_of_a_paused_realm_is_refused(books: Books) -> None:
    books.db.execute("SELECT api.connection__pause(%s, 'operator')", (books.tenant_id,))

    async def go() -> None:
        async with httpx.AsyncClient() as http:
            await TokenStore(books.db_url, http).refresh(books.tenant_id, 1)

    try:
        asyncio.run(go())
        raise AssertionError("refresh of a paused realm must fail")
    except AuthLost as exc:
        assert "paused" in str(exc)


def _refresh_again(books: Books, version: int) -> str:
    async def go() -> str:
        async with httpx.AsyncClient() as http:
            return await TokenStore(books.db_url, http).refresh(books.tenant_id, version)

    return asyncio.run(go())


def test_rotated_refresh_token_survives_losing_the_database_connection(books: Books) -> None:
    # The token endpoint has answered (the old refresh token is spent) and the refresher's
    # database connection dies before anything is stored: the pair must still be stored.
    killed: list[int] = []

    async def probe(stage: str, conn: Any) -> None:
        if stage == "answered":
            pid = conn.info.backend_pid
            books.db.execute("SELECT pg_terminate_backend(%s)", (pid,))
            killed.append(pid)

    async def go() -> str:
        async with httpx.AsyncClient() as http:
            store = TokenStore(books.db_url, http)
            store.probe = probe
            return await store.refresh(books.tenant_id, 1)

    token = asyncio.run(go())
    assert killed and token
    row = books.db.execute("SELECT token_version, paused FROM sync.connections").fetchone()
    assert row == (2, False)
    assert _refresh_again(books, 2) != token  # the stored refresh token is the live one


def test_worker_killed_right_after_a_refresh_does_not_lose_the_grant(books: Books) -> None:
    # A process SIGKILLed between storing the rotated pair and using it: nothing is lost.
    code = (
        "import asyncio, os, signal, sys, httpx\n"
        "from pgbooks.sync.oauth import TokenStore\n"
        "async def probe(stage, conn):\n"
        "    if stage == 'persisted':\n"
        "        os.kill(os.getpid(), signal.SIGKILL)\n"
        "async def main():\n"
        "    async with httpx.AsyncClient() as http:\n"
        "        s = TokenStore(sys.argv[1], http)\n"
        "        s.probe = probe\n"
        "        await s.refresh(sys.argv[2], 1)\n"
        "asyncio.run(main())\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, books.db_url, books.tenant_id],
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert books.db.execute("SELECT token_version FROM sync.connections").fetchone() == (2,)
    books.customer("After Kill")
    books.drain()
    assert books.count("Customer", DisplayName="After Kill") == 1
    assert _refresh_again(books, 2)  # the rotated refresh token was stored, not lost
    assert books.db.execute("SELECT paused FROM sync.connections").fetchone() == (False,)
