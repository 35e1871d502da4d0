"""Training synthetic dropped-network puzzles with known answers (python -m solver generate).

Writes the public format (shuffled piece_*.pth, historical_data.csv) plus answer.txt,
answer.sha256 and generate.json with the knobs used and the properties measured.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import time
from pathlib import Path

import numpy as np

# Each preset fixes the knobs that shape how readable the finished network is.
#   trace_snr     damping mixed into each block's init, in units of the spread of the
#                 wrong-pair traces: large -> trace-Hungarian pairs everything.
#   pair_target   instead of trace_snr: calibrate the damping so that trace-Hungarian
#                 gets this fraction of pairs on the initial weights.
#   depth_growth  the out-layer init scale grows linearly by this factor over depth.
KINDS: dict[str, dict] = {
    "readable": {"trace_snr": 12.0, "pair_target": None, "depth_growth": 2.0},
    "pairing": {"trace_snr": 12.0, "pair_target": None, "depth_growth": 0.0},
    "weak": {"trace_snr": None, "pair_target": 0.67, "depth_growth": 2.0},
    "hard": {"trace_snr": 0.0, "pair_target": None, "depth_growth": 0.0},
}

PAIR_BANDS = {  # what each kind promises for the trace-Hungarian pair accuracy
    "readable": (0.95, 1.0),
    "pairing": (0.95, 1.0),
    "weak": (0.5, 0.85),
    "hard": (0.0, 0.33),
}


class GenerateError(ValueError):
    """A generation request that cannot be honoured (bad size or knob)."""


def default_train_steps(blocks: int, rows: int) -> int:
    # Mini-batch steps cost ~blocks; keep big puzzles to tens of seconds on 2 cores.
    return int(max(60, min(400, 12000 // max(blocks, 1))))


# ---------------------------------------------------------------- data and labels

def make_measurements(rng: np.random.Generator, rows: int, dim: int) -> np.ndarray:
    """Near-binary inputs like the public file: mostly about -0.8, some about +0.8."""
    p_on = rng.uniform(0.2, 0.55, size=dim)
    on = rng.random((rows, dim)) < p_on
    x = np.where(on, 0.8 + 0.3 * rng.standard_normal((rows, dim)),
                 -0.8 + 0.1 * rng.standard_normal((rows, dim)))
    return x.astype(np.float32)


def make_labels(rng: np.random.Generator, x: np.ndarray, out_dim: int,
                label_noise: float) -> np.ndarray:
    """A smooth random teacher plus noise: the network fits it, but not exactly."""
    d = x.shape[1]
    units = 16
    u = rng.standard_normal((d, units)) / np.sqrt(d) * 1.5
    c = rng.standard_normal(units) * 0.5
    a = rng.standard_normal((units, out_dim))
    y = np.tanh(x.astype(np.float64) @ u + c) @ a
    y = (y - y.mean(0)) / (y.std(0) + 1e-12) * 0.9 - 0.1
    return y + label_noise * rng.standard_normal(y.shape)


# ---------------------------------------------------------------- initial weights

def pair_traces(inp_w: np.ndarray, out_w: np.ndarray) -> np.ndarray:
    """T[i, j] = trace(W_out_j @ W_inp_i) for every inp i and out j (float64)."""
    return np.einsum("ihd,jdh->ij", inp_w.astype(np.float64), out_w.astype(np.float64))


def trace_pair_accuracy(inp_w: np.ndarray, out_w: np.ndarray) -> float:
    """Fraction of blocks whose out trace-Hungarian pairs with the true inp (same index)."""
    from scipy.optimize import linear_sum_assignment
    rows, cols = linear_sum_assignment(pair_traces(inp_w, out_w))
    return float(np.mean(cols[np.argsort(rows)] == np.arange(len(rows))))


def damped_out(inp_w: np.ndarray, noise_w: np.ndarray, snr: float) -> np.ndarray:
    """Random out weights plus -damp * inp^T, damp chosen so the true-pair trace sits
    `snr` spreads of the wrong-pair traces below zero."""
    n, h, d = inp_w.shape
    # trace(-damp*s*inp^T inp) = -damp*s*|inp|^2 with s = |noise|/|inp| per entry;
    # wrong pairs spread ~ |noise||inp|/sqrt(dh) * sqrt(dh): ratio = damp*sqrt(dh).
    damp = snr / np.sqrt(d * h)
    scale = np.sqrt((noise_w ** 2).mean(axis=(1, 2)) / (inp_w ** 2).mean(axis=(1, 2)))
    return noise_w - damp * scale[:, None, None] * inp_w.transpose(0, 2, 1)


def calibrate_snr(inp_w: np.ndarray, noise_w: np.ndarray, target: float) -> float:
    """The damping (as snr) whose initial trace-Hungarian accuracy is closest to target."""
    lo, hi = 0.0, 12.0
    best = (2.0, 0.0)
    for _ in range(18):
        mid = (lo + hi) / 2
        acc = trace_pair_accuracy(inp_w, damped_out(inp_w, noise_w, mid))
        if abs(acc - target) < best[0]:
            best = (abs(acc - target), mid)
        if acc < target:
            lo = mid
        else:
            hi = mid
    return best[1]


def initial_weights(rng: np.random.Generator, blocks: int, dim: int, hidden: int,
                    out_dim: int, trace_snr: float | None, pair_target: float | None,
                    depth_growth: float, gain: float) -> tuple[dict, float]:
    """Float32 initial parameters (numpy) and the trace snr actually used."""
    n, d, h = blocks, dim, hidden
    inp_w = rng.standard_normal((n, h, d)) / np.sqrt(d)
    inp_b = rng.uniform(-0.5, 0.5, (n, h)) / np.sqrt(d)
    noise = rng.standard_normal((n, d, h)) / np.sqrt(h)
    if pair_target is not None:
        snr = calibrate_snr(inp_w, noise, pair_target)
    else:
        snr = float(trace_snr or 0.0)
    out_w = damped_out(inp_w, noise, snr)
    # Residual updates must not blow up over depth: shrink with sqrt(N); grow with depth
    # when asked (trained nets show update sizes growing toward the output).
    depth = np.linspace(0.0, 1.0, n) if n > 1 else np.zeros(1)
    scale = gain / np.sqrt(n) * (1.0 + depth_growth * depth)
    out_w = out_w * scale[:, None, None]
    out_b = rng.uniform(-0.1, 0.1, (n, d)) * scale[:, None]
    last_w = rng.uniform(-1, 1, (out_dim, d)) / np.sqrt(d)
    last_b = np.zeros(out_dim)
    params = {"inp_w": inp_w, "inp_b": inp_b, "out_w": out_w, "out_b": out_b,
              "last_w": last_w, "last_b": last_b}
    return {k: v.astype(np.float32) for k, v in params.items()}, snr


# ---------------------------------------------------------------- training (torch)

def network_forward_torch(params: dict, x):
    """The assembled network in float32 torch, layer by layer as nn.Linear would."""
    import torch.nn.functional as F
    for k in range(params["inp_w"].shape[0]):
        hid = F.relu(F.linear(x, params["inp_w"][k], params["inp_b"][k]))
        x = x + F.linear(hid, params["out_w"][k], params["out_b"][k])
    return F.linear(x, params["last_w"], params["last_b"])


def train(params: dict, x: np.ndarray, y: np.ndarray, *, steps: int, lr: float,
          batch: int, weight_decay: float, seed: int, threads: int) -> dict:
    """Adam on mini-batches in float32; returns the trained parameters as torch tensors."""
    import torch
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    tp = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    xt = torch.from_numpy(x)
    yt = torch.from_numpy(y.astype(np.float32))
    opt = torch.optim.AdamW(list(tp.values()), lr=lr, weight_decay=weight_decay)
    gen = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        idx = torch.randint(0, xt.shape[0], (min(batch, xt.shape[0]),), generator=gen)
        loss = torch.mean((network_forward_torch(tp, xt[idx]) - yt[idx]) ** 2)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return {k: v.detach() for k, v in tp.items()}


# ---------------------------------------------------------------- measurements (numpy)

def forward_float64(p: dict, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Output and per-block update norms (mean over rows) in float64 at the true order."""
    s = x.astype(np.float64)
    update_norms = np.empty(p["inp_w"].shape[0])
    for k in range(p["inp_w"].shape[0]):
        hid = np.maximum(s @ p["inp_w"][k].T.astype(np.float64) + p["inp_b"][k], 0.0)
        upd = hid @ p["out_w"][k].T.astype(np.float64) + p["out_b"][k]
        update_norms[k] = np.sqrt((upd ** 2).sum(1)).mean()
        s = s + upd
    out = s @ p["last_w"].T.astype(np.float64) + p["last_b"].astype(np.float64)
    return out, update_norms


