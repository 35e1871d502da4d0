"""Forward passes, cached prefixes and sensitivities for one arrangement (numpy only, no I/O).

An arrangement is ``inp_seq, out_seq``: the inp / out class index at each block position.
``S[k]`` is the state before block k (``S[0]`` the inputs); a move that first changes
position k needs only ``S[k]`` and the blocks from k on. ``V[c, k]`` is the derivative
of output c with respect to ``S[k]``, row by row: it carries a change made at position k
to the output to first order (the adjoint).
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
    target: np.ndarray  # (R, o) pred in the model's dtype, for residuals

    @property
    def n_blocks(self) -> int:
        return self.w1.shape[0]

    @property
    def n_rows(self) -> int:
        return self.x.shape[0]

    @property
    def pred_var(self) -> float:
        return float(np.var(self.pred)) or 1.0


def head(m: Model, rows: int) -> Model:
    """The same model on its first ``rows`` rows (views, no copies)."""
    if rows >= m.n_rows:
        return m
    return Model(m.w1, m.b1, m.w2, m.b2, m.wl, m.bl, m.x[:rows], m.pred[:rows], m.target[:rows])


def prepare(puzzle, rows=None, dtype=np.float64) -> Model:
    """Model over all rows, the first ``rows`` rows (int) or the given row indices."""
    if rows is None:
        index = slice(None)
    elif np.isscalar(rows):
        index = slice(0, int(rows))
    else:
        index = np.asarray(rows)
    c = lambda a: np.ascontiguousarray(a, dtype=dtype)  # noqa: E731
    pred = np.asarray(puzzle.pred[index], dtype=np.float64)
    return Model(
        w1=c(puzzle.inp_w.transpose(0, 2, 1)), b1=c(puzzle.inp_b),
        w2=c(puzzle.out_w.transpose(0, 2, 1)), b2=c(puzzle.out_b),
        wl=c(puzzle.last_w.T), bl=c(puzzle.last_b),
        x=c(puzzle.x[index]), pred=pred, target=c(pred),
    )


def block(m: Model, i: int, j: int, x: np.ndarray) -> np.ndarray:
    """The residual update of block (inp i, out j) at states x."""
    hidden = x @ m.w1[i]
    hidden += m.b1[i]
    np.maximum(hidden, 0, out=hidden)
    update = hidden @ m.w2[j]
    update += m.b2[j]
    return update


def step(m: Model, i: int, j: int, x: np.ndarray) -> np.ndarray:
    """The state after block (inp i, out j): x plus its update."""
    y = block(m, i, j, x)
    y += x
    return y


def steps(m: Model, inp, out, x: np.ndarray) -> np.ndarray:
    """One block per stacked state set: x (B, R, d), block b applied to x[b]."""
    hidden = np.matmul(x, m.w1[inp])
    hidden += m.b1[inp][:, None, :]
    np.maximum(hidden, 0, out=hidden)
    y = np.matmul(hidden, m.w2[out])
    y += m.b2[out][:, None, :]
    y += x
    return y


def run_blocks(m: Model, inp_seq, out_seq, x, start=0, stop=None) -> np.ndarray:
    """Apply positions start..stop-1 of the arrangement to states x."""
    stop = len(inp_seq) if stop is None else stop
    for k in range(start, stop):
        x = step(m, inp_seq[k], out_seq[k], x)
    return x


def states(m: Model, inp_seq, out_seq, x=None) -> np.ndarray:
    """All intermediate states, (N+1, R, d)."""
    x = m.x if x is None else x
    S = np.empty((len(inp_seq) + 1,) + x.shape, dtype=m.x.dtype)
    S[0] = x
    for k in range(len(inp_seq)):
        S[k + 1] = step(m, inp_seq[k], out_seq[k], S[k])
    return S


def refresh_states(m: Model, inp_seq, out_seq, S: np.ndarray, first: int) -> np.ndarray:
    """Recompute S in place from position ``first`` on (the prefix is unchanged)."""
    for k in range(first, len(inp_seq)):
        S[k + 1] = step(m, inp_seq[k], out_seq[k], S[k])
    return S


def output(m: Model, final_state) -> np.ndarray:
    return final_state @ m.wl + m.bl


def residual(m: Model, final_state) -> np.ndarray:
    """Output minus pred, (R, o), in the model's dtype."""
    r = final_state @ m.wl
    r += m.bl
    r -= m.target
    return r


