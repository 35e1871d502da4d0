"""Crossover of two arrangements: keep the block positions where they agree, rearrange
only where they differ.

Two elites that agree on a position (the same inp piece there) are evidence that it is
right there; where they disagree, the child takes the remaining blocks in the order the
second parent holds them. The pairs are the first parent's, so the child is always a
valid arrangement, whatever the parents' pairings. focus() then searches the child at
the disagreement positions alone (the worker's knob focus_seconds; off by default).
"""
from __future__ import annotations

import numpy as np

from solver.puzzle.answer import from_permutation, to_permutation


def crossover(puzzle, first, second) -> tuple[list[int], list[int]]:
    """(child permutation, 1-based block positions where the parents disagree)."""
    inp_a, out_a = from_permutation(puzzle, first)
    inp_b, _ = from_permutation(puzzle, second)
    agree = inp_a == inp_b
    out_of_inp = dict(zip(inp_a.tolist(), out_a.tolist()))
    loose = set(inp_a[~agree].tolist())
    # The loose blocks, in the order the second parent places them.
    order = [int(i) for i in inp_b if int(i) in loose]
    child_inp = inp_a.copy()
    child_inp[~agree] = order
    child_out = np.array([out_of_inp[int(i)] for i in child_inp])
    disagree = [int(p) + 1 for p in np.flatnonzero(~agree)]
    return to_permutation(puzzle, child_inp, child_out), disagree


def focus(puzzle, child, loose, time_limit: float, should_stop=lambda: False,
          rows: int | None = 1024) -> tuple[list[int], float, float, int]:
    """Best-improvement descent over swaps and out-piece exchanges among the LOOSE
    (1-based) positions only, every agreed position kept: the elites' agreement is taken
    as evidence. (permutation, start loss, loss, moves made) on a ROWS subsample."""
    import itertools
    import time

    from solver.search import engine, moves as mv

    t0 = time.perf_counter()
    inp, out = from_permutation(puzzle, child)
    rows = None if rows is None or rows >= puzzle.n_rows else rows
    m = engine.prepare(puzzle, rows=rows, dtype=np.float64)
    S = engine.states(m, inp, out)
    loss = start = engine.loss(m, S[-1])
    free = sorted(p - 1 for p in loose)
    candidates = [(kind, a, b) for a, b in itertools.combinations(free, 2) for kind in ("swap", "pair")]
    made = 0
    while candidates and time.perf_counter() - t0 < time_limit and not should_stop():
        best = (loss, None)
        for move in candidates:
            new_inp, new_out, (first, _) = mv.apply(move, inp, out)
            value = engine.loss(m, engine.run_blocks(m, new_inp, new_out, S[first], start=first))
            if value < best[0] * (1 - 1e-12):
                best = (value, (new_inp, new_out))
            if time.perf_counter() - t0 > time_limit or should_stop():
                break
        if best[1] is None:
            break
        loss, (inp, out) = best
        S, made = engine.states(m, inp, out), made + 1
    return to_permutation(puzzle, inp, out), start, loss, made
