"""Backfill: pages of a directory or an HTTP endpoint into raw_events, resumable from a cursor.

Pages are built from the real Shopify order (tests/fixtures/realdata/ingest); only ``id`` and
``updated_at`` are varied so that pages hold distinct records.
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import psycopg
import pytest
from typer.testing import CliRunner

from pgbooks.cli import app
from pgbooks.ingest import backfill as bf

from .conftest import TENANT, count_events, fixture_bytes

ORDER = json.loads(fixture_bytes("shopify__slince__Order__view.json"))["order"]
CHARGE = json.loads(fixture_bytes("stripe__derived__stripe_mock__charge.json"))


def order(i: int, updated: str = "2024-01-01T00:00:00Z") -> dict[str, Any]:
    o = copy.deepcopy(ORDER)
    o["id"] = 1000 + i
    o["updated_at"] = updated
    return o


@pytest.fixture
def pages(tmp_path: Path) -> Path:
    """Three page files of two orders each, plus a non-JSON file that is ignored."""
    for p in range(3):
        doc = {"orders": [order(2 * p), order(2 * p + 1)]}
        (tmp_path / f"{p:02d}.json").write_text(json.dumps(doc))
    (tmp_path / "README.txt").write_text("not a page")
    return tmp_path


def run(db_url: str, source: str, **kw: Any) -> bf.Result:
    return bf.run(
        db_url,
        tenant_id=TENANT,
        channel_id=kw.pop("channel_id", "shop"),
        platform=kw.pop("platform", "shopify"),
        resource=kw.pop("resource", "orders"),
        source=source,
        **kw,
    )


def test_cli_backfills_a_directory_through_the_raw_events_path(
    pages: Path, db_url: str, channels: psycopg.Connection[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", db_url)
    args = ["backfill", "orders", "--source", str(pages), "--tenant", TENANT]
    res = CliRunner().invoke(app, [*args, "--channel", "shop", "--platform", "shopify", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out == {"pages": 3, "records": 6, "statuses": {"pending": 6}, "completed": True}
    assert count_events(channels, source="backfill", status="pending", topic="orders/updated") == 6
    row = channels.execute(
        "SELECT delivery_id, signature_result, body FROM ingest.raw_events ORDER BY raw_event_id"
    ).fetchone()
    assert row is not None
    assert row[:2] == ("backfill:orders:1000@2024-01-01T00:00:00Z", "not_applicable")
    assert json.loads(bytes(row[2])) == order(0)
    cur = channels.execute(
        "SELECT cursor, pages_done, records_done, completed_at IS NOT NULL"
        " FROM ingest.backfill_cursors"
    ).fetchone()
    assert cur == ("02.json", 3, 6, True)


def test_interrupted_backfill_resumes_after_the_last_stored_page(
    pages: Path, db_url: str, channels: psycopg.Connection[Any]
) -> None:
    first = run(db_url, str(pages), max_pages=1)
    assert (first.pages, first.records, first.completed) == (1, 2, False)
    rest = run(db_url, str(pages))
    assert (rest.pages, rest.records, rest.completed) == (2, 4, True)
    assert count_events(channels, status="pending") == 6
    assert count_events(channels, status="duplicate") == 0
    # Completed: a new run reads nothing.
    assert run(db_url, str(pages)).pages == 0
    # Starting over stores the records again, as duplicates that are never applied twice.
    again = run(db_url, str(pages), reset=True)
    assert again.statuses == {"duplicate": 6}
    # A changed record (new updated_at) is a new event.
    (pages / "03.json").write_text(json.dumps([order(0, "2024-02-02T00:00:00Z")]))
    more = run(db_url, str(pages))
    assert more.statuses == {"pending": 1}


def test_backfill_refuses_an_unknown_channel(pages: Path, db_url: str, channels: Any) -> None:
    with pytest.raises(bf.BackfillError, match="--channel nope"):
        run(db_url, str(pages), channel_id="nope")
    with pytest.raises(bf.BackfillError, match="not a directory"):
        run(db_url, str(pages / "missing"))


class _Export:
    """A tiny HTTP export: Shopify Link paging, Stripe has_more, WooCommerce X-WP-TotalPages."""

    def __init__(self) -> None:
        self.fail_next: set[str] = set()
        self.hits: list[str] = []

    def respond(self, path: str, query: dict[str, list[str]]) -> tuple[int, dict[str, str], Any]:
        self.hits.append(path)
        if path in self.fail_next:
            self.fail_next.discard(path)
            return 500, {}, {"errors": "boom"}
        if path == "/shopify/orders.json":
            info = query.get("page_info", ["p1"])[0]
            if info == "p1":
                link = '<http://HOST/shopify/orders.json?page_info=p2>; rel="next"'
                return 200, {"Link": link}, {"orders": [order(1), order(2)]}
            return 200, {}, {"orders": [order(3)]}
        if path == "/stripe/charges":
            after = query.get("starting_after", [None])[0]
            data = [dict(CHARGE, id=f"ch_{i}") for i in range(3)]
            if after is None:
                return 200, {}, {"object": "list", "data": data[:2], "has_more": True}
            return 200, {}, {"object": "list", "data": data[2:], "has_more": False}
        if path == "/wc/orders":
            page = int(query.get("page", ["1"])[0])
            return 200, {"X-WP-TotalPages": "2"}, [order(10 + page)]
        return 404, {}, {"errors": "not found"}


@pytest.fixture
def export() -> Iterator[tuple[str, _Export]]:
    state = _Export()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            status, headers, doc = state.respond(parts.path, parse_qs(parts.query))
            body = json.dumps(doc).encode()
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v.replace("HOST", f"127.0.0.1:{server.server_port}"))
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", state
    finally:
        server.shutdown()
        server.server_close()


def test_url_backfill_follows_each_platforms_paging_and_resumes_after_an_error(
    export: tuple[str, _Export], db_url: str, channels: psycopg.Connection[Any]
) -> None:
    base, state = export
    state.fail_next.add("/shopify/orders.json")
    with pytest.raises(bf.BackfillError, match="500"):
        run(db_url, f"{base}/shopify/orders.json")
    res = run(db_url, f"{base}/shopify/orders.json")
    assert (res.pages, res.records, res.completed) == (2, 3, True)

    # Fail on the second page: the first stays stored, the rerun starts at the second.
    res = run(
        db_url, f"{base}/stripe/charges", channel_id="str", platform="stripe", resource="charges"
    )
    assert (res.pages, res.records, res.statuses) == (2, 3, {"pending": 3})
    assert count_events(channels, platform="stripe", topic="charge.updated") == 3
    # Stripe objects travel as Event envelopes, like a Stripe webhook (the normalizer reads events).
    body = channels.execute(
        "SELECT body FROM ingest.raw_events WHERE platform = 'stripe' ORDER BY raw_event_id"
    ).fetchone()
    assert body is not None
    event = json.loads(bytes(body[0]))
    assert (event["object"], event["type"], event["pgbooks_backfill"]) == (
        "event",
        "charge.updated",
        True,
    )
    assert event["data"]["object"] == dict(CHARGE, id="ch_0")
    assert event["id"].startswith("backfill:charges:ch_0@")

    res = run(db_url, f"{base}/wc/orders", channel_id="woo", platform="woocommerce", max_pages=1)
    assert (res.pages, res.completed) == (1, False)
    state.fail_next.add("/wc/orders")
    with pytest.raises(bf.BackfillError):
        run(db_url, f"{base}/wc/orders", channel_id="woo", platform="woocommerce")
    res = run(db_url, f"{base}/wc/orders", channel_id="woo", platform="woocommerce")
    assert (res.pages, res.records, res.completed) == (1, 1, True)
    assert count_events(channels, platform="woocommerce", status="pending") == 2
    cursor = channels.execute(
        "SELECT cursor FROM ingest.backfill_cursors WHERE channel_id = 'woo'"
    ).fetchone()
    assert cursor == (None,)
