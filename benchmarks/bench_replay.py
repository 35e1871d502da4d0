"""Opening a past run for `jstui replay` and seeking in it: 100,000 solutions and 50
workers over a two-day run, in a real embedded PostgreSQL.

  python benchmarks/bench_replay.py [--rows 100000] [--workers 50] [--hours 48] [--seeks 50]
Target (issue 11): opening the run, and seeking anywhere in it, each under 300 ms.
Open = reading the run into arrays + the first frame; seek = the frame at a random time
(the few solutions it shows read from the pool as needed).
"""
from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_ui import fill_pool, scratch_pool              # noqa: E402
from jstui.replay.run import load_run                     # noqa: E402
from jstui.replay.source import ReplaySource              # noqa: E402
from solver.pool import connect                           # noqa: E402
from solver.pool.knobs import KNOBS                       # noqa: E402

TARGET_MS = 300.0


async def spread_over_time(dsn: str, hours: float) -> int:
    """Solutions evenly over HOURS with a falling MSE trend, one worker sample per
    default grain per worker over the same span; returns the samples written."""
    store = await connect(dsn)
    grain = KNOBS["history_grain_s"].default
    async with store._pool.acquire() as conn:
        await conn.execute(
            """UPDATE solutions SET created_at = now() - make_interval(hours => $1)
                   + (id - 1) * make_interval(secs => $1 * 3600 / (SELECT count(*) FROM solutions)),
                   mse = mse / (1 + id / 1000.0)""", float(hours))
        await conn.execute("DELETE FROM worker_history")
        await conn.execute(
            """INSERT INTO worker_history (worker_id, puzzle_id, at, heartbeat, status, run,
                                           step, best_mse, progress)
               SELECT w.id, w.puzzle_id, t, t, 'running', 1 + g / 60, g * 100,
                      0.005 + 1.0 / (g + 10),
                      '{"temperature": 0.001, "mse": 0.01, "evals_per_s": 2000.0}'
               FROM workers w, generate_series(0, ($1 * 3600 / $2)::int) g,
                    LATERAL (SELECT now() - make_interval(hours => $1)
                             + g * make_interval(secs => $2)) AS s(t)""", float(hours), grain)
        samples = await conn.fetchval("SELECT count(*) FROM worker_history")
        # The rewrite above left every row twice; a pool filled as it runs is compact and
        # vacuumed by autovacuum (which also lets the index answer alone).
        await conn.execute("VACUUM FULL solutions")
        await conn.execute("VACUUM ANALYZE")
    await store.close()
    return samples


async def measure(dsn: str, seeks: int) -> tuple[list[float], list[float], int]:
    store = await connect(dsn, max_size=2)
    opens, seek_ms = [], []
    try:
        pid = await store.current_puzzle_id()
        for _ in range(5):
            t = time.perf_counter()
            run = await load_run(store, pid, "bench")
            source = ReplaySource(store, run, playing=False)
            await source.frame()
            opens.append((time.perf_counter() - t) * 1000)
        rng = random.Random(0)
        for _ in range(seeks):
            t = time.perf_counter()
            source.seek(rng.uniform(run.start, run.end))
            snap = await source.frame()
            seek_ms.append((time.perf_counter() - t) * 1000)
        assert len(snap.workers) > 0 and snap.solutions > 0
    finally:
        await store.close()
    return opens, seek_ms, len(run.solutions.id)


def summary(name: str, ms: list[float]) -> str:
    ms = sorted(ms)
    p95 = ms[min(len(ms) - 1, int(0.95 * len(ms)))]
    met = "met" if p95 < TARGET_MS else "MISSED"
    return (f"{name:<22} p50 {statistics.median(ms):7.1f} ms   p95 {p95:7.1f} ms   "
            f"(n={len(ms)})   target < {TARGET_MS:g} ms: {met}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--workers", type=int, default=50)
    ap.add_argument("--hours", type=float, default=48.0)
    ap.add_argument("--seeks", type=int, default=50)
    args = ap.parse_args()
    with scratch_pool() as dsn:
        t = time.perf_counter()
        asyncio.run(fill_pool(dsn, args.rows, args.workers))
        samples = asyncio.run(spread_over_time(dsn, args.hours))
        print(f"pool filled: {args.rows:,} solutions, {args.workers} workers, "
              f"{samples:,} worker samples over {args.hours:g} h "
              f"in {time.perf_counter() - t:.1f} s")
        opens, seeks, n = asyncio.run(measure(dsn, args.seeks))
        assert n == args.rows
        print(summary("open the run", opens))
        print(summary("seek anywhere", seeks))
    return 0


if __name__ == "__main__":
    sys.exit(main())
