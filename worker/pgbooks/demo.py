"""``make demo``: the whole job of pgbooks on this machine, end to end, then everything stopped.

What it does, as a user would, with the real commands:

1. finds PostgreSQL (the local server, or a private throwaway cluster), (re)creates the database
   ``pgbooks_demo`` and runs ``pgbooks db migrate``;
2. starts the local QuickBooks Online sandbox (``pgbooks sandbox serve``) and connects the demo
   company through the OAuth authorization-code flow (``pgbooks connect``);
3. starts the webhook receiver (``pgbooks receive --process``) and a worker (``pgbooks worker``);
4. sends real Shopify, WooCommerce and Stripe payloads (tests/fixtures/realdata) as signed
   webhooks, including one duplicate delivery and one forged signature;
5. waits until the outbox is drained, imports a bank statement holding the payout deposits
   (``pgbooks bank import``), and prints the report: orders ingested, documents posted with their
   QuickBooks ids, exceptions by reason, reconciliation, audit chain verification.

Run it twice in a row: the database is recreated each time. ``--json`` prints the report as JSON
(the demo test reads it). Nothing secret is printed.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
from psycopg.rows import dict_row

from pgbooks import devdb
from pgbooks.db.migrate import migrate
from pgbooks.ingest import signatures as sig
from pgbooks.paths import ROOT

DEMO_DB = os.environ.get("PGBOOKS_DEMO_DB", "pgbooks_demo")
TENANT = "demo"
REALM = "9130357766900001"
FIXTURES = ROOT / "tests" / "fixtures" / "realdata" / "ingest"
STATEMENT = Path(__file__).resolve().parent / "demo_data" / "bank_statement.csv"
PGBOOKS = [sys.executable, "-m", "pgbooks"]


@dataclass(frozen=True)
class Delivery:
    """One webhook the demo sends: platform, channel, topic, fixture file and payload path."""

    platform: str
    channel: str
    topic: str
    fixture: str
    path: tuple[str | int, ...] = ()
    note: str = ""


# The scenario: real payloads (see tests/fixtures/realdata/ingest/SOURCES.md for provenance).
SCENARIO: tuple[Delivery, ...] = (
    Delivery("shopify", "shop", "orders/create", "shopify__slince__Order__view.json", ("order",)),
    Delivery("shopify", "shop", "orders/create", "shopify__pyapi__orders.json", ("orders", 0)),
    Delivery("shopify", "shop", "refunds/create", "shopify__pyapi__refund.json", ("refund",)),
    Delivery(
        "woocommerce",
        "woo",
        "order.created",
        "woocommerce__derived__wcdocs_v3_orders_examples.json",
        (0, "body"),
    ),
    Delivery(
        "stripe",
        "stripe",
        "charge.succeeded",
        "stripe__payrails__charge.succeeded.json",
        ("object",),
        note="a Charge; the demo wraps it in the Event envelope Stripe sends",
    ),
    Delivery("shopify", "shop", "payouts/create", "shopify__pyapi__payout.json", ("payout",)),
)


@dataclass
class Secrets:
    """Per-run secrets (never printed)."""

    shop: str = field(default_factory=lambda: secrets.token_hex(16))
    woo: str = field(default_factory=lambda: secrets.token_hex(16))
    stripe: str = field(default_factory=lambda: "whsec_" + secrets.token_hex(16))
    key: str = field(default_factory=lambda: secrets.token_urlsafe(32))

    def for_channel(self, channel: str) -> str:
        return {"shop": self.shop, "woo": self.woo, "stripe": self.stripe}[channel]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_http(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            httpx.get(url, timeout=1.0)
            return
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{url} did not answer within {timeout:.0f} s") from None
            time.sleep(0.1)


def _wait(what: str, check: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.2)


class Processes:
    """Background processes of the demo, each logging to its own file, all stopped at exit."""

    def __init__(self, logdir: Path, env: dict[str, str]) -> None:
        self.logdir = logdir
        self.env = env
        self.procs: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start(self, name: str, args: list[str]) -> subprocess.Popen[bytes]:
        log = (self.logdir / f"{name}.log").open("wb")
        proc = subprocess.Popen(
            args, env=self.env, stdout=log, stderr=subprocess.STDOUT, cwd=str(ROOT)
        )
        self.procs.append((name, proc))
        return proc

    def check_alive(self) -> None:
        for name, proc in self.procs:
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {proc.returncode}:\n{self.tail(name)}")

    def tail(self, name: str, lines: int = 30) -> str:
        path = self.logdir / f"{name}.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def stop_all(self) -> None:
        for _, proc in reversed(self.procs):
            if proc.poll() is None:
                proc.terminate()
        for _, proc in reversed(self.procs):
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _run(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [*PGBOOKS, *args], env=env, cwd=str(ROOT), capture_output=True, text=True, check=False
    )
    if done.returncode not in (0, 3):
        raise RuntimeError(
            f"pgbooks {' '.join(args[:2])} failed ({done.returncode}):\n{done.stderr[-2000:]}"
        )
    return done.stdout


def _payload(delivery: Delivery) -> bytes:
    doc: Any = json.loads((FIXTURES / delivery.fixture).read_bytes())
    for key in delivery.path:
        doc = doc[key]
    if delivery.platform == "stripe" and doc.get("object") != "event":
        doc = {
            "id": f"evt_demo_{doc.get('id', 'x')}",
            "object": "event",
            "type": delivery.topic,
            "created": doc.get("created"),
            "livemode": False,
            "data": {"object": doc},
        }
    return json.dumps(doc).encode()


def _headers(delivery: Delivery, body: bytes, secret: str, delivery_id: str) -> dict[str, str]:
    headers = {"Content-Type": "application/json"}
    if delivery.platform == "shopify":
        headers |= {
            "X-Shopify-Topic": delivery.topic,
            "X-Shopify-Shop-Domain": "demo.myshopify.com",
            "X-Shopify-Webhook-Id": delivery_id,
            "X-Shopify-Hmac-Sha256": sig.sign_base64(secret, body),
        }
    elif delivery.platform == "woocommerce":
        headers |= {
            "X-WC-Webhook-Topic": delivery.topic,
            "X-WC-Webhook-Source": "https://demo-woo.example/",
            "X-WC-Webhook-Delivery-ID": delivery_id,
            "X-WC-Webhook-Signature": sig.sign_base64(secret, body),
        }
    else:
        headers["Stripe-Signature"] = sig.sign_stripe(secret, body, int(time.time()))
    return headers


def _setup_tenant(conn: psycopg.Connection[Any], keys: Secrets) -> None:
    conn.execute(
        "INSERT INTO orders.tenants (tenant_id, name, home_currency) VALUES (%s, %s, 'USD')",
        (TENANT, "Demo Store"),
    )
    for channel, platform, ext in (
        ("shop", "shopify", "demo.myshopify.com"),
        ("woo", "woocommerce", "https://demo-woo.example/"),
        ("stripe", "stripe", "acct_demo"),
    ):
        conn.execute(
            "INSERT INTO orders.channels (tenant_id, channel_id, platform, name, currency,"
            " webhook_secret, external_account_id) VALUES (%s, %s, %s, %s, 'USD', %s, %s)",
            (TENANT, channel, platform, f"Demo {platform}", keys.for_channel(channel), ext),
        )


def _send_webhooks(receiver: str, keys: Secrets) -> dict[str, int]:
    outcome: dict[str, int] = {}
    with httpx.Client(base_url=receiver, timeout=10) as client:
        sent: list[tuple[Delivery, bytes, str]] = []
        for delivery in SCENARIO:
            body = _payload(delivery)
            delivery_id = str(uuid.uuid4())
            secret = keys.for_channel(delivery.channel)
            r = client.post(
                f"/webhooks/{delivery.platform}/{TENANT}/{delivery.channel}",
                content=body,
                headers=_headers(delivery, body, secret, delivery_id),
            )
            outcome[f"http_{r.status_code}"] = outcome.get(f"http_{r.status_code}", 0) + 1
            sent.append((delivery, body, delivery_id))
        # At-least-once delivery: the first webhook again, same delivery id -> not applied twice.
        delivery, body, delivery_id = sent[0]
        r = client.post(
            f"/webhooks/{delivery.platform}/{TENANT}/{delivery.channel}",
            content=body,
            headers=_headers(delivery, body, keys.for_channel(delivery.channel), delivery_id),
        )
        outcome["duplicate_redelivery"] = r.status_code
        # A forged signature: 401, kept in ingest.raw_events, never applied.
        r = client.post(
            f"/webhooks/{delivery.platform}/{TENANT}/{delivery.channel}",
            content=body,
            headers=_headers(delivery, body, "forged-secret", str(uuid.uuid4())),
        )
        outcome["forged_signature"] = r.status_code
    return outcome


def _scalar(conn: psycopg.Connection[Any], sql: str, *params: object) -> Any:
    row = conn.execute(sql, params).fetchone()
    return None if row is None else next(iter(row.values())) if isinstance(row, dict) else row[0]


def _pending_work(conn: psycopg.Connection[Any]) -> int:
    """Raw events still to normalize + orders still to derive + deliverable outbox entries
    (``api.realms__status``).

    Entries held or blocked by an exception are on the operator's desk, not pending work."""
    raw = _scalar(conn, "SELECT count(*) FROM ingest.raw_events WHERE status = 'pending'")
    derive = _scalar(conn, "SELECT coalesce(sum(pending), 0) FROM api.books__derive_backlog()")
    backlog = _scalar(conn, "SELECT coalesce(sum(backlog), 0) FROM api.realms__status()")
    return int(raw) + int(derive) + int(backlog)


