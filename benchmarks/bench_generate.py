"""Generator benchmark: build each kind at each size (cached like bench_solve) and print
the measured properties and generation seconds.

    python benchmarks/bench_generate.py [--sizes 48,128,192] [--seeds 1]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_solve import FULL_SIZES, KINDS, cached_puzzle  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default=",".join(map(str, FULL_SIZES)))
    ap.add_argument("--kinds", default=",".join(KINDS))
    ap.add_argument("--seeds", type=int, default=1)
    ap.add_argument("--dim", type=int, default=48)
    ap.add_argument("--hidden", type=int, default=96)
    ap.add_argument("--rows", type=int, default=10000)
    ap.add_argument("--out", default=str(ROOT / "bench-out"))
    args = ap.parse_args(argv)
    cache = Path(args.out) / "puzzles"
    cache.mkdir(parents=True, exist_ok=True)
    head = (f"{'kind':9} {'N':>4} {'seed':>4} {'pairs':>6} {'init':>6} {'rho|W|':>7} "
            f"{'inv':>5} {'rho|upd|':>8} {'mse p/t':>8} {'rel f64':>8} {'gen s':>6}")
    print(head)
    print("-" * len(head))
    rows = []
    for blocks in [int(s) for s in args.sizes.split(",")]:
        for kind in args.kinds.split(","):
            for seed in range(args.seeds):
                _, g = cached_puzzle(cache, kind, blocks, args.dim, args.hidden,
                                     args.rows, seed)
                rows.append(g)
                print(f"{kind:9} {blocks:>4} {seed:>4} {g['trace_pair_accuracy']:>6.2f} "
                      f"{g['initial_trace_pair_accuracy']:>6.2f} "
                      f"{g['out_norm_depth_spearman']:>+7.3f} "
                      f"{g.get('out_norm_sort_inversions', '-'):>5} "
                      f"{g['update_norm_depth_spearman']:>+8.3f} "
                      f"{g['mse_pred_true']:>8.3f} {g['mse_answer_float64_relative']:>8.1e} "
                      f"{g['seconds']:>6.1f}", flush=True)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    out_file = Path(args.out) / f"bench_generate-{stamp}.json"
    out_file.write_text(json.dumps(rows, indent=2) + "\n")
    print(f"pairs/init = trace-Hungarian pair accuracy after/before training; rho = "
          f"Spearman with depth; inv = adjacent swaps from the |W_out| sort "
          f"to the true order; rel f64 = MSE(float64 answer, pred)/mean(pred^2)\n"
          f"wrote {out_file}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