def loss(m: Model, final_state) -> float:
    """MSE against pred, accumulated in float64."""
    diff = output(m, final_state).astype(np.float64) - m.pred
    return float(np.mean(diff * diff))


def loss_many(m: Model, final_states) -> np.ndarray:
    """MSE of several candidates stacked as (C, R, d)."""
    diff = (final_states @ m.wl + m.bl).astype(np.float64) - m.pred
    return np.mean(diff * diff, axis=(1, 2))


def back_step(m: Model, i: int, j: int, x: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Carry output sensitivities v (o, R, d) at the state after block (i, j) back to its
    input state x: v + J^T v, with the ReLU pattern of x."""
    active = (x @ m.w1[i] + m.b1[i]) > 0  # (R, h)
    g = v @ m.w2[j].T
    g *= active
    return v + g @ m.w1[i].T


def output_sensitivity(m: Model, inp_seq, out_seq, S, first: int = 0) -> np.ndarray:
    """V[c, k] = dy_c/dS[k] row by row: (o, N+1, R, d), one backward pass. With ``first``
    the pass stops there: V[:, k] for k < first is left unset (a window's model needs
    only the positions from its start on, and the pass costs N - first blocks)."""
    n, rows = len(inp_seq), S.shape[1]
    V = np.empty((m.wl.shape[1], n + 1, rows, S.shape[2]), dtype=S.dtype)
    V[:, n] = np.broadcast_to(m.wl.T[:, None, :], (m.wl.shape[1], rows, S.shape[2]))
    for k in range(n - 1, first - 1, -1):
        V[:, k] = back_step(m, inp_seq[k], out_seq[k], S[k], V[:, k + 1])
    return V


def gradients(m: Model, inp_seq, out_seq, S) -> np.ndarray:
    """dMSE/dS[k] for every k, (N+1, R, d)."""
    V = output_sensitivity(m, inp_seq, out_seq, S)
    r = (output(m, S[-1]) - m.pred.astype(S.dtype)) * (2.0 / (S.shape[1] * m.wl.shape[1]))
    return np.einsum("ro,okrd->krd", r, V)


def output_change(V_k: np.ndarray, delta: np.ndarray) -> np.ndarray:
    """First-order output change (R, o) of adding delta (R, d) to the state V_k belongs to."""
    return np.einsum("ord,rd->ro", V_k, delta)


def estimated_loss(res: np.ndarray, change: np.ndarray) -> float:
    """MSE once the output moves by change: the Gauss-Newton estimate of a move's effect.
    Unlike a plain gradient step it never promises less than zero."""
    total = res + change
    return float(np.mean(total * total, dtype=np.float64))


def insertion_losses(m: Model, inp_seq, out_seq, i: int, j: int, S=None) -> np.ndarray:
    """MSE of inserting block (inp i, out j) before each position 0..k of a k-block
    sequence (k+1 candidates), in one sweep: a candidate joins the batch where it is born."""
    k = len(inp_seq)
    if S is None:
        S = states(m, inp_seq, out_seq)
    rows, d = S.shape[1], S.shape[2]
    batch = np.empty((k + 1, rows, d), dtype=S.dtype)
    for p in range(k + 1):
        batch[p] = step(m, i, j, S[p])
        if p < k:
            live = batch[: p + 1].reshape(-1, d)
            batch[: p + 1] = step(m, inp_seq[p], out_seq[p], live).reshape(p + 1, rows, d)
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
