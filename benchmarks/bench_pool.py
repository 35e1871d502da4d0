"""Pool figures: insert + elite-fetch round trip on loopback, and worker search steps/s at 1..8 workers.

    python3 benchmarks/bench_pool.py [--quick] [--dsn DSN]

Without --dsn it starts a throw-away embedded PostgreSQL (unix socket) and removes it.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from solver.puzzle.files import Puzzle, _finish, save_npz  # noqa: E402


def synthetic_puzzle(n=48, d=48, h=96, rows=10_000, seed=0) -> Puzzle:
    """Public-sized random pieces; pred from one arrangement (shape and cost are what count)."""
    rng = np.random.default_rng(seed)
    inp_w = (rng.standard_normal((n, h, d)) / np.sqrt(d)).astype(np.float32)
    out_w = (rng.standard_normal((n, d, h)) * 0.1 / np.sqrt(h)).astype(np.float32)
    inp_b = (rng.standard_normal((n, h)) * 0.1).astype(np.float32)
    out_b = (rng.standard_normal((n, d)) * 0.01).astype(np.float32)
    last_w = (rng.standard_normal((1, d)) / np.sqrt(d)).astype(np.float32)
    last_b = np.zeros(1, np.float32)
    x = (np.sign(rng.standard_normal((rows, d))) * 0.8).astype(np.float32)
    ids = rng.permutation(2 * n + 1)
    inp_ids, out_ids, last_id = np.sort(ids[:n]), np.sort(ids[n:2 * n]), int(ids[-1])
    state = x.astype(np.float64)
    for k in range(n):
        state = state + np.maximum(state @ inp_w[k].T + inp_b[k], 0) @ out_w[k].T + out_b[k]
    pred = state @ last_w.T.astype(np.float64) + last_b
    return _finish(Puzzle(inp_w, inp_b, out_w, out_b, last_w, last_b, inp_ids, out_ids, last_id,
                          x, pred, pred.copy(), source="synthetic"))


async def round_trips(dsn: str, puzzle: Puzzle, count: int) -> dict:
    from solver.pool import connect
    from solver.search.seeds import make_seed

    rng = np.random.default_rng(1)
    door_count = 20  # each costs a forward pass on all rows
    perms = [make_seed(puzzle, "random", rng) for _ in range(count + door_count)]
    async with await connect(dsn, max_size=2) as store:
        pid = await store.register_puzzle(puzzle)
        raw, door = [], []
        for perm in perms[:count]:
            # The store's SQL alone: insert a checked row and fetch the elites.
            t = time.perf_counter()
            await store._pool.execute(
                """INSERT INTO solutions (puzzle_id, permutation, mse, answer_sha256, origin)
                   VALUES ($1, $2, 1.0, md5(random()::text), 'bench')""", pid, perm)
            await store.fetch_top(16, pid)
            raw.append(time.perf_counter() - t)
        for perm in perms[count:]:
            # Through the door: the receiver recomputes the MSE on all rows first.
            t = time.perf_counter()
            await store.submit(puzzle, perm, origin="bench")
            await store.fetch_top(16, pid)
            door.append(time.perf_counter() - t)
    ms = lambda xs: (1000 * statistics.median(xs), 1000 * sorted(xs)[int(0.95 * len(xs)) - 1])  # noqa: E731
    return {"sql": ms(raw), "door": ms(door)}


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def fleet_rates(dsn: str, npz: Path, workers: int, seconds: float, log_dir: Path) -> list[tuple]:
    """Start WORKERS worker processes; per worker (search steps/s of wall time, steps per CPU
    second, from the pool's `step`) over a window after start-up. Steps per CPU second shows
    whether workers slow each other
    beyond sharing the cores (a machine shared with other work changes the first, not this)."""
    from solver.pool import connect

    async with await connect(dsn) as store:
        await store.set_config("restart_share", 0.0)
        before = {w.id for w in await store.fetch_workers()}
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
           "MKL_NUM_THREADS": "1"}
    procs = [subprocess.Popen([sys.executable, "-m", "solver.worker", "--dsn", dsn, "--puzzle", str(npz),
                               "--node", f"bench{i}", "--forever", "--run-seconds", "3600",
                               "--heartbeat", "1", "--log-file", str(log_dir / f"w{workers}-{i}.log")],
                              cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
             for i in range(workers)]

    async def sample(store):
        rows = {w.pid: w.step for w in await store.fetch_workers(alive_only=True) if w.id not in before}
        return {p.pid: (rows.get(p.pid), cpu_seconds(p.pid), time.monotonic()) for p in procs}

    try:
        await asyncio.sleep(max(5.0, seconds / 3) + 2.0 * workers)  # start-up and seeding
        async with await connect(dsn) as store:
            first = await sample(store)
            await asyncio.sleep(seconds)
            last = await sample(store)
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(60)
    rates = []
    for pid, (step0, cpu0, t0) in first.items():
        step1, cpu1, t1 = last[pid]
        if step0 is not None and step1 is not None and step1 > step0 and cpu1 > cpu0:
            rates.append(((step1 - step0) / (t1 - t0), (step1 - step0) / (cpu1 - cpu0)))
    return rates


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dsn")
    ap.add_argument("--quick", action="store_true", help="fewer round trips, shorter fleet runs")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="jstui-bench-"))
    from solver.pool import embedded

    dsn = args.dsn or embedded.up(tmp / "pgdata").dsn
    try:
        big = synthetic_puzzle()
        rt = await round_trips(dsn, big, 100 if args.quick else 400)
        print(f"round trip, insert + fetch_top(16), median / p95 on {'unix-socket loopback' if not args.dsn else 'given DSN'}:")
        print(f"  SQL only              {rt['sql'][0]:6.2f} ms / {rt['sql'][1]:6.2f} ms")
        print(f"  submit() with door    {rt['door'][0]:6.2f} ms / {rt['door'][1]:6.2f} ms "
              f"(MSE recomputed on {big.n_rows} rows, N={big.n_blocks})")
        npz = save_npz(synthetic_puzzle(n=24, d=32, h=64, rows=2048, seed=3), tmp / "fleet.npz")
        seconds = 8 if args.quick else 20
        base = None
        print(f"worker search steps/s (synthetic N=24, d=32, h=64, 2048 rows; {os.cpu_count()} cores; "
              f"1 BLAS thread per worker):")
        load = os.getloadavg()[0]
        for workers in (1, 2, 4, 8):
            rates = await fleet_rates(dsn, npz, workers, seconds, tmp)
            if not rates:
                print(f"  {workers} workers: no usable samples")
                continue
            wall = statistics.mean(r[0] for r in rates)
            per_cpu = statistics.mean(r[1] for r in rates)
            base = base or (wall, per_cpu)
            print(f"  {workers} workers: {wall:7.0f} steps/s each ({wall / base[0]:6.1%} of one alone; "
                  f"fair share {min(1, (os.cpu_count() or 1) / workers):4.0%}), {wall * len(rates):7.0f} total; "
                  f"{per_cpu:7.0f} steps per CPU second ({per_cpu / base[1]:6.1%} of one alone)")
        print(f"  (load average before: {load:.1f}, after: {os.getloadavg()[0]:.1f})")
    finally:
        if not args.dsn:
            embedded.down(tmp / "pgdata")
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())
