"""Local moves on an arrangement and their first-order estimates (pure numpy).

A move is a tuple ``(kind, a, b[, c])`` over block positions:
  swap a b      exchange the blocks at a and b (adjacent when b = a + 1)
  insert a b    take the block at a out and put it back at b (or-opt)
  reverse a b   reverse positions a..b
  pair a b      exchange the out pieces of the blocks at a and b (re-pairing)
  cycle a b c   rotate three blocks: a's block to b, b's to c, c's to a
  double a b    two adjacent swaps, (a, a+1) and (b, b+1): errors that compensate each
                other leave every single swap uphill
"""
from __future__ import annotations

import numpy as np

KINDS = ("swap", "insert", "reverse", "pair", "cycle", "double")


def apply(move, inp_seq, out_seq):
    """Return new (inp_seq, out_seq) and the span (first, stop) of positions it changes."""
    kind, a, b = move[0], move[1], move[2]
    inp, out = inp_seq.copy(), out_seq.copy()
    if kind == "swap":
        inp[[a, b]] = inp[[b, a]]
        out[[a, b]] = out[[b, a]]
        return inp, out, (min(a, b), max(a, b) + 1)
    if kind == "pair":
        out[[a, b]] = out[[b, a]]
        return inp, out, (min(a, b), max(a, b) + 1)
    if kind == "insert":
        order = list(range(len(inp)))
        order.insert(b, order.pop(a))
        return inp[order], out[order], (min(a, b), max(a, b) + 1)
    if kind == "reverse":
        lo, hi = min(a, b), max(a, b)
        inp[lo:hi + 1] = inp[lo:hi + 1][::-1]
        out[lo:hi + 1] = out[lo:hi + 1][::-1]
        return inp, out, (lo, hi + 1)
    if kind == "double":
        inp, out, _ = apply(("swap", a, a + 1), inp, out)
        inp, out, _ = apply(("swap", b, b + 1), inp, out)
        return inp, out, (min(a, b), max(a, b) + 2)
    if kind == "cycle":
        c = move[3]
        src = [a, b, c]
        dst = [b, c, a]
        inp[dst], out[dst] = inp_seq[src], out_seq[src]
        return inp, out, (min(src), max(src) + 1)
    raise ValueError(f"unknown move {move!r}")


def random_move(rng: np.random.Generator, n: int, width: int, allow_pair: bool = True):
    """A random move whose positions lie within ``width`` of each other."""
    width = max(1, min(width, n - 1))
    kinds = ["swap", "swap", "insert", "insert", "reverse", "cycle"] + (["pair", "pair"] if allow_pair else [])
    kind = kinds[rng.integers(len(kinds))]
    a = int(rng.integers(n))
    if kind == "cycle" and n >= 3:
        span = min(n - 1, max(2, width))
        lo = int(rng.integers(0, n - span)) if n - span > 0 else 0
        a, b, c = sorted(rng.choice(np.arange(lo, lo + span + 1), size=3, replace=False).tolist())
        return ("cycle", a, b, c) if rng.random() < 0.5 else ("cycle", a, c, b)
    if kind == "cycle":
        kind = "swap"
    off = int(rng.integers(1, width + 1)) * (1 if rng.random() < 0.5 else -1)
    b = a + off
    if not 0 <= b < n:
        b = a - off
    b = int(np.clip(b, 0, n - 1))
    if b == a:
        b = (a + 1) % n
    return (kind, a, b)


def rank_moves(D: np.ndarray, residual: np.ndarray, E: np.ndarray | None, window: int,
               with_cycles: bool = False):
    """Gauss-Newton estimates of the MSE after every move within ``window``, best first.

    D[p, k]: linearised per-row output change from putting the block now at p at position
    k (zero on the diagonal); E[k, m]: the same for giving position k the out piece now at
    m (None: no pairing moves); residual: output minus pred per row. A move's changes add
    up, and its estimated MSE is ``mean((residual + change)**2)``: unlike a plain gradient
    step this never promises less than zero, so large moves are not over-rated.
    Returns (estimates, moves) sorted by estimate.
    """
    n = D.shape[0]
    deltas, moves = [], []
    a_idx, b_idx = np.triu_indices(n, 1)
    keep = (b_idx - a_idx) <= window
    a_idx, b_idx = a_idx[keep], b_idx[keep]
    deltas.append(D[b_idx, a_idx] + D[a_idx, b_idx])
    moves += [("swap", int(a), int(b)) for a, b in zip(a_idx, b_idx)]
    # insert a -> b (a < b): blocks a+1..b shift one left; b -> a: blocks a..b-1 shift right
    zero = np.zeros((1, D.shape[2]), dtype=D.dtype)
    left = np.concatenate([zero, np.cumsum(D[np.arange(1, n), np.arange(n - 1)], axis=0)])
    right = np.concatenate([zero, np.cumsum(D[np.arange(n - 1), np.arange(1, n)], axis=0)])
    multi = (b_idx - a_idx) > 1  # distance-1 inserts are swaps
    am, bm = a_idx[multi], b_idx[multi]
    deltas.append(left[bm] - left[am] + D[am, bm])
    deltas.append(right[bm] - right[am] + D[bm, am])
    moves += [("insert", int(a), int(b)) for a, b in zip(am, bm)]
    moves += [("insert", int(b), int(a)) for a, b in zip(am, bm)]
    if E is not None:
        deltas.append(E[a_idx, b_idx] + E[b_idx, a_idx])
        moves += [("pair", int(a), int(b)) for a, b in zip(a_idx, b_idx)]
    if with_cycles:
        cyc_delta, cyc = _cycle_deltas(D, min(window, 6))
        deltas.append(cyc_delta)
        moves += cyc
    delta = np.concatenate(deltas)
    est = np.mean((residual[None, :] + delta) ** 2, axis=1)
    if with_cycles and n > 3:
        dbl_est, dbl = _double_swap_estimates(D, residual)
        est = np.concatenate([est, dbl_est])
        moves += dbl
    order = np.argsort(est, kind="stable")
    return est[order], [moves[i] for i in order]


def _double_swap_estimates(D: np.ndarray, residual: np.ndarray):
    """All pairs of disjoint adjacent swaps, from one Gram matrix of the single swaps."""
    n = D.shape[0]
    a = np.arange(n - 1)
    single = D[a + 1, a] + D[a, a + 1]  # (n-1, Q)
    q = residual.shape[0]
    lin = 2 * single @ residual / q + np.einsum("aq,aq->a", single, single) / q
    gram = 2 * single @ single.T / q
    i, j = np.triu_indices(n - 1, 2)
    est = residual @ residual / q + lin[i] + lin[j] + gram[i, j]
    return est, [("double", int(x), int(y)) for x, y in zip(i, j)]


def _cycle_deltas(D: np.ndarray, window: int):
    n = D.shape[0]
    trip = [(a, b, c) for a in range(n) for b in range(a + 1, min(n, a + window + 1))
            for c in range(b + 1, min(n, a + window + 1))]
    if not trip:
        return np.zeros((0, D.shape[2]), dtype=D.dtype), []
    a, b, c = (np.array(t) for t in zip(*trip))
    fwd = D[a, b] + D[b, c] + D[c, a]
    bwd = D[a, c] + D[c, b] + D[b, a]
    moves = [("cycle", int(x), int(y), int(z)) for x, y, z in trip]
    moves += [("cycle", int(x), int(z), int(y)) for x, y, z in trip]
    return np.concatenate([fwd, bwd]), moves
