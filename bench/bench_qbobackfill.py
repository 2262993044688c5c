"""Historical backfill benchmark: import and repost rates, measured side by side in one run.

1. ``pgbooks qbo import`` of a realm seeded with customers, items and sales receipts (pages of
   1,000): imported entities/s, vs the bare transport ceiling measured in the same run (the same
   queries paged with httpx, nothing stored).
2. ``pgbooks qbo repost`` of a month of orders (20 % already in QuickBooks, linked by DocNumber):
   reposted orders/s, vs derivation alone (``api.order__derive`` per order, same orders, one
   connection).

The sandbox and every ``pgbooks`` command run as separate processes; their peak RSS is printed.
``--quick`` uses smaller volumes (smoke run). Figures on a shared 2-core machine are pessimistic.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psycopg
from pytest_postgresql.janitor import DatabaseJanitor

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "worker"), str(ROOT / "sandbox")]

from pgbooks import devdb  # noqa: E402
from pgbooks.db.migrate import migrate  # noqa: E402
from pgbooks.qbo.backfill import entity_query  # noqa: E402
from pgbooks.sync.oauth import connect  # noqa: E402

BIN = Path(sys.executable).parent
SECRET = "bench-secret-key"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _peak_rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            m = re.search(r"VmHWM:\s+(\d+) kB", fh.read())
    except OSError:
        return float("nan")
    return int(m.group(1)) / 1024 if m else float("nan")


def _run(args: list[str], url: str) -> tuple[dict, float, float]:
    """Run ``pgbooks ARGS --json``; (summary, wall seconds, peak RSS MiB of the process)."""
    env = {**os.environ, "DATABASE_URL": url, "PGBOOKS_SECRET_KEY": SECRET}
    t0 = time.monotonic()
    p = subprocess.Popen(
        [str(BIN / "pgbooks"), *args, "--json"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    rss = float("nan")
    while p.poll() is None:  # VmHWM is a high-water mark: the last sample before exit is it
        sample = _peak_rss_mb(p.pid)
        rss = sample if sample == sample else rss  # NaN once it is a zombie
        time.sleep(0.05)
    out, err = p.communicate()
    wall = time.monotonic() - t0
    if p.returncode not in (0, 3):
        raise RuntimeError(f"pgbooks {' '.join(args)} failed ({p.returncode}): {err[-2000:]}")
    return json.loads(out), wall, rss


def _seed(admin: httpx.Client, realm: str, n_customers: int, n_items: int, n_receipts: int) -> int:
    """Load entities through the sandbox admin import (ids kept); returns how many."""
    customers = [
        {
            "Id": str(1000 + i),
            "DisplayName": f"Buyer {i:06d}",
            "PrimaryEmailAddr": {"Address": f"buyer{i:06d}@example.com"},
            "Active": True,
        }
        for i in range(n_customers)
    ]
    items = [
        {
            "Id": str(1000 + i),
            "Name": f"Product {i:05d}",
            "Sku": f"P-{i:05d}",
            "Type": "NonInventory",
            "Active": True,
        }
        for i in range(n_items)
    ]
    receipts = [
        {
            "Id": str(1000 + i),
            "DocNumber": f"B{i:06d}",
            "TxnDate": "2025-06-01",
            "TotalAmt": "25.00",
            "CustomerRef": {"value": str(1000 + i % max(n_customers, 1))},
            "Line": [
                {
                    "Id": "1",
                    "Amount": "25.00",
                    "DetailType": "SalesItemLineDetail",
                    "SalesItemLineDetail": {"ItemRef": {"value": "1"}},
                }
            ],
        }
        for i in range(n_receipts)
    ]
    data = {"Customer": customers, "Item": items, "SalesReceipt": receipts}
    r = admin.post(f"/admin/realms/{realm}/import", json=data, timeout=300)
    r.raise_for_status()
    return int(r.json()["imported"])


def _transport_ceiling(base: str, realm: str, token: str, entities: list[str]) -> tuple[int, float]:
    """Page the same queries with httpx, storing nothing: (rows, seconds)."""
    rows, t0 = 0, time.monotonic()
    with httpx.Client(timeout=120) as http:
        for entity in entities:
            start = 1
            while True:
                r = http.get(
                    f"{base}/v3/company/{realm}/query",
                    params={"query": entity_query(entity, start, 1000), "minorversion": "75"},
                    headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
                )
                r.raise_for_status()
                page = r.json().get("QueryResponse", {}).get(entity, [])
                rows += len(page)
                start += len(page)
                if len(page) < 1000:
                    break
    return rows, time.monotonic() - t0


def _orders(conn: psycopg.Connection, n: int, existing_every: int) -> None:
    """n paid one-line orders in June 2025, numbered B000000.. (every k-th exists in QBO)."""
    conn.execute(
        "INSERT INTO orders.channels (tenant_id, channel_id, platform, name, currency)"
        " VALUES ('bench', 'web', 'shopify', 'Web', 'USD')"
    )
    with conn.transaction():
        conn.execute(
            """
            INSERT INTO orders.orders (tenant_id, channel_id, order_id, order_number, currency,
                financial_status, placed_at, stated_subtotal, stated_total_discounts,
                stated_total_shipping, stated_total_tax, stated_total)
            SELECT 'bench', 'web', 'o' || g,
                CASE WHEN g %% %s = 0 THEN 'B' || lpad(g::text, 6, '0') ELSE 'N' || g END,
                'USD', 'paid', timestamptz '2025-06-01' + (g %% 28) * interval '1 day'
                    + (g %% 86400) * interval '1 second', 25, 0, 0, 0, 25
            FROM generate_series(0, %s - 1) AS g
            """,
            (existing_every, n),
        )
        conn.execute(
            """
            INSERT INTO orders.order_lines (tenant_id, channel_id, order_id, line_id, sku, title,
                quantity, unit_price, taxable)
            SELECT 'bench', 'web', 'o' || g, 'l1', 'P-' || lpad((g %% 50)::text, 5, '0'),
                'Product', 1, 25, false
            FROM generate_series(0, %s - 1) AS g
            """,
            (n,),
        )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller volumes (smoke run)")
    args = ap.parse_args()
    n_customers, n_items, n_receipts = (2000, 200, 1000) if args.quick else (10000, 1000, 5000)
    n_orders = 200 if args.quick else 1000

    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    rss: dict[str, float] = {}
    with devdb.server() as server:
        name = f"pgbooks_bench_qbobackfill_{os.getpid()}"
        janitor = DatabaseJanitor(
            user=server.user,
            host=server.host,
            port=server.port,
            password=server.password,
            dbname=name,
        )
        janitor.init()
        sandbox = subprocess.Popen(
            [str(BIN / "pgbooks"), "sandbox", "serve", "--port", str(port), "--seed", "5"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            url = server.url(name)
            migrate(url)
            admin = httpx.Client(base_url=base, timeout=30)
            for _ in range(100):
                try:
                    admin.get("/admin/health", timeout=1)
                    break
                except httpx.HTTPError:
                    time.sleep(0.1)
            # Unthrottled: the measure is our side; QuickBooks' 500 requests/min per realm would
            # allow ~8 pages of 1,000 rows per second, far above both rates measured here.
            admin.patch("/admin/throttle", json={"enabled": False}).raise_for_status()
            realm = admin.post("/admin/realms", json={"name": "bench"}).json()["realm_id"]
            admin.patch(
                f"/admin/realms/{realm}/preferences",
                json={"SalesFormsPrefs": {"CustomTxnNumbers": True}},
            )
            seeded = _seed(admin, realm, n_customers, n_items, n_receipts)
            os.environ["PGBOOKS_SECRET_KEY"] = SECRET
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute("INSERT INTO orders.tenants (tenant_id, name) VALUES ('bench', 'B')")
                connect(
                    url,
                    "bench",
                    api_base_url=base,
                    discovery_url=f"{base}/.well-known/openid_configuration",
                    realm_id=realm,
                )
                conn.execute(
                    "UPDATE books.tenant_settings SET custom_txn_numbers = true"
                    " WHERE tenant_id = 'bench'"
                )
                t0 = time.monotonic()
                _orders(conn, n_orders, existing_every=5)
                insert_s = time.monotonic() - t0

                print(f"{'measure':<62}{'value':>14}", flush=True)
                token = admin.post(f"/admin/realms/{realm}/token").json()["access_token"]
                entities = [
                    "Account",
                    "TaxCode",
                    "Item",
                    "Customer",
                    "Invoice",
                    "SalesReceipt",
                    "Payment",
                    "CreditMemo",
                    "RefundReceipt",
                    "Deposit",
                    "JournalEntry",
                ]
                ceil_rows, ceil_s = _transport_ceiling(base, realm, token, entities)
                imp, imp_wall, rss["pgbooks qbo import"] = _run(
                    ["qbo", "import", "--realm", realm], url
                )
                imp_rate = imp["rows"] / imp["seconds"]
                ceil_rate = ceil_rows / ceil_s
                print(f"{'seeded entities (+ the realm defaults)':<62}{seeded:>14}")
                print(f"{'import: entities/s (rows stored / run seconds)':<62}{imp_rate:>14.0f}")
                print(
                    f"{'  rows, pages, wall s of the process':<62}"
                    f"{imp['rows']:>8} {imp['pages']:>4} {imp_wall:>6.1f}"
                )
                print(
                    f"{'transport ceiling: same queries, nothing stored (rows/s)':<62}"
                    f"{ceil_rate:>14.0f}"
                )
                print(f"{'ratio import : transport ceiling':<62}{imp_rate / ceil_rate:>14.2f}")

                conn.execute("DELETE FROM sync.outbox WHERE tenant_id = 'bench'")
                rep, _rep_wall, rss["pgbooks qbo repost"] = _run(
                    [
                        "qbo",
                        "repost",
                        "--tenant",
                        "bench",
                        "--from",
                        "2025-06-01",
                        "--to",
                        "2025-07-01",
                        "--batch",
                        "100",
                    ],
                    url,
                )
                rep_rate = rep["orders"] / rep["seconds"]
                t0 = time.monotonic()
                conn.execute(
                    "SELECT count(api.order__derive('bench', 'web', o.order_id))"
                    " FROM orders.orders AS o WHERE o.tenant_id = 'bench'"
                )
                derive_rate = n_orders / (time.monotonic() - t0)
                print(
                    f"{'orders inserted (setup, not measured): orders/s':<62}"
                    f"{n_orders / insert_s:>14.0f}"
                )
                print(
                    f"{'repost: orders/s (derive + link + arm + checkpoint)':<62}{rep_rate:>14.1f}"
                )
                outcomes = f"{rep['outcomes']} + {rep['dependencies']}"
                print(
                    f"{'  orders, outcomes (own + dependencies)':<62}{rep['orders']:>8} {outcomes}"
                )
                print(f"{'derivation alone, same orders (orders/s)':<62}{derive_rate:>14.1f}")
                print(f"{'ratio repost : derivation alone':<62}{rep_rate / derive_rate:>14.2f}")
        finally:
            rss["sandbox"] = _peak_rss_mb(sandbox.pid)
            sandbox.terminate()
            sandbox.wait(timeout=15)
            janitor.drop()
    rss["bench process"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("peak RSS (MiB): " + "; ".join(f"{k} {v:.0f}" for k, v in rss.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
