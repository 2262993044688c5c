"""Ingest throughput: receiver deliveries/s (store + ack) and processing events/s, side by side.

Run: ``.venv/bin/python bench/bench_ingest.py [--deliveries 2000] [--clients 8] [--events 5000]``

One run, one fresh database (migrated like production), one machine:

Receiving (the same real 27 kB Shopify order body, each with a fresh X-Shopify-Webhook-Id):
  * http   : ``pgbooks receive`` in its own process, driven over HTTP by client processes
             (signature check + channel lookup + api.raw_event__receive + JSON answer), on the
             per-channel route /webhooks/shopify/<tenant>/<channel>;
  * routed : the same receiver on the per-platform route /webhooks/shopify, the channel found
             from X-Shopify-Shop-Domain (api.raw_event__route + api.raw_event__receive_routed);
  * sql    : api.raw_event__receive called directly over one connection per client (no HTTP);
  * insert : plain INSERT of the same bytes into an untriggered, index-free copy of raw_events
             (the floor: what storing the bytes alone costs).
Processing (api.raw_events__process, batches of 100):
  * noop      : a normalizer that only returns a value (the claim/subtransaction/update cost);
  * quarantine: no normalizer installed (every event raises and is quarantined + exception row);
  * shopify   : the real logic.shopify__normalize when the orders area has installed it.

Prints rates, ratios against the floor, and the peak RSS (VmHWM) of the receiver process and of
this (load-generating) process.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import re
import resource
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import psycopg
from psycopg.types.json import Jsonb
from pytest_postgresql.janitor import DatabaseJanitor

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "worker"))

from pgbooks import devdb  # noqa: E402
from pgbooks.db.migrate import migrate  # noqa: E402
from pgbooks.ingest import signatures  # noqa: E402

BODY = (ROOT / "tests/fixtures/realdata/ingest/shopify__slince__Order__view.json").read_bytes()
TENANT = "bench"
SECRET = "bench-secret"
SHOP_DOMAIN = "bench.myshopify.com"
NOOP = """
CREATE FUNCTION logic.custom__normalize(p_tenant_id text, p_channel_id text, p_topic text,
    p_payload jsonb) RETURNS text LANGUAGE plpgsql AS $$ BEGIN RETURN p_payload ->> 'id'; END $$;
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _peak_rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status", encoding="ascii") as fh:
        m = re.search(r"VmHWM:\s+(\d+) kB", fh.read())
    return int(m.group(1)) / 1024 if m else float("nan")


def _http_client(args: tuple[str, int]) -> int:
    url, n = args
    ok = 0
    with httpx.Client(timeout=30) as client:
        for _ in range(n):
            headers = {
                "X-Shopify-Topic": "orders/updated",
                "X-Shopify-Webhook-Id": str(uuid.uuid4()),
                "X-Shopify-Hmac-Sha256": signatures.sign_base64(SECRET, BODY),
            }
            ok += client.post(url, content=BODY, headers=headers).status_code == 200
    return ok


def _http_routed_client(args: tuple[str, int]) -> int:
    url, n = args
    ok = 0
    with httpx.Client(timeout=30) as client:
        for _ in range(n):
            headers = {
                "X-Shopify-Topic": "orders/updated",
                "X-Shopify-Shop-Domain": SHOP_DOMAIN,
                "X-Shopify-Webhook-Id": str(uuid.uuid4()),
                "X-Shopify-Hmac-Sha256": signatures.sign_base64(SECRET, BODY),
            }
            ok += client.post(url, content=BODY, headers=headers).status_code == 200
    return ok


def _sql_client(args: tuple[str, int]) -> int:
    url, n = args
    with psycopg.connect(url, autocommit=True) as conn:
        for _ in range(n):
            conn.execute(
                "SELECT status FROM api.raw_event__receive(%s, 'shopify', 'shop', %s, %s, 'valid')",
                (TENANT, Jsonb({"x-shopify-webhook-id": str(uuid.uuid4())}), BODY),
            )
    return n


def _insert_client(args: tuple[str, int]) -> int:
    url, n = args
    with psycopg.connect(url, autocommit=True) as conn:
        for _ in range(n):
            conn.execute(
                "INSERT INTO bench_plain (tenant_id, platform, channel_id, dedupe_key, headers,"
                " body, body_bytes, body_sha256, signature_result)"
                " VALUES (%s, 'shopify', 'shop', %s, %s, %s, %s, sha256(%s), 'valid')",
                (TENANT, str(uuid.uuid4()), Jsonb({}), BODY, len(BODY), BODY),
            )
    return n


def _ready(_i: int) -> int:
    time.sleep(0.2)  # long enough for every worker to take one
    return os.getpid()


def _drive(fn: object, url: str, total: int, clients: int) -> float:
    per = total // clients
    with mp.get_context("spawn").Pool(clients) as pool:
        # Timed from when every client process is up (spawned and imported), not from fork.
        pool.map(_ready, range(clients), chunksize=1)
        t0 = time.perf_counter()
        done = sum(pool.map(fn, [(url, per)] * clients))  # type: ignore[arg-type]
        dt = time.perf_counter() - t0
    if done != per * clients:
        raise SystemExit(f"only {done} of {per * clients} deliveries were accepted")
    return done / dt


