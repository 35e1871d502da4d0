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
#                 gets this fraction of pairs on the trained weights.
#   depth_growth  the out-layer init scale grows linearly by this factor over depth.
#   norm_jitter   sigma of a random log-normal factor on each block's out scale: hides
#                 the slow shrink of the residual stream that damping causes, which
#                 otherwise makes update norms fall with depth.
#   lr            Adam's rate (up to N=48; times 48/N beyond): at 1e-3 training itself
#                 builds strong damping pairs within a few dozen steps; at 1e-4 the
#                 trained net keeps the structure of its init.
#   train_scale   times the default number of steps: a net trained six times longer
#                 settles into a landscape like the public one's, where adjacent moves
#                 lead to the answer; briefly trained nets are full of near-answers.
KINDS: dict[str, dict] = {
    "readable": {"trace_snr": 4.0, "pair_target": None, "depth_growth": 2.0,
                 "norm_jitter": 0.0, "lr": 1e-3},
    "trained": {"trace_snr": 4.0, "pair_target": None, "depth_growth": 2.0,
                "norm_jitter": 0.05, "lr": 1e-3, "train_scale": 6},
    "drift": {"trace_snr": 4.0, "pair_target": None, "depth_growth": 2.0,
              "norm_jitter": 0.09, "lr": 1e-3, "train_scale": 6},
    "pairing": {"trace_snr": 6.0, "pair_target": None, "depth_growth": 0.0,
                "norm_jitter": 0.5, "lr": 1e-4},
    "weak": {"trace_snr": None, "pair_target": 0.67, "depth_growth": 2.0,
             "norm_jitter": 0.0, "lr": 1e-4},
    "hard": {"trace_snr": None, "pair_target": 0.15, "depth_growth": 0.0,
             "norm_jitter": 0.5, "lr": 1e-4},
}

PAIR_BANDS = {  # what each kind promises for the trace-Hungarian pair accuracy
    "readable": (0.95, 1.0),
    "trained": (0.95, 1.0),
    "drift": (0.95, 1.0),
    "pairing": (0.95, 1.0),
    "weak": (0.5, 0.85),
    "hard": (0.0, 0.33),
}


# Bump when the same knobs and seed would give different files (benchmark caches key on it).
GENERATOR_VERSION = 2


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


def draw_initial(rng: np.random.Generator, blocks: int, dim: int, hidden: int,
                 out_dim: int, depth_growth: float, gain: float,
                 norm_jitter: float = 0.0) -> dict:
    """Random initial parameters without damping, plus `damping`: d(out_w)/d(snr).

    out_w(snr) = out_w + snr * damping mixes -inp^T into each out so that the true-pair
    trace sits `snr` spreads of the wrong-pair traces below zero.
    """
    n, d, h = blocks, dim, hidden
    inp_w = rng.standard_normal((n, h, d)) / np.sqrt(d)
    inp_b = rng.uniform(-0.5, 0.5, (n, h)) / np.sqrt(d)
    noise = rng.standard_normal((n, d, h)) / np.sqrt(h)
    # Residual updates must not blow up over depth: shrink with sqrt(N); grow with depth
    # when asked (trained nets show update sizes growing toward the output).
    depth = np.linspace(0.0, 1.0, n) if n > 1 else np.zeros(1)
    scale = gain / np.sqrt(n) * (1.0 + depth_growth * depth)
    if norm_jitter > 0:
        scale = scale * np.exp(norm_jitter * rng.standard_normal(n))
    # trace(-c * inp^T inp) = -c|inp|^2; wrong pairs spread ~|noise||inp|: with c matched
    # to the entry sizes the ratio is sqrt(dh) per unit of c, hence the 1/sqrt(dh).
    entry = np.sqrt((noise ** 2).mean(axis=(1, 2)) / (inp_w ** 2).mean(axis=(1, 2)))
    damping = -(scale * entry / np.sqrt(d * h))[:, None, None] * inp_w.transpose(0, 2, 1)
    return {"inp_w": inp_w, "inp_b": inp_b, "out_w": noise * scale[:, None, None],
            "out_b": rng.uniform(-0.1, 0.1, (n, d)) * scale[:, None],
            "last_w": rng.uniform(-1, 1, (out_dim, d)) / np.sqrt(d),
            "last_b": np.zeros(out_dim), "damping": damping}


def with_damping(raw: dict, snr: float) -> dict:
    """Float32 parameters with the damping of strength snr mixed into every out."""
    params = {k: v for k, v in raw.items() if k != "damping"}
    params["out_w"] = raw["out_w"] + snr * raw["damping"]
    return {k: v.astype(np.float32) for k, v in params.items()}


