"""Order from the data: order methods compared on generated `pairing`-kind puzzles.

    python benchmarks/bench_order.py --quick     # puzzle seed 0, 20 s budget, every method: ~2 min
    python benchmarks/bench_order.py             # puzzles 0,1,2 x budgets 30,60,120 s
    python benchmarks/bench_order.py --methods rpa,esa --puzzles 0,1 --budgets 60 --seeds 0,1

On the `pairing` kind the trace pairs right but the order is not in the weights. Every
method gets the trace pairing, the same 512 search rows (drawn, seeded, from rows
0..8975) and the same budget; the orders it reports are judged on held-out rows
8976..9999, which no method sees. Anytime methods (rpa, cem, ils) run once for the
largest budget and are read at each budget (the best they had by then); the others
(esa, gs) plan their schedule on the budget and run once per budget.

Methods: rpa (the product: solver.reorder.Reorder on a solver.evaluator.Evaluator), esa
(exact simulated annealing), cem (cross-entropy method), gs (Gumbel-Sinkhorn, torch on
CPU), ils (iterated local search); see benchmarks/order_methods.py. Per method and
budget: held-out relative MSE, exact (held-out relative MSE under 1e-9) and the time to
exact, Spearman and Kendall of the block positions against the truth. Results go to
bench-out/bench_order-STAMP.json.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import solver  # noqa: E402,F401  (one BLAS thread, before numpy)
import numpy as np  # noqa: E402
from scipy.stats import kendalltau, spearmanr  # noqa: E402

import order_methods as om  # noqa: E402
from bench_solve import cached_puzzle, save_records  # noqa: E402
from solver import engine  # noqa: E402
from solver.puzzle.answer import from_permutation, parse_permutation  # noqa: E402
from solver.search.evaluator import Evaluator  # noqa: E402
from solver.search.pairing import structural_pairing  # noqa: E402
from solver.puzzle.files import load_puzzle  # noqa: E402
from solver.search.reorder import Reorder  # noqa: E402

SEARCH_FROM, SEARCH_ROWS = 8976, 512  # search rows drawn from 0..8975
HELD = np.arange(8976, 10000)


class OutOfTime(Exception):
    pass


def reorder(m, pairing, limit, rng, on_best):
    """The product's relinearised precedence annealing from a random order."""
    clock = om.Clock(limit)
    ev = Evaluator(m)
    start = rng.permutation(m.n_blocks)
    ev.set(start, pairing[start])
    on_best(ev.inp)

    def tick():
        if clock.over():
            raise OutOfTime

    search = Reorder(ev, rng, tick=tick, on_better=lambda ev: on_best(ev.inp))
    try:
        search.run(floor=om.EXACT * m.pred_var)
    except OutOfTime:
        pass


METHODS = {  # name -> (runner, anytime)
    "rpa": (reorder, True),
    "esa": (om.exact_annealing, False),
    "cem": (om.cross_entropy, True),
    "gs": (om.gumbel_sinkhorn, False),
    "ils": (om.iterated_local_search, True),
}


def load(cache: Path, seed: int):
    """The puzzle, its true order (inp class by position) and the trace pairing."""
    public, _ = cached_puzzle(cache, "pairing", 48, 10000, seed)
    puzzle = load_puzzle(public)
    truth, _ = from_permutation(puzzle, parse_permutation((public.parent / "full" / "answer.txt").read_text()))
    return puzzle, np.asarray(truth), structural_pairing(puzzle).out_of_inp


def rank_agreement(order, truth) -> dict:
    pos, true_pos = np.argsort(order), np.argsort(truth)  # position of each block
    return {"in_place": int(np.sum(np.asarray(order) == truth)),
            "spearman": float(spearmanr(pos, true_pos)[0]), "kendall": float(kendalltau(pos, true_pos)[0])}


