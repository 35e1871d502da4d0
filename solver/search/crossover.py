"""Crossover of two arrangements: keep the block positions where they agree, rearrange
only where they differ.

Two elites that agree on a position (the same inp piece there) are evidence that it is
right there; where they disagree, the child takes the remaining blocks in the order the
second parent holds them. The pairs are the first parent's, so the child is always a
valid arrangement, whatever the parents' pairings.
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
