"""Local descent from one arrangement until no move helps.

Three stages, cheapest first, each confirmed by exact losses before anything is kept:
  sweeps    adjacent swaps guided by the adjoint, many per pass (solver.search.sweep)
  ranked    every move of the chosen kinds within a reach, ranked by first-order
            estimates; the best few are evaluated exactly and the best is taken
  pairs     pairs of moves on disjoint spans, ranked from the same estimates: where
            errors compensate each other, every single move is uphill
Whenever a later stage finds something, the descent starts again from the sweeps.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from solver.search import engine, estimates, moves as mv
from solver.search.evaluator import Evaluator
from solver.search.sweep import backward_sweep, forward_sweep, replay

# A pair whose swap was estimated to raise the loss this many times is left out of the
# next sweeps until something near it changes: late sweeps then look at a few places only.
FAR_UPHILL = 1.5
# Sweeps that keep taking swaps but lower the loss by less than this share are churning
# around a misplaced block that only a longer move can fix: the ranked stage takes over.
WEAK_SWEEP = 0.05
# More candidates than this are screened on a few rows first; a candidate must not be
# worse than the current arrangement on them by more than SCREEN_PASS (rows are few).
CONFIRM_WITHOUT_SCREEN = 4
SCREEN_PASS = 1.02
# A move must lower the exact loss by this factor: batched and single float32 passes
# round differently (~1e-7 relative), and a smaller bar lets the search cycle on noise.
IMPROVEMENT = 1 - 1e-6


@dataclass
class DescentPlan:
    kinds: tuple = ("swap", "insert")  # ranked neighbourhood
    reach: int = 4  # positions a ranked move may span
    confirm: int = 24  # candidates per ranked batch (screened, then the best few confirmed)
    pairs: bool = True  # try pairs of moves when single moves are all uphill
    sweeps: bool = True
    window: tuple | None = None  # (first, stop): only moves inside these positions (after a kick)
    rank_rows: int = 256  # rows the ranking estimates run on (exact losses use all)


class Descent:
    """Runs the stages on an evaluator's current arrangement. ``tick`` is called between
    steps (it may raise to stop the search); ``on_better`` sees each improvement."""

    def __init__(self, ev: Evaluator, plan: DescentPlan, tick=lambda: None, on_better=lambda ev: None):
        self.ev, self.plan, self.tick, self.on_better = ev, plan, tick, on_better
        self.passes = 0  # block passes spent on sweeps and estimates

    def run(self, floor: float = 0.0) -> bool:
        """Descend until no stage helps or the loss is below ``floor``; True if it moved.

        Sweeps run first, and again after a ranked step only while they keep paying: far
        from the answer, improving moves come one at a time from the ranked stage, and
        sweeps that fail there only cost passes.
        """
        start = self.ev.loss
        sweeps_pay, rounds, last_look = self.plan.sweeps, 0, False
        while self.ev.loss > floor:
            self.tick()
            if sweeps_pay or (self.plan.sweeps and rounds % 8 == 0):
                sweeps_pay = self.sweeps(floor)
            if self.ev.loss <= floor:
                break
            self.tick()
            rounds += 1
            if self.neighbours():
                last_look = False
            elif last_look or sweeps_pay or not self.plan.sweeps:
                break
            else:
                sweeps_pay = last_look = True  # sweeps have a last look before giving up
        return self.ev.loss < start

    # ---------------------------------------------------------------- sweeps

    def sweeps(self, floor: float) -> bool:
        """Alternate backward and forward sweeps until two in a row fail or churn; True if
        any helped. Pairs far uphill are skipped while nothing near them changes; a failure with
        pairs skipped is checked by a sweep over all of them before it counts."""
        moved, failures, backward = False, 0, True
        outside = self._outside()
        skip = outside.copy()
        while failures < 2 and self.ev.loss > floor:
            self.tick()
            before = self.ev.loss
            result = self._sweep(backward, skip)
            if result is not None:
                moved = True
                failures = failures + 1 if self.ev.loss > before * (1 - WEAK_SWEEP) else 0
                skip = self._skip_next(result, skip) | outside
            elif (skip & ~outside).any():
                skip = outside.copy()
            else:
                failures += 1
            backward = not backward
        return moved

    def _outside(self) -> np.ndarray:
        """Pairs (a, a+1) the plan's window leaves alone."""
        pairs = max(len(self.ev.inp) - 1, 0)
        if self.plan.window is None:
            return np.zeros(pairs, dtype=bool)
        first, stop = self.plan.window
        a = np.arange(pairs)
        return (a < first) | (a + 2 > stop)

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
        """Output changes of the moves on the ranking rows, and the residual there."""
        ev = self.ev
        m = engine.head(ev.m, self.plan.rank_rows)
        S = ev.S[:, :m.n_rows]
        V = engine.output_sensitivity(m, ev.inp, ev.out, S)
        C = estimates.change_vectors(m, ev.inp, ev.out, S, V, moves)
        self.passes += (len(ev.inp) + len(moves) * 2) * m.n_rows / ev.n_rows
        ev.ranked += len(moves)
        return C, self._rank_residual()

    def _rank_residual(self):
        rows = min(self.plan.rank_rows, self.ev.n_rows)
        return engine.residual(engine.head(self.ev.m, rows), self.ev.S[-1, :rows]).T.reshape(-1)

    def neighbours(self) -> bool:
        """The ranked neighbourhood, used for several moves per ranking.

        One ranking gives each move's output change C_i. Single moves and pairs of moves
        on disjoint spans (the compensating errors of the end game) are proposed by their
        estimated loss; the best few are evaluated exactly and the best improving one is
        taken. Then the residual is the new exact one, moves that touch what changed are
        dropped, and the rest are ranked again from the same C (their changes barely
        move), until proposals keep failing. True if any move was taken.
        """
        n = len(self.ev.inp)
        moves = mv.neighbourhood(self.plan.kinds, n, min(self.plan.reach, n - 1))
        if self.plan.window is not None:
            first, stop = self.plan.window
            moves = [m for m in moves if first <= mv.kind_of(m).span(m)[0] and mv.kind_of(m).span(m)[1] <= stop]
        if not moves:
            return False
        C, res = self._estimates(moves)
        ranking = _Ranking(moves, C, self.plan.pairs)
        moved, misses = False, 0
        while misses < 2:
            self.tick()
            proposals = ranking.proposals(res, self.plan.confirm)
            if not proposals:
                break
            before = self.ev.inp.copy(), self.ev.out.copy()
            candidates = [self._candidate(group) for group in proposals]
            self.ev.ranked += ranking.last_count
            if self._confirm_candidates(candidates):
                moved, misses = True, 0
                changed = np.flatnonzero((self.ev.inp != before[0]) | (self.ev.out != before[1]))
                ranking.drop_touching(changed)
                res = self._rank_residual()
            else:
                misses += 1
                ranking.drop(proposals)
        return moved

    def _candidate(self, group):
        """(inp, out, (first, stop)) for a tuple of moves on disjoint spans."""
        inp, out = self.ev.inp, self.ev.out
        first, stop = len(inp), 0
        for move in group:
            inp, out, (lo, hi) = mv.apply(move, inp, out)
            first, stop = min(first, lo), max(stop, hi)
        return inp, out, (first, stop)

    def _confirm_candidates(self, candidates) -> bool:
        """Exact losses of the candidates; the best improving one is taken, then the other
        improving ones that touch other positions, as long as the loss keeps falling.
        Many candidates are screened on a few rows first; only the promising go on."""
        if len(candidates) > CONFIRM_WITHOUT_SCREEN and self.ev.n_rows > self.ev.screen_rows:
            screened, now = self.ev.screen(candidates)
            keep = [i for i in np.argsort(screened)[:CONFIRM_WITHOUT_SCREEN] if screened[i] < now * SCREEN_PASS]
            candidates = [candidates[i] for i in keep]
            if not candidates:
                return False
        losses = self.ev.candidates(candidates)
        better = [candidates[i] for i in np.argsort(losses) if losses[i] < self.ev.loss * IMPROVEMENT]
        if better:
            self._take(better)
        return bool(better)

    def _take(self, better):
        """Apply the first candidate, then each later one whose changed positions are
        untouched so far, keeping it only if the exact loss goes on falling."""
        ev = self.ev
        inp, out, (first, stop) = better[0]
        ev.refresh(inp, out, first)
        taken = [(first, stop)]
        for cand_inp, cand_out, (lo, hi) in better[1:]:
            if any(lo < t_hi and t_lo < hi for t_lo, t_hi in taken):
                continue
            merged_inp, merged_out = ev.inp.copy(), ev.out.copy()
            merged_inp[lo:hi], merged_out[lo:hi] = cand_inp[lo:hi], cand_out[lo:hi]
            before = (ev.inp, ev.out, ev.S, ev.loss)
            if ev.refresh(merged_inp, merged_out, lo) < before[3] * IMPROVEMENT:
                taken.append((lo, hi))
            else:
                ev.inp, ev.out, ev.S, ev.loss = before
        self.on_better(ev)


