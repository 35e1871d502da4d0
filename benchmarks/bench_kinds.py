"""How hard is each generator kind next to the public puzzle? The statistics a solver can
lean on, measured the same way on both, and how far the fast path gets.

    python benchmarks/bench_kinds.py [--kinds readable,trained,drift,pairing,weak,hard] [--seeds 2]
        [--public] [--no-fast-path]

Per puzzle (with its known answer; the public one's is found by solving it first):
pairs right by trace, the trace margins of the right pairs, Spearman of |W_out| (and its
L1 norm, and the update size) against depth, how far the |W_out| sort is from the order
(inversions, largest displacement), the landscape around the answer (relative MSE of a
random order, one adjacent swap, one block moved 5: solver.generate.landscape, on 2000
rows) with its regime, and the fast path alone on 342 rows: solved or the relative MSE
where it stopped, and its seconds (--no-fast-path leaves it out). The public puzzle's
row comes first with --public.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import solver  # noqa: E402,F401  (one BLAS thread, before numpy)
import numpy as np  # noqa: E402

from bench_solve import PUBLIC, PUBLIC_SHA256, cached_puzzle  # noqa: E402


def spearman(values, depth) -> float:
    a = np.argsort(np.argsort(values)).astype(float)
    b = np.argsort(np.argsort(depth)).astype(float)
    return float(np.corrcoef(a, b)[0, 1])


def statistics_of(puzzle, answer) -> dict:
    from solver.puzzle.answer import from_permutation
    from solver.search.pairing import structural_pairing
    from solver.search.seeds import update_sizes
    from solver.search import engine
    inp, out = from_permutation(puzzle, answer)
    n = puzzle.n_blocks
    depth = np.empty(n)
    depth[inp] = np.arange(n)  # depth of each inp piece
    true_out = np.empty(n, dtype=int)
    true_out[inp] = out
    pairing = structural_pairing(puzzle)
    right = pairing.out_of_inp == true_out
    flat = puzzle.out_w.reshape(n, -1)[true_out]
    norms = np.linalg.norm(flat, axis=1)
    order = np.argsort(norms)
    true_pos = depth[order]
    m = engine.prepare(puzzle, rows=256, dtype=np.float32)
    return {
        "pairs right": f"{right.sum()}/{n}",
        "median margin": float(np.median(pairing.margin[right])) if right.any() else float("nan"),
        "rho |W_out|": spearman(norms, depth),
        "rho L1": spearman(np.abs(flat).sum(axis=1), depth),
        "rho update": spearman(update_sizes(m, true_out), depth),
        "inversions": int(sum((true_pos[i] > true_pos[i + 1:]).sum() for i in range(n))),
        "max displacement": int(np.abs(true_pos - np.arange(n)).max()),
    }


def landscape_of(puzzle, answer) -> dict:
    from solver.generate.landscape import measure_puzzle
    stats = measure_puzzle(puzzle, answer)
    return {"random order": f"{stats.random_order:.2g}", "adj swap": f"{stats.adjacent_swap:.2g}",
            "moved 5": f"{stats.moved_5:.2g}", "regime": stats.regime()}


def fast_path(puzzle, target) -> dict:
    from solver.search.search import Search
    result = Search(puzzle, expect_sha256=target, time_limit=120).run(full=False)
    outcome = "solved" if result.solved else f"stops at {result.relative_mse:.2g}"
    return {"fast path": outcome, "fast s": result.seconds}


def rows_for(name, puzzle, answer, target, full=None, run_fast=True) -> dict:
    row = {"puzzle": name, **statistics_of(puzzle, answer),
           **landscape_of(full if full is not None else puzzle, answer)}
    return {**row, **(fast_path(puzzle, target) if run_fast else {})}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kinds", default="readable,trained,drift,pairing,weak,hard,"
                    "rugged,rugged-weak,explosive,explosive-weak")
    ap.add_argument("--public", action="store_true", help="the public puzzle's row first")
    ap.add_argument("--no-fast-path", dest="fast", action="store_false",
                    help="statistics only, no search")
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--sizes", default="48", help="block counts, comma-separated (e.g. 48,96,128,192)")
    ap.add_argument("--out", default=str(ROOT / "bench-out"))
    args = ap.parse_args(argv)
    from solver.puzzle.files import load_puzzle
    from solver.search.search import solve
    table = []
    if args.public and PUBLIC.is_dir():
        public = load_puzzle(PUBLIC, target_sha256=PUBLIC_SHA256)
        answer = solve(public, time_limit=120).permutation
        table.append(rows_for("public", public, answer, PUBLIC_SHA256, run_fast=args.fast))
    sizes = [int(v) for v in args.sizes.split(",") if v]
    for kind, blocks in ((k, n) for k in args.kinds.split(",") if k for n in sizes):
        for seed in range(args.seeds):
            folder, gen = cached_puzzle(Path(args.out) / "puzzles", kind, blocks, 10000, seed)
            puzzle = load_puzzle(folder)
            answer = [int(v) for v in (folder.parent / "full" / "answer.txt").read_text().split(",")]
            small = load_puzzle(folder)  # the fast path as on the public puzzle: 342 rows
            small = type(small)(**{**{k: getattr(small, k) for k in small.__dataclass_fields__},
                                   "x": small.x[:342], "pred": small.pred[:342], "true": small.true[:342]})
            name = f"{kind} s{seed}" if blocks == 48 else f"{kind} N={blocks} s{seed}"
            table.append(rows_for(name, small, answer, gen["answer_sha256"],
                                  full=puzzle, run_fast=args.fast))
            del puzzle
            print(f"  {name} done", flush=True)
    keys = list(table[0])
    widths = {k: max(len(k), *(len(fmt(r[k])) for r in table)) for k in keys}
    print("  ".join(k.ljust(widths[k]) for k in keys))
    for r in table:
        print("  ".join(fmt(r[k]).ljust(widths[k]) for k in keys))
    return 0


def fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:+.3f}" if abs(value) <= 1 else f"{value:.2f}"
    return str(value)


if __name__ == "__main__":
    sys.exit(main())