def _report(conn: psycopg.Connection[Any], extra: dict[str, Any]) -> dict[str, Any]:
    q = conn.execute
    report: dict[str, Any] = dict(extra)
    report["raw_events"] = {
        f"{r['platform']}:{r['status']}": r["events"]
        for r in q("SELECT * FROM api.raw_events__counts()").fetchall()
    }
    report["orders_ingested"] = _scalar(conn, "SELECT count(*) FROM orders.orders")
    report["refunds_ingested"] = _scalar(conn, "SELECT count(*) FROM orders.refunds")
    report["payouts_ingested"] = _scalar(conn, "SELECT count(*) FROM orders.payouts")
    report["documents"] = q(
        "SELECT d.doc_type, d.source_type, d.source_id, d.total_amount::text AS total,"
        " d.currency, r.remote_id AS qbo_id"
        " FROM books.documents AS d"
        " LEFT JOIN sync.remote_objects AS r USING (tenant_id, document_id)"
        " ORDER BY d.document_id"
    ).fetchall()
    report["documents_posted"] = sum(1 for d in report["documents"] if d["qbo_id"])
    report["exceptions_by_reason"] = {
        r["reason_code"]: r["n"]
        for r in q(
            "SELECT reason_code, count(*) AS n FROM sync.exceptions WHERE status = 'open'"
            " GROUP BY reason_code ORDER BY reason_code"
        ).fetchall()
    }
    report["reconciliation"] = {
        "accuracy": q(
            "SELECT period::text, orders, reconciled, not_reconciled,"
            " order_amount::text, reconciled_amount::text, accuracy_pct::text"
            " FROM analytics.rpt_recon_accuracy WHERE tenant_id = %s ORDER BY period",
            (TENANT,),
        ).fetchall(),
        "payouts": q(
            "SELECT payout_id, payout_amount::text, recon_state, bank_line_amount::text,"
            " document_status FROM analytics.rpt_payout_reconciliation WHERE tenant_id = %s",
            (TENANT,),
        ).fetchall(),
        "variances": q(
            "SELECT cause, amount::text, detail FROM analytics.rpt_payout_variance"
            " WHERE tenant_id = %s ORDER BY cause",
            (TENANT,),
        ).fetchall(),
        "bank_unmatched": q(
            "SELECT side, key, amount::text, reason FROM analytics.rpt_bank_unmatched"
            " WHERE tenant_id = %s ORDER BY side, key",
            (TENANT,),
        ).fetchall(),
    }
    report["audit"] = q("SELECT * FROM close.audit__verify(%s)", (TENANT,)).fetchone()
    return report