def spearman(values: np.ndarray) -> float:
    """Rank correlation of values with their position (depth)."""
    if len(values) < 2:
        return 1.0
    from scipy.stats import spearmanr
    return float(spearmanr(values, np.arange(len(values))).statistic)


def measure(p: dict, x: np.ndarray, pred: np.ndarray, true: np.ndarray) -> dict:
    out64, update_norms = forward_float64(p, x)
    err64 = float(np.mean((out64 - pred) ** 2))
    return {
        "trace_pair_accuracy": trace_pair_accuracy(p["inp_w"], p["out_w"]),
        "out_norm_depth_spearman": spearman(np.linalg.norm(p["out_w"], axis=(1, 2))),
        "update_norm_depth_spearman": spearman(update_norms),
        "mse_pred_true": float(np.mean((pred - true) ** 2)),
        "mse_answer_float64": err64,
        "mse_answer_float64_relative": err64 / max(float(np.mean(pred ** 2)), 1e-300),
    }


# ---------------------------------------------------------------- writing the files

def answer_string(perm: list[int]) -> str:
    return ",".join(str(int(i)) for i in perm)


def write_csv(path: Path, x: np.ndarray, pred: np.ndarray, true: np.ndarray) -> None:
    """Measurements and pred as shortest float32 reprs, true as float64 reprs."""
    d, o = x.shape[1], pred.shape[1]
    if o == 1:
        tail = ["pred", "true"]
    else:
        tail = [f"pred_{i}" for i in range(o)] + [f"true_{i}" for i in range(o)]
    header = [f"measurement_{i}" for i in range(d)] + tail
    left = np.concatenate([x, pred.astype(np.float32)], axis=1).astype(str)
    right = [[repr(float(v)) for v in row] for row in true]
    with open(path, "w", newline="") as f:
        f.write(",".join(header) + "\n")
        f.writelines(",".join(a) + "," + ",".join(b) + "\n" for a, b in zip(left, right))