def calibrate_snr(inp_w: np.ndarray, out_w: np.ndarray, damping: np.ndarray,
                  target: float) -> float:
    """The snr whose trace-Hungarian accuracy on out_w + snr*damping is closest to target.

    Negative snr (blocks that amplify their input) pushes accuracy below chance, which
    a low target needs once training has built some damping of its own.
    """
    lo, hi = -8.0, 16.0
    best = (2.0, 0.0)
    for _ in range(16):
        mid = (lo + hi) / 2
        acc = trace_pair_accuracy(inp_w, out_w + mid * damping)
        if abs(acc - target) < best[0]:
            best = (abs(acc - target), mid)
        if acc < target:
            lo = mid
        else:
            hi = mid
    return best[1]


# ---------------------------------------------------------------- training (torch)

def network_forward_torch(params: dict, x):
    """The assembled network in float32 torch, layer by layer as nn.Linear would."""
    import torch.nn.functional as F
    for k in range(len(params["inp_w"])):
        hid = F.relu(F.linear(x, params["inp_w"][k], params["inp_b"][k]))
        x = x + F.linear(hid, params["out_w"][k], params["out_b"][k])
    return F.linear(x, params["last_w"], params["last_b"])


def train(params: dict, x: np.ndarray, y: np.ndarray, *, steps: int, lr: float,
          batch: int, weight_decay: float, seed: int, threads: int) -> dict:
    """AdamW on mini-batches in float32; returns the trained parameters as torch tensors."""
    import torch
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    # One leaf tensor per block: indexing a stacked tensor would make backward build a
    # full-size gradient per block (N^2 memory traffic per step).
    per_block = {k: [torch.tensor(w, requires_grad=True) for w in params[k]]
                 for k in ("inp_w", "inp_b", "out_w", "out_b")}
    last = {k: torch.tensor(params[k], requires_grad=True) for k in ("last_w", "last_b")}
    tp = {**per_block, **last}
    leaves = [w for ws in per_block.values() for w in ws] + list(last.values())
    xt = torch.from_numpy(x)
    yt = torch.from_numpy(y.astype(np.float32))
    opt = torch.optim.AdamW(leaves, lr=lr, weight_decay=weight_decay)
    gen = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        idx = torch.randint(0, xt.shape[0], (min(batch, xt.shape[0]),), generator=gen)
        loss = torch.mean((network_forward_torch(tp, xt[idx]) - yt[idx]) ** 2)
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        trained = {k: torch.stack(ws).clone() for k, ws in per_block.items()}
        trained.update({k: v.detach().clone() for k, v in last.items()})
    return trained


def fit_readout(params: dict, x: np.ndarray, y: np.ndarray, max_rows: int = 2000) -> dict:
    """Start the last layer at the least-squares readout of the initial network's states,
    so that deep, damped nets train in few steps instead of first relearning the scale."""
    s = x[:max_rows].astype(np.float64)
    for k in range(params["inp_w"].shape[0]):
        hid = np.maximum(s @ params["inp_w"][k].T.astype(np.float64) + params["inp_b"][k], 0)
        s = s + hid @ params["out_w"][k].T.astype(np.float64) + params["out_b"][k]
    design = np.concatenate([s, np.ones((len(s), 1))], axis=1)
    ridge = 1e-3 * np.trace(design.T @ design) / design.shape[1]
    coef = np.linalg.solve(design.T @ design + ridge * np.eye(design.shape[1]),
                           design.T @ y[:max_rows])
    return {**params, "last_w": coef[:-1].T.astype(np.float32),
            "last_b": coef[-1].astype(np.float32)}


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


def sort_distance(values: np.ndarray) -> tuple[int, int]:
    """How far sorting by values is from the true order: (inversions, i.e. adjacent swaps
    needed, and the largest displacement of one block)."""
    order = np.argsort(values, kind="stable")
    inversions = int(np.triu(order[:, None] > order[None, :], k=1).sum())
    return inversions, int(np.abs(order - np.arange(len(order))).max(initial=0))


