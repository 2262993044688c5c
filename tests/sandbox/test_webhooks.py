"""Outbound webhooks: payload formats, intuit-signature, retries with backoff."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from qbo_sandbox.webhooks import sign, verify

from .conftest import Company, invoice_body, new_customer

VERIFIER = "verifier-token-example"


def test_signature_matches_reference_vectors() -> None:
    body = (
        b'{"eventNotifications":[{"realmId":"1185883450","dataChangeEvent":{"entities":'
        b'[{"name":"Customer","id":"1","operation":"Create","lastUpdated":'
        b'"2015-10-05T14:42:19-0700"}]}}]}'
    )
    assert sign(body, VERIFIER) == "EfHoL/Jcn2M6tBOsHcC/6CABYnTxqlUYEzms5kG25P0="
    assert sign(b'{"stuff":"5"}', "verify_me") == "nfPLN16u3vMvv08ghDs+dOkLuirEVDy5wAeG/lmM2OA="
    assert not verify(body + b"\n", "EfHoL/Jcn2M6tBOsHcC/6CABYnTxqlUYEzms5kG25P0=", VERIFIER)


class Receiver:
    """Tiny HTTP endpoint that records requests and answers with scripted statuses."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = statuses
        self.requests: list[tuple[dict[str, str], bytes]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n)
                outer.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                status = outer.statuses.pop(0) if outer.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def wait(self, n: int, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.requests) < n and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(self.requests) >= n, self.requests

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver([])
    yield r
    r.close()


def test_legacy_payload_signed(company: Company, receiver: Receiver) -> None:
    company.sb.admin.webhooks(
        [{"url": receiver.url, "verifier_token": VERIFIER, "realms": [company.realm_id]}]
    )
    try:
        cust = new_customer(company)
        inv = company.post("/invoice", invoice_body(cust["Id"], ("3", 1, "5", "5"))).json()
        company.post("/invoice", {"Id": inv["Invoice"]["Id"], "SyncToken": "0"}, operation="void")
        receiver.wait(1)
        deadline = time.monotonic() + 5
        events: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            events = []
            for headers, body in receiver.requests:
                assert verify(body, headers["intuit-signature"], VERIFIER)
                for n in json.loads(body)["eventNotifications"]:
                    assert n["realmId"] == company.realm_id
                    events.extend(n["dataChangeEvent"]["entities"])
            if len(events) >= 3:
                break
            time.sleep(0.02)
        ops = [(e["name"], e["operation"]) for e in events]
        assert ops == [("Customer", "Create"), ("Invoice", "Create"), ("Invoice", "Void")]
        assert all(e["lastUpdated"] for e in events)
    finally:
        company.sb.admin.webhooks([])


def test_cloudevents_retried_until_acknowledged(company: Company) -> None:
    rec = Receiver([500, 503])
    company.sb.admin.webhooks(
        [
            {
                "url": rec.url,
                "verifier_token": "s3cret",
                "format": "cloudevents",
                "realms": [company.realm_id],
            }
        ],
        webhook_retry_delays=[0, 0.05, 0.1, 0.2],
    )
    try:
        new_customer(company, "Cloud Customer")
        rec.wait(3)
        bodies = [b for _, b in rec.requests]
        assert bodies[0] == bodies[1] == bodies[2]  # same event ids on every retry
        event = json.loads(bodies[0])[0]
        assert event["type"] == "qbo.customer.created.v1"
        assert event["intuitaccountid"] == company.realm_id and event["specversion"] == "1.0"
        assert rec.requests[0][0]["content-type"].startswith("application/cloudevents+json")
        assert verify(bodies[2], rec.requests[2][0]["intuit-signature"], "s3cret")
        # the sandbox records an attempt once the receiver's answer is read: poll, don't race
        deadline = time.monotonic() + 5
        while True:
            status = company.sb.admin.webhooks()
            delivery = [d for d in status["deliveries"] if d["url"] == rec.url][-1]
            if delivery["delivered"] or time.monotonic() > deadline:
                break
            time.sleep(0.02)
        assert [a.get("status") for a in delivery["attempts"]] == [500, 503, 200]
        assert delivery["delivered"] is True
    finally:
        company.sb.admin.webhooks([])
        rec.close()
