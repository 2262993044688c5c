"""Hypothesis throws generated payloads at the three normalizers: every payload ends
normalized (a canonical key is returned) or raises a documented PB error, nothing else."""

from __future__ import annotations

import copy
import json
from typing import Any

import psycopg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.orders.conftest import realdata

_TEXT = st.text(alphabet=st.characters(codec="utf-8", blacklist_characters="\x00"), max_size=12)
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=False, allow_infinity=False),
    _TEXT,
    st.sampled_from(
        ["", "0", "-1", "1.005", "12.34", "usd", "EUR", "JPY", "2024-02-30", "2024-01-01T00:00:00Z"]
    ),
)
_JSON = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(_TEXT, inner, max_size=3)),
    max_leaves=6,
)

_SHOPIFY = realdata("shopify", "slince__Order__view.json")["order"]
_WOO = realdata("woocommerce", "derived__wcdocs_v3_orders_examples.json")[0]["body"]
_STRIPE = {
    "id": "evt_1",
    "type": "charge.succeeded",
    "created": 1700000000,
    "data": {"object": realdata("stripe", "payrails__charge.succeeded.json")["object"]},
}
_CASES = {
    "shopify": (
        "shop",
        ["orders/create", "refunds/create", "order_transactions/create", "payouts/paid", "x"],
        _SHOPIFY,
    ),
    "woocommerce": ("woo", ["order.created", "order.updated", "refund.created", "x"], _WOO),
    "stripe": ("stripe", ["charge.succeeded", "payout.paid", "x"], _STRIPE),
}


def _paths(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc[:3]):
            out += _paths(v, (*prefix, i))
    return out


def _mutate(doc: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    doc = copy.deepcopy(doc)
    node = doc
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return doc


@st.composite
def _payloads(draw: st.DrawFn) -> tuple[str, str, str, Any]:
    platform = draw(st.sampled_from(sorted(_CASES)))
    channel, topics, base = _CASES[platform]
    topic = draw(st.sampled_from(topics))
    if draw(st.integers(0, 9)) == 0:
        return platform, channel, topic, draw(_JSON)
    payload = base
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(_paths(payload)))
        payload = _mutate(payload, path, draw(_JSON))
    return platform, channel, topic, payload


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=_payloads())
def test_generated_payloads_end_normalized_or_with_a_pb_error(
    odb: psycopg.Connection, case: tuple[str, str, str, Any]
) -> None:
    platform, channel, topic, payload = case
    try:
        row = odb.execute(
            f"SELECT logic.{platform}__normalize('t1', %s, %s, %s::jsonb)",
            (channel, topic, json.dumps(payload)),
        ).fetchone()
    except psycopg.Error as err:
        assert err.sqlstate is not None and err.sqlstate.startswith("PB"), (err.sqlstate, str(err))
        assert err.diag.message_primary
    else:
        assert row is not None and isinstance(row[0], str) and ":" in row[0]
