"""The pool under a simulated fleet, no solving: clients that heartbeat, push, and read
elites at the worker's real rates, with p50/p95 latency per call and where it breaks.

    python benchmarks/bench_pool_scale.py [--scales 96,960] [--seconds 30] [--dsn DSN]
        [--shared-connections 0]

A client does what a worker does, at its default rates: `beat()` every 2 s (with one
history point), one pushed solution per 5 s (the push interval's ceiling; real workers
push less once their search settles), `fetch_best` after every 20 s burst and
`fetch_top(16)` at every 60 s run start. Clients start spread over one heartbeat. Each
client holds its own connection, as a worker does (scale 96 = 6 nodes x 16 workers),
unless --shared-connections N multiplexes all clients over N connections (what a
pooler such as PgBouncer in transaction mode would do).

Pushes take the store's SQL path after the door: the door's MSE recomputation (a full
forward pass, 1.3-2.7 s at the public size) runs in the submitting worker's own process
(Store.submit calls it in a thread there), so it adds nothing here and nothing that
grows with the number of workers.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_pool import synthetic_puzzle  # noqa: E402

RATES = {"beat": 2.0, "push": 5.0, "fetch_best": 20.0, "fetch_top": 60.0}   # seconds between calls


class Latencies:
    def __init__(self):
        self.ms: dict[str, list[float]] = {k: [] for k in RATES}
        self.errors: dict[str, int] = {}
        self.late = 0        # calls that started later than planned by more than their period

    def summary(self) -> dict:
        out = {}
        for op, xs in self.ms.items():
            if xs:
                xs = sorted(xs)
                out[op] = {"calls": len(xs), "p50_ms": round(statistics.median(xs), 2),
                           "p95_ms": round(xs[max(0, -(-95 * len(xs) // 100) - 1)], 2), "max_ms": round(xs[-1], 1)}
        return {"ops": out, "errors": dict(self.errors), "late": self.late}


async def client(store, puzzle, puzzle_id: int, n: int, until: float, lat: Latencies) -> None:
    """One simulated worker: its calls on their own schedules until UNTIL."""
    from solver.puzzle.answer import answer_sha256
    from solver.pool import Beat
    from solver.pool.validate import Checked

    rng = random.Random(n)
    wid = await store.register_worker(puzzle_id, f"node{n % 6}", 100000 + n)
    nxt = {op: time.monotonic() + rng.uniform(0, period) for op, period in RATES.items()}
    base = list(range(2 * puzzle.n_blocks + 1))
    while (now := time.monotonic()) < until:
        op = min(nxt, key=nxt.get)
        if nxt[op] > now:
            await asyncio.sleep(nxt[op] - now)
        elif now - nxt[op] > RATES[op]:
            lat.late += 1
        t = time.perf_counter()
        try:
            if op == "beat":
                await store.beat(wid, Beat(1, 0, 0.5, {"mse": 0.5}, 0), [(1, 0, 0.5, 0.5)])
            elif op == "push":
                perm = _shuffled(puzzle, base, rng)
                checked = Checked(perm, rng.uniform(0.01, 1.0), answer_sha256(perm), False)
                await store._insert_solution(puzzle_id, checked, origin="anneal", node=f"node{n % 6}",
                                             worker_id=wid, parents=[], run=1, method="elite")
            elif op == "fetch_best":
                await store.fetch_best(puzzle_id)
            else:
                await store.fetch_top(16, puzzle_id)
            lat.ms[op].append(1000 * (time.perf_counter() - t))
        except Exception as exc:          # a break point is a result here, not a crash
            key = f"{op}: {type(exc).__name__}: {str(exc)[:80]}"
            lat.errors[key] = lat.errors.get(key, 0) + 1
        nxt[op] += RATES[op]


def _shuffled(puzzle, base: list[int], rng: random.Random) -> list[int]:
    """A valid permutation (inp and out pieces in their slots) drawn at random."""
    import numpy as np

    inp = list(map(int, puzzle.inp_ids))
    out = list(map(int, puzzle.out_ids))
    rng.shuffle(inp)
    rng.shuffle(out)
    perm = np.empty(len(base), dtype=int)
    perm[0:-1:2], perm[1:-1:2], perm[-1] = inp, out, puzzle.last_id
    return [int(v) for v in perm]


async def open_clients(dsn: str, count: int, shared: int) -> tuple[list, list[str]]:
    """COUNT stores (one connection each), or one store of SHARED connections used by all;
    and the reasons of connections refused."""
    from solver.pool import connect

    if shared:
        store = await connect(dsn, max_size=shared)
        return [store] * count, []
    gate, stores, refused = asyncio.Semaphore(16), [], []

    async def one():
        async with gate:
            try:
                stores.append(await connect(dsn, max_size=1))
            except Exception as exc:
                refused.append(f"{type(exc).__name__}: {str(exc)[:100]}")
    await asyncio.gather(*(one() for _ in range(count)))
    return stores, refused


async def one_scale(dsn: str, count: int, seconds: float, shared: int) -> dict:
    from solver.pool import connect

    puzzle = synthetic_puzzle()
    async with await connect(dsn) as admin:
        puzzle_id = await admin.register_puzzle(puzzle)
        max_conn = await admin._pool.fetchval("SHOW max_connections")
    stores, refused = await open_clients(dsn, count, shared)
    lat = Latencies()
    load = os.getloadavg()[0]
    until = time.monotonic() + seconds
    t0 = time.process_time()
    await asyncio.gather(*(client(s, puzzle, puzzle_id, n, until, lat) for n, s in enumerate(stores)))
    cpu = time.process_time() - t0
    await asyncio.gather(*(s.close() for s in {id(s): s for s in stores}.values()), return_exceptions=True)
    return {"clients": count, "connected": len(stores), "refused": len(refused),
            "refusal": refused[0] if refused else None, "max_connections": int(max_conn),
            "shared_connections": shared or None, "seconds": seconds, "load_before": round(load, 2),
            "client_cpu_share": round(cpu / seconds, 2), **lat.summary()}


def show(r: dict) -> None:
    mode = f"{r['shared_connections']} shared connections" if r["shared_connections"] else "a connection each"
    print(f"{r['clients']} clients ({mode}; server max_connections {r['max_connections']}): "
          f"{r['connected']} connected, {r['refused']} refused; load before {r['load_before']}, "
          f"the simulator's own CPU {r['client_cpu_share']:.0%} of a core")
    if r["refusal"]:
        print(f"  refused: {r['refusal']}")
    for op, s in r["ops"].items():
        print(f"  {op:10s} {s['calls']:7d} calls  p50 {s['p50_ms']:7.2f} ms  p95 {s['p95_ms']:7.2f} ms  "
              f"max {s['max_ms']:7.1f} ms")
    for what, n in r["errors"].items():
        print(f"  error x{n}: {what}")
    if r["late"]:
        print(f"  {r['late']} calls started more than one period late (the simulator could not keep up)")


async def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scales", default="96,960", help="clients per run (default 6x16 and 10x that)")
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--shared-connections", type=int, default=0)
    ap.add_argument("--dsn", help="an existing PostgreSQL (default: a throw-away embedded one)")
    args = ap.parse_args()
    from solver.pool import embedded

    tmp = Path(tempfile.mkdtemp(prefix="jstui-scale-"))
    dsn = args.dsn or embedded.up(tmp / "pgdata").dsn
    results = []
    try:
        for count in (int(c) for c in args.scales.split(",")):
            r = await one_scale(dsn, count, args.seconds, args.shared_connections)
            show(r)
            results.append(r)
    finally:
        if not args.dsn:
            embedded.down(tmp / "pgdata")
        shutil.rmtree(tmp, ignore_errors=True)
    out = ROOT / "bench-out" / f"bench_pool_scale-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(exist_ok=True)
    import json

    out.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
