"""Start arrangements, in one registry of seed methods that the search, the worker, the
inject tool and the UI all read.

Seeds from the weights (pairing by trace, order by a statistic that grows with depth in
trained nets) are nearly free and, where the weights tell the order, close to the answer.
Seeds from the data (construction by insertion, front-to-back greedy) cost block passes
and assume nothing about the weights.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from solver.search import engine, moves as mv
from solver.puzzle.answer import from_permutation, to_permutation
from solver.search.pairing import structural_pairing

SEED_ROWS = 128  # rows for the seeds that look at the data


@dataclass(frozen=True)
class SeedMethod:
    name: str
    description: str
    make: Callable  # (puzzle, rng, base) -> permutation (piece ids by position)
    from_weights: bool  # needs no data passes: a fast-path seed


# ---------------------------------------------------------------- orders

def out_norm_order(puzzle, out_of_inp, ord: int = 2) -> np.ndarray:
    """inp pieces sorted by the norm of their paired out weight (Frobenius or L1)."""
    flat = puzzle.out_w.reshape(puzzle.n_blocks, -1)
    norms = np.linalg.norm(flat, axis=1) if ord == 2 else np.abs(flat).sum(axis=1)
    return np.argsort(norms[out_of_inp], kind="stable")


def update_sizes(m, out_of_inp) -> np.ndarray:
    """Norm of each block's update on the model's input rows."""
    return np.array([np.linalg.norm(engine.block(m, i, out_of_inp[i], m.x)) for i in range(len(out_of_inp))])


def update_order(puzzle, out_of_inp) -> np.ndarray:
    """Blocks sorted by the size of their update on the data."""
    m = engine.prepare(puzzle, rows=SEED_ROWS, dtype=np.float32)
    return np.argsort(update_sizes(m, out_of_inp), kind="stable")


def jacobian_order(puzzle, out_of_inp) -> np.ndarray:
    """Blocks sorted by their Jacobian gain on the data: a depth signal norms can miss."""
    m = engine.prepare(puzzle, rows=SEED_ROWS, dtype=np.float32)
    gains = []
    for i in range(puzzle.n_blocks):
        j = out_of_inp[i]
        share = ((m.x @ m.w1[i] + m.b1[i]) > 0).mean(axis=0)  # the average ReLU pattern
        gains.append(np.linalg.norm((m.w2[j].T * share) @ m.w1[i].T))
    return np.argsort(gains, kind="stable")


def insertion_order(m, blocks, out_of_inp) -> np.ndarray:
    """Construction by insertion (NEH): add blocks one at a time, each where the partial
    network fits pred best. Big blocks first: they set the skeleton."""
    seq: list[int] = []
    for b in blocks:
        arr = np.array(seq, dtype=np.int64)
        losses = engine.insertion_losses(m, arr, out_of_inp[arr], b, out_of_inp[b])
        seq.insert(int(np.argmin(losses)), int(b))
    return np.array(seq, dtype=np.int64)


def greedy_order(puzzle, out_of_inp, start_order) -> np.ndarray:
    """Front to back: each step appends the block that, with the rest following in the
    start order, fits pred best (among the next dozen candidates of the start order)."""
    m = engine.prepare(puzzle, rows=SEED_ROWS, dtype=np.float32)
    rest, chosen, x = list(start_order), [], m.x
    while rest:
        best = None
        for cand in rest[: min(len(rest), 12)]:
            seq = np.array([cand] + [b for b in rest if b != cand])
            loss = engine.loss(m, engine.run_blocks(m, seq, out_of_inp[seq], x))
            if best is None or loss < best[0]:
                best = (loss, cand)
        chosen.append(best[1])
        rest.remove(best[1])
        x = engine.step(m, best[1], out_of_inp[best[1]], x)
    return np.array(chosen)


def relocate_worst(puzzle, inp_seq, out_seq):
    """Move the block whose removal lowers the MSE most to its best other position."""
    m = engine.prepare(puzzle, rows=SEED_ROWS * 2, dtype=np.float32)
    S = engine.states(m, inp_seq, out_seq)
    k = int(np.argmin(engine.leave_one_out(m, inp_seq, out_seq, S)))
    best = (engine.loss(m, S[-1]), inp_seq, out_seq)
    for b in range(len(inp_seq)):
        if b != k:
            inp, out, _ = mv.apply(("insert", k, b), inp_seq, out_seq)
            loss = engine.loss(m, engine.run_blocks(m, inp, out, m.x))
            if loss < best[0]:
                best = (loss, inp, out)
    return best[1], best[2]


# ---------------------------------------------------------------- the registry

def _by_order(order_of):
    def make(puzzle, rng, base=None):
        pairing = structural_pairing(puzzle, with_margins=False).out_of_inp
        order = order_of(puzzle, pairing, rng)
        return to_permutation(puzzle, order, pairing[order])
    return make


def _random(puzzle, rng, base=None):
    return to_permutation(puzzle, rng.permutation(puzzle.n_blocks), rng.permutation(puzzle.n_blocks))


def _insertion(puzzle, pairing, rng):
    m = engine.prepare(puzzle, rows=SEED_ROWS, dtype=np.float32)
    return insertion_order(m, np.argsort(-update_sizes(m, pairing)), pairing)


def _loo(puzzle, rng, base=None):
    if base is None:
        base = SEEDS["structural"].make(puzzle, rng)
    inp, out = relocate_worst(puzzle, *from_permutation(puzzle, base))
    return to_permutation(puzzle, inp, out)


SEEDS: dict[str, SeedMethod] = {s.name: s for s in (
    SeedMethod("structural", "pairs by trace, order by |W_out| (Frobenius): the public-solver start",
               _by_order(lambda p, pr, rng: out_norm_order(p, pr, 2)), True),
    SeedMethod("l1", "pairs by trace, order by the L1 norm of W_out",
               _by_order(lambda p, pr, rng: out_norm_order(p, pr, 1)), True),
    SeedMethod("norm", "pairs by trace, order by the size of each block's update on the data",
               _by_order(lambda p, pr, rng: update_order(p, pr)), False),
    SeedMethod("jacobian", "pairs by trace, order by each block's Jacobian gain on the data",
               _by_order(lambda p, pr, rng: jacobian_order(p, pr)), False),
    SeedMethod("insertion", "pairs by trace, order built by inserting each block where it fits best",
               _by_order(_insertion), False),
    SeedMethod("greedy", "pairs by trace, order built front to back from the update-size order",
               _by_order(lambda p, pr, rng: greedy_order(p, pr, update_order(p, pr))), False),
    SeedMethod("loo", "a base answer with its worst block (leave-one-out) moved where it fits best",
               _loo, False),
    SeedMethod("random", "random pairing and order (diversity)", _random, True),
)}

SEED_METHODS = tuple(SEEDS)


def make_seed(puzzle, method: str, rng: np.random.Generator, base=None) -> list[int]:
    """A start permutation made by ``method`` (see SEEDS)."""
    if method not in SEEDS:
        raise ValueError(f"unknown seed method {method!r} (choose from {', '.join(SEEDS)})")
    return SEEDS[method].make(puzzle, rng, base)


def perturb(puzzle, perm, width: int, rng: np.random.Generator, n_moves: int | None = None) -> list[int]:
    """Random local moves around an elite: ``n_moves`` moves (default ``width``) of span <= width."""
    inp, out = from_permutation(puzzle, perm)
    for _ in range(n_moves if n_moves is not None else max(1, width)):
        inp, out, _ = mv.apply(mv.random_move(rng, len(inp), max(2, width)), inp, out)
    return to_permutation(puzzle, inp, out)
