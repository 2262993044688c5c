"""Delivery engine benchmark: measured side by side in one run, on one fresh database.

1. Sustained throughput per realm as % of the sandbox's configured per-realm ceiling
   (500 requests/min, throttling ON, batching off so 1 document = 1 request), for 1 realm and
   for 50 realms at once (goal >= 95 %).
2. Latency from document insert to QuickBooks acceptance at 50 documents/s spread over 10
   realms, default 1 s debounce (goal p99 <= debounce + 0.5 s).
3. Unthrottled drain rate of one worker process (docs/s, batches allowed) vs pgqueuer's own
   no-op drain rate on the same database (goal >= 1,000 docs/s).

Every worker and the sandbox run as separate processes; their peak RSS (VmHWM) is printed.
``--quick`` shortens every phase (smoke run).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import psycopg
from pytest_postgresql.janitor import DatabaseJanitor

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "worker"), str(ROOT / "sandbox")]

from pgbooks import devdb  # noqa: E402
from pgbooks.db.migrate import migrate  # noqa: E402
from pgbooks.sync.oauth import connect  # noqa: E402

BIN = Path(sys.executable).parent
SECRET = "bench-secret-key"
PROFILE: Path | None = None  # --profile DIR: every worker runs under py-spy (raw flame stacks)


def _cmd(name: str, args: list[str]) -> list[str]:
    """A worker command, wrapped in ``py-spy record`` when profiling."""
    if PROFILE is None:
        return args
    out = PROFILE / f"{name}.txt"
    return [str(BIN / "py-spy"), "record", "-r", "100", "-f", "raw", "-o", str(out), "--", *args]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a running process (Linux /proc)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _peak_rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            m = re.search(r"VmHWM:\s+(\d+) kB", fh.read())
    except OSError:
        return float("nan")
    return int(m.group(1)) / 1024 if m else float("nan")


class Proc:
    def __init__(self, name: str, args: list[str], env: dict[str, str]) -> None:
        self.name = name
        # stderr to a file: a pipe nobody reads fills up (64 KiB) and then blocks the process.
        self.log = tempfile.NamedTemporaryFile(
            "w", prefix=f"bench_sync_{name}_", suffix=".log", delete=False
        )
        self.p = subprocess.Popen(
            args,
            env=env,
            stdout=self.log,  # a worker prints its stats (JSON) here when it stops
            stderr=self.log,
            start_new_session=PROFILE is not None,
        )
        self.rss = float("nan")

    def stop(self) -> None:
        self.rss = _peak_rss_mb(self.p.pid)
        self.cpu = _cpu_seconds(self.p.pid)
        if PROFILE is not None:  # py-spy and its worker both stop on SIGINT; py-spy then writes
            os.killpg(self.p.pid, signal.SIGINT)
        else:
            self.p.terminate()
        try:
            self.p.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
        self.log.close()
        self.stats: dict[str, Any] = {}
        with open(self.log.name, encoding="utf-8") as fh:
            text = fh.read()
        if "{" in text and text.rstrip().endswith("}"):
            with contextlib.suppress(ValueError):
                self.stats = json.loads(text[text.rindex("\n{") + 1 if "\n{" in text else 0 :])


def _env(url: str) -> dict[str, str]:
    return {**_base_env(), "DATABASE_URL": url, "PGBOOKS_SECRET_KEY": SECRET}


def _base_env() -> dict[str, str]:
    # Bytecode caches on: with PYTHONDONTWRITEBYTECODE set (as on the shared machine) every worker
    # recompiled each module it imports (pgqueuer, httpx, ...) inside the measured window.
    return {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def _warm_bytecode() -> None:
    """Compile once, before any measurement, what a worker and the sandbox import."""
    mods = (
        "pgbooks.cli, pgbooks.sync.worker, pgqueuer, pgqueuer.db, pgqueuer.queries, qbo_sandbox.cli"
    )
    subprocess.run(
        [sys.executable, "-c", f"import {mods}"], env=_base_env(), check=True, cwd=str(ROOT)
    )


def _worker(url: str, name: str, loops: int = 4) -> Proc:
    args = [str(BIN / "pgbooks"), "worker", "--name", name, "--loops", str(loops), "--json"]
    return Proc(name, _cmd(name, args), _env(url))


def _tenants(
    conn: psycopg.Connection, url: str, base: str, prefix: str, n: int, **cfg: Any
) -> list[str]:
    admin = httpx.Client(base_url=base, timeout=30)
    names = []
    for i in range(n):
        t = f"{prefix}{i:02d}"
        realm = admin.post("/admin/realms", json={"name": t}).json()["realm_id"]
        conn.execute("INSERT INTO orders.tenants (tenant_id, name) VALUES (%s, %s)", (t, t))
        cols = {"debounce": "0", "batch_per_minute": 0, **cfg}
        conn.execute(
            f"INSERT INTO sync.settings (tenant_id, {', '.join(cols)}) "  # noqa: S608 - bench
            f"VALUES (%s{', %s' * len(cols)})",
            (t, *cols.values()),
        )
        connect(
            url,
            t,
            api_base_url=base,
            discovery_url=f"{base}/.well-known/openid_configuration",
            realm_id=realm,
        )
        names.append(t)
    return names


def _insert_customers(
    conn: psycopg.Connection, tenants: list[str], per_tenant: int, tag: str
) -> None:
    conn.execute(
        """
        INSERT INTO books.documents (tenant_id, doc_type, source_type, source_id, body)
        SELECT t, 'customer', 'manual', %s || ':' || g,
               jsonb_build_object('DisplayName', %s || ' ' || t || ' ' || g)
        FROM unnest(%s::text[]) AS t CROSS JOIN generate_series(1, %s) AS g
        """,
        (tag, tag, tenants, per_tenant),
    )


def _retire(conn: psycopg.Connection, tenants: list[str]) -> None:
    """End of a phase: pause its realms so their leftover backlog does not load the next one."""
    conn.execute(
        "UPDATE sync.connections SET paused = true, paused_reason = 'bench phase over' "
        "WHERE tenant_id = ANY(%s)",
        (tenants,),
    )


def _accepted(conn: psycopg.Connection, tenants: list[str], since: float, until: float) -> int:
    row = conn.execute(
        "SELECT count(*) FROM sync.attempts WHERE event = 'accepted' AND tenant_id = ANY(%s) "
        "AND created_at >= to_timestamp(%s) AND created_at < to_timestamp(%s)",
        (tenants, since, until),
    ).fetchone()
    return int(row[0]) if row else 0


def throughput(
    conn: psycopg.Connection,
    url: str,
    base: str,
    n_realms: int,
    seconds: float,
    n_workers: int,
    sandbox_pid: int,
) -> dict[str, Any]:
    tenants = _tenants(conn, url, base, f"tp{n_realms}_", n_realms)
    _insert_customers(conn, tenants, int(seconds * 10) + 20, f"tp{n_realms}")  # backlog > ceiling
    workers = [_worker(url, f"tp{n_realms}-{i}", loops=4) for i in range(n_workers)]
    # The window opens 3 s after the first acceptance: a worker's start (imports, connections)
    # takes seconds on a loaded machine and is not part of the sustained rate.
    started = time.time()
    while time.time() < started + 60 and not _accepted(conn, tenants, started, time.time() + 1):
        time.sleep(0.1)
    time.sleep(3.0)
    t0 = time.time()
    cpu0 = [_cpu_seconds(w.p.pid) for w in workers]
    sb0 = _cpu_seconds(sandbox_pid)
    time.sleep(seconds)
    cpu1 = [_cpu_seconds(w.p.pid) for w in workers]
    sb1 = _cpu_seconds(sandbox_pid)
    t1 = time.time()
    for w in workers:
        w.stop()
    done = _accepted(conn, tenants, t0, t1)
    _retire(conn, tenants)
    ceiling = 500 / 60 * (t1 - t0) * n_realms
    return {
        "realms": n_realms,
        "accepted": done,
        "ceiling": ceiling,
        "pct": 100 * done / ceiling,
        "rss": [w.rss for w in workers],
        "stats": [w.stats for w in workers],
        "cpu": sum(cpu1) - sum(cpu0),  # the worker processes' CPU seconds in the window
        "sandbox_cpu": sb1 - sb0,
        "window": t1 - t0,
    }


def latency(
    conn: psycopg.Connection, url: str, base: str, rate: int, seconds: float
) -> dict[str, Any]:
    tenants = _tenants(conn, url, base, "lat", 10, debounce="1 second", batch_per_minute=40)
    w = _worker(url, "lat", loops=4)
    # Warm-up: one document per realm, delivered before the measured inserts start (a worker's
    # start, imports and connections, took seconds on the loaded machine: not a latency of the
    # delivery path). Warm-up documents are left out of the percentiles.
    for t in tenants:
        conn.execute(
            "INSERT INTO books.documents (tenant_id, doc_type, source_type, source_id, body) "
            "VALUES (%s, 'customer', 'manual', 'warm', "
            "jsonb_build_object('DisplayName', %s::text))",
            (t, f"Warm {t}"),
        )
    warm_until = time.monotonic() + 60
    while time.monotonic() < warm_until:
        row = conn.execute(
            "SELECT count(*) FROM sync.remote_objects WHERE tenant_id = ANY(%s)", (tenants,)
        ).fetchone()
        if row and row[0] >= len(tenants):
            break
        time.sleep(0.1)
    n = int(rate * seconds)
    start = time.monotonic()
    for i in range(n):
        t = tenants[i % len(tenants)]
        conn.execute(
            "INSERT INTO books.documents (tenant_id, doc_type, source_type, source_id, body) "
            "VALUES (%s, 'customer', 'manual', %s, jsonb_build_object('DisplayName', %s::text))",
            (t, f"lat:{i}", f"Latency {i}"),
        )
        delay = start + (i + 1) / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        row = conn.execute(
            "SELECT count(*) FROM sync.remote_objects WHERE tenant_id = ANY(%s)", (tenants,)
        ).fetchone()
        if row and row[0] >= n + len(tenants):
            break
        time.sleep(0.2)
    w.stop()
    _retire(conn, tenants)
    row = conn.execute(
        """
        SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY s),
               percentile_cont(0.99) WITHIN GROUP (ORDER BY s), count(*)
        FROM (SELECT extract(EPOCH FROM r.synced_at - d.created_at) AS s
              FROM sync.remote_objects AS r JOIN books.documents AS d USING (tenant_id, document_id)
              WHERE r.tenant_id = ANY(%s) AND d.source_id LIKE 'lat:%%') AS x
        """,
        (tenants,),
    ).fetchone()
    assert row is not None
    return {"n": n, "delivered": row[2], "p50": row[0], "p99": row[1], "rss": w.rss}


def drain(conn: psycopg.Connection, url: str, base: str, n: int) -> dict[str, Any]:
    httpx.patch(f"{base}/admin/throttle", json={"enabled": False})
    (tenant,) = _tenants(
        conn,
        url,
        base,
        "drain",
        1,
        per_second=1_000_000,
        per_minute=60_000_000,
        max_in_flight=64,
        batch_per_minute=1_000_000,
    )
    conn.execute("UPDATE sync.rate_buckets SET tokens = 1000000, batch_tokens = 1")
    _insert_customers(conn, [tenant], n, "drain")
    t0 = time.monotonic()
    args = [str(BIN / "pgbooks"), "worker", "--name", "drain", "--loops", "4"]
    w = subprocess.Popen(
        _cmd("drain", [*args, "--until-idle", "--json"]),
        env=_env(url),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    out_w, _ = w.communicate()
    wall = time.monotonic() - t0
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    w_cpu = ru1.ru_utime + ru1.ru_stime - ru0.ru_utime - ru0.ru_stime
    # The worker's own clock (from run() start, i.e. after imports and process start, as pgqueuer's
    # below is measured from qm.run()); the wall time including process start is printed too.
    elapsed = float(json.loads(out_w[out_w.index("{") :])["seconds"])
    # The worker exited: the kernel's high-water mark of waited-for children covers it.
    w_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    row = conn.execute(
        "SELECT count(*) FROM sync.remote_objects WHERE tenant_id = %s", (tenant,)
    ).fetchone()
    done = int(row[0]) if row else 0
    # pgqueuer's own drain of the same number of no-op jobs, same database.
    conn.execute(
        "INSERT INTO pgq.pgqueuer (priority, entrypoint, status, payload) "
        "SELECT 0, 'bench_noop', 'queued', NULL FROM generate_series(1, %s)",
        (n,),
    )
    code = (
        "import asyncio, os, psycopg, time, resource\n"
        "from pgqueuer import QueueManager\nfrom pgqueuer.db import PsycopgDriver\n"
        "from pgqueuer.queries import Queries\nfrom pgqueuer.types import QueueExecutionMode\n"
        "async def main():\n"
        "    c = await psycopg.AsyncConnection.connect(os.environ['DATABASE_URL'], autocommit=True,"
        " options='-c search_path=pgq')\n"
        "    qm = QueueManager(Queries(PsycopgDriver(c)))\n"
        "    @qm.entrypoint('bench_noop')\n"
        "    async def noop(job): pass\n"
        "    t = time.monotonic()\n"
        "    await qm.run(mode=QueueExecutionMode.drain, batch_size=100)\n"
        "    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024\n"
        "    print(time.monotonic() - t, rss)\n"
        "asyncio.run(main())\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=_env(url), capture_output=True, text=True, check=True
    )
    pgq_s, pgq_rss = (float(x) for x in out.stdout.split())
    left = conn.execute(
        "SELECT count(*) FROM pgq.pgqueuer WHERE entrypoint = 'bench_noop'"
    ).fetchone()
    return {
        "n": n,
        "delivered": done,
        "seconds": elapsed,
        "docs_s": done / elapsed,
        "wall_docs_s": done / wall,
        "pgq_s": n / pgq_s,
        "pgq_left": left[0] if left else None,
        "pgq_rss": pgq_rss,
        "rss": w_rss,
        "cpu_ms_per_doc": 1000 * w_cpu / max(done, 1),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="short phases (smoke run)")
    ap.add_argument("--only", default="tp1,tp50,latency,drain", help="phases to run")
    ap.add_argument(
        "--workers", type=int, default=2, help="worker processes of the 50-realm phase (default 2)"
    )
    ap.add_argument(
        "--profile",
        type=Path,
        help="directory: run every worker under py-spy (raw stacks, one file per worker)",
    )
    ap.add_argument(
        "--db-stats",
        action="store_true",
        help="print the database functions' self time (track_functions = all on the bench db)",
    )
    args = ap.parse_args()
    global PROFILE
    PROFILE = args.profile
    if PROFILE is not None:
        PROFILE.mkdir(parents=True, exist_ok=True)
    only = set(args.only.split(","))
    window = 8.0 if args.quick else 20.0
    lat_s = 4.0 if args.quick else 10.0
    n_drain = 1500 if args.quick else 5000

    _warm_bytecode()
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    with devdb.server() as server:
        name = f"pgbooks_bench_sync_{os.getpid()}"
        janitor = DatabaseJanitor(
            user=server.user,
            host=server.host,
            port=server.port,
            password=server.password,
            dbname=name,
        )
        janitor.init()
        sandbox = Proc(
            "sandbox",
            [str(BIN / "pgbooks"), "sandbox", "serve", "--port", str(port), "--seed", "3"],
            _base_env(),
        )
        try:
            url = server.url(name)
            migrate(url)
            if args.db_stats:
                with psycopg.connect(url, autocommit=True) as c:
                    c.execute(f"ALTER DATABASE {name} SET track_functions = 'all'")
            for _ in range(100):
                try:
                    httpx.get(f"{base}/admin/health", timeout=1)
                    break
                except httpx.HTTPError:
                    time.sleep(0.1)
            os.environ["PGBOOKS_SECRET_KEY"] = SECRET
            with psycopg.connect(url, autocommit=True) as conn:
                print(f"{'measure':<60}{'value':>14}{'goal':>12}", flush=True)
                rss: dict[str, Any] = {}
                for n_realms in (1, 50):
                    if f"tp{n_realms}" not in only:
                        continue
                    n_workers = 1 if n_realms == 1 else args.workers
                    r = throughput(conn, url, base, n_realms, window, n_workers, sandbox.p.pid)
                    label = f"throughput, {n_realms} realm(s), % of 500 req/min/realm ceiling"
                    print(f"{label:<60}{r['pct']:>13.1f}%{'>= 95%':>12}")
                    label = "  accepted / ceiling in the window"
                    print(f"{label:<60}{r['accepted']:>8} / {r['ceiling']:.0f}")
                    rss[f"workers tp{n_realms}"] = [round(x) for x in r["rss"]]
                    label = "  worker CPU per accepted document (ms, all processes)"
                    print(f"{label:<60}{1000 * r['cpu'] / max(r['accepted'], 1):>14.2f}")
                    label = "  CPU share in the window: workers / sandbox (cores)"
                    cores = f"{r['cpu'] / r['window']:.2f} / {r['sandbox_cpu'] / r['window']:.2f}"
                    print(f"{label:<60}{cores:>14}")
                    for i, st in enumerate(r["stats"]):
                        acc, sec = st.get("accepted", 0), st.get("seconds") or 1
                        label = f"  worker process {i + 1}/{n_workers}: accepted, docs/s of its run"
                        print(f"{label:<60}{acc:>8} {acc / sec:>5.0f}/s")
                        if args.db_stats:
                            keys = ("claims", "empty_claims", "claim_seconds", "complete_seconds")
                            print("    " + ", ".join(f"{k} {st.get(k)}" for k in keys))
                if "latency" in only:
                    lat = latency(conn, url, base, 50, lat_s)
                    for q, goal in (("p50", ""), ("p99", "<= 1.5 s")):
                        label = f"latency insert->accepted {q}, 50 docs/s, debounce 1 s"
                        print(f"{label:<60}{lat[q]:>13.3f}s{goal:>12}")
                    print(f"{'  delivered / inserted':<60}{lat['delivered']:>8} / {lat['n']}")
                    rss["latency worker"] = round(lat["rss"])
                if "drain" in only:
                    dr = drain(conn, url, base, n_drain)
                    label = "unthrottled drain, 1 worker process (docs/s)"
                    print(f"{label:<60}{dr['docs_s']:>14.0f}{'>= 1000':>12}")
                    label = "  same, wall clock incl. process start (docs/s)"
                    print(f"{label:<60}{dr['wall_docs_s']:>14.0f}")
                    print(f"{'  delivered / inserted':<60}{dr['delivered']:>8} / {dr['n']}")
                    label = "  worker CPU per delivered document (ms, whole process life)"
                    print(f"{label:<60}{dr['cpu_ms_per_doc']:>14.2f}")
                    print(
                        f"{'pgqueuer no-op drain, same database (jobs/s)':<60}{dr['pgq_s']:>14.0f}"
                    )
                    ratio = dr["docs_s"] / dr["pgq_s"]
                    print(f"{'ratio worker docs/s : pgqueuer no-op jobs/s':<60}{ratio:>14.2f}")
                    rss["drain worker (max of waited children)"] = round(dr["rss"])
                    rss["pgqueuer no-op drain"] = round(dr["pgq_rss"])
                if args.db_stats:
                    time.sleep(1.0)  # statistics are flushed by each backend at its exit
                    print("database functions by self time (ms): calls / total / self")
                    for fn, calls, total, own in conn.execute(
                        "SELECT schemaname || '.' || funcname, calls, round(total_time), "
                        "round(self_time) FROM pg_stat_user_functions "
                        "ORDER BY self_time DESC LIMIT 25"
                    ):
                        print(f"  {fn:<56}{calls:>9}{total:>10}{own:>10}")
        finally:
            sandbox.stop()
            janitor.drop()
    rss["sandbox"] = round(sandbox.rss)
    print("peak RSS (MiB): " + "; ".join(f"{k} {v}" for k, v in rss.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
