"""Exact losses of an arrangement and of candidate moves on a fixed set of rows.

The evaluator keeps the current arrangement's states S (one per position). A candidate
that changes positions [first, stop) starts from S[first]; from ``stop`` on it runs the
same blocks as every other candidate, so candidates are stacked there and share each
block pass as one larger matrix product. Every exact loss is counted in ``evaluations``
(with the rows it ran on); first-order estimates are counted apart in ``ranked``.

Screening runs the same exact evaluation on the first few rows only: pred is exact, so a
right move shows on any rows, and a screen costs a fraction of a full evaluation.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from solver.search import engine, moves as mv
SCREEN_ROWS = 64



class Held(NamedTuple):
    """An arrangement kept aside (the best so far) with its loss."""
    loss: float
    inp: np.ndarray
    out: np.ndarray


class Evaluator:
    def __init__(self, model: engine.Model):
        self.m = model
        self.evaluations = 0
        self.row_evaluations = 0  # evaluations times rows: the work done
        self.screened = 0  # exact evaluations on the screening rows
        self.ranked = 0
        self.inp = self.out = self.S = None
        self.loss = float("inf")

    @property
    def n_rows(self) -> int:
        return self.m.n_rows

    def set(self, inp, out, S=None) -> float:
        """Make (inp, out) current; its exact loss."""
        self.inp, self.out = np.array(inp), np.array(out)
        self.S = engine.states(self.m, self.inp, self.out) if S is None else S
        self.loss = engine.loss(self.m, self.S[-1])
        self._count(1)
        return self.loss

    def refresh(self, inp, out, first: int) -> float:
        """Make (inp, out) current when it differs from the current one only from ``first``."""
        S = self.S.copy()
        engine.refresh_states(self.m, inp, out, S, first)
        return self.set(inp, out, S)

    def residual(self) -> np.ndarray:
        """Output minus pred of the current arrangement, flattened output-major (o*R,)."""
        return engine.residual(self.m, self.S[-1]).T.reshape(-1)

    def sensitivity(self) -> np.ndarray:
        return engine.output_sensitivity(self.m, self.inp, self.out, self.S)

    def moves(self, moves) -> np.ndarray:
        """Exact loss of each move applied to the current arrangement."""
        return self.candidates([mv.apply(move, self.inp, self.out) for move in moves])

    @property
    def screen_rows(self) -> int:
        return min(SCREEN_ROWS, self.m.n_rows)

    def screen(self, candidates) -> tuple[np.ndarray, float]:
        """Exact losses of the candidates on the screening rows, and the current loss there."""
        m = engine.head(self.m, self.screen_rows)
        current = engine.loss(m, self.S[-1, :m.n_rows])
        losses = self._losses(m, self.S[:, :m.n_rows], candidates)
        self.screened += len(candidates)
        self.row_evaluations += len(candidates) * m.n_rows
        return losses, current

    def candidates(self, candidates) -> np.ndarray:
        """Exact loss of each (inp, out, (first, stop)) that agrees with the current
        arrangement outside [first, stop)."""
        losses = self._losses(self.m, self.S, candidates)
        self._count(len(candidates))
        return losses

    def _losses(self, m, S, candidates) -> np.ndarray:
        if not candidates:
            return np.empty(0)
        n = len(self.inp)
        born: dict[int, list] = {}
        for idx, (inp, out, (first, stop)) in enumerate(candidates):
            x = engine.run_blocks(m, inp, out, S[first], start=first, stop=stop)
            born.setdefault(stop, []).append((idx, x))
        order, batch = [], None
        for k in range(min(born), n + 1):
            if k in born:
                order += [i for i, _ in born[k]]
                fresh = np.stack([x for _, x in born[k]])
                batch = fresh if batch is None else np.concatenate([batch, fresh])
            if k < n:
                flat = batch.reshape(-1, batch.shape[-1])
                batch = engine.step(m, self.inp[k], self.out[k], flat).reshape(batch.shape)
        losses = np.empty(len(candidates))
        losses[order] = engine.loss_many(m, batch)
        return losses

    def _count(self, count: int):
        self.evaluations += count
        self.row_evaluations += count * self.m.n_rows
