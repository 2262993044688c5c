"""QuickBooks notifications: stored raw before parsing, intuit-signature verified, acknowledged
fast, replays and forgeries refused (sandbox webhooks -> real receiver -> real database)."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from pgbooks.ingest.signatures import sign_base64
from tests.inbound.conftest import VERIFIER, TwoWay


def _raw(two_way: TwoWay) -> list[dict[str, object]]:
    cur = two_way.db.execute(
        "SELECT raw_event_id, tenant_id, status, reason_code, signature_result, topic, duplicate_of"
        " FROM ingest.raw_events WHERE platform = 'quickbooks' ORDER BY raw_event_id"
    )
    names = [c.name for c in cur.description or []]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


@pytest.mark.parametrize("fmt", ["legacy", "cloudevents"])
def test_edit_in_quickbooks_arrives_by_webhook_once(
    two_way: TwoWay, receiver_url: str, fmt: str
) -> None:
    oid = two_way.order()
    two_way.deliver()
    inv = two_way.document(oid)
    two_way.webhooks(f"{receiver_url}/webhooks/quickbooks/{two_way.tenant}", fmt)
    two_way.edit("Invoice", inv["remote_id"], PrivateNote="checked by Bob")
    rows = two_way.wait_changes(lambda rs: any(r["entity"] == "Invoice" for r in rs))
    change = next(r for r in rows if r["entity"] == "Invoice")
    assert (change["remote_id"], change["operation"], change["source"]) == (
        inv["remote_id"],
        "Update",
        "webhook",
    )
    raw = _raw(two_way)
    assert raw[-1]["status"] == "applied" and raw[-1]["signature_result"] == "valid"
    assert raw[-1]["topic"] == ("eventNotifications" if fmt == "legacy" else "cloudevents")
    assert change["raw_event_id"] == raw[-1]["raw_event_id"]

    # The sandbox's delivery log: every attempt was acknowledged with 200.
    log = two_way.books.sb.admin.webhooks()["deliveries"]
    assert log and all(a.get("status") == 200 for d in log for a in d["attempts"])

    # Replay the very same delivery (same body, same signature): kept, not applied again.
    d = log[-1]
    headers = {"intuit-signature": d["signature"], "Content-Type": "application/json"}
    url = f"{receiver_url}/webhooks/quickbooks/{two_way.tenant}"
    r = httpx.post(url, content=d["body"].encode(), headers=headers)
    assert r.status_code == 200 and r.json()["status"] == "duplicate"
    assert r.json()["duplicate_of"] == raw[-1]["raw_event_id"]
    # Same events in another body (re-serialised, re-signed): same change, seen twice, one row.
    body2 = json.dumps(json.loads(d["body"]), indent=1).encode()
    r = httpx.post(url, content=body2, headers={"intuit-signature": sign_base64(VERIFIER, body2)})
    assert r.status_code == 200 and r.json()["status"] == "applied"
    after = [c for c in two_way.changes() if c["entity"] == "Invoice"]
    assert len(after) == 1 and after[0]["seen"] == 2

    stats = two_way.inbound()
    assert stats.outcomes == {"review": 1}  # PrivateNote has no policy row: review
    exc = two_way.exceptions("CONFLICT_REVIEW")
    assert [d["path"] for d in exc[0]["diff"]] == ["PrivateNote"]
    assert two_way.inbound().applied == 0  # applied once


def test_forged_and_unsigned_notifications_are_refused_and_kept(
    two_way: TwoWay, receiver_url: str
) -> None:
    body = json.dumps(
        {
            "eventNotifications": [
                {
                    "realmId": two_way.realm,
                    "dataChangeEvent": {
                        "entities": [
                            {
                                "name": "Invoice",
                                "id": "1",
                                "operation": "Delete",
                                "lastUpdated": "2026-11-23T10:00:00Z",
                            }
                        ]
                    },
                }
            ]
        }
    ).encode()
    url = f"{receiver_url}/webhooks/quickbooks/{two_way.tenant}"
    forged = httpx.post(url, content=body, headers={"intuit-signature": sign_base64("guess", body)})
    unsigned = httpx.post(url, content=body)
    assert forged.status_code == 401 and forged.json()["reason_code"] == "SIGNATURE_INVALID"
    assert unsigned.status_code == 401 and unsigned.json()["reason_code"] == "SIGNATURE_MISSING"
    raw = _raw(two_way)
    assert [(r["status"], r["reason_code"]) for r in raw] == [
        ("rejected", "SIGNATURE_INVALID"),
        ("rejected", "SIGNATURE_MISSING"),
    ]
    assert two_way.changes() == []
    # The genuine notification is accepted, fast, on the app-wide URL too (realm -> tenant).
    t0 = time.perf_counter()
    ok = httpx.post(
        f"{receiver_url}/webhooks/quickbooks",
        content=body,
        headers={"intuit-signature": sign_base64(VERIFIER, body)},
    )
    elapsed = time.perf_counter() - t0
    assert ok.status_code == 200 and ok.json()["status"] == "applied", ok.text
    assert elapsed < 1.0
    assert [(c["entity"], c["operation"]) for c in two_way.changes()] == [("Invoice", "Delete")]
    # A malformed notification is stored and quarantined, not lost.
    bad = b'{"eventNotifications": [{"realmId": "%s", "dataChangeEvent": {"entities": [{}]}}]}' % (
        two_way.realm.encode()
    )
    r = httpx.post(url, content=bad, headers={"intuit-signature": sign_base64(VERIFIER, bad)})
    assert r.status_code == 200 and r.json()["status"] == "quarantined"
    assert "name, id and operation" in r.json()["message"]
