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
    n = len(inp_seq)
    G = np.empty_like(S)
    diff = output(m, S[n]) - m.pred.astype(S.dtype)
    G[n] = (2.0 / diff.size) * diff @ m.wl.T
    for k in range(n - 1, -1, -1):
        i, j = inp_seq[k], out_seq[k]
        active = (S[k] @ m.w1[i] + m.b1[i]) > 0
        G[k] = G[k + 1] + ((G[k + 1] @ m.w2[j].T) * active) @ m.w1[i].T
    return G


def placement_scores(m: Model, S, G, inp_seq, out_seq, blocks=None) -> np.ndarray:
    """First-order loss change of putting block b at position k instead of what is there.

    ``blocks`` lists (inp, out) pairs (default: the current blocks in position order).
    Returns (B, N): ``<G[k+1], f_b(S[k]) - f_current(S[k])>`` summed over rows.
    """
    n = len(inp_seq)
    if blocks is None:
        blocks = list(zip(inp_seq, out_seq))
    bi = np.array([b[0] for b in blocks])
    bj = np.array([b[1] for b in blocks])
    n_b, h, rows = len(blocks), m.w1.shape[2], S.shape[1]
    w1 = m.w1[bi].transpose(1, 0, 2).reshape(m.w1.shape[1], -1)  # (d, B*h)
    b1 = m.b1[bi].reshape(-1)
    w2 = m.w2[bj].transpose(2, 0, 1).reshape(m.w2.shape[2], -1)  # (d, B*h): G @ w2 = G . out
    scores = np.empty((n_b, n))
    for k in range(n):
        act = np.maximum(S[k] @ w1 + b1, 0)
        proj = G[k + 1] @ w2
        scores[:, k] = (act * proj).reshape(rows, n_b, h).sum(axis=(0, 2))
        scores[:, k] += m.b2[bj] @ G[k + 1].sum(0)
    current = np.einsum("krd,krd->k", G[1:], S[1:] - S[:-1])
    return scores - current[None, :]


def mse(puzzle, inp_seq, out_seq, rows=None) -> float:
    """Exact MSE of an arrangement against pred in float64 (all rows by default)."""
    m = prepare(puzzle, rows=rows, dtype=np.float64)
    return loss(m, run_blocks(m, inp_seq, out_seq, m.x))


def forward_states(puzzle, inp_seq, out_seq, rows=None) -> np.ndarray:
    m = prepare(puzzle, rows=rows, dtype=np.float64)
    return states(m, inp_seq, out_seq)


def network_output(puzzle, final_state) -> np.ndarray:
    return final_state @ puzzle.last_w.T.astype(np.float64) + puzzle.last_b


def block_update(puzzle, inp_idx, out_idx, x) -> np.ndarray:
    m = prepare(puzzle, rows=0, dtype=np.float64)
    return block(m, inp_idx, out_idx, np.asarray(x, dtype=np.float64))


def leave_one_out_mse(puzzle, inp_seq, out_seq, rows=None) -> np.ndarray:
    """MSE with block k skipped, for every k (a misplaced block often lowers it)."""
    m = prepare(puzzle, rows=rows, dtype=np.float64)
    S = states(m, inp_seq, out_seq)
    n = len(inp_seq)
    out = np.empty(n)
    for k in range(n):
        out[k] = loss(m, run_blocks(m, inp_seq, out_seq, S[k], start=k + 1))
    return out
