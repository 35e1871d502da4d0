"""Structural pairing of inp and out pieces: trace scores, Hungarian assignment, confidence.

In trained residual blocks the true pair's ``trace(W_out @ W_inp)`` is often strongly
negative (the block damps its own input). Often is not always: the confidence margin says
which pairs the structure settles and which the data must decide.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment


@dataclass(frozen=True)
class Pairing:
    out_of_inp: np.ndarray  # (N,) the out class index paired with each inp class index
    margin: np.ndarray  # (N,) cost rise if this pair were forbidden, in units of the score spread
    cost: np.ndarray  # (N, N) the score matrix that was minimised (inp x out)

    @property
    def confident(self) -> np.ndarray:
        return self.margin >= CONFIDENT_MARGIN


CONFIDENT_MARGIN = 3.0


def trace_scores(inp_w: np.ndarray, out_w: np.ndarray) -> np.ndarray:
    """T[i, j] = trace(W_out_j @ W_inp_i); inp_w (N,h,d), out_w (N,d,h)."""
    return np.einsum("ihd,jdh->ij", inp_w.astype(np.float64), out_w.astype(np.float64))


def structural_cost(puzzle) -> np.ndarray:
    """Trace scores scaled by the norms, so a few large blocks do not drown the rest."""
    t = trace_scores(puzzle.inp_w, puzzle.out_w)
    ni = np.linalg.norm(puzzle.inp_w.reshape(puzzle.n_blocks, -1), axis=1)
    no = np.linalg.norm(puzzle.out_w.reshape(puzzle.n_blocks, -1), axis=1)
    return t / np.outer(ni, no)


def hungarian(cost: np.ndarray) -> np.ndarray:
    rows, cols = linear_sum_assignment(cost)
    out = np.empty(cost.shape[0], dtype=np.int64)
    out[rows] = cols
    return out


def assignment_margins(cost: np.ndarray, assignment: np.ndarray) -> np.ndarray:
    """For each chosen pair, how much the best total rises if that pair is forbidden."""
    n = cost.shape[0]
    best = cost[np.arange(n), assignment].sum()
    big = np.abs(cost).max() * n * 10 + 1.0
    spread = np.std(cost) or 1.0
    margins = np.empty(n)
    for i in range(n):
        c = cost.copy()
        c[i, assignment[i]] = big
        r, k = linear_sum_assignment(c)
        margins[i] = (c[r, k].sum() - best) / spread
    return margins


_CACHE: dict[str, Pairing] = {}


def structural_pairing(puzzle) -> Pairing:
    """Cached per puzzle fingerprint: the margins cost N assignments, and a worker asks
    for them at every burst."""
    key = puzzle.fingerprint
    if key and key in _CACHE:
        return _CACHE[key]
    cost = structural_cost(puzzle)
    assignment = hungarian(cost)
    result = Pairing(assignment, assignment_margins(cost, assignment), cost)
    if key:
        _CACHE[key] = result
    return result
