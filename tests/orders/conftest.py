"""Fixtures for the orders area: a tenant with one channel per platform on a fresh database."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest

REALDATA = Path(__file__).resolve().parents[1] / "fixtures" / "realdata"

CHANNELS = [
    ("shop", "shopify", "USD", "johns-apparel.myshopify.com"),
    ("woo", "woocommerce", "USD", "https://example.com"),
    ("stripe", "stripe", "USD", "acct_1032D82eZvKYlo2C"),
    ("app", "custom", "USD", None),
    ("jp", "custom", "JPY", None),
]


def realdata(source: str, name: str) -> Any:
    """A JSON file copied from shared/realdata (attribution in its folder's SOURCES.md)."""
    return json.loads((REALDATA / source / name).read_text())


@pytest.fixture
def odb(db: psycopg.Connection) -> psycopg.Connection:
    """Fresh database with tenant 't1' and channels shop/woo/stripe/app (USD) and jp (JPY)."""
    db.execute("INSERT INTO orders.tenants (tenant_id, name) VALUES ('t1', 'Tenant One')")
    for channel_id, platform, currency, ext in CHANNELS:
        db.execute(
            "INSERT INTO orders.channels (tenant_id, channel_id, platform, name, currency,"
            " webhook_secret, external_account_id) VALUES ('t1', %s, %s, %s, %s, 'secret', %s)",
            (channel_id, platform, channel_id, currency, ext),
        )
    return db


def normalize(db: psycopg.Connection, platform: str, channel: str, topic: str, payload: Any) -> str:
    """Call logic.<platform>__normalize as INGEST does; returns the canonical key."""
    row = db.execute(
        f"SELECT logic.{platform}__normalize('t1', %s, %s, %s::jsonb)",
        (channel, topic, json.dumps(payload)),
    ).fetchone()
    assert row is not None
    return str(row[0])


def events(db: psycopg.Connection, subject_id: str | None = None) -> list[str]:
    """Event types recorded, in order (optionally for one subject)."""
    rows = db.execute(
        "SELECT event_type FROM orders.events WHERE tenant_id = 't1'"
        " AND (%(s)s::text IS NULL OR subject_id = %(s)s) ORDER BY event_id",
        {"s": subject_id},
    ).fetchall()
    return [r[0] for r in rows]


def open_flags(db: psycopg.Connection, order_id: str) -> list[tuple[str, Any]]:
    """Open flags (reason_code, detail) of an order."""
    rows = db.execute(
        "SELECT reason_code, detail FROM orders.order_flags WHERE tenant_id = 't1'"
        " AND order_id = %s AND resolved_at IS NULL ORDER BY flag_id",
        (order_id,),
    ).fetchall()
    return [(r[0], r[1]) for r in rows]


@contextmanager
def raises_sqlstate(sqlstate: str, match: str | None = None) -> Iterator[None]:
    """Expect a database error with this SQLSTATE (and a message containing ``match``)."""
    with pytest.raises(psycopg.Error) as err:
        yield
    assert err.value.sqlstate == sqlstate, str(err.value)
    if match is not None:
        assert match in str(err.value), str(err.value)
