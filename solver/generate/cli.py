"""python -m solver generate: the command line."""
from __future__ import annotations

import argparse
from pathlib import Path

from solver.generate.job import generate_puzzle
from solver.generate.recipe import KINDS, GenerateError

def register(subparsers) -> None:
    """Add `generate` to python -m solver."""
    p = subparsers.add_parser(
        "generate",
        help="train a synthetic puzzle with a known answer",
        description=(
            "Train a residual network on a synthetic task, cut it into shuffled pieces "
            "and write a puzzle in the public format to OUT, with answer.txt, "
            "answer.sha256 and generate.json (knobs and measured properties). "
            "Deterministic for a given --seed. Presets (--kind): "
            "readable = trace pairing and norm-by-depth both work, briefly trained (easy); "
            "trained = trained six times longer, |W_out| tracks depth about as well as in the "
            "public net (Spearman ~0.99, blocks a few places off); "
            "drift = as trained, but the norm sort misplaces blocks by 10-15 places; "
            "pairing = trace pairing works, block norms unrelated to depth; "
            "weak = trace pairing gets about two thirds of pairs; "
            "hard = trace pairing gets under a third."),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("out", metavar="OUT", help="directory to write the puzzle into")
    p.add_argument("--blocks", type=int, default=48, help="number of residual blocks N")
    p.add_argument("--dim", type=int, default=48, help="residual width d")
    p.add_argument("--hidden", type=int, default=96, help="hidden width h of each block")
    p.add_argument("--out-dim", type=int, default=1, help="outputs o of the last layer")
    p.add_argument("--rows", type=int, default=10000, help="rows of historical_data.csv")
    p.add_argument("--seed", type=int, default=0, help="seed for everything")
    p.add_argument("--kind", choices=sorted(KINDS), default="readable",
                   help="preset for the knobs below that are left unset")
    p.add_argument("--train-steps", type=int, default=None,
                   help="Adam steps (default: by size, 60..400)")
    p.add_argument("--lr", type=float, default=None,
                   help="Adam learning rate (default: the preset's, times 48/N above 48 blocks)")
    p.add_argument("--batch", type=int, default=256, help="rows per training step")
    p.add_argument("--weight-decay", type=float, default=0.0, help="AdamW weight decay")
    p.add_argument("--trace-snr", type=float, default=None,
                   help="damping mixed into each block's init, in spreads of the wrong-pair "
                        "traces (overrides the preset)")
    p.add_argument("--pair-target", type=float, default=None,
                   help="calibrate the damping so trace-Hungarian gets this fraction of "
                        "pairs at init (overrides the preset)")
    p.add_argument("--depth-growth", type=float, default=None,
                   help="out-layer init scale grows by this factor from first to last block")
    p.add_argument("--norm-jitter", type=float, default=None,
                   help="sigma of a random log-normal factor on each block's out scale")
    p.add_argument("--shear", type=float, default=None,
                   help="size of the planted shear chain (0 = none; explosive kinds use 30)")
    p.add_argument("--gain", type=float, default=1.0, help="overall out-layer init scale")
    p.add_argument("--label-noise", type=float, default=0.25,
                   help="noise added to the synthetic labels (true)")
    p.add_argument("--threads", type=int, default=1,
                   help="torch threads (1 keeps files identical across machines)")
    p.set_defaults(func=handler)


def handler(args) -> int:
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        print(f"{out}: exists and is not a directory")
        return 2
    if out.is_dir() and any(out.glob("piece_*.pth")):
        print(f"{out}: already holds a puzzle; choose an empty directory")
        return 2
    if args.pair_target is not None and not 0.0 <= args.pair_target <= 1.0:
        print(f"--pair-target: must be between 0 and 1, got {args.pair_target}")
        return 2
    try:
        summary = generate_puzzle(
            out, blocks=args.blocks, dim=args.dim, hidden=args.hidden, rows=args.rows,
            seed=args.seed, out_dim=args.out_dim, kind=args.kind,
            train_steps=args.train_steps, lr=args.lr, batch=args.batch,
            weight_decay=args.weight_decay, trace_snr=args.trace_snr,
            pair_target=args.pair_target, depth_growth=args.depth_growth,
            norm_jitter=args.norm_jitter, shear=args.shear, gain=args.gain,
            label_noise=args.label_noise, threads=args.threads)
    except GenerateError as exc:
        print(exc)
        return 2
    except ModuleNotFoundError as exc:
        if exc.name != "torch":
            raise
        print("generate needs torch on this machine (pip install 'jstui[torch]')")
        return 1
    except OSError as exc:
        print(f"{exc.filename or out}: cannot write the puzzle ({exc.strerror})")
        return 1
    print(format_summary(out, summary))
    return 0


def format_summary(out: Path, s: dict) -> str:
    prm = s["parameters"]
    return "\n".join([
        f"wrote {out}: N={prm['blocks']} d={prm['dim']} h={prm['hidden']} "
        f"o={prm['out_dim']} rows={prm['rows']} kind={prm['kind']} seed={prm['seed']} "
        f"in {s['seconds']:.1f} s",
        f"  trace-Hungarian pairs right   {s['trace_pair_accuracy']:.3f} "
        f"(at init {s['initial_trace_pair_accuracy']:.3f})",
        f"  spearman |W_out| vs depth     {s['out_norm_depth_spearman']:+.3f} "
        f"(sorting by it: {s['out_norm_sort_inversions']} adjacent swaps from the order, "
        f"max displacement {s['out_norm_sort_max_displacement']})",
        f"  spearman |update| vs depth    {s['update_norm_depth_spearman']:+.3f}",
        f"  MSE pred vs true              {s['mse_pred_true']:.4g}",
        f"  MSE at answer (float64)       {s['mse_answer_float64']:.3g} "
        f"(relative {s['mse_answer_float64_relative']:.3g})",
        f"  answer sha256                 {s['answer_sha256']}",
    ])
