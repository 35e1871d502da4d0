"""Structural pairing of inp and out pieces: trace scores, assignment, confidence.

In trained residual blocks the true pair's ``trace(W_out @ W_inp)`` is often strongly
negative (the block damps its own input). Often is not always: the confidence margin says
which pairs the structure settles and which the data must decide.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from solver.search.assignment import assign, assign_with_margins

CONFIDENT_MARGIN = 3.0


@dataclass(frozen=True)
class Pairing:
    out_of_inp: np.ndarray  # (N,) the out class index paired with each inp class index
    margin: np.ndarray  # (N,) cost rise if this pair were forbidden, in units of the score spread
    cost: np.ndarray  # (N, N) the score matrix that was minimised (inp x out)

    @property
    def confident(self) -> np.ndarray:
        return self.margin >= CONFIDENT_MARGIN


def trace_scores(inp_w: np.ndarray, out_w: np.ndarray) -> np.ndarray:
    """T[i, j] = trace(W_out_j @ W_inp_i); inp_w (N,h,d), out_w (N,d,h)."""
    return np.einsum("ihd,jdh->ij", inp_w.astype(np.float64), out_w.astype(np.float64))


def structural_cost(puzzle) -> np.ndarray:
    """Trace scores scaled by the norms, so a few large blocks do not drown the rest."""
    t = trace_scores(puzzle.inp_w, puzzle.out_w)
    ni = np.linalg.norm(puzzle.inp_w.reshape(puzzle.n_blocks, -1), axis=1)
    no = np.linalg.norm(puzzle.out_w.reshape(puzzle.n_blocks, -1), axis=1)
    return t / np.maximum(np.outer(ni, no), 1e-30)


_CACHE: dict[str, Pairing] = {}


def structural_pairing(puzzle, with_margins: bool = True) -> Pairing:
    """Cached per puzzle fingerprint: a worker asks at every burst. Without margins (the
    fast path needs none) they are filled in on a later call that asks."""
    key = puzzle.fingerprint
    cached = _CACHE.get(key) if key else None
    if cached is not None and not (with_margins and np.isnan(cached.margin).any()):
        return cached
    cost = structural_cost(puzzle)
    if with_margins:
        assignment, raw = assign_with_margins(cost)
        margin = raw / (float(np.std(cost)) or 1.0)
    else:
        assignment, margin = assign(cost), np.full(puzzle.n_blocks, np.nan)
    result = Pairing(assignment, margin, cost)
    if key:
        _CACHE[key] = result
    return result


def settle_pairs(pairing: Pairing, inp: np.ndarray, out: np.ndarray, trusted: np.ndarray) -> np.ndarray:
    """The outs for ``inp`` (order kept) with every trusted inp class paired as the
    structure says; the others keep their outs where still free, and the rest are assigned
    by the structural cost. A start or elite with a scrambled pairing is put right where
    the weights are sure, and left alone where they are not."""
    new_out = np.full(len(inp), -1, dtype=np.int64)
    for k, i in enumerate(inp):
        if trusted[i]:
            new_out[k] = pairing.out_of_inp[i]
    taken = set(int(o) for o in new_out if o >= 0)
    for k, o in enumerate(out):
        if new_out[k] < 0 and int(o) not in taken:
            new_out[k] = o
            taken.add(int(o))
    open_slots = np.flatnonzero(new_out < 0)
    if len(open_slots):
        free = np.array(sorted(set(range(len(inp))) - taken), dtype=np.int64)
        choice = assign(pairing.cost[np.ix_(inp[open_slots], free)])
        new_out[open_slots] = free[choice]
    return new_out
