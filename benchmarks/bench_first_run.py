"""Calibrating the first-run puzzle: how long the local fleet (K pooled workers on one
embedded PostgreSQL, as `jstui` with no fleet file runs them) needs for the exact answer,
over several seeds of one puzzle spec. The first run should be watched at work: 2 to 5
minutes on a 2-core machine, and always solved.

    python benchmarks/bench_first_run.py [--kind pairing] [--blocks 48] [--dim 48]
        [--hidden 96] [--rows 10000] [--seeds 0,1,2,3,4] [--workers 2] [--limit 420]
        [--knob lr=2e-4 ...] [--cache DIR]

The default spec is the one jstui ships (jstui.fleet.local.DEFAULT_PUZZLE). Puzzles are
generated once into --cache (bench-out/first-run), keyed by the whole spec. Prints one
line per seed (wall and CPU seconds to the exact answer, relative MSE at checkpoints),
then the verdict against the 2-5 minute window. Raw results: bench-out/bench_first_run-STAMP.json.
"""
from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_fleet_search import (SOLVED_FLOOR, fresh_database, record_curve,  # noqa: E402
                                           run_pool)

CACHE = ROOT / "bench-out" / "first-run"
CHECKPOINTS = (30, 60, 120, 240)
WINDOW = (120.0, 300.0)   # the first run's target: watched for 2 to 5 minutes


def spec_of(args) -> dict:
    from jstui.fleet.local import DEFAULT_PUZZLE

    spec = dict(DEFAULT_PUZZLE)
    for key in ("kind", "blocks", "dim", "hidden", "rows"):
        if getattr(args, key) is not None:
            spec[key] = getattr(args, key)
    for item in args.knob:
        key, _, value = item.partition("=")
        spec[key.replace("-", "_")] = float(value) if "." in value or "e" in value else int(value)
    return spec


def cached(cache: Path, spec: dict, seed: int) -> Path:
    """The puzzle of SPEC at SEED (answer.sha256 included, as jstui's own default has)."""
    from solver.generate import GENERATOR_VERSION, generate_puzzle

    knobs = {**spec, "seed": seed}
    key = hashlib.sha256(json.dumps(knobs, sort_keys=True).encode()).hexdigest()[:10]
    home = cache / f"{spec['kind']}-N{spec['blocks']}-s{seed}-v{GENERATOR_VERSION}-{key}"
    if not (home / "generate.json").exists():
        staging = cache / f".staging-{key}"
        shutil.rmtree(staging, ignore_errors=True)
        generate_puzzle(staging, **knobs)
        shutil.rmtree(home, ignore_errors=True)
        staging.rename(home)
    return home


async def run(args, spec: dict, puzzles: list[Path], out: Path) -> list[dict]:
    from solver.pool import embedded
    from solver.puzzle.files import load_puzzle

    tmp = Path(tempfile.mkdtemp(prefix="bench-first-run-"))
    server = embedded.up(tmp / "pgdata")
    results = []
    try:
        for seed, puzzle in zip(args.seeds, puzzles):
            logs = out / "logs" / f"first-run-{puzzle.name}"
            logs.mkdir(parents=True, exist_ok=True)
            dsn = await fresh_database(server.dsn, f"first_run_{seed}")
            load = os.getloadavg()[0]
            r = await run_pool(puzzle, args.workers, 0, args.limit, os.cpu_count() or 1, logs, dsn, False)
            var = load_puzzle(puzzle).pred_var
            r.update(seed=seed, puzzle=puzzle.name, load_before=round(load, 2),
                     relative=[(t, 0.0 if m <= SOLVED_FLOOR else m / var) for t, m in r["curve"]])
            results.append(r)
            print(line(r, args.limit), flush=True)
            (out / f"bench_first_run-{args.stamp}.json").write_text(
                json.dumps({"spec": spec, "results": results}, indent=1))
    finally:
        embedded.down(tmp / "pgdata")
        shutil.rmtree(tmp, ignore_errors=True)
    return results


def line(r: dict, limit: float) -> str:
    curve = record_curve({"curve": r["relative"]})
    cells = []
    for t in (t for t in CHECKPOINTS if t <= limit):
        v = curve.at(t)
        cells.append(f"{t}s: " + ("-" if v is None else "exact" if v == 0 else f"{v:.2g}"))
    done = (f"exact in {r['seconds']:.0f} s ({r['cpu']:.0f} CPU s)" if r["solved"]
            else f"NOT solved in {limit:g} s ({r['cpu_spent']:.0f} CPU s)")
    return f"seed {r['seed']}: {done}; relative best {', '.join(cells)} (load {r['load_before']:.1f})"


def verdict(results: list[dict], limit: float) -> str:
    times = [r["seconds"] if r["solved"] else limit for r in results]
    inside = sum(r["solved"] and WINDOW[0] <= r["seconds"] <= WINDOW[1] for r in results)
    return (f"{sum(r['solved'] for r in results)}/{len(results)} solved; wall s to exact: median "
            f"{statistics.median(times):.0f}, range {min(times):.0f}-{max(times):.0f}; "
            f"{inside}/{len(results)} inside {WINDOW[0]:.0f}-{WINDOW[1]:.0f} s")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for key, kind in (("kind", str), ("blocks", int), ("dim", int), ("hidden", int), ("rows", int)):
        ap.add_argument(f"--{key}", type=kind)
    ap.add_argument("--knob", action="append", default=[], help="a generator knob, KEY=VALUE")
    ap.add_argument("--seeds", default="0,1,2,3,4")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--limit", type=float, default=420.0)
    ap.add_argument("--cache", type=Path, default=CACHE)
    args = ap.parse_args()
    args.seeds = [int(s) for s in args.seeds.split(",")]
    args.stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    spec = spec_of(args)
    args.cache.mkdir(parents=True, exist_ok=True)
    print(f"spec {spec}, seeds {args.seeds}, {args.workers} workers on {os.cpu_count()} cores, "
          f"limit {args.limit:g} s", flush=True)
    puzzles = []
    for seed in args.seeds:
        t0 = time.monotonic()
        puzzles.append(cached(args.cache, spec, seed))
        print(f"seed {seed}: puzzle {puzzles[-1].name} ({time.monotonic() - t0:.0f} s to make or find)",
              flush=True)
    results = asyncio.run(run(args, spec, puzzles, ROOT / "bench-out"))
    print(verdict(results, args.limit))
    return 0


if __name__ == "__main__":
    sys.exit(main())
