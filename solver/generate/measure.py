"""What a finished puzzle offers a solver, measured at its true order (numpy)."""
from __future__ import annotations

import numpy as np

from solver.generate.recipe import trace_pair_accuracy

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