def run(*, json_out: bool = False, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Run the demo scenario; returns the report (also printed)."""
    keys = Secrets()
    started = time.monotonic()
    with contextlib.ExitStack() as stack:
        server = stack.enter_context(devdb.server())
        admin = server.url("postgres")
        with psycopg.connect(admin, autocommit=True) as maint:
            maint.execute(f"DROP DATABASE IF EXISTS {DEMO_DB} WITH (FORCE)")
            maint.execute(f"CREATE DATABASE {DEMO_DB}")
        url = server.url(DEMO_DB)
        log(f"database     {DEMO_DB} on {server.host}:{server.port}")
        migrate(url)
        log("migrated     alembic head + code reload")

        logdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="pgbooks-demo-")))
        env = dict(os.environ, DATABASE_URL=url, PGBOOKS_SECRET_KEY=keys.key)
        procs = Processes(logdir, env)
        stack.callback(procs.stop_all)

        qbo_port = _free_port()
        procs.start("sandbox", [*PGBOOKS, "sandbox", "serve", "--port", str(qbo_port)])
        qbo = f"http://127.0.0.1:{qbo_port}"
        _wait_http(f"{qbo}/.well-known/openid_configuration")
        log(f"sandbox      QuickBooks Online simulator at {qbo}")

        with psycopg.connect(url, autocommit=True, row_factory=dict_row) as conn:
            _setup_tenant(conn, keys)
        _run(env, "connect", "--tenant", TENANT, "--base-url", qbo, "--realm", REALM)
        log(f"connected    tenant {TENANT} -> realm {REALM} (OAuth authorization code)")

        rx_port = _free_port()
        procs.start("receiver", [*PGBOOKS, "receive", "--port", str(rx_port), "--process"])
        receiver = f"http://127.0.0.1:{rx_port}"
        _wait_http(f"{receiver}/healthz")
        procs.start("worker", [*PGBOOKS, "worker", "--name", "demo-worker"])
        log(f"running      receiver at {receiver}, one worker")

        outcome = _send_webhooks(receiver, keys)
        log(f"sent         {len(SCENARIO)} signed webhooks (+1 duplicate, +1 forged)")

        with psycopg.connect(url, autocommit=True, row_factory=dict_row) as conn:

            def drained() -> bool:
                procs.check_alive()
                return _pending_work(conn) == 0

            _wait("the receiver and the worker to drain", drained, timeout=90)
            log("drained      every raw event processed, outbox empty")

            _run(env, "bank", "import", str(STATEMENT), "--tenant", TENANT)
            _run(env, "recon", "match", "--tenant", TENANT)
            log(f"bank         imported {STATEMENT.name}, payouts matched to deposits")

            report = _report(conn, {"webhooks": outcome})
        report["seconds"] = round(time.monotonic() - started, 1)
    if json_out:
        print(json.dumps(report, default=str, indent=2))
    else:
        _print_report(report)
    return report


def _print_report(report: dict[str, Any]) -> None:
    print("\n=== pgbooks demo report ===")
    print(f"orders ingested   : {report['orders_ingested']}")
    print(f"refunds ingested  : {report['refunds_ingested']}")
    print(f"payouts ingested  : {report['payouts_ingested']}")
    print(f"raw events        : {report['raw_events']}")
    print(f"webhooks          : {report['webhooks']}")
    print(f"documents posted  : {report['documents_posted']} of {len(report['documents'])}")
    for d in report["documents"]:
        print(
            f"  {d['doc_type']:<15} {d['source_type']}:{d['source_id']:<24}"
            f" {d['total'] or '':>10} {d['currency'] or ''}  QuickBooks id {d['qbo_id'] or '-'}"
        )
    print(f"exceptions        : {report['exceptions_by_reason'] or 'none'}")
    recon = report["reconciliation"]
    print("reconciliation    : accuracy per period (orders posted and matching to the cent)")
    for a in recon["accuracy"]:
        print(
            f"  {a['period']}  {a['reconciled']}/{a['orders']} orders"
            f"  {a['reconciled_amount'] or '0'} of {a['order_amount'] or '0'}"
            f"  {a['accuracy_pct'] or '-'} %"
        )
    for p in recon["payouts"]:
        print(
            f"  payout {p['payout_id']} {p['payout_amount']}: {p['recon_state']}"
            f" (bank {p['bank_line_amount'] or '-'}, deposit document {p['document_status']})"
        )
    for v in recon["variances"]:
        print(f"  variance {v['cause']}: {v['amount']} ({v['detail']})")
    for u in recon["bank_unmatched"]:
        print(f"  unmatched {u['side']} {u['key']} {u['amount']}: {u['reason']}")
    audit = report["audit"]
    print(
        f"audit chain       : {'verified' if audit and audit['ok'] else 'BROKEN'}"
        f" ({audit and audit['checked']} entries, head {audit and str(audit['head_hash'])[:16]})"
    )
    print(f"took              : {report['seconds']} s")


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m pgbooks.demo`` (``make demo``)."""
    args = sys.argv[1:] if argv is None else argv
    as_json = "--json" in args
    try:
        run(json_out=as_json, log=(lambda _m: None) if as_json else print)
    except RuntimeError as exc:
        print(f"demo failed: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
