"""Cost of one UI refresh with 50 workers and 100,000 pool rows, and idle CPU of the app.

Starts its own embedded PostgreSQL in a temporary directory and prints figures:
  python benchmarks/bench_ui.py [--rows 100000] [--workers 50] [--idle 10]
Targets (issue 5): a refresh under 100 ms; the idle UI under 5% of one core.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import random
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from jstui.app import ControlCenter                     # noqa: E402
from jstui.live import LiveSource                        # noqa: E402
from jstui.snapshot import FixedSource                   # noqa: E402
from solver.pool import connect, embedded                # noqa: E402

N_BLOCKS = 48


@contextlib.contextmanager
def scratch_pool():
    """An embedded PostgreSQL in a temporary directory (its DSN), removed afterwards."""
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "pgdata"
        dsn = embedded.up(data_dir).dsn
        try:
            yield dsn
        finally:
            embedded.down(data_dir)


def cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


async def fill_pool(dsn: str, rows: int, workers: int) -> None:
    store = await connect(dsn)
    puzzle = SimpleNamespace(fingerprint="bench-" + "0" * 58, n_blocks=N_BLOCKS,
                             target_sha256=hashlib.sha256(b"bench").hexdigest())
    pid = await store.register_puzzle(puzzle, name="bench")
    rng = random.Random(0)
    base = list(range(2 * N_BLOCKS + 1))
    records = []
    for i in range(rows):
        perm = base[:]
        for _ in range(6):   # near one another, as an elite pool is
            a, b = rng.randrange(N_BLOCKS), rng.randrange(N_BLOCKS)
            perm[2 * a:2 * a + 2], perm[2 * b:2 * b + 2] = perm[2 * b:2 * b + 2], perm[2 * a:2 * a + 2]
        records.append((pid, perm, 1e-4 + rng.random() * 0.1,
                        hashlib.sha256(f"{i}".encode()).hexdigest(), False, f"node{i % 6}",
                        None, "bench"))
    async with store._pool.acquire() as conn:   # bulk load; the door is not what is measured
        await conn.copy_records_to_table(
            "solutions", records=records,
            columns=["puzzle_id", "permutation", "mse", "answer_sha256", "matches_target",
                     "node", "worker_id", "origin"])
    for w in range(workers):
        wid = await store.register_worker(pid, f"node{w % 6}", 10_000 + w)
        await store.heartbeat(wid, run=1, step=1000 * w, best_mse=0.005,
                              progress={"temperature": 1e-3, "mse": 0.01, "evals_per_s": 2000.0})
    await store.close()


async def time_refreshes(dsn: str, n: int) -> dict[str, list[float]]:
    """Three kinds of refresh: everything (start or reconnect: puzzle, count, curve);
    after a solutions + workers notice (the count rate-limited to every 5 s);
    after a heartbeat notice only (the most frequent)."""
    source = LiveSource(dsn, None)
    await source._open()
    kinds = {
        "full": lambda: (setattr(source, "_full_at", -1e9), setattr(source, "_counted_at", -1e9),
                         setattr(source, "_best_id", None)),
        "solutions notice": lambda: source.dirty.update({"solutions", "workers"}),
        "heartbeat notice": lambda: source.dirty.update({"workers"}),
    }
    times: dict[str, list[float]] = {k: [] for k in kinds}
    try:
        await source.read_once()
        for _ in range(n):
            for kind, prepare in kinds.items():
                prepare()
                t = time.perf_counter()
                snap = await source.read_once()
                times[kind].append((time.perf_counter() - t) * 1000)
        assert len(snap.workers) > 0 and snap.solutions > 0
    finally:
        await source.close()
    return times


async def time_renders(dsn: str, n: int) -> tuple[list[float], object]:
    source = LiveSource(dsn, None)
    await source._open()
    snap = await source.read_once()
    await source.close()
    feed = FixedSource()
    app = ControlCenter(feed, None, read_only=True)
    times = []
    async with app.run_test(size=(160, 48)) as pilot:
        for i in range(n):
            t = time.perf_counter()
            app.snapshot = snap.__class__(**{**snap.__dict__, "taken_at": snap.taken_at + i})
            await pilot.pause(0)
            times.append((time.perf_counter() - t) * 1000)
    return times, snap


async def idle_cpu(dsn: str, seconds: float, refresh: float) -> float:
    source = LiveSource(dsn, None, refresh=refresh)
    app = ControlCenter(source, None, read_only=True)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause(2.0)            # first snapshot in, then measure quiet time
        c0, t0 = cpu_seconds(), time.monotonic()
        await asyncio.sleep(seconds)
        c1, t1 = cpu_seconds(), time.monotonic()
    return (c1 - c0) / (t1 - t0)


def summary(name: str, ms: list[float]) -> str:
    ms = sorted(ms)
    p95 = ms[min(len(ms) - 1, int(0.95 * len(ms)))]
    return f"{name:<34} median {statistics.median(ms):7.1f} ms   p95 {p95:7.1f} ms   (n={len(ms)})"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--workers", type=int, default=50)
    ap.add_argument("--idle", type=float, default=10.0, help="seconds of idle measured")
    ap.add_argument("--refresh", type=float, default=5.0)
    args = ap.parse_args()
    with scratch_pool() as dsn:
        t = time.perf_counter()
        asyncio.run(fill_pool(dsn, args.rows, args.workers))
        print(f"pool filled: {args.rows:,} solutions, {args.workers} workers "
              f"in {time.perf_counter() - t:.1f} s")
        refreshes = asyncio.run(time_refreshes(dsn, 20))
        render, snap = asyncio.run(time_renders(dsn, 30))
        for kind, ms in refreshes.items():
            print(summary(f"refresh: {kind}", ms))
        print(summary("render one snapshot", render[1:]))
        for kind in ("solutions notice", "heartbeat notice", "full"):
            both = statistics.median(refreshes[kind]) + statistics.median(render[1:])
            print(f"{'read + render, ' + kind:<34} median {both:7.1f} ms   "
                  f"target < 100 ms: {'met' if both < 100 else 'MISSED'}")
        share = asyncio.run(idle_cpu(dsn, args.idle, args.refresh))
        print(f"{'idle UI CPU':<34} {share * 100:6.2f} % of one core over {args.idle:g} s "
              f"(refresh {args.refresh:g} s)   target < 5 %: "
              f"{'met' if share < 0.05 else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
