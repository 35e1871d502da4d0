"""Local descent from one arrangement until no move helps.

Three stages, cheapest first, each confirmed by exact losses before anything is kept:
  sweeps    adjacent swaps guided by the adjoint, many per pass (solver.sweep)
  ranked    every move of the chosen kinds within a reach, ranked by first-order
            estimates; the best few are evaluated exactly and the best is taken
  pairs     pairs of moves on disjoint spans, ranked from the same estimates: where
            errors compensate each other, every single move is uphill
Whenever a later stage finds something, the descent starts again from the sweeps.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from solver import engine, estimates, moves as mv
from solver.evaluator import Evaluator
from solver.sweep import backward_sweep, forward_sweep, replay

# A pair whose swap was estimated to raise the loss this many times is left out of the
# next sweeps until something near it changes: late sweeps then look at a few places only.
FAR_UPHILL = 1.5
# Sweeps that keep taking swaps but lower the loss by less than this share are churning
# around a misplaced block that only a longer move can fix: the ranked stage takes over.
WEAK_SWEEP = 0.05
# A move must lower the exact loss by this factor: batched and single float32 passes
# round differently (~1e-7 relative), and a smaller bar lets the search cycle on noise.
IMPROVEMENT = 1 - 1e-6


@dataclass
class DescentPlan:
    kinds: tuple = ("swap", "insert")  # ranked neighbourhood
    reach: int = 4  # positions a ranked move may span
    confirm: int = 12  # exact evaluations per ranked batch
    pairs: bool = True  # try pairs of moves when single moves are all uphill
    sweeps: bool = True


class Descent:
    """Runs the stages on an evaluator's current arrangement. ``tick`` is called between
    steps (it may raise to stop the search); ``on_better`` sees each improvement."""

    def __init__(self, ev: Evaluator, plan: DescentPlan, tick=lambda: None, on_better=lambda ev: None):
        self.ev, self.plan, self.tick, self.on_better = ev, plan, tick, on_better
        self.passes = 0  # block passes spent on sweeps and estimates

    def run(self, floor: float = 0.0) -> bool:
        """Descend until no stage helps or the loss is below ``floor``; True if it moved."""
        start = self.ev.loss
        while self.ev.loss > floor:
            self.tick()
            if self.plan.sweeps:
                self.sweeps(floor)  # they end where they stop helping: go on to the next stage
            if self.ev.loss <= floor:
                break
            self.tick()
            if not self.neighbours():
                break
        return self.ev.loss < start

    # ---------------------------------------------------------------- sweeps

    def sweeps(self, floor: float) -> bool:
        """Alternate backward and forward sweeps until two in a row fail or churn; True if
        any helped. Pairs far uphill are skipped while nothing near them changes; a failure with
        pairs skipped is checked by a sweep over all of them before it counts."""
        moved, failures, backward = False, 0, True
        skip = np.zeros(max(len(self.ev.inp) - 1, 0), dtype=bool)
        while failures < 2 and self.ev.loss > floor:
            self.tick()
            before = self.ev.loss
            result = self._sweep(backward, skip)
            if result is not None:
                moved = True
                failures = failures + 1 if self.ev.loss > before * (1 - WEAK_SWEEP) else 0
                skip = self._skip_next(result, skip)
            elif skip.any():
                skip[:] = False
            else:
                failures += 1
            backward = not backward
        return moved

    @staticmethod
    def _skip_next(result, skip):
        looked = ~np.isnan(result.uphill)
        skip = np.where(looked, result.uphill > FAR_UPHILL, skip)
        for a in result.taken:  # a swap changes the pairs around it
            skip[max(0, a - 2):a + 3] = False
        return skip

    def _sweep(self, backward: bool, skip):
        """One sweep, confirmed exactly; the sweep's result if it helped, else None."""
        ev = self.ev
        m, S = ev.m, ev.S.copy()
        res = engine.residual(m, S[-1])
        if backward:
            result = backward_sweep(m, ev.inp, ev.out, S, res, skip)
        else:
            V = engine.output_sensitivity(m, ev.inp, ev.out, S)
            self.passes += len(ev.inp)
            result = forward_sweep(m, ev.inp, ev.out, S, V, res, skip)
        self.passes += result.passes
        ev.ranked += int((~np.isnan(result.uphill)).sum())
        # estimates compound over a sweep: if the whole sweep does not hold up, keep
        # the longest first part of it that does (halving)
        count = result.applied
        while count >= 1:
            taken = result.taken[:count]
            inp, out = replay(ev.inp, ev.out, taken)
            if self._try(inp, out, min(taken)):
                result.taken = taken
                return result
            count //= 2
        return None

    def _try(self, inp, out, first: int) -> bool:
        ev = self.ev
        before = (ev.inp, ev.out, ev.S, ev.loss)
        if ev.refresh(inp, out, first) < before[3] * IMPROVEMENT:
            self.on_better(ev)
            return True
        ev.inp, ev.out, ev.S, ev.loss = before
        return False

    # ---------------------------------------------------------------- ranked moves

    def _estimates(self, moves):
        ev = self.ev
        V = ev.sensitivity()
        C = estimates.change_vectors(ev.m, ev.inp, ev.out, ev.S, V, moves)
        self.passes += len(ev.inp) + len(moves) * 2
        ev.ranked += len(moves)
        return C, ev.residual()

    def neighbours(self) -> bool:
        """The ranked neighbourhood: single moves first, then pairs of moves from the same
        estimates (the compensating errors of the end game). True if one was taken."""
        n = len(self.ev.inp)
        moves = mv.neighbourhood(self.plan.kinds, n, min(self.plan.reach, n - 1))
        if not moves:
            return False
        C, res = self._estimates(moves)
        est = estimates.estimated_losses(res, C)
        order = np.argsort(est)[: self.plan.confirm]
        if self._confirm([moves[i] for i in order]):
            return True
        self.tick()
        return self.plan.pairs and self._pairs(moves, C, res)

    def _pairs(self, moves, C, res) -> bool:
        spans = [mv.kind_of(m).span(m) for m in moves]
        pairs = estimates.best_pairs(res, C, spans, limit=4 * self.plan.confirm)
        self.ev.ranked += len(moves) * (len(moves) - 1) // 2
        ev = self.ev
        candidates = []
        for i, j, _ in pairs:
            inp, out, _ = mv.apply(moves[i], ev.inp, ev.out)
            inp, out, _ = mv.apply(moves[j], inp, out)
            first = min(spans[i][0], spans[j][0])
            stop = max(spans[i][1], spans[j][1])
            candidates.append((inp, out, (first, stop)))
        return self._confirm_candidates(candidates)

    def _confirm(self, moves) -> bool:
        ev = self.ev
        return self._confirm_candidates([mv.apply(m, ev.inp, ev.out) for m in moves])

    def _confirm_candidates(self, candidates, chunk: int = 8) -> bool:
        """Exact losses of the candidates, best-estimated first, a few at a time: the
        first few usually hold the answer, and each costs a pass over its suffix."""
        ev = self.ev
        for start in range(0, len(candidates), chunk):
            part = candidates[start:start + chunk]
            losses = ev.candidates(part)
            best = int(np.argmin(losses))
            if losses[best] < ev.loss * IMPROVEMENT:
                inp, out, (first, _) = part[best]
                ev.refresh(inp, out, first)
                self.on_better(ev)
                return True
            self.tick()
        return False
