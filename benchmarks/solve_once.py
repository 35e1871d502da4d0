"""Solve one puzzle in-process and print the result as the last stdout line (JSON).

Stand-in for `python -m solver solve DIR --json ...` while that command is not wired:
    python benchmarks/solve_once.py DIR --expect-sha256 HEX --time-limit S
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("puzzle")
    ap.add_argument("--expect-sha256", default=None)
    ap.add_argument("--time-limit", type=float, default=None)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    from solver.puzzle import load_puzzle
    from solver.search import solve
    puzzle = load_puzzle(args.puzzle, target_sha256=args.expect_sha256)
    r = solve(puzzle, seed=args.seed, time_limit=args.time_limit,
              expect_sha256=args.expect_sha256)
    print(json.dumps({"solved": bool(r.solved), "sha256": r.sha256,
                      "permutation": [int(i) for i in r.permutation], "mse": float(r.mse),
                      "seconds": float(r.seconds), "evaluations": int(r.evaluations)}))
    return 0 if r.solved else 1


if __name__ == "__main__":
    sys.exit(main())
