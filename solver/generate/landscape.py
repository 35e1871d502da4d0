"""How rugged a puzzle is around its answer: three relative MSEs (MSE / var(pred)) taken
from the true arrangement, with the right pairs kept (numpy, no I/O).

- ``random_order``: the median over random orders of the right blocks;
- ``adjacent_swap``: the median over positions of swapping one block with the next;
- ``moved_5``: the median over blocks of moving one block 5 places (later, or earlier
  where it is within 5 of the end).

Smooth puzzles (the public one: 0.92, 7e-5, 5e-4) have cheap single moves and random
orders no worse than predicting the mean; rugged ones have single moves 10-40 times
costlier; explosive ones have random orders worse by many orders of magnitude.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from solver.search import engine

RANDOM_ORDERS = 20
REACH = 5


@dataclass(frozen=True)
class Landscape:
    random_order: float
    adjacent_swap: float
    moved_5: float

    def regime(self) -> str:
        """A word for the regime, by the thresholds the field notes measured."""
        if self.random_order > 1e3 or self.adjacent_swap > 0.1:
            return "explosive"
        if self.random_order > 3 or self.adjacent_swap > 1e-3:
            return "rugged"
        return "smooth"


def _relative(m: engine.Model, inp, out) -> float:
    with np.errstate(over="ignore", invalid="ignore"):
        value = engine.loss(m, engine.run_blocks(m, inp, out, m.x)) / m.pred_var
    return float(value) if np.isfinite(value) else float("inf")


def moved(order: np.ndarray, frm: int, to: int) -> np.ndarray:
    """ORDER with the block at position FRM taken out and put back at position TO."""
    rest = np.delete(order, frm)
    return np.insert(rest, to, order[frm])


def measure(m: engine.Model, inp, out, *, seed: int = 0,
            random_orders: int = RANDOM_ORDERS, reach: int = REACH) -> Landscape:
    """The three statistics of the arrangement (INP, OUT), taken to be the answer."""
    inp, out = np.asarray(inp), np.asarray(out)
    n = len(inp)
    rng = np.random.default_rng(seed)
    shuffled = [rng.permutation(n) for _ in range(random_orders)]
    swaps = []
    for k in range(n - 1):
        o = np.arange(n)
        o[[k, k + 1]] = o[[k + 1, k]]
        swaps.append(o)
    shifts = [moved(np.arange(n), k, k + reach if k + reach < n else k - reach)
              for k in range(n)] if n > reach else []
    median = lambda orders: float(np.median([_relative(m, inp[o], out[o]) for o in orders])) \
        if orders else float("nan")  # noqa: E731
    return Landscape(median(shuffled), median(swaps), median(shifts))


def measure_puzzle(puzzle, answer, *, rows: int = 2000, seed: int = 0) -> Landscape:
    """The statistics of a puzzle around ANSWER (a permutation), on its first ROWS rows."""
    from solver.puzzle.answer import from_permutation

    inp, out = from_permutation(puzzle, answer)
    return measure(engine.prepare(puzzle, rows=min(rows, puzzle.n_rows)), inp, out, seed=seed)
