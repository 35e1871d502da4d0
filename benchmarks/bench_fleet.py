"""Fleet figures over real sshd daemons on loopback: `status` with warm connections over
6 nodes (target < 0.5 s) and launching 8 workers on each of 6 nodes (target < 5 s).

    python3 benchmarks/bench_fleet.py [--nodes 6] [--workers 8] [--repeats 10]

Workers are plain sleeping Python processes: the figures are the fleet layer's own.
Needs root and openssh-server (as the tests do).
"""
from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from jstui.fleet import Fleet, WorkerState  # noqa: E402
from tests.fixture_sshd import make_sshd_fleet, stop_workers  # noqa: E402


def sleeper(node, cfg, puzzle=""):
    return [node.python, "-c", "import time; time.sleep(600)"]


async def measure(sshd, names, workers: int, repeats: int) -> dict:
    cfg = sshd.config(names, dsn="postgresql://bench@127.0.0.1:1/none",
                      **{n: {"workers": workers} for n in names})
    out = {}
    async with Fleet(cfg, worker_argv=sleeper) as fleet:
        t0 = time.perf_counter()
        await fleet.check()
        out["connect+check (cold)"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        results = await fleet.deploy()
        assert all(r.ok for r in results), [r.error for r in results if not r.ok]
        out["deploy (first)"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        await fleet.deploy()
        out["deploy (nothing changed)"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        await fleet.status()
        out["status, first (starts the node agents)"] = time.perf_counter() - t0
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            st = await fleet.status()
            times.append(time.perf_counter() - t0)
        out["status, warm, median (0 workers)"] = statistics.median(times)
        t0 = time.perf_counter()
        results = await fleet.launch()
        out[f"launch {workers} x {len(names)} workers"] = time.perf_counter() - t0
        started = sum(len(r.workers) for r in results)
        assert started == workers * len(names), [r.error for r in results]
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            st = await fleet.status()
            times.append(time.perf_counter() - t0)
        running = sum(1 for w in st.workers if w.state == WorkerState.RUNNING)
        assert running == started, running
        out[f"status, warm, median ({started} workers)"] = statistics.median(times)
        out[f"status, warm, max ({started} workers)"] = max(times)
        t0 = time.perf_counter()
        await fleet.stop()
        out[f"stop {started} workers"] = time.perf_counter() - t0
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nodes", type=int, default=6)
    ap.add_argument("--workers", type=int, default=8)
    ap.add_argument("--repeats", type=int, default=10)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-fleet-") as tmp:
        sshd = make_sshd_fleet(Path(tmp))
        names = [f"node{i}" for i in range(args.nodes)]
        try:
            for name in names:
                sshd.start(name)
            figures = asyncio.run(measure(sshd, names, args.workers, args.repeats))
        finally:
            stop_workers(sshd)
            sshd.stop_all()
    targets = {"status, warm, median": 0.5, "launch": 5.0}
    for key, seconds in figures.items():
        target = next((t for prefix, t in targets.items() if key.startswith(prefix)), None)
        note = f"  (target < {target} s: {'met' if seconds < target else 'MISSED'})" \
            if target else ""
        print(f"{key:40s} {seconds:7.3f} s{note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
