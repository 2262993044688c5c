"""Throughput of the QBO sandbox with throttling off.

Run: ``python bench/bench_sandbox.py [--seconds 10] [--connections 32] [--quick]``

Starts ``python -m qbo_sandbox serve --no-throttle`` in a subprocess, then drives it with
``wrk`` (C, so the load generator is not the bottleneck; ``apt-get install -y wrk``) or, if wrk
is missing, with several Python client processes. Reports requests/s for
  * GET  /v3/company/{realm}/account/{id}   (simple read)
  * POST /v3/company/{realm}/customer       (small create, unique names)
and the server's peak RSS (VmHWM). Then, in the same run, the latency of the Reports API
(GeneralLedger, ProfitAndLoss: recomputed from every posting on each request) over
``--report-invoices`` invoices. Exit status 1 when the simple GET (issue 3's "simple requests")
stays under 2,000 req/s; the create figure is reported against the same goal for information.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import httpx

REALM = "9130357766900001"
GOAL = 2000.0

CREATE_LUA = """
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
counter = 0
request = function()
  counter = counter + 1
  local body = '{"DisplayName":"Bench ' .. tid .. '-' .. counter .. '"}'
  return wrk.format("POST", nil, {["Content-Type"] = "application/json",
                                  ["Authorization"] = "Bearer TOKEN"}, body)
end
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _peak_rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status", encoding="ascii") as fh:
        m = re.search(r"VmHWM:\s+(\d+) kB", fh.read())
    return int(m.group(1)) / 1024 if m else float("nan")


def _wrk(url: str, token: str, seconds: int, conns: int, script: str | None) -> float:
    cmd = [
        "wrk",
        "-t2",
        f"-c{conns}",
        f"-d{seconds}s",
        "-H",
        f"Authorization: Bearer {token}",
        "-H",
        "Accept: application/json",
    ]
    if script:
        cmd += ["-s", script]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, check=True).stdout
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        raise SystemExit(f"{non2xx.group(1)} non-2xx responses for {url}:\n{out}")
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    assert m, out
    return float(m.group(1))


def _py_worker(url: str, token: str, seconds: float, post: bool, q: mp.Queue) -> None:  # type: ignore[type-arg]
    n = 0
    end = time.monotonic() + seconds
    with httpx.Client(headers={"Authorization": f"Bearer {token}"}) as c:
        while time.monotonic() < end:
            if post:
                c.post(url, json={"DisplayName": f"Bench {os.getpid()}-{n}"})
            else:
                c.get(url)
            n += 1
    q.put(n)


def _python_load(url: str, token: str, seconds: int, procs: int, post: bool) -> float:
    q: mp.Queue = mp.Queue()  # type: ignore[type-arg]
    ps = [mp.Process(target=_py_worker, args=(url, token, seconds, post, q)) for _ in range(procs)]
    for p in ps:
        p.start()
    total = sum(q.get() for _ in ps)
    for p in ps:
        p.join()
    return total / seconds


def _report_latency(base: str, token: str, invoices: int) -> dict[str, float]:
    """Median ms of a full-range GeneralLedger / ProfitAndLoss over ``invoices`` invoices."""
    url = f"{base}/v3/company/{REALM}"
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}) as c:
        cust = c.post("/customer", json={"DisplayName": "Report Bench"}).json()["Customer"]
        line = {
            "Amount": "12.34",
            "DetailType": "SalesItemLineDetail",
            "SalesItemLineDetail": {"ItemRef": {"value": "1"}},
        }
        body = {"CustomerRef": {"value": cust["Id"]}, "Line": [line], "TxnDate": "2025-06-01"}
        for _ in range(invoices):
            c.post("/invoice", json=body).raise_for_status()
        out = {}
        for name in ("GeneralLedger", "ProfitAndLoss"):
            times = []
            for _ in range(5):
                t0 = time.perf_counter()
                r = c.get(
                    f"/reports/{name}",
                    params={"start_date": "2025-01-01", "end_date": "2025-12-31"},
                )
                r.raise_for_status()
                times.append((time.perf_counter() - t0) * 1000)
            out[name] = sorted(times)[len(times) // 2]
        return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--report-invoices", type=int, default=1000)
    ap.add_argument("--quick", action="store_true", help="3 s per scenario, 200 invoices")
    args = ap.parse_args()
    if args.quick:
        args.seconds, args.report_invoices = 3, 200
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "qbo_sandbox", "serve", "--port", str(port), "--no-throttle"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            if server.poll() is not None:
                raise SystemExit(f"server exited: {server.stderr.read().decode()[-2000:]}")
            try:
                httpx.get(f"{base}/admin/health", timeout=0.5)
                break
            except httpx.HTTPError:
                time.sleep(0.05)
        token = httpx.post(f"{base}/admin/realms/{REALM}/token").json()["access_token"]
        get_url = f"{base}/v3/company/{REALM}/account/4"
        post_url = f"{base}/v3/company/{REALM}/customer"
        results: dict[str, float] = {}
        if shutil.which("wrk"):
            gen = f"wrk -t2 -c{args.connections}"
            with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
                fh.write(CREATE_LUA.replace("TOKEN", token))
                lua = fh.name
            results["GET account"] = _wrk(get_url, token, args.seconds, args.connections, None)
            results["POST customer"] = _wrk(post_url, token, args.seconds, args.connections, lua)
            os.unlink(lua)
        else:
            gen = "4 python processes (wrk not installed)"
            results["GET account"] = _python_load(get_url, token, args.seconds, 4, False)
            results["POST customer"] = _python_load(post_url, token, args.seconds, 4, True)
        count = httpx.get(
            f"{base}/v3/company/{REALM}/query",
            params={"query": "select count(*) from Customer"},
            headers={"Authorization": f"Bearer {token}"},
        ).json()
        reports = _report_latency(base, token, args.report_invoices)
        rss = _peak_rss_mb(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=10)
    print(
        f"load generator: {gen}, {args.seconds}s per scenario, throttling off, "
        f"{os.cpu_count()} CPUs"
    )
    for name, rps in results.items():
        flag = "OK" if rps >= GOAL else "BELOW GOAL"
        print(f"  {name:<14} {rps:10.0f} req/s   ({flag}, goal {GOAL:.0f})")
    print(f"  customers created: {count['QueryResponse'].get('totalCount')}")
    for name, ms in reports.items():
        print(
            f"  {name:<14} {ms:10.1f} ms per report over {args.report_invoices} invoices "
            f"({2 * args.report_invoices} postings), median of 5"
        )
    print(f"  server peak RSS: {rss:.1f} MiB")
    return 0 if results["GET account"] >= GOAL else 1


if __name__ == "__main__":
    raise SystemExit(main())
