"""JSON snapshots: state survives a save/load round trip (Decimal money included)."""

from __future__ import annotations

from pathlib import Path

from qbo_sandbox.config import SandboxConfig
from qbo_sandbox.sandbox import Sandbox

from .conftest import Company, invoice_body, new_customer


def test_snapshot_round_trip(company: Company, tmp_path: Path) -> None:
    cust = new_customer(company)
    inv = company.post(
        "/invoice", invoice_body(cust["Id"], ("3", 3, "0.335", "1.01")), requestid="snap-1"
    ).json()["Invoice"]
    path = tmp_path / "snap.json"
    r = company.sb.admin.http.post("/admin/snapshot", json={"path": str(path)})
    assert r.status_code == 200 and path.exists()
    restored = Sandbox(SandboxConfig(snapshot=str(path)))
    realm = restored.realms[company.realm_id]
    got = realm.get("Invoice", inv["Id"])
    assert got is not None and str(got["TotalAmt"]) == "1.01"
    assert realm.requestids["snap-1"].body.startswith(b'{"Invoice":')
    assert realm.names("party", "ann smith") == {("Customer", cust["Id"])}
    assert realm.new_id("Invoice") == str(int(inv["Id"]) + 1)
