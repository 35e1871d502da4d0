"""Solve benchmark: the public puzzle cold, its remixes, generated puzzles of each kind and
size, and evaluation throughput against a naive baseline timed in the same run.

    python benchmarks/bench_solve.py [--quick] [--seeds 5] [--sections public,kinds,sizes,rate]

Every solve is `python -m solver solve DIR --json` in a process of its own: wall seconds
are measured from outside (interpreter start, imports, reading the files, search and
verdict), and the JSON splits out the load and the search. The solver sees only the
public files of a generated puzzle (`piece_*.pth`, `historical_data.csv`). Results go to
bench-out/bench_solve-*.json; the table is printed at the end.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import solver  # noqa: E402,F401  (one BLAS thread, before numpy)
import numpy as np  # noqa: E402

PUBLIC = ROOT.parent / "shared" / "data" / "public-puzzle"
PUBLIC_SHA256 = "093be1cf2d24094db903cbc3e8d33d306ebca49c6accaa264e44b0b675e7d9c4"  # published target
# kind -> (blocks, seconds allowed per solve, target in seconds, what the issue asks)
KINDS = {
    "trained": (48, 60.0, 1.0, "public-hard readable"),
    "drift": (48, 300.0, 60.0, "norm sort 10-15 places off"),
    "pairing": (48, 300.0, 60.0, "order not in the weights"),
    "weak": (48, 600.0, 600.0, "2/3 of pairs by trace"),
    "hard": (48, 300.0, None, "1/6 of pairs by trace"),
}
SIZES = {128: (120.0, 120.0), 192: (300.0, 300.0)}  # readable kind: seconds allowed, target
QUICK_LIMIT = 30.0
PUBLIC_FILES = ("historical_data.csv",)


# ---------------------------------------------------------------- puzzles (cached)

def cached_puzzle(cache: Path, kind: str, blocks: int, rows: int, seed: int) -> tuple[Path, dict]:
    """Generate once into cache/NAME/full; the solver sees only cache/NAME/public."""
    from solver.generate import GENERATOR_VERSION, generate_puzzle
    home = cache / f"{kind}-N{blocks}-d48-h96-r{rows}-s{seed}-v{GENERATOR_VERSION}"
    full, public = home / "full", home / "public"
    if not (full / "generate.json").exists():
        shutil.rmtree(home, ignore_errors=True)
        staging = home / "staging"
        generate_puzzle(staging, blocks=blocks, dim=48, hidden=96, rows=rows, seed=seed, kind=kind)
        staging.rename(full)  # generate.json present means the puzzle is complete
    summary = json.loads((full / "generate.json").read_text())
    if not public.exists():
        staging = home / "public-staging"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir()
        for f in list(full.glob("piece_*.pth")) + [full / n for n in PUBLIC_FILES]:
            os.link(f, staging / f.name)
        staging.rename(public)
    return public, summary


def save_records(out: Path, stem: str, records) -> Path:
    """Write records as out/STEM-STAMP.json (UTC stamp); the path written."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{stem}-{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}.json"
    path.write_text(json.dumps(records, indent=1) + "\n")
    return path


# ---------------------------------------------------------------- one solve