class _Ranking:
    """Estimated losses of single moves and of pairs of moves, from one set of output
    changes C (moves x rows), re-ranked against a new residual at each call."""

    def __init__(self, moves, C, pairs: bool):
        self.moves, self.C = moves, C
        self.spans = np.array([mv.kind_of(m).span(m) for m in moves])
        self.alive = np.ones(len(moves), dtype=bool)
        self.gram = C @ C.T if pairs and len(moves) > 1 else None
        self.square = np.einsum("mq,mq->m", C, C)
        lo, hi = self.spans[:, 0], self.spans[:, 1]
        self.apart = (hi[:, None] <= lo[None, :]) | (hi[None, :] <= lo[:, None])
        self.dead_pairs = np.zeros((len(moves), len(moves)), dtype=bool) if self.gram is not None else None
        self.last_count = 0

    def proposals(self, res, count: int):
        """The best-estimated singles and pairs (as tuples of moves), best first, that
        promise a lower loss than now."""
        lin = 2.0 * (self.C @ res) + self.square
        single = np.where(self.alive, lin, np.inf)
        found = [(single[i], (i,)) for i in np.argsort(single)[:count] if single[i] < 0]
        self.last_count = int(self.alive.sum())
        if self.gram is not None:
            both = self.alive[:, None] & self.alive[None, :] & self.apart & ~self.dead_pairs
            pair = np.where(np.triu(both, 1), lin[:, None] + lin[None, :] + 2.0 * self.gram, np.inf)
            flat = np.argsort(pair, axis=None)[:count]
            i, j = np.unravel_index(flat, pair.shape)
            found += [(pair[a, b], (int(a), int(b))) for a, b in zip(i, j) if pair[a, b] < 0]
            self.last_count += int(both.sum()) // 2
        found.sort(key=lambda f: f[0])
        self._last = [idx for _, idx in found[:count]]
        return [tuple(self.moves[k] for k in idx) for idx in self._last]

    def drop(self, proposals):
        """Forget what was just tried without success."""
        for idx in self._last:
            if len(idx) == 1:
                self.alive[idx[0]] = False
            else:
                self.dead_pairs[idx[0], idx[1]] = self.dead_pairs[idx[1], idx[0]] = True

    def drop_touching(self, positions):
        """Forget the moves whose span reaches a changed position: their C is stale."""
        if len(positions):
            lo, hi = self.spans[:, 0], self.spans[:, 1]
            near = (lo[:, None] <= positions[None, :] + 1) & (hi[:, None] >= positions[None, :])
            self.alive &= ~near.any(axis=1)
