"""``requestid``: replay without side effects; length limit; batch key requestid+bId."""

from __future__ import annotations

from .conftest import Company, invoice_body, new_customer


def test_same_requestid_returns_original_response_without_side_effect(company: Company) -> None:
    cust = new_customer(company)
    body = invoice_body(cust["Id"], ("3", 1, "5", "5"))
    first = company.post("/invoice", body, requestid="order-1001-attempt")
    second = company.post("/invoice", body, requestid="order-1001-attempt")
    assert first.status_code == second.status_code == 200
    assert first.content == second.content  # byte-identical, including "time"
    assert company.count("Invoice") == 1
    third = company.post("/invoice", body, requestid="order-1002")
    assert third.json()["Invoice"]["Id"] != first.json()["Invoice"]["Id"]
    assert company.count("Invoice") == 2


def test_requestid_replays_update_and_fault(company: Company) -> None:
    cust = new_customer(company)
    upd = {"Id": cust["Id"], "SyncToken": "0", "sparse": True, "Notes": "x"}
    a = company.post("/customer", upd, requestid="upd-1")
    b = company.post("/customer", upd, requestid="upd-1")
    assert a.content == b.content and b.json()["Customer"]["SyncToken"] == "1"
    assert company.get(f"/customer/{cust['Id']}").json()["Customer"]["SyncToken"] == "1"
    dup1 = company.post("/customer", {"DisplayName": "Ann Smith"}, requestid="dup-1")
    dup2 = company.post("/customer", {"DisplayName": "Ann Smith"}, requestid="dup-1")
    assert dup1.status_code == dup2.status_code == 400 and dup1.content == dup2.content


def test_requestid_scoped_per_realm(company: Company) -> None:
    other = company.sb.admin.create_realm()
    import httpx

    body = {"DisplayName": "Same Everywhere"}
    r1 = company.post("/customer", body, requestid="shared-id")
    r2 = httpx.post(
        f"{company.sb.base_url}/v3/company/{other['realm_id']}/customer",
        json=body,
        params={"requestid": "shared-id"},
        headers={"Authorization": f"Bearer {other['token']['access_token']}"},
    )
    assert r1.status_code == r2.status_code == 200
    assert company.sb.admin.count("Customer", other["realm_id"]) == 1


def test_requestid_longer_than_50_is_rejected(company: Company) -> None:
    r = company.post("/customer", {"DisplayName": "Too Long"}, requestid="x" * 51)
    assert r.status_code == 400
    err = r.json()["Fault"]["Error"][0]
    assert err["code"] == "6000" and "more than 50 characters" in err["Detail"]
    assert company.count("Customer") == 0
    assert company.post("/customer", {"DisplayName": "Ok"}, requestid="x" * 50).status_code == 200


def test_batch_key_is_requestid_plus_bid(company: Company) -> None:
    items = {
        "BatchItemRequest": [
            {"bId": "b1", "operation": "create", "Customer": {"DisplayName": "Batch One"}},
            {"bId": "b2", "operation": "create", "Customer": {"DisplayName": "Batch Two"}},
        ]
    }
    r1 = company.post("/batch", items, requestid="batch-req-1")
    r2 = company.post("/batch", items, requestid="batch-req-1")
    out1 = r1.json()["BatchItemResponse"]
    out2 = r2.json()["BatchItemResponse"]
    assert [x["bId"] for x in out1] == ["b1", "b2"]
    assert out1 == out2 and "Customer" in out2[0]
    assert company.count("Customer") == 2
    long_rid = "r" * 45
    r3 = company.post(
        "/batch",
        {
            "BatchItemRequest": [
                {"bId": "bid-123456", "operation": "create", "Customer": {"DisplayName": "Nope"}}
            ]
        },
        requestid=long_rid,
    )
    err = r3.json()["BatchItemResponse"][0]["Fault"]["Error"][0]
    assert r3.status_code == 200 and err["code"] == "6000"
    assert "which is 55 characters" in err["Detail"]
    assert company.count("Customer") == 2


def test_body_cut_off_by_a_disconnect_is_not_processed_nor_cached(company: Company) -> None:
    """A client that dies mid-body must not leave a fault cached under its requestid."""
    import json
    import socket
    from urllib.parse import urlsplit

    url = urlsplit(company.sb.base_url)
    body = json.dumps({"DisplayName": "Cut Off Customer"}).encode()
    path = f"/v3/company/{company.realm_id}/customer?requestid=cut-1&minorversion=75"
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {url.hostname}\r\n"
        f"Authorization: Bearer {company.token}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    with socket.create_connection((url.hostname, url.port)) as sock:
        sock.sendall(head + body[:10])  # then the connection drops
    full = company.post("/customer", {"DisplayName": "Cut Off Customer"}, requestid="cut-1")
    assert full.status_code == 200, full.text
    assert full.json()["Customer"]["DisplayName"] == "Cut Off Customer"
    assert company.count("Customer", DisplayName="Cut Off Customer") == 1
