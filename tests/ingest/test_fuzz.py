"""Generated payloads through receive + process: nothing crashes, nothing stays pending.

Whatever the normalizers installed at the time (the orders area's, or none), every stored event
ends ``applied`` or ``quarantined`` with a reason code, and the batch never aborts.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import psycopg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .conftest import TENANT

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**12), max_value=10**12)
    | st.decimals(allow_nan=False, allow_infinity=False, places=2).map(str)
    | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
# Payloads shaped like the platforms' (known keys with arbitrary values) and fully arbitrary ones.
KEYS = [
    "id",
    "order",
    "line_items",
    "total_price",
    "currency",
    "quantity",
    "price",
    "type",
    "data",
    "object",
    "amount",
    "status",
    "refunds",
    "date_modified_gmt",
    "updated_at",
]
payloads = st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=6), json_values, max_size=8)
TOPICS = {
    "shopify": ["orders/create", "orders/updated", "refunds/create", "order_transactions/create"],
    "woocommerce": ["order.created", "order.updated"],
    "stripe": ["charge.succeeded", "charge.refunded", "payout.paid", "balance.available"],
}


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    batch=st.lists(
        st.tuples(st.sampled_from(sorted(TOPICS)), st.integers(0, 3), payloads),
        min_size=1,
        max_size=4,
    )
)
def test_generated_payloads_end_applied_or_quarantined(
    channels: psycopg.Connection[Any], batch: list[tuple[str, int, dict[str, Any]]]
) -> None:
    channel_of = {"shopify": "shop", "woocommerce": "woo", "stripe": "str"}
    ids = []
    for platform, topic_ix, payload in batch:
        topic = TOPICS[platform][topic_ix % len(TOPICS[platform])]
        row = channels.execute(
            "SELECT raw_event_id, status FROM api.raw_event__receive(%s, %s, %s, '{}', %s,"
            " 'valid', p_topic => %s, p_delivery_id => %s)",
            (
                TENANT,
                platform,
                channel_of[platform],
                json.dumps(payload).encode(),
                topic,
                str(uuid.uuid4()),
            ),
        ).fetchone()
        assert row is not None
        # jsonb refuses \u0000 in text: such a body is rejected at the door, never pending.
        assert row[1] in ("pending", "rejected")
        ids.append(row[0])
    channels.execute("SELECT * FROM api.raw_events__process(50)")
    rows = channels.execute(
        "SELECT status, reason_code FROM ingest.raw_events WHERE tenant_id = %s"
        " AND raw_event_id = ANY(%s)",
        (TENANT, ids),
    ).fetchall()
    assert len(rows) == len(ids)
    for status, reason in rows:
        assert status in ("applied", "quarantined", "rejected")
        assert (status == "applied") == (reason is None)
