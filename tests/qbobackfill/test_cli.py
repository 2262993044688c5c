"""``pgbooks qbo import`` / ``pgbooks qbo repost`` as a user runs them, killed halfway included."""

from __future__ import annotations

import json
from collections import Counter

from tests.qbobackfill.conftest import Shop, customers, receipts


def test_import_killed_halfway_resumes_from_its_checkpoint(shop: Shop) -> None:
    shop.batch("Customer", customers(180))
    total = shop.count("Customer")
    scope = f"{shop.realm_id}:Customer"

    def halfway() -> bool:
        point = shop.checkpoint("import", scope)
        return point is not None and point[0] >= 40 and not point[1]

    args = ["qbo", "import", "--realm", shop.realm_id, "--entities", "customer"]
    rc = shop.kill_when([*args, "--page-size", "10", "--pause", "0.3"], halfway)
    assert rc == -9
    point = shop.checkpoint("import", scope)
    assert point is not None and not point[1]
    stored_before = point[0]
    assert 40 <= stored_before < total
    assert shop.mirror_count("Customer") == stored_before

    done = shop.cli(*args, "--page-size", "10", "--json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["resumed"] == ["Customer"]
    assert summary["entities"] == {"Customer": total - stored_before}  # only the rest was read
    assert shop.mirror_count("Customer") == total
    assert shop.checkpoint("import", scope) == (total, True)

    again = shop.cli(*args, "--json")  # a completed pass: a new one, updating in place
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["entities"] == {"Customer": total}
    assert shop.mirror_count("Customer") == total


def test_repost_killed_halfway_resumes_without_duplicates(shop: Shop) -> None:
    buyers = shop.batch("Customer", customers(2))
    shop.batch("SalesReceipt", receipts([b["Id"] for b in buyers], ["6001", "6002", "6003"]))
    numbers = [f"{6000 + i}" for i in range(1, 31)]
    for i, number in enumerate(numbers):
        shop.order(number, f"2025-06-{1 + i % 28:02d}T{i % 24:02d}:00:00Z")
    shop.db.execute("DELETE FROM sync.outbox WHERE tenant_id = 'shop'")
    imported = shop.cli("qbo", "import", "--realm", shop.realm_id, "--json")
    assert imported.returncode == 0, imported.stderr

    scope = "2025-06-01..2025-07-01"

    def halfway() -> bool:
        point = shop.checkpoint("repost", scope)
        return point is not None and point[0] >= 6 and not point[1]

    args = ["qbo", "repost", "--tenant", "shop", "--from", "2025-06-01", "--to", "2025-07-01"]
    rc = shop.kill_when([*args, "--batch", "2", "--pause", "0.3"], halfway)
    assert rc == -9
    point = shop.checkpoint("repost", scope)
    assert point is not None and not point[1]
    handled = point[0]

    done = shop.cli(*args, "--batch", "2", "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    summary = json.loads(done.stdout)
    assert summary["resumed"] is True
    assert summary["done_before"] == handled
    assert summary["orders"] == len(numbers) - handled
    assert summary["completed"] is True

    shop.drain()
    posted = Counter(str(r.get("DocNumber")) for r in shop.entities("SalesReceipt"))
    assert {n: posted[n] for n in numbers} == dict.fromkeys(numbers, 1)
    linked = shop.scalar(
        "SELECT count(*) FROM sync.attempts WHERE tenant_id = 'shop' AND worker = 'qbo-link'"
    )
    assert linked == 3


def test_cli_errors_and_exit_codes(shop: Shop) -> None:
    empty = shop.cli(
        "qbo", "repost", "--tenant", "shop", "--from", "2025-03-01", "--to", "2025-02-01"
    )
    assert empty.returncode == 1
    assert "from must be before to" in empty.stderr and "PB906" in empty.stderr

    bad_date = shop.cli(
        "qbo", "repost", "--tenant", "shop", "--from", "March", "--to", "2025-02-01"
    )
    assert bad_date.returncode == 2
    assert "YYYY-MM-DD" in bad_date.stderr

    bad_entity = shop.cli("qbo", "import", "--realm", shop.realm_id, "--entities", "Bill")
    assert bad_entity.returncode == 2 and "unknown bill" in bad_entity.stderr

    nobody = shop.cli("qbo", "import", "--realm", "123456")
    assert nobody.returncode == 1 and "no connection to realm 123456" in nobody.stderr

    # Something needs attention (two QuickBooks receipts carry the order's number): exit 3.
    twins = receipts(["1", "1"], ["7001", "7001"])
    for n, body in enumerate(twins):
        body.update(Id=str(800 + n), TotalAmt="25.00", TxnDate="2025-07-01")
    shop.sb.admin.import_entities({"SalesReceipt": twins}, shop.realm_id)
    shop.order("7001", "2025-07-01T08:00:00Z")
    assert shop.cli("qbo", "import", "--realm", shop.realm_id).returncode == 0
    flagged = shop.cli(
        "qbo", "repost", "--tenant", "shop", "--from", "2025-07-01", "--to", "2025-07-02"
    )
    assert flagged.returncode == 3, flagged.stdout + flagged.stderr
    assert "attention" in flagged.stdout

    again = shop.cli(
        "qbo", "repost", "--tenant", "shop", "--from", "2025-07-01", "--to", "2025-07-02", "--json"
    )
    assert again.returncode == 3  # the same run again: still flagged, nothing duplicated
    assert json.loads(again.stdout)["outcomes"]["attention"] == 1

    down = shop.cli(
        "qbo",
        "repost",
        "--tenant",
        "shop",
        "--from",
        "2025-07-01",
        "--to",
        "2025-07-02",
        env={"DATABASE_URL": "postgresql://postgres@127.0.0.1:1/x"},
    )
    assert down.returncode == 4 and "cannot reach" in down.stderr
