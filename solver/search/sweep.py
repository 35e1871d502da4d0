"""Adjacent-swap sweeps guided by the adjoint: the fast path's descent (numpy only).

A sweep walks the positions once. At each position the swap with the next block is
computed exactly on the state before it (two block passes), and its effect on the output
is carried the rest of the way by the sensitivity of the suffix (first order). A swap that
the estimate says lowers the MSE is applied at once, so one sweep can carry a block many
positions: toward the input in a backward sweep, toward the output in a forward one.
Estimates can be wrong; the caller confirms a sweep with one exact forward pass.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from solver.search import engine
@dataclass
class SweepResult:
    inp: np.ndarray
    out: np.ndarray
    taken: list  # positions a of the swaps (a, a+1) applied, in the order taken
    passes: int  # block passes spent (forward, backward and local)
    uphill: np.ndarray  # per pair a: estimated loss / loss before, nan where not looked at

    @property
    def applied(self) -> int:
        return len(self.taken)


class _Sweep:
    """What a sweep carries along: the arrangement as it now stands, the estimated
    residual, the swaps taken and what each pair looked like."""

    def __init__(self, m, inp, out, res):
        self.m, self.inp, self.out, self.res = m, inp.copy(), out.copy(), res.copy()
        self.current = engine.estimated_loss(self.res, 0.0)
        self.taken: list[int] = []
        self.passes = 0
        self.uphill = np.full(max(len(inp) - 1, 0), np.nan)

    def judge(self, S, a: int, v, kept) -> bool:
        """Swap the pair (a, a+1) if its exact local effect, carried to the output by v
        (dy/dS[a+2]), lowers the estimated loss; ``kept`` is S[a+2] without the swap."""
        m, inp, out = self.m, self.inp, self.out
        z = engine.step(m, inp[a], out[a], engine.step(m, inp[a + 1], out[a + 1], S[a]))
        change = engine.output_change(v, z - kept)
        estimate = engine.estimated_loss(self.res, change)
        self.uphill[a] = estimate / max(self.current, 1e-300)
        self.passes += 2
        if estimate >= self.current:
            return False
        inp[[a, a + 1]] = inp[[a + 1, a]]
        out[[a, a + 1]] = out[[a + 1, a]]
        S[a + 1] = engine.step(m, inp[a], out[a], S[a])
        S[a + 2] = z
        self.res += change
        self.current = estimate
        self.taken.append(a)
        self.passes += 1
        return True

    def result(self) -> SweepResult:
        return SweepResult(self.inp, self.out, self.taken, self.passes, self.uphill)


def replay(inp, out, taken):
    """The arrangement after the given swaps, in order (a sweep cut short)."""
    inp, out = inp.copy(), out.copy()
    for a in taken:
        inp[[a, a + 1]] = inp[[a + 1, a]]
        out[[a, a + 1]] = out[[a + 1, a]]
    return inp, out


def backward_sweep(m, inp, out, S, res, skip=None) -> SweepResult:
    """From the output end to the input end.

    Swaps behind the current position never change the states before it, so every swap
    is judged on an exact input state; the sensitivity is carried back through the
    blocks as they now stand. S is updated up to the pair a swap lands on; the states
    after ``first + 2`` are stale when the sweep returns. Pairs marked in ``skip`` are
    not looked at (their swap was far uphill last time).
    """
    sweep = _Sweep(m, inp, out, res)
    v = np.ascontiguousarray(np.broadcast_to(m.wl.T[:, None, :], (m.wl.shape[1],) + S.shape[1:]))
    for k in range(len(inp) - 1, -1, -1):
        # v is dy/dS[k+1], where the pair (k-1, k) ends
        if k >= 1 and not (skip is not None and skip[k - 1]):
            sweep.judge(S, k - 1, v, S[k + 1])
        v = engine.back_step(m, sweep.inp[k], sweep.out[k], S[k], v)
        sweep.passes += 1
    return sweep.result()


def forward_sweep(m, inp, out, S, V, res, skip=None) -> SweepResult:
    """From the input end to the output end, with sensitivities V of an earlier backward
    pass (right for the blocks after each position, which the sweep has not touched yet).

    The states are advanced exactly as the sweep goes, so S is exact on return.
    """
    sweep = _Sweep(m, inp, out, res)
    S[1] = engine.step(m, sweep.inp[0], sweep.out[0], S[0])
    for a in range(len(inp) - 1):
        kept = engine.step(m, sweep.inp[a + 1], sweep.out[a + 1], S[a + 1])
        sweep.passes += 1
        just_moved = sweep.taken and sweep.taken[-1] == a - 1  # a block may bubble on
        if (skip is not None and skip[a] and not just_moved) or not sweep.judge(S, a, V[:, a + 2], kept):
            S[a + 2] = kept
    return sweep.result()