def run_solver(puzzle: Path, answer_hash: str, time_limit: float, python: str) -> dict:
    """One solver process; wall seconds from process start to exit."""
    cmd = [python, "-m", "solver", "solve", str(puzzle), "--expect-sha256", answer_hash,
           "--time-limit", str(time_limit), "--json", "--quiet"]
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    started, cpu_before = time.perf_counter(), _children_cpu()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=time_limit + 60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
    wall = time.perf_counter() - started
    # CPU seconds too: on a busy machine wall time says more about the neighbours
    record = {"puzzle": str(puzzle), "returncode": proc.returncode, "wall_seconds": wall,
              "cpu_seconds": _children_cpu() - cpu_before}
    try:
        result = json.loads(out.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        return {**record, "solved": False, "error": "no JSON on the last stdout line", "stderr": err[-1500:]}
    seconds = result.get("seconds") or wall
    record.update(
        solved=bool(result["solved"]) and result["sha256"] == answer_hash, stage=result.get("stage"),
        relative_mse=result.get("relative_mse"), search_seconds=seconds,
        load_seconds=result.get("load_seconds"),
        startup_seconds=wall - seconds - (result.get("load_seconds") or 0.0),
        evaluations=result.get("evaluations"), evaluation_rows=result.get("evaluation_rows"),
        ranked=result.get("ranked"), permutation=result.get("permutation"))
    return record


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def describe(run: dict) -> str:
    if run.get("error"):
        return f"error: {run['error']}"
    how = f"solved ({run['stage']} path)" if run["solved"] else f"not solved, relative MSE {run['relative_mse']:.3g}"
    return (f"{how}: wall {run['wall_seconds']:.2f} s = start-up {run['startup_seconds']:.2f} + "
            f"load {run['load_seconds']:.2f} + search {run['search_seconds']:.2f}; CPU {run['cpu_seconds']:.1f} s")


# ---------------------------------------------------------------- sections

def public_section(args, out: Path) -> list[dict]:
    """The public puzzle cold, then remixes: pieces renumbered, 10,000 new rows."""
    if not PUBLIC.is_dir():
        print(f"public: {PUBLIC} not found, skipped")
        return []
    rows = []
    runs = []
    for k in range(args.seeds):
        run = run_solver(PUBLIC, PUBLIC_SHA256, 60.0, args.python)
        print(f"  public run {k + 1}: {describe(run)}", flush=True)
        runs.append(run)
    rows.append(summary_row("public (342 rows)", 48, runs, target=1.0))
    answer = next((r["permutation"] for r in runs if r.get("solved")), None)
    if answer is None:
        print("  no solved public run: remixes skipped")
        return rows
    from solver.puzzle.files import load_puzzle
    from solver.generate.remix import write_remix
    puzzle = load_puzzle(PUBLIC)
    remix_runs = []
    for seed in range(args.seeds):
        folder = out / "remix" / f"public-remix-s{seed}"
        if not (folder / "answer.sha256").exists():
            shutil.rmtree(folder, ignore_errors=True)
            write_remix(puzzle, answer, folder, 10000, seed)
        public = folder.with_name(folder.name + "-public")
        if not public.exists():
            public.mkdir()
            for f in list(folder.glob("piece_*.pth")) + [folder / "historical_data.csv"]:
                os.link(f, public / f.name)
        run = run_solver(public, (folder / "answer.sha256").read_text().strip(), 60.0, args.python)
        print(f"  remix seed {seed}: {describe(run)}", flush=True)
        remix_runs.append(run)
    rows.append(summary_row("public remixed (10,000 new rows)", 48, remix_runs, target=1.0))
    return rows


def solve_seeds(args, cache: Path, kind: str, blocks: int, seeds: int, limit: float, label: str):
    """One solver process per seed of a cached puzzle; (runs, the puzzles' properties)."""
    runs, props = [], []
    for seed in range(seeds):
        puzzle, gen = cached_puzzle(cache, kind, blocks, args.rows, seed)
        props.append(gen)
        run = run_solver(puzzle, gen["answer_sha256"], limit, args.python)
        print(f"  {label} seed {seed}: {describe(run)}", flush=True)
        runs.append(run)
    return runs, props


def kinds_section(args, cache: Path) -> list[dict]:
    rows = []
    for kind in args.kinds:
        blocks, limit, target, what = KINDS[kind]
        limit = QUICK_LIMIT if args.quick else limit
        runs, props = solve_seeds(args, cache, kind, blocks, args.seeds, limit, kind)
        rows.append(summary_row(f"{kind} ({what})", blocks, runs, target, props, limit))
    return rows


def sizes_section(args, cache: Path) -> list[dict]:
    rows = []
    for blocks in args.sizes:
        # a size off the table (the ladder: 48, 96, ...) gets --ladder-limit and no target
        limit, target = SIZES.get(blocks, (args.ladder_limit, None))
        limit = QUICK_LIMIT if args.quick else limit
        kind = args.ladder_kind
        runs, props = solve_seeds(args, cache, kind, blocks, max(1, args.seeds // 2), limit,
                                  f"{kind} N={blocks}")
        rows.append(summary_row(f"{kind} N={blocks}", blocks, runs, target, props, limit))
    return rows


def naive_evals_per_s(puzzle_dir: Path, rows: int = 1000, budget_s: float = 3.0) -> float:
    """The fleet's first workers: every candidate re-runs the whole network in float32
    over 1,000 rows (one BLAS thread). Candidates are random adjacent swaps."""
    from solver.puzzle.files import load_puzzle
    p = load_puzzle(puzzle_dir)
    rng = np.random.default_rng(0)
    x, pred = p.x[:rows], p.pred[:rows].astype(np.float32)
    n = p.n_blocks
    inp, out = rng.permutation(n), rng.permutation(n)
    count, started = 0, time.perf_counter()
    while count < 5 or time.perf_counter() - started < budget_s:
        k = int(rng.integers(0, n - 1))
        i, o = inp.copy(), out.copy()
        i[[k, k + 1]], o[[k, k + 1]] = i[[k + 1, k]], o[[k + 1, k]]
        s = x
        for a, b in zip(i, o):
            s = s + np.maximum(s @ p.inp_w[a].T + p.inp_b[a], 0) @ p.out_w[b].T + p.out_b[b]
        float(np.mean((s @ p.last_w.T + p.last_b - pred) ** 2))
        count += 1
    return count / (time.perf_counter() - started)


def rate_section(args, cache: Path) -> dict:
    """Exact evaluations per second over a 20 s solve that stays unsolved, against the
    naive baseline timed in the same run."""
    puzzle, gen = cached_puzzle(cache, "pairing", 48, args.rows, 0)
    naive = naive_evals_per_s(puzzle)
    run = run_solver(puzzle, gen["answer_sha256"], 20.0, args.python)
    exact = run["evaluations"] / run["search_seconds"]
    ranked = run["ranked"] / run["search_seconds"]
    print(f"  naive 1,000-row full forward: {naive:.1f}/s; solver exact {exact:.0f}/s "
          f"({run['evaluation_rows']}), {exact / naive:.1f}x; ranked {ranked:.0f}/s", flush=True)
    return {"naive_per_s": naive, "exact_per_s": exact, "ratio": exact / naive, "ranked_per_s": ranked,
            "evaluation_rows": run["evaluation_rows"], "run": run}


# ---------------------------------------------------------------- the table

def summary_row(name, blocks, runs, target=None, props=(), limit=None) -> dict:
    solved = [r for r in runs if r.get("solved")]
    fast = [r for r in solved if r.get("stage") == "fast"]
    unsolved = [r["relative_mse"] for r in runs if not r.get("solved") and r.get("relative_mse") is not None]
    walls = [r["wall_seconds"] for r in solved]
    return {
        "name": name, "blocks": blocks, "runs": runs, "target_seconds": target, "limit_seconds": limit,
        "solved": len(solved), "count": len(runs), "fast_path": len(fast),
        "median_wall": statistics.median(walls) if walls else None,
        "max_wall": max(walls) if walls else None,
        "median_cpu": statistics.median(r["cpu_seconds"] for r in solved) if solved else None,
        "median_startup": statistics.median(r["startup_seconds"] for r in runs if "startup_seconds" in r)
        if runs else None,
        "median_unsolved_mse": statistics.median(unsolved) if unsolved else None,
        "pair_accuracy": statistics.mean(g["trace_pair_accuracy"] for g in props) if props else None,
        "norm_spearman": statistics.mean(g["out_norm_depth_spearman"] for g in props) if props else None,
    }


def format_table(rows: list[dict], rate: dict | None) -> str:
    head = (f"{'puzzle':40} {'solved':>7} {'fast':>5} {'med wall':>9} {'max wall':>9} {'med CPU':>8} {'target':>7} "
            f"{'start-up':>8} {'MSE left':>9} {'pairs':>6} {'rho|W|':>7}")
    lines = [head, "-" * len(head)]
    for r in rows:
        def fmt(v, spec):
            return format(v, spec) if v is not None else "-"
        lines.append(
            f"{r['name'][:40]:40} {r['solved']:>3}/{r['count']:<3} {r['fast_path']:>5} "
            f"{fmt(r['median_wall'], '.2f'):>9} {fmt(r['max_wall'], '.2f'):>9} {fmt(r['median_cpu'], '.1f'):>8} {fmt(r['target_seconds'], '.0f'):>7} "
            f"{fmt(r['median_startup'], '.2f'):>8} {fmt(r['median_unsolved_mse'], '.2g'):>9} "
            f"{fmt(r['pair_accuracy'], '.2f'):>6} {fmt(r['norm_spearman'], '+.2f'):>7}")
    lines.append("solved = exact answer with the right hash within the limit; fast = of those, on the fast "
                 "path; walls from process start, CPU = the solver process's CPU seconds (start-up = interpreter + imports); MSE left = median "
                 "relative MSE of unsolved runs; pairs = trace-Hungarian accuracy; rho|W| = Spearman(|W_out|, depth)")
    if rate:
        lines.append(f"evaluation rate: exact {rate['exact_per_s']:.0f}/s on {rate['evaluation_rows']} "
                     f"vs naive {rate['naive_per_s']:.1f}/s (1,000-row full forward, one BLAS thread): "
                     f"{rate['ratio']:.1f}x; ranked estimates {rate['ranked_per_s']:.0f}/s")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help=f"1 seed, {QUICK_LIMIT:.0f} s per solve, N=48 only")
    ap.add_argument("--seeds", type=int, default=5, help="runs / seeds per row (5)")
    ap.add_argument("--sections", default="public,kinds,sizes,rate")
    ap.add_argument("--kinds", default=",".join(KINDS))
    ap.add_argument("--sizes", default=",".join(str(s) for s in SIZES))
    ap.add_argument("--ladder-kind", default="readable", help="kind of the sizes section (time to answer vs N)")
    ap.add_argument("--ladder-limit", type=float, default=300.0, help="seconds per solve at sizes off the table")
    ap.add_argument("--rows", type=int, default=10000)
    ap.add_argument("--out", default=str(ROOT / "bench-out"))
    ap.add_argument("--python", default=sys.executable)
    args = ap.parse_args(argv)
    args.kinds = [k for k in args.kinds.split(",") if k]
    unknown = [k for k in args.kinds if k not in KINDS]
    if unknown:
        print(f"--kinds: unknown {unknown[0]!r} (choose from {', '.join(KINDS)})")
        return 2
    args.sizes = [int(s) for s in args.sizes.split(",") if s]
    if args.quick:
        args.seeds, args.sizes = 1, []
    sections = set(args.sections.split(","))
    out = Path(args.out)
    cache = out / "puzzles"
    cache.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    rows, rate = [], None
    if "public" in sections:
        print("public puzzle", flush=True)
        rows += public_section(args, out)
    if "kinds" in sections:
        print("generated kinds, N=48", flush=True)
        rows += kinds_section(args, cache)
    if "sizes" in sections and args.sizes:
        print("readable, larger N", flush=True)
        rows += sizes_section(args, cache)
    if "rate" in sections:
        print("evaluation rate", flush=True)
        rate = rate_section(args, cache)
    print()
    print(format_table(rows, rate))
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    result = out / f"bench_solve-{stamp}.json"
    for r in rows:
        for run in r["runs"]:
            run.pop("permutation", None)
    result.write_text(json.dumps({"seconds": time.perf_counter() - started, "rows": rows, "rate": rate},
                                 indent=2) + "\n")
    print(f"wrote {result}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