def _process_rate(url: str, events: int, platform: str, channel: str, body: bytes) -> float:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("UPDATE ingest.raw_events SET status = 'applied' WHERE status = 'pending'")
        with conn.cursor() as cur:
            cur.executemany(
                "SELECT api.raw_event__receive(%s, %s, %s, %s, %s, 'valid', p_delivery_id => %s)",
                [
                    (TENANT, platform, channel, Jsonb({}), body, str(uuid.uuid4()))
                    for _ in range(events)
                ],
            )
        t0 = time.perf_counter()
        n = 0
        while True:
            row = conn.execute("SELECT claimed FROM api.raw_events__process(100)").fetchone()
            assert row is not None
            n += row[0]
            if row[0] < 100:
                break
        return n / (time.perf_counter() - t0)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--deliveries", type=int, default=2000)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--events", type=int, default=3000)
    ap.add_argument("--quick", action="store_true", help="small counts (smoke run)")
    args = ap.parse_args()
    if args.quick:
        args.deliveries, args.events = 400, 600

    with devdb.server() as server:
        name = f"pgbooks_bench_ingest_{os.getpid()}"
        janitor = DatabaseJanitor(
            user=server.user,
            host=server.host,
            port=server.port,
            password=server.password,
            dbname=name,
        )
        janitor.init()
        try:
            url = server.url(name)
            migrate(url)
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(
                    "INSERT INTO orders.tenants (tenant_id, name) VALUES (%s, 'Bench')", (TENANT,)
                )
                for ch, platform, account in (
                    ("shop", "shopify", SHOP_DOMAIN),
                    ("app", "custom", None),
                ):
                    conn.execute(
                        "INSERT INTO orders.channels (tenant_id, channel_id, platform, name,"
                        " currency, webhook_secret, external_account_id)"
                        " VALUES (%s, %s, %s, %s, 'USD', %s, %s)",
                        (TENANT, ch, platform, ch, SECRET, account),
                    )
                conn.execute(
                    "CREATE TABLE bench_plain"
                    " (LIKE ingest.raw_events INCLUDING DEFAULTS INCLUDING IDENTITY)"
                )
                has_shopify = conn.execute(
                    "SELECT to_regprocedure('logic.shopify__normalize(text,text,text,jsonb)')"
                ).fetchone() != (None,)

            port = _free_port()
            env = dict(os.environ, DATABASE_URL=url)
            receiver = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "pgbooks",
                    "receive",
                    "--port",
                    str(port),
                    "--pool-size",
                    str(min(args.clients, 8)),
                    "--rate",
                    "0",  # no limit: the store path is measured, not the limiter
                ],
                env=env,
            )
            try:
                base = f"http://127.0.0.1:{port}"
                for _ in range(200):
                    try:
                        if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                            break
                    except httpx.HTTPError:
                        time.sleep(0.05)
                hook = f"{base}/webhooks/shopify/{TENANT}/shop"
                _drive(_http_client, hook, args.clients * 10, args.clients)  # warm-up
                routed_hook = f"{base}/webhooks/shopify"
                _drive(_http_routed_client, routed_hook, args.clients * 10, args.clients)
                # Alternate the two routes in halves so that load drift hits both alike.
                half = args.deliveries // 2
                http_rate = _drive(_http_client, hook, half, args.clients)
                routed_rate = _drive(_http_routed_client, routed_hook, half, args.clients)
                http_rate = (
                    http_rate + _drive(_http_client, hook, args.deliveries - half, args.clients)
                ) / 2
                routed_rate = (
                    routed_rate
                    + _drive(_http_routed_client, routed_hook, args.deliveries - half, args.clients)
                ) / 2
                receiver_rss = _peak_rss_mb(receiver.pid)
            finally:
                receiver.terminate()
                receiver.wait(timeout=10)
            sql_rate = _drive(_sql_client, url, args.deliveries, args.clients)
            insert_rate = _drive(_insert_client, url, args.deliveries, args.clients)

            body = json.dumps({"id": "x"}).encode()
            with psycopg.connect(url, autocommit=True) as conn:
                quarantine_rate = _process_rate(url, args.events, "custom", "app", body)
                conn.execute(NOOP)
            noop_rate = _process_rate(url, args.events, "custom", "app", body)
            shopify_rate = (
                _process_rate(url, args.events, "shopify", "shop", BODY) if has_shopify else None
            )
        finally:
            janitor.drop()

    print(f"\nreceiving {args.deliveries} deliveries of {len(BODY)} B, {args.clients} clients")
    print(f"{'path':<34} {'deliveries/s':>12} {'vs insert':>10}")
    for label, rate in (
        ("http  (pgbooks receive, store+ack)", http_rate),
        ("routed (/webhooks/shopify by shop)", routed_rate),
        ("sql   (api.raw_event__receive)", sql_rate),
        ("insert (untriggered copy, floor)", insert_rate),
    ):
        print(f"{label:<34} {rate:>12.0f} {rate / insert_rate:>9.0%}")
    print(f"\nprocessing {args.events} events (api.raw_events__process, batch 100)")
    print(f"{'normalizer':<34} {'events/s':>12} {'vs noop':>10}")
    rows = [("noop (claim + subxact + update)", noop_rate), ("none -> quarantine", quarantine_rate)]
    if shopify_rate is not None:
        rows.append(("logic.shopify__normalize (27 kB)", shopify_rate))
    for label, rate in rows:
        print(f"{label:<34} {rate:>12.0f} {rate / noop_rate:>9.0%}")
    self_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(
        f"\npeak RSS: receiver process {receiver_rss:.1f} MiB, bench process {self_rss:.1f} MiB,"
        f" largest client process {kids:.1f} MiB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
