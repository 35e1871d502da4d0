"""Pairing when the trace is weak: how many pairs each signal gets right, and its seconds.

    python benchmarks/bench_pairing.py --quick     # weak seed 0, the fast signals: ~1 min
    python benchmarks/bench_pairing.py             # weak and hard, seeds 0,1,2, every signal
    python benchmarks/bench_pairing.py --kinds hard --seeds 1 --signals trace,prune-grow

Generated 48-block puzzles of the `weak` kind (the trace pairs about 2/3 right, the order
readable from |W_out|) and the `hard` kind (the trace pairs about 1/6, the order not in
the weights). Signals that need an order get the |W_out| order on weak; on hard they get
the TRUE order (an oracle: the hard kind's order is not readable), marked with * in the
table. Signals: see benchmarks/pairing_signals.py; `prune-grow` is the product's
solver.repair.prune_grow. Prune-grow on hard takes several minutes a puzzle (one run was
stopped after 590 s). Results go to bench-out/bench_pairing-STAMP.json.
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

import pairing_signals as ps  # noqa: E402
from bench_solve import cached_puzzle, save_records  # noqa: E402
from solver.puzzle.answer import from_permutation, parse_permutation  # noqa: E402
from solver.search.pairing import structural_pairing  # noqa: E402
from solver.puzzle.files import load_puzzle  # noqa: E402

# name -> signal(puzzle, out order); the order-free ones ignore the order
SIGNALS = {
    "trace": lambda p, order: ps.trace_pairing(p),
    "regression": lambda p, order: ps.regression_pairing(p),
    "placement": lambda p, order: ps.placement_pairing(p, order, ps.trace_pairing(p)),
    "placement-affine": lambda p, order: ps.placement_pairing(p, order, ps.trace_pairing(p), affine=True),
    "greedy": lambda p, order: ps.greedy_pairing(p, order, affine=False),
    "greedy-affine": lambda p, order: ps.greedy_pairing(p, order, affine=True),
    "gradient": lambda p, order: ps.gradient_pairing(p, order, ps.trace_pairing(p)),
    "prune-grow": ps.prune_grow_pairing,
}
ORDER_FREE = {"trace", "regression"}
QUICK = ("trace", "regression", "placement", "placement-affine")


def load(cache: Path, kind: str, seed: int):
    """The puzzle, its true pairing and the out order the order-dependent signals get."""
    public, _ = cached_puzzle(cache, kind, 48, 10000, seed)
    puzzle = load_puzzle(public)
    inp, out = from_permutation(puzzle, parse_permutation((public.parent / "full" / "answer.txt").read_text()))
    truth = ps.pairing_of(inp, out)
    if kind == "hard":
        return puzzle, truth, np.asarray(out), "true"
    return puzzle, truth, ps.out_norm_order(puzzle), "|W_out|"


def trace_margins(puzzle, truth) -> dict:
    trace = structural_pairing(puzzle)
    right = trace.out_of_inp == truth
    return {"margin_median_right": float(np.median(trace.margin[right])) if right.any() else None,
            "margin_median_wrong": float(np.median(trace.margin[~right])) if (~right).any() else None,
            "right_in_top20_margins": int(right[np.argsort(-trace.margin)[:20]].sum())}


def print_table(records):
    columns = sorted({(r["kind"], r["seed"]) for r in records}, key=lambda c: (c[0] != "weak", c))
    by = {(r["signal"], r["kind"], r["seed"]): r for r in records}
    print("\n" + f"{'signal':18}" + "".join(f"{f'{k}-s{s}':>16}" for k, s in columns))
    for name in SIGNALS:
        cells = []
        for k, s in columns:
            r = by.get((name, k, s))
            mark = "*" if r and r["order"] == "true" and name not in ORDER_FREE else " "
            cells.append(f"{r['right']:>3}/{r['n']} {r['seconds']:>6.1f}s{mark}" if r else "-")
        if any(c != "-" for c in cells):
            print(f"{name:18}" + "".join(f"{c:>16}" for c in cells))
    print("* = given the true out order (the hard kind's order is not readable); weak gets the |W_out| order")
    for r in records:
        if r["signal"] == "trace":
            print(f"{r['kind']}-s{r['seed']}: trace margins, median right {r['margin_median_right']:.2f}, "
                  f"wrong {r['margin_median_wrong']:.2f}; right among the top-20 margins {r['right_in_top20_margins']}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help=f"weak seed 0, {', '.join(QUICK)}")
    ap.add_argument("--kinds", default="weak,hard")
    ap.add_argument("--seeds", default="0,1,2", help="generator seeds")
    ap.add_argument("--signals", default=",".join(SIGNALS))
    ap.add_argument("--cache", default=str(ROOT / "bench-out" / "puzzles"), help="generated puzzles")
    ap.add_argument("--out", default=str(ROOT / "bench-out"))
    args = ap.parse_args(argv)
    if args.quick:
        args.kinds, args.seeds, args.signals = "weak", "0", ",".join(QUICK)
    signals = args.signals.split(",")
    unknown = set(signals) - set(SIGNALS)
    if unknown:
        ap.error(f"unknown signals {sorted(unknown)}; known: {','.join(SIGNALS)}")
    records = []
    for kind in args.kinds.split(","):
        for seed in [int(v) for v in args.seeds.split(",")]:
            puzzle, truth, order, order_name = load(Path(args.cache), kind, seed)
            for name in signals:
                started = time.perf_counter()
                pairing = SIGNALS[name](puzzle, order)
                record = {"signal": name, "kind": kind, "seed": seed, "right": int(np.sum(pairing == truth)),
                          "n": puzzle.n_blocks, "seconds": round(time.perf_counter() - started, 1),
                          "order": order_name}
                if name == "trace":
                    record.update(trace_margins(puzzle, truth))
                records.append(record)
                print(json.dumps(record), flush=True)
    print_table(records)
    print(f"\nwritten to {save_records(Path(args.out), 'bench_pairing', records)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
