"""The generator's recipes: presets, synthetic data and labels, initial weights with a
planted damping, and its calibration to a target trace-pairing accuracy (numpy)."""
from __future__ import annotations

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
#   shear         size of the shear chain planted after training (solver.generate.shear):
#                 0 = none; ~30 makes every wrong order diverge (explosive kinds).
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
    # drift trained harder and longer: blocks couple strongly, single moves cost 10x more
    "rugged": {"trace_snr": 4.0, "pair_target": None, "depth_growth": 2.0,
               "norm_jitter": 0.09, "lr": 2e-3, "train_scale": 8},
    "rugged-weak": {"trace_snr": None, "pair_target": 0.67, "depth_growth": 2.0,
                    "norm_jitter": 0.09, "lr": 2e-3, "train_scale": 8},
    "explosive": {"trace_snr": 4.0, "pair_target": None, "depth_growth": 2.0,
                  "norm_jitter": 0.0, "lr": 1e-3, "shear": 30.0},
    "explosive-weak": {"trace_snr": None, "pair_target": 0.67, "depth_growth": 2.0,
                       "norm_jitter": 0.0, "lr": 1e-4, "shear": 30.0},
}

PAIR_BANDS = {  # what each kind promises for the trace-Hungarian pair accuracy
    "readable": (0.95, 1.0),
    "trained": (0.95, 1.0),
    "drift": (0.95, 1.0),
    "pairing": (0.95, 1.0),
    "weak": (0.5, 0.85),
    "hard": (0.0, 0.33),
    "rugged": (0.95, 1.0),
    "rugged-weak": (0.5, 0.85),
    "explosive": (0.95, 1.0),
    "explosive-weak": (0.5, 0.85),
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
