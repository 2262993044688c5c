"""Run every benchmark in bench/ (``make bench``) one after another and summarise.

Each ``bench/bench_*.py`` is a standalone script that measures its own comparison side by side in
one run (ours vs a baseline on the same database / server) and prints the peak RSS of each process
it starts. This runner adds the runner's view: wall time and the peak RSS of each benchmark's
process tree as the kernel accounted it (``ru_maxrss`` of the waited-for children), and exits
non-zero if any benchmark failed. ``BENCH_ONLY=orders,sync`` runs a subset; extra arguments are
passed to every script (e.g. ``--quick``).
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _scripts() -> list[Path]:
    only = {s.strip() for s in os.environ.get("BENCH_ONLY", "").split(",") if s.strip()}
    found = sorted(HERE.glob("bench_*.py"))
    if only:
        found = [p for p in found if p.stem.removeprefix("bench_") in only]
    return found


def main(argv: list[str]) -> int:
    results: list[tuple[str, int, float, float]] = []
    for script in _scripts():
        name = script.stem.removeprefix("bench_")
        print(f"\n=== {name}: {script.relative_to(HERE.parent)} ===", flush=True)
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        t0 = time.monotonic()
        rc = subprocess.call([sys.executable, str(script), *argv])
        wall = time.monotonic() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        # ru_maxrss of children is the max over all waited-for descendants so far (KiB on Linux):
        # it grows only when this benchmark had a bigger process than every earlier one.
        peak = max(after, before) / 1024
        results.append((name, rc, wall, peak))
    print("\n=== summary ===")
    print(f"{'benchmark':<16} {'result':<8} {'wall s':>8} {'max child RSS MiB (cumulative)':>32}")
    for name, rc, wall, peak in results:
        print(f"{name:<16} {'ok' if rc == 0 else f'rc={rc}':<8} {wall:>8.1f} {peak:>32.1f}")
    if not results:
        print("no benchmarks found")
        return 1
    return 0 if all(rc == 0 for _, rc, _, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