def measure(p: dict, x: np.ndarray, pred: np.ndarray, true: np.ndarray) -> dict:
    out64, update_norms = forward_float64(p, x)
    err64 = float(np.mean((out64 - pred) ** 2))
    out_norms = np.linalg.norm(p["out_w"], axis=(1, 2))
    inversions, displacement = sort_distance(out_norms)
    return {
        "trace_pair_accuracy": trace_pair_accuracy(p["inp_w"], p["out_w"]),
        "out_norm_depth_spearman": spearman(out_norms),
        "out_norm_sort_inversions": inversions,
        "out_norm_sort_max_displacement": displacement,
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

def train_to_pair_target(raw: dict, target: float, fit: dict) -> tuple[float, dict, dict]:
    """Train with the damping calibrated so the *trained* net hits the pair target.

    Training itself builds some damping (more with a larger lr), so calibrate once on
    the initial weights, train, recalibrate on the trained weights with the planted
    damping taken out, and train again; keep whichever run landed closer.
    """
    runs = []
    snr = calibrate_snr(raw["inp_w"], raw["out_w"], raw["damping"], target)
    for _ in range(2):
        init = fit_readout(with_damping(raw, snr), fit["x"], fit["y"])
        trained = train(init, **fit)
        inp_w, out_w = trained["inp_w"].numpy(), trained["out_w"].numpy()
        acc = trace_pair_accuracy(inp_w, out_w)
        runs.append((abs(acc - target), snr, init, trained))
        if abs(acc - target) <= 0.05:
            break
        snr = calibrate_snr(inp_w, out_w - snr * raw["damping"], raw["damping"], target)
    _, snr, init, trained = min(runs, key=lambda r: r[0])
    return snr, init, trained



def generate_puzzle(out_dir, *, blocks: int, dim: int, hidden: int, rows: int, seed: int,
                    out_dim: int = 1, kind: str = "readable", train_steps: int | None = None,
                    lr: float | None = None, batch: int = 256, weight_decay: float = 0.0,
                    trace_snr: float | None = None, pair_target: float | None = None,
                    depth_growth: float | None = None, norm_jitter: float | None = None,
                    gain: float = 1.0,
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
    if norm_jitter is None:
        norm_jitter = preset["norm_jitter"]
    if lr is None:
        # Deep nets diverge at the shallow rate (N=192 at 1e-3 ends worse than its
        # initial readout): the preset rate holds up to 48 blocks, then falls as 48/N.
        lr = preset["lr"] * min(1.0, 48.0 / blocks)
    if train_steps is None:
        train_steps = default_train_steps(blocks, rows) * preset.get("train_scale", 1)
    started = time.perf_counter()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)

    rng = np.random.default_rng(seed)
    x = make_measurements(rng, rows, dim)
    true = make_labels(rng, x, out_dim, label_noise)
    raw = draw_initial(rng, blocks, dim, hidden, out_dim, depth_growth, gain, norm_jitter)
    clock = {"data": time.perf_counter() - started}
    fit = dict(x=x, y=true, steps=train_steps, lr=lr, batch=batch,
               weight_decay=weight_decay, seed=seed, threads=threads)
    if pair_target is None:
        snr = float(trace_snr or 0.0)
        init = fit_readout(with_damping(raw, snr), x, true)
        trained = train(init, **fit)
    else:
        snr, init, trained = train_to_pair_target(raw, pair_target, fit)
    init_accuracy = trace_pair_accuracy(init["inp_w"], init["out_w"])
    clock["train"] = time.perf_counter() - started - sum(clock.values())
    with torch.no_grad():
        pred = network_forward_torch(trained, torch.from_numpy(x)).numpy()
    trained_np = {k: v.numpy() for k, v in trained.items()}
    clock["predict"] = time.perf_counter() - started - sum(clock.values())

    perm = write_pieces(out_dir, trained, rng)
    write_csv(out_dir / "historical_data.csv", x, pred, true)
    answer = answer_string(perm)
    (out_dir / "answer.txt").write_text(answer + "\n")
    answer_hash = hashlib.sha256(answer.encode()).hexdigest()
    (out_dir / "answer.sha256").write_text(answer_hash + "\n")
    clock["write"] = time.perf_counter() - started - sum(clock.values())
    measured = measure(trained_np, x, pred.astype(np.float64), true)
    clock["measure"] = time.perf_counter() - started - sum(clock.values())

    summary = {
        "generator_version": GENERATOR_VERSION,
        "parameters": {
            "blocks": blocks, "dim": dim, "hidden": hidden, "out_dim": out_dim,
            "rows": rows, "seed": seed, "kind": kind, "train_steps": train_steps,
            "lr": lr, "batch": batch, "weight_decay": weight_decay,
            "trace_snr": trace_snr, "pair_target": pair_target,
            "depth_growth": depth_growth, "norm_jitter": norm_jitter, "gain": gain,
            "label_noise": label_noise,
            "threads": threads,
        },
        "trace_snr_used": snr,
        "initial_trace_pair_accuracy": init_accuracy,
        **measured,
        "answer_sha256": answer_hash,
        "seconds": round(time.perf_counter() - started, 3),
        "seconds_by_phase": {k: round(v, 3) for k, v in clock.items()},
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
            norm_jitter=args.norm_jitter, gain=args.gain,
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