def write_pieces(out_dir: Path, params: dict, rng: np.random.Generator) -> list[int]:
    """Save shuffled pieces; return the answer permutation (piece id per position)."""
    import torch
    n = params["inp_w"].shape[0]
    ids = rng.permutation(2 * n + 1)
    layers = []
    for k in range(n):
        layers.append((params["inp_w"][k], params["inp_b"][k]))
        layers.append((params["out_w"][k], params["out_b"][k]))
    layers.append((params["last_w"], params["last_b"]))
    for pos, (w, b) in enumerate(layers):
        state = {"weight": w.clone().contiguous(), "bias": b.clone().contiguous()}
        torch.save(state, out_dir / f"piece_{int(ids[pos])}.pth")
    return [int(i) for i in ids]


# ---------------------------------------------------------------- the whole job

def generate_puzzle(out_dir, *, blocks: int, dim: int, hidden: int, rows: int, seed: int,
                    out_dim: int = 1, kind: str = "readable", train_steps: int | None = None,
                    lr: float = 1e-3, batch: int = 256, weight_decay: float = 0.0,
                    trace_snr: float | None = None, pair_target: float | None = None,
                    depth_growth: float | None = None, gain: float = 1.0,
                    label_noise: float = 0.25, threads: int = 1) -> dict:
    """Train a network, write the puzzle to out_dir, return the summary (generate.json)."""
    import torch
    if kind not in KINDS:
        raise GenerateError(f"--kind: unknown preset {kind!r} (choose from {', '.join(KINDS)})")
    for name, value in (("blocks", blocks), ("dim", dim), ("hidden", hidden),
                        ("rows", rows), ("out_dim", out_dim)):
        if value < 1:
            raise GenerateError(f"--{name.replace('_', '-')}: must be at least 1, got {value}")
    preset = KINDS[kind]
    if trace_snr is None and pair_target is None:
        trace_snr, pair_target = preset["trace_snr"], preset["pair_target"]
    if depth_growth is None:
        depth_growth = preset["depth_growth"]
    if train_steps is None:
        train_steps = default_train_steps(blocks, rows)
    started = time.perf_counter()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)

    rng = np.random.default_rng(seed)
    x = make_measurements(rng, rows, dim)
    true = make_labels(rng, x, out_dim, label_noise)
    init, snr_used = initial_weights(rng, blocks, dim, hidden, out_dim, trace_snr,
                                     pair_target, depth_growth, gain)
    init_accuracy = trace_pair_accuracy(init["inp_w"], init["out_w"])
    trained = train(init, x, true, steps=train_steps, lr=lr, batch=batch,
                    weight_decay=weight_decay, seed=seed, threads=threads)
    with torch.no_grad():
        pred = network_forward_torch(trained, torch.from_numpy(x)).numpy()
    trained_np = {k: v.numpy() for k, v in trained.items()}

    perm = write_pieces(out_dir, trained, rng)
    write_csv(out_dir / "historical_data.csv", x, pred, true)
    answer = answer_string(perm)
    (out_dir / "answer.txt").write_text(answer + "\n")
    answer_hash = hashlib.sha256(answer.encode()).hexdigest()
    (out_dir / "answer.sha256").write_text(answer_hash + "\n")

    summary = {
        "parameters": {
            "blocks": blocks, "dim": dim, "hidden": hidden, "out_dim": out_dim,
            "rows": rows, "seed": seed, "kind": kind, "train_steps": train_steps,
            "lr": lr, "batch": batch, "weight_decay": weight_decay,
            "trace_snr": trace_snr, "pair_target": pair_target,
            "depth_growth": depth_growth, "gain": gain, "label_noise": label_noise,
            "threads": threads,
        },
        "trace_snr_used": snr_used,
        "initial_trace_pair_accuracy": init_accuracy,
        **measure(trained_np, x, pred.astype(np.float64), true),
        "answer_sha256": answer_hash,
        "seconds": round(time.perf_counter() - started, 3),
    }
    (out_dir / "generate.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


# ---------------------------------------------------------------- command line

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
            "readable = trace pairing and norm-by-depth both work, like the public one; "
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
    p.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate")
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
            pair_target=args.pair_target, depth_growth=args.depth_growth, gain=args.gain,
            label_noise=args.label_noise, threads=args.threads)
    except GenerateError as exc:
        print(exc)
        return 2
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
        f"  spearman |W_out| vs depth     {s['out_norm_depth_spearman']:+.3f}",
        f"  spearman |update| vs depth    {s['update_norm_depth_spearman']:+.3f}",
        f"  MSE pred vs true              {s['mse_pred_true']:.4g}",
        f"  MSE at answer (float64)       {s['mse_answer_float64']:.3g} "
        f"(relative {s['mse_answer_float64_relative']:.3g})",
        f"  answer sha256                 {s['answer_sha256']}",
    ])
