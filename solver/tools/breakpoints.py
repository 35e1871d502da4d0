"""Break points of an arrangement: consecutive blocks whose updates point against each
other (negative cosine on the data), and blocks whose removal lowers the MSE."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DEFAULT_ROWS = 2048  # plenty to see directions and leave-one-out gains


@dataclass(frozen=True)
class Breakpoints:
    mse: float                       # of the arrangement on the rows used
    cosines: tuple[float, ...]       # cos(update k, update k+1), k = 1..N-1
    against: tuple[int, ...]         # 1-based k where blocks k and k+1 point against each other
    loo_mse: tuple[float, ...]       # MSE with block k skipped, k = 1..N
    removable: tuple[int, ...]       # 1-based blocks whose removal lowers the MSE, best first


def find_breakpoints(puzzle, permutation, rows: int | None = DEFAULT_ROWS) -> Breakpoints:
    from solver.search import engine
    from solver.puzzle.answer import from_permutation

    inp_seq, out_seq = from_permutation(puzzle, permutation)
    rows = None if rows is None or rows >= puzzle.n_rows else rows
    m = engine.prepare(puzzle, rows=rows, dtype=np.float64)
    S = engine.states(m, inp_seq, out_seq)
    base = engine.loss(m, S[-1])
    updates = (S[1:] - S[:-1]).reshape(len(inp_seq), -1)
    norms = np.linalg.norm(updates, axis=1)
    dots = np.einsum("kd,kd->k", updates[:-1], updates[1:])
    cosines = dots / np.maximum(norms[:-1] * norms[1:], 1e-300)
    loo = engine.leave_one_out(m, inp_seq, out_seq, S)
    against = tuple(int(k) + 1 for k in np.flatnonzero(cosines < 0))
    order = np.argsort(loo)
    removable = tuple(int(k) + 1 for k in order if loo[k] < base)
    return Breakpoints(float(base), tuple(float(c) for c in cosines), against,
                       tuple(float(v) for v in loo), removable)


def describe(bp: Breakpoints) -> str:
    lines = [f"MSE {bp.mse:.6g} on the rows used"]
    if bp.against:
        lines.append("blocks pointing against the next one (cosine < 0): " + ", ".join(
            f"{k}|{k + 1} ({bp.cosines[k - 1]:+.2f})" for k in bp.against))
    else:
        lines.append("no consecutive blocks point against each other")
    if bp.removable:
        lines.append("blocks whose removal lowers the MSE: " + ", ".join(
            f"{k} ({bp.loo_mse[k - 1]:.4g})" for k in bp.removable))
    else:
        lines.append("no block's removal lowers the MSE")
    return "\n".join(lines)
