"""The move kinds of the search, in one registry (pure numpy).

A move is a tuple ``(kind, a, b[, c])`` over block positions. Every kind says how to
apply it, which span of positions it changes (the prefix before the span keeps its
cached states; the suffix after it sees a changed input), which moves it has within a
reach, and how to draw one at random. The search, the surgery tool and the UI all read
this registry.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np


@dataclass(frozen=True)
class MoveKind:
    name: str
    description: str
    reorders: Callable  # (move, inp, out) -> (inp, out): the arrangement after the move
    span: Callable  # move -> (first, stop): the positions it changes
    neighbourhood: Callable  # (n, reach) -> list of moves within reach
    sample: Callable  # (rng, n, width) -> a random move of span <= width + 1
    repairs: bool = False  # changes which out piece serves which inp piece


def _swap(move, inp, out):
    _, a, b = move[:3]
    inp, out = inp.copy(), out.copy()
    inp[[a, b]] = inp[[b, a]]
    out[[a, b]] = out[[b, a]]
    return inp, out


def _pair(move, inp, out):
    _, a, b = move[:3]
    out = out.copy()
    out[[a, b]] = out[[b, a]]
    return inp.copy(), out


def _insert(move, inp, out):
    _, a, b = move[:3]
    order = list(range(len(inp)))
    order.insert(b, order.pop(a))
    return inp[order], out[order]


def _reverse(move, inp, out):
    lo, hi = sorted(move[1:3])
    inp, out = inp.copy(), out.copy()
    inp[lo:hi + 1] = inp[lo:hi + 1][::-1]
    out[lo:hi + 1] = out[lo:hi + 1][::-1]
    return inp, out


def _cycle(move, inp, out):
    src = list(move[1:4])
    dst = src[1:] + src[:1]
    new_inp, new_out = inp.copy(), out.copy()
    new_inp[dst], new_out[dst] = inp[src], out[src]
    return new_inp, new_out


def _double(move, inp, out):
    _, a, b = move[:3]
    inp, out = _swap(("swap", a, a + 1), inp, out)
    return _swap(("swap", b, b + 1), inp, out)


def _span_ends(move):
    pos = move[1:]
    return min(pos), max(pos) + 1


def _double_span(move):
    return min(move[1], move[2]), max(move[1], move[2]) + 2


def _pairs_within(n, reach):
    return [(a, b) for a in range(n) for b in range(a + 1, min(n, a + reach + 1))]


def _swap_moves(n, reach):
    return [("swap", a, b) for a, b in _pairs_within(n, reach)]


def _pair_moves(n, reach):
    return [("pair", a, b) for a, b in _pairs_within(n, reach)]


def _insert_moves(n, reach):
    far = [(a, b) for a, b in _pairs_within(n, reach) if b - a > 1]  # distance 1 is a swap
    return [("insert", a, b) for a, b in far] + [("insert", b, a) for a, b in far]


def _reverse_moves(n, reach):
    return [("reverse", a, b) for a, b in _pairs_within(n, reach) if b - a > 1]


def _cycle_moves(n, reach):
    reach = min(reach, 6)
    found = []
    for a in range(n):
        for b in range(a + 1, min(n, a + reach + 1)):
            for c in range(b + 1, min(n, a + reach + 1)):
                found += [("cycle", a, b, c), ("cycle", a, c, b)]
    return found


def _double_moves(n, reach):
    return [("double", a, b) for a in range(n - 1) for b in range(a + 2, min(n - 1, a + reach + 1))]


def _two_positions(rng, n, width):
    width = max(1, min(width, n - 1))
    a = int(rng.integers(n))
    off = int(rng.integers(1, width + 1)) * (1 if rng.random() < 0.5 else -1)
    b = a + off if 0 <= a + off < n else a - off
    return a, int(np.clip(b, 0, n - 1))


def _sample_pairwise(kind):
    def sample(rng, n, width):
        a, b = _two_positions(rng, n, width)
        if kind in ("swap", "pair", "reverse"):
            a, b = min(a, b), max(a, b)
        return (kind, a, b)
    return sample


def _sample_cycle(rng, n, width):
    span = max(2, min(width, n - 1))
    lo = int(rng.integers(0, n - span)) if n - span > 0 else 0
    a, b, c = sorted(rng.choice(np.arange(lo, min(n, lo + span + 1)), size=3, replace=False).tolist())
    return ("cycle", a, b, c) if rng.random() < 0.5 else ("cycle", a, c, b)


def _sample_double(rng, n, width):
    a = int(rng.integers(0, n - 3))
    b = int(rng.integers(a + 2, min(n - 1, a + 2 + max(1, width))))
    return ("double", a, b)


KINDS: dict[str, MoveKind] = {k.name: k for k in (
    MoveKind("swap", "exchange the blocks at two positions (adjacent: most of the work)",
             _swap, _span_ends, _swap_moves, _sample_pairwise("swap")),
    MoveKind("insert", "take one block out and put it back elsewhere (or-opt)",
             _insert, _span_ends, _insert_moves, _sample_pairwise("insert")),
    MoveKind("reverse", "reverse the blocks between two positions",
             _reverse, _span_ends, _reverse_moves, _sample_pairwise("reverse")),
    MoveKind("cycle", "rotate three blocks (the end game, where every single swap is uphill)",
             _cycle, _span_ends, _cycle_moves, _sample_cycle),
    MoveKind("double", "two adjacent swaps at once (errors that compensate each other)",
             _double, _double_span, _double_moves, _sample_double),
    MoveKind("pair", "exchange the out pieces of two blocks (re-pairing)",
             _pair, _span_ends, _pair_moves, _sample_pairwise("pair"), repairs=True),
)}


def kind_of(move) -> MoveKind:
    try:
        return KINDS[move[0]]
    except KeyError:
        raise ValueError(f"unknown move {move!r} (kinds: {', '.join(KINDS)})") from None


def apply(move, inp_seq, out_seq):
    """Return new (inp_seq, out_seq) and the span (first, stop) of positions it changes."""
    kind = kind_of(move)
    inp, out = kind.reorders(move, np.asarray(inp_seq), np.asarray(out_seq))
    return inp, out, kind.span(move)


def neighbourhood(kinds, n: int, reach: int) -> list:
    """Every move of the given kinds whose positions lie within ``reach`` of each other."""
    return [m for k in kinds for m in KINDS[k].neighbourhood(n, reach)]


def random_move(rng: np.random.Generator, n: int, width: int, kinds=None):
    """A random move whose positions lie within ``width`` of each other."""
    if kinds is None:
        kinds = ("swap", "swap", "insert", "insert", "reverse", "cycle", "pair", "pair")
    kinds = [k for k in kinds if not (k == "cycle" and n < 3) and not (k == "double" and n < 4)] or ["swap"]
    return KINDS[kinds[int(rng.integers(len(kinds)))]].sample(rng, n, width)
