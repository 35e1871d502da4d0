"""Does the fleet find the answer sooner? Time and CPU to the exact answer, and the best
MSE at fixed times, for four set-ups on the same puzzles and seeds:

  a  one `python -m solver solve` process
  b  K solve processes that share nothing (the first to finish wins)
  c  K workers (`python -m solver.worker`) sharing elites through the pool
  d  as c, plus `python -m solver observe --auto` (its automatic interventions)

    python benchmarks/bench_fleet_search.py [--quick] [--ks 1,2,4] [--time-limit 240]
        [--puzzles DIR,DIR,...] [--cache DIR] [--setups a,b,c,d] [--knob KEY=VALUE] [--png FILE]

A run that has not found the answer by --time-limit counts as not solved (censored at
the limit). The default puzzles are generated once into --cache (bench-out/puzzles
beside the benchmarks). Raw results: bench-out/bench_fleet_search-STAMP.json
(--from-json redraws from them); the curves: --png, drawn by
benchmarks/fleet_search_figure.py (matplotlib, the `bench` extra). Each pool run gets a
fresh database on one throw-away embedded PostgreSQL.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CACHE = ROOT / "bench-out" / "puzzles"   # bench_solve.cached_puzzle's; --cache for another
CHECKPOINTS = (15, 30, 60, 120, 240)
PROGRESS = re.compile(r"^\[\s*[\d.]+s\]\s+\S+\s+step\s+\d+\s+mse\s+\S+\s+best\s+(\S+)")
SOLVED_FLOOR = 1e-12   # the curves' value once the answer is found


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a live process, all its threads (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Proc:
    """A child process whose CPU time is known to the end: sampled while it lives, taken
    from its rusage when it is reaped (here, not by Popen)."""

    def __init__(self, argv: list[str], env: dict, log: Path, on_line=None):
        self.log = log.open("w")
        self.p = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE if on_line else self.log,
                                  stderr=subprocess.STDOUT, text=True)
        self.rc: int | None = None
        self.cpu = 0.0
        if on_line:
            threading.Thread(target=self._read, args=(on_line,), daemon=True).start()

    def _read(self, on_line) -> None:
        for line in self.p.stdout:
            self.log.write(line)
            on_line(line)

    def poll(self) -> int | None:
        if self.rc is None:
            pid, status, usage = os.wait4(self.p.pid, os.WNOHANG)
            if pid == 0:
                try:
                    self.cpu = cpu_seconds(self.p.pid)
                except OSError:
                    pass
                return None
            self.rc = self.p.returncode = os.waitstatus_to_exitcode(status)
            self.cpu = usage.ru_utime + usage.ru_stime
        return self.rc

    def end(self, grace: float = 10.0) -> None:
        if self.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + grace
            while self.poll() is None and time.monotonic() < deadline:
                time.sleep(0.1)
            if self.poll() is None:
                self.p.kill()
                while self.poll() is None:
                    time.sleep(0.05)
        self.log.close()


def thread_env(threads: int, dsn: str | None = None) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    for key in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[key] = str(threads)
    if dsn:
        env["JSTUI_DSN"] = dsn
    return env


class Curve:
    """Best MSE against wall time since the run's start (thread-safe appends)."""

    def __init__(self, t0: float):
        self.t0, self.points, self.lock = t0, [], threading.Lock()

    def add(self, mse: float, at: float | None = None) -> None:
        t = (time.monotonic() if at is None else at) - self.t0
        with self.lock:
            if not self.points or mse < self.points[-1][1]:
                self.points.append((round(t, 2), mse))

    def at(self, t: float) -> float | None:
        values = [m for s, m in self.points if s <= t]
        return min(values) if values else None


