"""Step cost against N: one exact evaluation from a cached prefix, a batch of candidates
sharing prefixes, one ranked estimate, and one precedence step (model, anneal, exact
confirm; windowed above 64 blocks), with today's full forward pass as the baseline,
timed in the same run.

    python benchmarks/bench_size.py [--sizes 48,96,128,192] [--rows 512] [--repeat 3]

Puzzles are generated once (kind trained, seed 1) and cached under bench-out/; costs do
not depend on what the weights learned, only on N and the rows. Prints a table and
writes bench-out/bench_size-STAMP.json.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import solver  # noqa: E402,F401  (one BLAS thread, before numpy)
import numpy as np  # noqa: E402

from solver.search import engine, estimates, moves as mv  # noqa: E402
from solver.search.evaluator import Evaluator  # noqa: E402
from solver.search.reorder import Reorder, ReorderPlan  # noqa: E402


def puzzle_at(n: int):
    from solver.generate import generate_puzzle
    from solver.puzzle.files import load_puzzle
    home = ROOT / "bench-out" / f"trained-{n}-s1"
    if not (home / "generate.json").exists():
        generate_puzzle(home, blocks=n, dim=48, hidden=96, rows=10000, seed=1, kind="trained")
    return load_puzzle(home)


def timed(fn, repeat: int) -> float:
    fn()
    started = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - started) / repeat


def costs(puzzle, rows: int, repeat: int) -> dict:
    n = puzzle.n_blocks
    m = engine.prepare(puzzle, rows=rows, dtype=np.float32)
    ev = Evaluator(m)
    rng = np.random.default_rng(0)
    ev.set(rng.permutation(n), rng.permutation(n))
    full = timed(lambda: engine.loss(m, engine.run_blocks(m, ev.inp, ev.out, m.x)), repeat)
    # one exact step: a move at a random place, run from its cached prefix
    spots = rng.integers(0, n - 2, 16)
    one = [mv.apply(("swap", int(a), int(a) + 1), ev.inp, ev.out) for a in spots]
    exact = timed(lambda: [ev.candidates([c]) for c in one], repeat) / len(one)
    batch = [mv.apply(m_, ev.inp, ev.out) for m_ in mv.neighbourhood(("swap", "insert"), n, 4)[:: max(1, n // 24)]]
    batched = timed(lambda: ev.candidates(batch), repeat) / len(batch)
    head = engine.head(m, 256)
    S = ev.S[:, :256]
    V = engine.output_sensitivity(head, ev.inp, ev.out, S)
    moves = mv.neighbourhood(("swap", "insert"), n, 4)
    ranked = timed(lambda: estimates.change_vectors(head, ev.inp, ev.out, S, V, moves), 1) / len(moves)
    reorder = Reorder(ev, np.random.default_rng(1), ReorderPlan())
    step = timed(reorder.step, repeat)
    return {"blocks": n, "rows": m.n_rows, "full_forward_s": full, "exact_step_s": exact,
            "exact_in_batch_s": batched, "batch_size": len(batch), "ranked_estimate_s": ranked,
            "precedence_step_s": step, "windowed": n > reorder.plan.window_above,
            "exact_vs_full": exact / full, "exact_steps_per_s": 1 / exact,
            "precedence_steps_per_s": 1 / step}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="48,96,128,192")
    ap.add_argument("--rows", type=int, default=512)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    records = []
    print(f"{'N':>4} {'full fwd':>9} {'exact':>9} {'x full':>7} {'in batch':>9} {'ranked':>9} {'prec step':>10} {'exact/s':>8} {'prec/s':>7}")
    for n in (int(s) for s in args.sizes.split(",")):
        r = costs(puzzle_at(n), args.rows, args.repeat)
        records.append(r)
        print(f"{n:>4} {r['full_forward_s'] * 1e3:>7.1f}ms {r['exact_step_s'] * 1e3:>7.2f}ms {r['exact_vs_full']:>7.2f}"
              f" {r['exact_in_batch_s'] * 1e3:>7.2f}ms {r['ranked_estimate_s'] * 1e3:>7.3f}ms"
              f" {r['precedence_step_s'] * 1e3:>8.0f}ms {r['exact_steps_per_s']:>8.0f} {r['precedence_steps_per_s']:>7.1f}", flush=True)
    out = ROOT / "bench-out" / f"bench_size-{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(records, indent=1) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
