"""Attachments: Attachable CRUD, multipart /upload, /download and the temporary file URL."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import httpx

from qbo_sandbox.config import SandboxConfig
from qbo_sandbox.sandbox import Sandbox

from .conftest import Company, invoice_body, new_customer


def _invoice(company: Company) -> dict[str, Any]:
    cust = new_customer(company)
    r = company.post("/invoice", invoice_body(cust["Id"], ("3", 1, "10", "10")))
    assert r.status_code == 200, r.text
    return r.json()["Invoice"]  # type: ignore[no-any-return]


def _upload(company: Company, *files: tuple[dict[str, Any] | None, str, bytes, str]) -> Any:
    """POST /upload with (metadata, filename, content, content type) per file (CRLF multipart
    built by httpx, the way most clients send it)."""
    parts: list[tuple[str, tuple[str, bytes, str]]] = []
    for n, (meta, name, content, ctype) in enumerate(files, start=1):
        if meta is not None:
            blob = json.dumps(meta).encode()
            parts.append((f"file_metadata_{n:02d}", ("attachment.json", blob, "application/json")))
        parts.append((f"file_content_{n:02d}", (name, content, ctype)))
    return company.http.post("/upload", files=parts)


def test_upload_links_file_to_invoice_and_download_returns_the_same_bytes(
    company: Company,
) -> None:
    inv = _invoice(company)
    content = os.urandom(3000) + b"\r\n--not-a-boundary\r\n" + bytes(range(256))
    meta = {
        "AttachableRef": [{"EntityRef": {"type": "Invoice", "value": inv["Id"]}}],
        "FileName": "receipt.pdf",
        "ContentType": "application/pdf",
    }
    r = _upload(company, (meta, "receipt.pdf", content, "application/pdf"))
    assert r.status_code == 200, r.text
    items = r.json()["AttachableResponse"]
    att = items[0]["Attachable"]
    assert att["Size"] == len(content) and att["FileName"] == "receipt.pdf"
    assert att["SyncToken"] == "0" and att["AttachableRef"] == [
        {"EntityRef": {"value": inv["Id"], "type": "Invoice"}, "IncludeOnSend": False}
    ]
    assert att["FileAccessUri"] == f"/v3/company/{company.realm_id}/download/{att['Id']}"
    # /download answers with the temporary URL (plain text); that URL needs no token
    d = company.get(f"/download/{att['Id']}")
    assert d.status_code == 200 and d.headers["content-type"].startswith("text/plain")
    assert d.text == att["TempDownloadUri"]
    f = httpx.get(d.text)
    assert f.status_code == 200 and f.content == content
    assert f.headers["content-type"] == "application/pdf"
    assert httpx.get(d.text.replace("/receipt.pdf", "x/receipt.pdf")).status_code == 404
    # read + query by the linked transaction
    assert company.get(f"/attachable/{att['Id']}").json()["Attachable"]["Size"] == len(content)
    q = company.query(
        f"select * from Attachable where AttachableRef.EntityRef.value = '{inv['Id']}'"  # noqa: S608
    )
    assert [a["Id"] for a in q.json()["QueryResponse"]["Attachable"]] == [att["Id"]]
    none = company.query("select * from Attachable where AttachableRef.EntityRef.value = '999'")
    assert none.json()["QueryResponse"] == {}
    # a metadata update keeps the file; delete removes it
    upd = company.post(
        "/attachable", {"Id": att["Id"], "SyncToken": "0", "sparse": True, "Note": "paid"}
    )
    assert upd.status_code == 200, upd.text
    assert upd.json()["Attachable"]["Size"] == len(content)
    assert upd.json()["Attachable"]["SyncToken"] == "1"
    assert httpx.get(d.text).content == content
    gone = company.post("/attachable", {"Id": att["Id"], "SyncToken": "1"}, operation="delete")
    assert gone.json()["Attachable"] == {"domain": "QBO", "status": "Deleted", "Id": att["Id"]}
    assert httpx.get(d.text).status_code == 404
    assert company.get(f"/download/{att['Id']}").status_code == 400
    assert company.count("Attachable") == 0


def test_several_files_per_upload_and_per_item_faults(company: Company) -> None:
    inv = _invoice(company)
    good = {"AttachableRef": [{"EntityRef": {"type": "Invoice", "value": inv["Id"]}}]}
    bad = {"AttachableRef": [{"EntityRef": {"type": "Estimate", "value": "75"}}]}
    r = _upload(
        company,
        (good, "a.txt", b"first", "text/plain"),
        (bad, "b.txt", b"second", "text/plain"),
        (None, "c.csv", b"x,y\n1,2\n", "text/csv"),  # no metadata: the server makes it
    )
    assert r.status_code == 200, r.text
    out = r.json()["AttachableResponse"]
    assert out[0]["Attachable"]["FileName"] == "a.txt" and out[0]["Attachable"]["Size"] == 5
    err = out[1]["Fault"]["Error"][0]
    assert err["code"] == "6000" and "Estimate 75" in err["Detail"]
    assert out[2]["Attachable"]["FileName"] == "c.csv"
    assert out[2]["Attachable"]["ContentType"] == "text/csv"
    assert "AttachableRef" not in out[2]["Attachable"]
    assert company.count("Attachable") == 2  # the faulted one was not stored


def test_note_only_attachable_and_validation(company: Company) -> None:
    inv = _invoice(company)
    ref = [{"EntityRef": {"type": "invoice", "value": inv["Id"]}, "IncludeOnSend": True}]
    r = company.post("/attachable", {"Note": "Called the customer", "AttachableRef": ref})
    assert r.status_code == 200, r.text
    note = r.json()["Attachable"]
    assert note["Note"] == "Called the customer" and "FileAccessUri" not in note
    assert note["AttachableRef"][0]["EntityRef"]["type"] == "Invoice"
    assert company.get(f"/download/{note['Id']}").status_code == 400  # nothing to download
    missing = company.post("/attachable", {"AttachableRef": ref})
    assert missing.status_code == 400
    assert missing.json()["Fault"]["Error"][0]["code"] == "2020"
    nowhere = [{"EntityRef": {"type": "Bill", "value": "9"}}]
    dangling = company.post("/attachable", {"Note": "x", "AttachableRef": nowhere})
    assert dangling.json()["Fault"]["Error"][0]["code"] == "6000"
    not_multipart = company.http.post(
        "/upload", content=b"{}", headers={"Content-Type": "application/json"}
    )
    assert not_multipart.status_code == 400
    assert company.count("Attachable") == 1


def test_python_quickbooks_style_body_lf_and_base64(company: Company) -> None:
    """python-quickbooks writes LF-only multipart with a base64 part; QBO accepts it."""
    boundary = "-------------PythonMultipartPost"
    body = (
        f'\n--{boundary}\nContent-Disposition: form-data; name="file_metadata_01"\n'
        'Content-Type: application/json\n\n{"FileName": "hi.txt", "ContentType": "text/plain"}\n\n'
        f'--{boundary}\nContent-Disposition: form-data; name="file_content_01"\n'
        "Content-Type: text/plain\nContent-Transfer-Encoding: base64\n\naGVsbG8gd29ybGQ=\n\n"
        f"--{boundary}--\n"
    )
    r = company.http.post(
        "/upload",
        content=body.encode(),
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert r.status_code == 200, r.text
    att = r.json()["AttachableResponse"][0]["Attachable"]
    assert att["Size"] == len(b"hello world")
    assert httpx.get(att["TempDownloadUri"]).content == b"hello world"


def test_upload_is_idempotent_by_requestid_and_survives_a_snapshot(
    company: Company, tmp_path: Path
) -> None:
    inv = _invoice(company)
    meta = {"AttachableRef": [{"EntityRef": {"type": "Invoice", "value": inv["Id"]}}]}
    parts = [("file_content_01", ("a.bin", b"\x00\x01payload", "application/octet-stream"))]
    parts.insert(0, ("file_metadata_01", ("m.json", json.dumps(meta).encode(), "application/json")))
    first = company.http.post("/upload", files=parts, params={"requestid": "up-1"})
    again = company.http.post("/upload", files=parts, params={"requestid": "up-1"})
    assert first.status_code == again.status_code == 200
    assert first.content == again.content and company.count("Attachable") == 1
    att = first.json()["AttachableResponse"][0]["Attachable"]
    path = tmp_path / "snap.json"
    assert company.sb.admin.http.post("/admin/snapshot", json={"path": str(path)}).is_success
    restored = Sandbox(SandboxConfig(snapshot=str(path)))
    stored = restored.realms[company.realm_id].attachments[att["Id"]]
    assert stored.content == b"\x00\x01payload"


def test_upload_with_an_id_replaces_the_file(company: Company) -> None:
    first = _upload(company, (None, "v1.txt", b"version one", "text/plain"))
    att = first.json()["AttachableResponse"][0]["Attachable"]
    old_url = att["TempDownloadUri"]
    meta = {"Id": att["Id"], "SyncToken": "0", "FileName": "v2.txt", "ContentType": "text/plain"}
    second = _upload(company, (meta, "v2.txt", b"version two!", "text/plain"))
    new = second.json()["AttachableResponse"][0]["Attachable"]
    assert new["Id"] == att["Id"] and new["SyncToken"] == "1" and new["Size"] == 12
    assert httpx.get(new["TempDownloadUri"]).content == b"version two!"
    assert httpx.get(old_url).status_code == 404  # the old file's link is dead
    stale = _upload(company, (dict(meta, SyncToken="0"), "v3.txt", b"late", "text/plain"))
    assert stale.json()["AttachableResponse"][0]["Fault"]["Error"][0]["code"] == "5010"
    assert httpx.get(new["TempDownloadUri"]).content == b"version two!"
    assert company.count("Attachable") == 1
