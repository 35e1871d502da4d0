"""Forward passes, cached prefixes and move scoring for one arrangement (numpy only, no I/O).

An arrangement is ``inp_seq, out_seq``: the inp / out class index at each block position.
``S[k]`` is the state before block k (``S[0]`` the inputs); a move that first changes
position k needs only ``S[k]`` and the blocks from k on.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False)
class Model:
    """Weights laid out for ``x @ w`` products, and the rows a search works on."""

    w1: np.ndarray  # (N, d, h) inp weights, transposed
    b1: np.ndarray  # (N, h)
    w2: np.ndarray  # (N, h, d) out weights, transposed
    b2: np.ndarray  # (N, d)
    wl: np.ndarray  # (d, o)
    bl: np.ndarray  # (o,)
    x: np.ndarray  # (R, d)
    pred: np.ndarray  # (R, o) float64

    @property
    def n_blocks(self) -> int:
        return self.w1.shape[0]

    @property
    def n_rows(self) -> int:
        return self.x.shape[0]


def prepare(puzzle, rows=None, dtype=np.float64) -> Model:
    """Model over all rows, the first ``rows`` rows (int) or the given row indices."""
    if rows is None:
        index = slice(None)
    elif np.isscalar(rows):
        index = slice(0, int(rows))
    else:
        index = np.asarray(rows)
    c = lambda a: np.ascontiguousarray(a, dtype=dtype)  # noqa: E731
    return Model(
        w1=c(puzzle.inp_w.transpose(0, 2, 1)), b1=c(puzzle.inp_b),
        w2=c(puzzle.out_w.transpose(0, 2, 1)), b2=c(puzzle.out_b),
        wl=c(puzzle.last_w.T), bl=c(puzzle.last_b),
        x=c(puzzle.x[index]), pred=np.asarray(puzzle.pred[index], dtype=np.float64),
    )


def block(m: Model, i: int, j: int, x: np.ndarray) -> np.ndarray:
    """The residual update of block (inp i, out j) at states x."""
    return np.maximum(x @ m.w1[i] + m.b1[i], 0) @ m.w2[j] + m.b2[j]


def run_blocks(m: Model, inp_seq, out_seq, x, start=0, stop=None) -> np.ndarray:
    """Apply positions start..stop-1 of the arrangement to states x."""
    stop = len(inp_seq) if stop is None else stop
    for k in range(start, stop):
        x = x + block(m, inp_seq[k], out_seq[k], x)
    return x


def states(m: Model, inp_seq, out_seq) -> np.ndarray:
    """All intermediate states, (N+1, R, d)."""
    S = np.empty((len(inp_seq) + 1,) + m.x.shape, dtype=m.x.dtype)
    S[0] = m.x
    for k in range(len(inp_seq)):
        S[k + 1] = S[k] + block(m, inp_seq[k], out_seq[k], S[k])
    return S


def output(m: Model, final_state) -> np.ndarray:
    return final_state @ m.wl + m.bl


def loss(m: Model, final_state) -> float:
    """MSE against pred, accumulated in float64."""
    diff = output(m, final_state).astype(np.float64) - m.pred
    return float(np.mean(diff * diff))


def loss_many(m: Model, final_states) -> np.ndarray:
    """MSE of several candidates stacked as (C, R, d)."""
    diff = (final_states @ m.wl + m.bl).astype(np.float64) - m.pred
    return np.mean(diff * diff, axis=(1, 2))


def gradients(m: Model, inp_seq, out_seq, S) -> np.ndarray:
    """dMSE/dS[k] for every k (one backward pass), (N+1, R, d)."""
    diff = output(m, S[-1]) - m.pred.astype(S.dtype)
    return _backward(m, inp_seq, out_seq, S, (2.0 / diff.size) * diff @ m.wl.T)


def output_sensitivity(m: Model, inp_seq, out_seq, S) -> np.ndarray:
    """dy_r/dS[k]_r for each row and output: (o, N+1, R, d), one backward pass per output."""
    rows = S.shape[1]
    return np.stack([
        _backward(m, inp_seq, out_seq, S, np.broadcast_to(m.wl[:, c], (rows, m.wl.shape[0])))
        for c in range(m.wl.shape[1])
    ])


def _backward(m: Model, inp_seq, out_seq, S, seed) -> np.ndarray:
    n = len(inp_seq)
    G = np.empty_like(S)
    G[n] = seed
    for k in range(n - 1, -1, -1):
        i, j = inp_seq[k], out_seq[k]
        active = (S[k] @ m.w1[i] + m.b1[i]) > 0
        G[k] = G[k + 1] + ((G[k + 1] @ m.w2[j].T) * active) @ m.w1[i].T
    return G


def placement_effects(m: Model, S, V, inp_seq, out_seq, window: int | None = None) -> np.ndarray:
    """Linearised output change of moving the block now at position p to position k.

    V is output_sensitivity(...). Returns D (N, N, R*o): per row (and output),
    ``D[p, k] = V[k+1] . (f_p(S[k]) - f_k(S[k]))``, where f_p is the block now at p. Only
    |p - k| <= window is computed; the rest is 0.
    """
    n = len(inp_seq)
    window = n if window is None else window
    h, rows, d = m.w1.shape[2], S.shape[1], m.w1.shape[1]
    n_out = V.shape[0]
    w1 = m.w1[inp_seq].transpose(1, 0, 2).reshape(d, -1)  # (d, N*h): block p at columns p*h..
    b1 = m.b1[inp_seq].reshape(-1)
    w2 = m.w2[out_seq].transpose(2, 0, 1).reshape(d, -1)  # v @ w2: v . out_p per hidden unit
    b2 = m.b2[out_seq]
    D = np.zeros((n, n, rows * n_out), dtype=S.dtype)
    for k in range(n):
        lo, hi = max(0, k - window), min(n, k + window + 1)
        cols = slice(lo * h, hi * h)
        act = np.maximum(S[k] @ w1[:, cols] + b1[cols], 0)  # (R, B*h)
        now = S[k + 1] - S[k]
        for c in range(n_out):
            v = V[c, k + 1]
            eff = (act * (v @ w2[:, cols])).reshape(rows, hi - lo, h).sum(axis=2)  # (R, B)
            eff += v @ b2[lo:hi].T - np.einsum("rd,rd->r", v, now)[:, None]
            D[lo:hi, k, c * rows:(c + 1) * rows] = eff.T
    return D


def out_swap_effects(m: Model, S, V, inp_seq, out_seq, window: int | None = None) -> np.ndarray:
    """Linearised output change at position k from using the out piece now at position j.

    Returns (N, N, R*o): ``V[k+1] . (f_(inp_k, out_j)(S[k]) - f_k(S[k]))`` for
    |k - j| <= window, 0 elsewhere.
    """
    n, rows, h = len(inp_seq), S.shape[1], m.w1.shape[2]
    d, n_out = m.w1.shape[1], V.shape[0]
    window = n if window is None else window
    w2 = m.w2[out_seq].transpose(2, 0, 1).reshape(d, -1)  # (d, N*h)
    b2 = m.b2[out_seq]
    E = np.zeros((n, n, rows * n_out), dtype=S.dtype)
    for k in range(n):
        lo, hi = max(0, k - window), min(n, k + window + 1)
        act = np.maximum(S[k] @ m.w1[inp_seq[k]] + m.b1[inp_seq[k]], 0)  # (R, h)
        now = S[k + 1] - S[k]
        for c in range(n_out):
            v = V[c, k + 1]
            eff = ((v @ w2[:, lo * h:hi * h]).reshape(rows, hi - lo, h) * act[:, None, :]).sum(axis=2)
            eff += v @ b2[lo:hi].T - np.einsum("rd,rd->r", v, now)[:, None]
            E[k, lo:hi, c * rows:(c + 1) * rows] = eff.T
    return E


def insertion_losses(m: Model, inp_seq, out_seq, i: int, j: int, S=None) -> np.ndarray:
    """MSE of inserting block (inp i, out j) before each position 0..k of a k-block
    sequence (k+1 candidates), in one sweep: a candidate joins the batch where it is born."""
    k = len(inp_seq)
    if S is None:
        S = states(m, inp_seq, out_seq)
    rows, d = S.shape[1], S.shape[2]
    batch = np.empty((0, rows, d), dtype=S.dtype)
    for p in range(k + 1):
        born = S[p] + block(m, i, j, S[p])
        batch = np.concatenate([batch, born[None]])
        if p < k:
            flat = batch.reshape(-1, d)
            batch = (flat + block(m, inp_seq[p], out_seq[p], flat)).reshape(batch.shape)
    # candidate q was born at p = q, so it sits at index q
    return loss_many(m, batch)


def mse(puzzle, inp_seq, out_seq, rows=None) -> float:
    """Exact MSE of an arrangement against pred in float64 (all rows by default)."""
    m = prepare(puzzle, rows=rows, dtype=np.float64)
    return loss(m, run_blocks(m, inp_seq, out_seq, m.x))


def leave_one_out(m: Model, inp_seq, out_seq, S) -> np.ndarray:
    """MSE with block k skipped, for every k (a misplaced block often lowers it)."""
    return np.array([loss(m, run_blocks(m, inp_seq, out_seq, S[k], start=k + 1))
                     for k in range(len(inp_seq))])
