"""`pgbooks sandbox serve`: the demo company is ready, the banner gives working credentials,
start-time fault settings apply; unknown query parameters and old minor versions are accepted."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from .conftest import Company, invoice_body, new_customer

PGBOOKS = Path(sys.executable).with_name("pgbooks")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_prints_a_working_token_for_the_demo_company() -> None:
    port = _free_port()
    proc = subprocess.Popen(
        [
            str(PGBOOKS),
            "sandbox",
            "serve",
            "--port",
            str(port),
            "--no-throttle",
            "--faults",
            '{"latency_ms": 1}',
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        lines = []
        while not any(line.startswith("Throttling:") for line in lines):
            line = proc.stdout.readline()
            assert line, "".join(lines)  # the server exited before printing its banner
            lines.append(line)
        banner = "".join(lines)
        realm = re.search(r"realm (\d+)\)", banner)
        token = re.search(r"access_token\s+= (\S+)", banner)
        assert realm and token, banner
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 10
        while True:
            try:
                httpx.get(f"{base}/admin/health", timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline
                time.sleep(0.05)
        headers = {"Authorization": f"Bearer {token.group(1)}", "Accept": "application/json"}
        info = httpx.get(
            f"{base}/v3/company/{realm.group(1)}/companyinfo/{realm.group(1)}", headers=headers
        )
        assert info.status_code == 200 and info.json()["CompanyInfo"]["CompanyName"]
        accounts = httpx.get(
            f"{base}/v3/company/{realm.group(1)}/query",
            params={"query": "select count(*) from Account"},
            headers=headers,
        )
        assert accounts.json()["QueryResponse"]["totalCount"] > 10  # the chart is there
        faults = httpx.get(f"{base}/admin/realms/{realm.group(1)}/faults").json()
        assert faults["faults"]["latency_ms"] == 1
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_old_minorversion_and_unknown_params_are_accepted(company: Company) -> None:
    cust = new_customer(company)
    new = company.get(f"/customer/{cust['Id']}", minorversion="75")
    old = company.get(f"/customer/{cust['Id']}", minorversion="4", format="json")
    assert new.status_code == old.status_code == 200
    assert new.json()["Customer"] == old.json()["Customer"]


def test_send_invoice_email(company: Company) -> None:
    cust = new_customer(company)
    inv = company.post("/invoice", invoice_body(cust["Id"], ("3", 1, "5", "5"))).json()["Invoice"]
    assert company.post(f"/invoice/{inv['Id']}/send").status_code == 400  # no address anywhere
    sent = company.post(f"/invoice/{inv['Id']}/send", sendTo="ap@example.com")
    assert sent.status_code == 200, sent.text
    body = sent.json()["Invoice"]
    assert body["EmailStatus"] == "EmailSent" and body["BillEmail"]["Address"] == "ap@example.com"
    assert body["DeliveryInfo"]["DeliveryType"] == "Email"
