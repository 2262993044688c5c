"""Fixtures for ingest tests: a tenant with one channel per platform, and a live receiver."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from psycopg import sql

from pgbooks.ingest.receiver import ReceiverConfig, running_receiver

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "realdata" / "ingest"
TENANT = "acme"
SECRETS = {
    "shop": ("shopify", "hush", "old-hush"),
    "woo": ("woocommerce", "wc_secret", None),
    "str": ("stripe", "whsec_test_secret", "whsec_old_secret"),
}
MAX_BODY = 64 * 1024


def fixture_bytes(name: str) -> bytes:
    """Raw bytes of a real payload copied into tests/fixtures/realdata/ingest."""
    return (FIXTURES / name).read_bytes()


def add_channel(
    db: psycopg.Connection[Any],
    channel_id: str,
    platform: str,
    secret: str | None,
    previous: str | None = None,
    tenant_id: str = TENANT,
) -> None:
    """Insert a channel (and its tenant when missing)."""
    db.execute(
        "INSERT INTO orders.tenants (tenant_id, name) VALUES (%s, %s) ON CONFLICT DO NOTHING",
        (tenant_id, tenant_id.title()),
    )
    db.execute(
        "INSERT INTO orders.channels (tenant_id, channel_id, platform, name, currency,"
        " webhook_secret, webhook_secret_previous, external_account_id)"
        " VALUES (%s, %s, %s, %s, 'USD', %s, %s, %s)",
        (
            tenant_id,
            channel_id,
            platform,
            channel_id.title(),
            secret,
            previous,
            f"ext-{channel_id}",
        ),
    )


@pytest.fixture
def channels(db: psycopg.Connection[Any]) -> psycopg.Connection[Any]:
    """The test database with tenant ``acme`` and channels shop / woo / str."""
    for channel_id, (platform, secret, previous) in SECRETS.items():
        add_channel(db, channel_id, platform, secret, previous)
    return db


@pytest.fixture
def receiver(db_url: str, channels: psycopg.Connection[Any]) -> Iterator[httpx.Client]:
    """An HTTP client bound to a receiver served over real TCP on a free port."""
    config = ReceiverConfig(db_url, max_body=MAX_BODY, pool_size=2)
    with running_receiver(config) as base, httpx.Client(base_url=base, timeout=10) as client:
        yield client


def raw_event(db: psycopg.Connection[Any], raw_event_id: int) -> dict[str, Any]:
    """One ingest.raw_events row as a dict."""
    cur = db.execute(
        "SELECT * FROM ingest.raw_events WHERE tenant_id = %s AND raw_event_id = %s",
        (TENANT, raw_event_id),
    )
    row = cur.fetchone()
    assert row is not None, f"raw event {raw_event_id} not stored"
    assert cur.description is not None
    return {d.name: v for d, v in zip(cur.description, row, strict=True)}


def count_events(db: psycopg.Connection[Any], **where: str) -> int:
    """Number of raw events matching column = value filters."""
    clause = sql.SQL(" AND ").join(
        sql.SQL("{} = {}").format(sql.Identifier(k), sql.Placeholder(k)) for k in where
    )
    query = sql.SQL("SELECT count(*) FROM ingest.raw_events WHERE {}").format(
        clause if where else sql.SQL("TRUE")
    )
    row = db.execute(query, where).fetchone()
    assert row is not None
    return int(row[0])
