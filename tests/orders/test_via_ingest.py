"""End to end inside the database: a delivery stored by INGEST (api.raw_event__receive) is
normalized by api.raw_events__process through the orders normalizers: applied, or quarantined
with the normalizer's PB message while the raw delivery stays in ingest.raw_events."""

from __future__ import annotations

import json
from typing import Any

import psycopg

from tests.orders.conftest import realdata


def _receive(db: psycopg.Connection, delivery: str, topic: str, payload: Any) -> int:
    row = db.execute(
        "SELECT raw_event_id FROM api.raw_event__receive('t1', 'shopify', 'shop', %s::jsonb, %s,"
        " 'valid', p_topic => %s, p_delivery_id => %s)",
        (json.dumps({"X-Shopify-Topic": topic}), json.dumps(payload).encode(), topic, delivery),
    ).fetchone()
    assert row is not None
    return int(row[0])


def _outcome(db: psycopg.Connection, raw_event_id: int) -> tuple[str, str | None, str | None]:
    row = db.execute(
        "SELECT status, coalesce(result, reason_code), message FROM ingest.raw_events"
        " WHERE raw_event_id = %s",
        (raw_event_id,),
    ).fetchone()
    assert row is not None
    return row[0], row[1], row[2]


def test_deliveries_are_applied_or_quarantined_with_the_pb_message(odb: psycopg.Connection) -> None:
    order = realdata("shopify", "slince__Order__view.json")["order"]
    good = _receive(odb, "d-1", "orders/create", order)
    negative = dict(order, id=2, line_items=[dict(order["line_items"][0], quantity=-1)])
    bad_qty = _receive(odb, "d-2", "orders/create", negative)
    bad_cur = _receive(odb, "d-3", "orders/create", dict(order, id=3, currency="ABC"))
    odb.execute("SELECT * FROM api.raw_events__process(10)")
    assert _outcome(odb, good)[:2] == ("applied", "order:450789469")
    status, reason, message = _outcome(odb, bad_qty)
    assert (status, reason) == ("quarantined", "NORMALIZER_REJECTED")
    assert message is not None and "quantity must not be negative" in message
    status, reason, message = _outcome(odb, bad_cur)
    assert status == "quarantined" and message is not None and '"ABC"' in message
    orders = odb.execute("SELECT order_id FROM orders.orders ORDER BY 1").fetchall()
    assert orders == [("450789469",)]
    kept = odb.execute("SELECT count(*) FROM ingest.raw_events WHERE body IS NOT NULL").fetchone()
    assert kept == (3,)