def run_method(puzzle, truth, pairing, name, budgets, seed) -> list[dict]:
    """One method on one puzzle: a record per budget."""
    runner, anytime = METHODS[name]
    rows = np.sort(np.random.default_rng(seed).choice(SEARCH_FROM, SEARCH_ROWS, replace=False))
    m = engine.prepare(puzzle, rows=rows, dtype=np.float32)
    held = engine.prepare(puzzle, rows=HELD)
    held_loss = lambda order: om.order_loss(held, pairing, order)  # noqa: E731
    records = []
    for limit in ([max(budgets)] if anytime else budgets):
        seen = []  # (seconds, order) of each improvement
        t0 = time.perf_counter()
        runner(m, pairing, limit, np.random.default_rng(seed * 1000 + int(limit)),
               lambda order: seen.append((time.perf_counter() - t0, np.array(order))))
        for budget in (budgets if anytime else [limit]):
            records.append(read_at(seen, budget, held_loss, truth, name, seed))
    return records


def read_at(seen, budget, held_loss, truth, name, seed) -> dict:
    """The method's best by ``budget`` seconds, judged on the held-out rows."""
    by_then = [(t, order) for t, order in seen if t <= budget + 0.5] or seen[:1]
    t_last, order = by_then[-1]
    loss = held_loss(order)
    t_exact = None
    if loss < om.EXACT:  # the first improvement that was already the answer
        t_exact = next(t for t, o in by_then if held_loss(o) < om.EXACT)
    return {"method": name, "budget": budget, "seed": seed, "held_rel_mse": loss,
            "exact": loss < om.EXACT, "t_exact": t_exact, **rank_agreement(order, truth)}


def print_table(records):
    print(f"\n{'method':6} {'budget':>6} {'puzzle':>6} {'seed':>4} {'held relMSE':>11} {'exact':>5} "
          f"{'t_exact':>7} {'in place':>8} {'spearman':>8} {'kendall':>7}")
    for r in sorted(records, key=lambda r: (r["method"], r["budget"], r["puzzle"], r["seed"])):
        t = f"{r['t_exact']:.0f}s" if r["t_exact"] is not None else "-"
        print(f"{r['method']:6} {r['budget']:>6} {r['puzzle']:>6} {r['seed']:>4} {r['held_rel_mse']:>11.3e} "
              f"{'yes' if r['exact'] else 'no':>5} {t:>7} {r['in_place']:>8} {r['spearman']:>8.3f} {r['kendall']:>7.3f}")
    print("\nsummary: median held relMSE, exact runs, median seconds to exact, mean Spearman / Kendall")
    for name, budget in sorted({(r["method"], r["budget"]) for r in records}):
        sel = [r for r in records if r["method"] == name and r["budget"] == budget]
        times = [r["t_exact"] for r in sel if r["exact"]]
        t = f"{statistics.median(times):.0f} s" if times else "-"
        print(f"{name:6} {budget:>4} s  median {statistics.median(r['held_rel_mse'] for r in sel):.3e}  "
              f"exact {len(times)}/{len(sel)} ({t})  spearman {statistics.mean(r['spearman'] for r in sel):.3f}  "
              f"kendall {statistics.mean(r['kendall'] for r in sel):.3f}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="puzzle seed 0, one 20 s budget, every method")
    ap.add_argument("--puzzles", default="0,1,2", help="generator seeds of the pairing-kind puzzles")
    ap.add_argument("--budgets", default="30,60,120", help="seconds per run")
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--seeds", default="0", help="search seeds (rows and randomness)")
    ap.add_argument("--cache", default=str(ROOT / "bench-out" / "puzzles"), help="generated puzzles")
    ap.add_argument("--out", default=str(ROOT / "bench-out"))
    args = ap.parse_args(argv)
    if args.quick:
        args.puzzles, args.budgets = "0", "20"
    ints = lambda text: [int(v) for v in text.split(",")]  # noqa: E731
    budgets, methods = ints(args.budgets), args.methods.split(",")
    unknown = set(methods) - set(METHODS)
    if unknown:
        ap.error(f"unknown methods {sorted(unknown)}; known: {','.join(METHODS)}")
    records = []
    for p in ints(args.puzzles):
        puzzle, truth, pairing = load(Path(args.cache), p)
        print(f"puzzle pairing-s{p}", flush=True)
        for name in methods:
            for seed in ints(args.seeds):
                for r in run_method(puzzle, truth, pairing, name, budgets, seed):
                    records.append({**r, "puzzle": p})
                    print(json.dumps(records[-1]), flush=True)
    print_table(records)
    print(f"\nwritten to {save_records(Path(args.out), 'bench_order', records)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