def run_solves(puzzle: Path, k: int, seed: int, limit: float, cores: int, logs: Path) -> dict:
    """Set-ups a (k=1) and b: K independent solve processes; the first exact one wins."""
    t0 = time.monotonic()
    curve = Curve(t0)

    def on_line(line: str) -> None:
        m = PROGRESS.match(line)
        if m:
            curve.add(float(m.group(1)))
    env = thread_env(max(1, cores // k))
    procs = [Proc([sys.executable, "-m", "solver", "solve", str(puzzle), "--seed", str(seed + i),
                   "--time-limit", str(limit)], env, logs / f"solve-{i}.log", on_line) for i in range(k)]
    solved_at = None
    while solved_at is None and time.monotonic() - t0 < limit:
        time.sleep(0.2)
        for p in procs:
            if p.poll() == 0:
                solved_at = time.monotonic()
        if all(p.poll() is not None for p in procs):
            break
    cpu = sum(p.cpu for p in procs) if solved_at else None   # polled at the moment it ended
    for p in procs:
        p.end()
    if solved_at:
        curve.add(SOLVED_FLOOR, solved_at)
    return {**_result(solved_at, t0, cpu, curve), "cpu_spent": round(sum(p.cpu for p in procs), 2)}


def _result(solved_at, t0, cpu, curve) -> dict:
    return {"solved": solved_at is not None, "cpu": None if cpu is None else round(cpu, 2),
            "seconds": None if solved_at is None else round(solved_at - t0, 2), "curve": curve.points}


async def fresh_database(server_dsn: str, name: str) -> str:
    import asyncpg

    from solver.pool import embedded

    conn = await asyncpg.connect(server_dsn)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return embedded.with_database(server_dsn, name)


def pool_procs(puzzle: Path, k: int, seed: int, dsn: str, cores: int, logs: Path, observer: bool) -> list[Proc]:
    env = thread_env(max(1, cores // k), dsn)
    procs = [Proc([sys.executable, "-m", "solver.worker", "--puzzle", str(puzzle), "--node", "bench",
                   "--forever", "--seed", str(seed + i), "--log-file", str(logs / f"worker-{i}.log")],
                  env, logs / f"worker-{i}.out") for i in range(k)]
    if observer:
        procs.append(Proc([sys.executable, "-m", "solver", "observe", "--puzzle", str(puzzle), "--auto",
                           "--interval", "5", "--stagnation", "45", "--cooldown", "30",
                           "--judge-after", "60"], thread_env(1, dsn), logs / "observer.log"))
    return procs


async def run_pool(puzzle: Path, k: int, seed: int, limit: float, cores: int, logs: Path,
                   dsn: str, observer: bool, knobs: dict | None = None) -> dict:
    """Set-ups c and d: K workers on a fresh pool (and the observer); done when the pool
    holds the exact answer. Time is the exact solution's own insertion time."""
    from solver.pool import connect
    from solver.puzzle.files import load_puzzle

    loaded = load_puzzle(puzzle)
    t0, epoch0 = time.monotonic(), time.time()
    curve = Curve(t0)
    procs = pool_procs(puzzle, k, seed, dsn, cores, logs, observer)
    solved_at, cpu, report = None, None, None
    async with await connect(dsn, max_size=1) as store:
        pid = await store.register_puzzle(loaded)
        for key, value in (knobs or {}).items():   # before the workers read the config
            await store.set_config(key, value, by="bench")
        while solved_at is None and time.monotonic() - t0 < limit:
            await asyncio.sleep(0.5)
            [p.poll() for p in procs]
            best = await store.fetch_best(pid)
            if best is None:
                continue
            at = best.created_at.timestamp() - epoch0 + t0
            if best.matches_target:
                solved_at, cpu = at, sum(p.cpu for p in procs)
                curve.add(SOLVED_FLOOR, at)
            else:
                curve.add(best.mse, at)
        for p in procs:
            p.end(20.0)
        spent = round(sum(p.cpu for p in procs), 2)   # a censored run's CPU, too
        report = {**await lineage_summary(store, pid), "cpu_spent": spent}
        if observer:
            await judge_open(store, pid)
            report["interventions"] = [
                {"kind": i.kind, "detail": i.detail, "paid": i.paid, "before": i.best_before,
                 "after": i.best_after} for i in await store.fetch_interventions(pid)]
    return {**_result(solved_at, t0, cpu, curve), **report}


async def judge_open(store, puzzle_id: int) -> None:
    """Interventions whose window outlived the run: judged by the best at the run's end
    (the run ends when the answer is in, so nothing later could count)."""
    records = await store.fetch_records(puzzle_id)
    for i in await store.fetch_interventions(puzzle_id):
        if i.judged_at is None:
            end = i.at.timestamp() + i.window_s
            reached = [r.mse for r in records if r.created_at.timestamp() <= end]
            await store.judge_intervention(i.id, min(reached) if reached else None)


async def lineage_summary(store, puzzle_id: int) -> dict:
    """Which starts made the records: method counts of the solutions that lowered the best."""
    records = await store.fetch_records(puzzle_id)
    counts: dict[str, int] = {}
    for r in records:
        key = r.method or r.origin
        counts[key] = counts.get(key, 0) + 1
    cross_worker = 0
    for r in records:
        parents = [await store.fetch_solution(p) for p in r.parents]
        cross_worker += any(p is not None and p.worker_id not in (None, r.worker_id) for p in parents)
    return {"records_by_method": counts, "records_from_other_workers": cross_worker}


def plan(setups: list[str], ks: list[int]) -> list[tuple[str, int]]:
    """(set-up, K) pairs to run; b at K=1 is a itself, so it is not run twice."""
    out = [("a", 1)] if "a" in setups else []
    for k in ks:
        out += [(s, k) for s in ("b", "c", "d") if s in setups and not (s == "b" and k == 1)]
    return out


async def run_all(args, puzzles: list[Path], out: Path) -> list[dict]:
    from solver.pool import embedded

    cores = os.cpu_count() or 1
    tmp = Path(tempfile.mkdtemp(prefix="bench-fleet-search-"))
    server = embedded.up(tmp / "pgdata")
    results: list[dict] = []
    try:
        for n, puzzle in enumerate(puzzles):
            for setup, k in plan(args.setups, args.ks):
                logs = out / "logs" / f"{puzzle.parent.name}-{setup}-k{k}"
                logs.mkdir(parents=True, exist_ok=True)
                load = os.getloadavg()[0]
                if setup in "ab":
                    r = await asyncio.to_thread(run_solves, puzzle, k, args.seed, args.time_limit, cores, logs)
                else:
                    dsn = await fresh_database(server.dsn, f"bench_{n}_{setup}_{k}")
                    r = await run_pool(puzzle, k, args.seed, args.time_limit, cores, logs, dsn, setup == "d",
                                       args.knobs)
                r.update(puzzle=puzzle.parent.name, setup=setup, k=k, load_before=round(load, 2))
                results.append(r)
                print(f"{puzzle.parent.name} {setup} K={k}: "
                      + (f"exact in {r['seconds']:.1f} s, {r['cpu']:.1f} CPU s" if r["solved"]
                         else f"not solved in {args.time_limit:g} s") + f" (load {load:.1f})", flush=True)
                (out / f"bench_fleet_search-{args.stamp}.json").write_text(json.dumps(results, indent=1))
    finally:
        embedded.down(tmp / "pgdata")
        shutil.rmtree(tmp, ignore_errors=True)
    return results


def summary(results: list[dict], limit: float) -> list[str]:
    """One line per (set-up, K): median wall and CPU to the exact answer (censored at the
    limit), solved count, and the median best MSE at the checkpoints."""
    lines = ["| set-up | K | solved | median wall s to exact | median CPU s to exact | "
             + " | ".join(f"best MSE at {t} s" for t in CHECKPOINTS if t <= limit) + " |",
             "|---|---:|---:|---:|---:|" + "---:|" * sum(t <= limit for t in CHECKPOINTS)]
    for setup, k in sorted({(r["setup"], r["k"]) for r in results}, key=lambda x: (x[1], x[0])):
        rs = [r for r in results if (r["setup"], r["k"]) == (setup, k)]
        wall = statistics.median(r["seconds"] if r["solved"] else limit for r in rs)
        solved = [r["cpu"] for r in rs if r["solved"]]
        cpu = f"{statistics.median(solved):.0f} ({len(solved)} solved)" if solved else "-"
        censored = ">" if sum(r["solved"] for r in rs) * 2 <= len(rs) else ""
        cells = []
        for t in (t for t in CHECKPOINTS if t <= limit):
            values = [Curve.at(record_curve(r), t) for r in rs]
            values = [v for v in values if v is not None]
            median = statistics.median(values) if values else None
            cells.append("-" if median is None else "exact" if median <= SOLVED_FLOOR else f"{median:.3g}")
        lines.append(f"| {setup} | {k} | {sum(r['solved'] for r in rs)}/{len(rs)} | {censored}{wall:.0f} | "
                     f"{cpu} | " + " | ".join(cells) + " |")
    return lines


def record_curve(r: dict) -> Curve:
    c = Curve(0.0)
    c.points = [tuple(p) for p in r["curve"]]
    return c


def arguments() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="2 puzzles, K=2, a and c, 150 s limit")
    ap.add_argument("--puzzles", help="comma-separated puzzle dirs (default: 3 pairing N=48 from --cache)")
    ap.add_argument("--cache", type=Path, default=CACHE,
                    help="generated puzzles, made there when missing (default: bench-out/puzzles)")
    ap.add_argument("--ks", default="1,2,4")
    ap.add_argument("--setups", default="a,b,c,d")
    ap.add_argument("--time-limit", type=float, default=240.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--knob", action="append", default=[], help="a pool knob for c and d, KEY=VALUE")
    ap.add_argument("--png", type=Path, help="draw the curves here (e.g. docs/fleet-search.png)")
    ap.add_argument("--from-json", type=Path, help="only summarise (and draw) an earlier run's results")
    ap.add_argument("--from-table", type=Path,
                    help="only draw (--png) the medians of a summary table in this file (no records)")
    args = ap.parse_args()
    args.ks = [int(k) for k in args.ks.split(",")]
    args.setups = args.setups.split(",")
    args.knobs = {k: float(v) for k, _, v in (item.partition("=") for item in args.knob)}
    if args.quick:
        args.ks, args.setups, args.time_limit = [2], ["a", "c"], min(args.time_limit, 150.0)
    if args.from_table and not args.png:
        ap.error("--from-table draws: give --png")
    return args


def default_puzzles(cache: Path, count: int) -> list[Path]:
    """The pairing puzzles, N=48, seeds 0.. from the cache (generated there when missing)."""
    from benchmarks.bench_solve import cached_puzzle

    return [cached_puzzle(cache, "pairing", 48, 10000, seed)[0].parent / "full" for seed in range(count)]


def main() -> int:
    args = arguments()
    if args.png:   # before a long run: matplotlib missing fails now, not after it
        from benchmarks.fleet_search_figure import draw, draw_table, read_table
    if args.from_table:
        draw_table(read_table(args.from_table), args.time_limit, args.png)
        print(f"curves: {args.png}")
        return 0
    if args.from_json:
        results = json.loads(args.from_json.read_text())
    else:
        count = 2 if args.quick else 3
        puzzles = ([Path(p).resolve() for p in args.puzzles.split(",")] if args.puzzles
                   else default_puzzles(args.cache, count))
        missing = [p for p in puzzles if not p.is_dir()]
        if missing:
            print(f"error: no puzzle at {missing[0]} (make one: python -m solver generate DIR --kind pairing)",
                  file=sys.stderr)
            return 2
        args.stamp = time.strftime("%Y%m%d-%H%M%S")
        results = asyncio.run(run_all(args, puzzles, ROOT / "bench-out"))
    print(f"{len({r['puzzle'] for r in results})} puzzles, {os.cpu_count()} cores, limit {args.time_limit:g} s "
          f"(load average now {os.getloadavg()[0]:.1f})")
    print("\n".join(summary(results, args.time_limit)))
    if args.png:
        draw(results, args.time_limit, args.png)
        print(f"curves: {args.png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
