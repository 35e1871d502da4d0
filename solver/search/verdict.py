"""Is an arrangement the network that produced pred? The float64 MSE judged by the one
rule (solver.puzzle.answer.is_exact), with the float32 rounding floor measured for the
same arrangement and the nearest neighbours (swaps and re-pairings near the output, the
cheapest to evaluate) said beside it, so that the verdict shows its margin.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from solver.puzzle.answer import is_exact
from solver.search import engine, moves as mv

# Rows of the solver's own exactness check: a wrong network cannot match a thousand rows
# to rounding level by chance, and a float64 pass over all 10,000 costs half a second.
VERDICT_ROWS = 1024


@dataclass
class Verdict:
    exact: bool
    mse: float
    floor: float
    neighbour_mse: float
    text: str


def verdict(puzzle, inp_seq, out_seq, rows: int | None = None) -> Verdict:
    """The verdict on the first ``rows`` rows (all rows when None)."""
    m64 = engine.prepare(puzzle, rows=rows, dtype=np.float64)
    m32 = engine.prepare(puzzle, rows=rows, dtype=np.float32)
    S64 = engine.states(m64, inp_seq, out_seq)
    y64 = engine.output(m64, S64[-1])
    y32 = engine.output(m32, engine.run_blocks(m32, inp_seq, out_seq, m32.x)).astype(np.float64)
    mse = float(np.mean((y64 - m64.pred) ** 2))
    floor = float(np.mean((y32 - y64) ** 2)) + float(np.mean((m64.pred - m64.pred.astype(np.float32)) ** 2))
    scale = m64.pred_var
    neighbour = _nearest_neighbour(m64, inp_seq, out_seq, S64)
    exact = is_exact(mse, scale)
    on = "" if m64.n_rows == puzzle.n_rows else f" on {m64.n_rows} of {puzzle.n_rows} rows"
    if exact:
        gap = neighbour / mse if mse > 0 else math.inf
        text = (f"exact: MSE {mse:.3g}{on} is at float32 rounding level ({floor:.2g}); "
                f"nearest tested neighbour {neighbour:.3g} ({gap:.1e}x worse)")
    else:
        text = f"not exact: MSE {mse:.3g}{on} vs float32 rounding level {floor:.2g} (relative {mse / scale:.2g})"
    return Verdict(exact, mse, floor, neighbour, text)


def far_verdict(puzzle, inp_seq, out_seq, rows: int | None = None) -> Verdict:
    """Far from exact, the float64 MSE is all there is to say."""
    m = engine.prepare(puzzle, rows=rows, dtype=np.float64)
    mse = engine.loss(m, engine.run_blocks(m, inp_seq, out_seq, m.x))
    on = "" if m.n_rows == puzzle.n_rows else f" on {m.n_rows} of {puzzle.n_rows} rows"
    return Verdict(False, mse, float("nan"), float("nan"),
                   f"not exact: MSE {mse:.3g}{on} (relative {mse / m.pred_var:.2g})")


def _nearest_neighbour(m, inp_seq, out_seq, S) -> float:
    n = len(inp_seq)
    best = math.inf
    for a in range(max(0, n - 4), n - 1):
        for kind in ("swap", "pair"):
            inp, out, (first, _) = mv.apply((kind, a, a + 1), inp_seq, out_seq)
            best = min(best, engine.loss(m, engine.run_blocks(m, inp, out, S[first], start=first)))
    return best
