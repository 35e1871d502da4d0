"""Pairing signals for when the trace is weak, kept for benchmarks/bench_pairing.py.

Conventions as in solver/: inp and out pieces are class indices 0..N-1; an arrangement is
(inp_seq, out_seq), the class at each position; a pairing is ``out_of_inp``, the out class
paired with each inp class. Every signal returns a pairing. Those that need an order take
the out order (``out_seq``) and keep it fixed.

  trace_pairing       minimum-cost assignment on the trace score (solver.search.pairing)
  regression_pairing  pred regressed on every (inp, out) block placed on the raw inputs
  placement_pairing   first-order placement: each inp at each position, everything else
                      kept; plain or with the affine part of the error projected out
  greedy_pairing      greedy insertion into the 20 surest trace pairs (solver.repair.grow),
                      on plain or affine-projected MSE
  gradient_pairing    training-gradient agreement: does a piece look like one Adam step
                      direction for the (inp, out) block it would form?
  prune_grow_pairing  the product: solver.repair.prune_grow from the trace pairing
"""
from __future__ import annotations

import numpy as np

from solver.search import engine, repair
from solver.search.assignment import assign
from solver.search.pairing import structural_cost, structural_pairing

RANK_ROWS, EXACT_ROWS = np.arange(1000), np.arange(1000, 4000)  # as in the product's repair


def out_norm_order(puzzle) -> np.ndarray:
    """Out pieces by |W_out| ascending: the depth order on growing-update nets (weak kind)."""
    return np.argsort(np.linalg.norm(puzzle.out_w.reshape(puzzle.n_blocks, -1), axis=1), kind="stable")


def trace_pairing(puzzle) -> np.ndarray:
    return assign(structural_cost(puzzle))


def inp_seq_of(out_seq, out_of_inp) -> np.ndarray:
    """The inp at each position once the out order and the pairing are fixed."""
    inp_of_out = np.empty_like(out_of_inp)
    inp_of_out[out_of_inp] = np.arange(len(out_of_inp))
    return inp_of_out[np.asarray(out_seq)]


def pairing_of(inp_seq, out_seq) -> np.ndarray:
    out_of_inp = np.empty(len(inp_seq), dtype=np.int64)
    out_of_inp[np.asarray(inp_seq)] = np.asarray(out_seq)
    return out_of_inp


def hidden_all(m: engine.Model, x) -> np.ndarray:
    """relu(x W1_i + b1_i) for every inp i at once, (R, N, h)."""
    n, d, h = m.w1.shape
    hid = x @ m.w1.transpose(1, 0, 2).reshape(d, n * h) + m.b1.reshape(-1)
    return np.maximum(hid, 0, out=hid).reshape(len(x), n, h)


# ---------------------------------------------------------------- regression (order-free)

def regression_pairing(puzzle, rows=None) -> np.ndarray:
    """F[:, i, j]: the output contribution of block (inp i, out j) on the raw inputs, the
    rest of the net taken as the identity. pred - (Wl x + bl) is regressed on all N^2
    features with B's rows and columns summing to one (the affine hull of the
    permutation matrices); the pairing is the assignment on B."""
    m = engine.prepare(puzzle, rows=rows)
    to_output = np.einsum("jhd,d->jh", m.w2, m.wl[:, 0])  # out j's hidden -> output
    F = np.einsum("rih,jh->rij", hidden_all(m, m.x), to_output) + (m.b2 @ m.wl)[:, 0]
    target = (m.pred - (m.x @ m.wl + m.bl))[:, 0]
    return assign(-constrained_least_squares(F, target))


def constrained_least_squares(F, target, ridge: float = 1e-6) -> np.ndarray:
    """B (N, N) minimising |target - sum_ij B_ij F[:, i, j]|^2 with every row and column
    of B summing to one, by the KKT system (one column constraint is redundant)."""
    rows, n, _ = F.shape
    A = F.reshape(rows, n * n)
    G = A.T @ A
    G[np.diag_indices_from(G)] += ridge * np.trace(G) / len(G)
    E = np.zeros((2 * n - 1, n * n))
    for i in range(n):
        E[i, i * n:(i + 1) * n] = 1
    for j in range(n - 1):
        E[n + j, j::n] = 1
    K = np.block([[G, E.T], [E, np.zeros((2 * n - 1, 2 * n - 1))]])
    rhs = np.concatenate([A.T @ target, np.ones(2 * n - 1)])
    return np.linalg.solve(K, rhs)[:n * n].reshape(n, n)


# ---------------------------------------------------------------- first-order placement

def adjoint_features(m: engine.Model, inp_seq, out_seq):
    """C[i, k] (R,): what block (inp i, out at k) adds to the output, carried from state
    k+1 to the output by the current arrangement's sensitivity; and the residual (R,)."""
    S = engine.states(m, inp_seq, out_seq)
    V = engine.output_sensitivity(m, inp_seq, out_seq, S)[0]
    n = len(inp_seq)
    C = np.empty((n, n, m.n_rows), dtype=S.dtype)
    for k in range(n):
        j = out_seq[k]
        to_output = V[k + 1] @ m.w2[j].T  # (R, h): d output / d hidden of out j
        C[:, k] = np.einsum("rih,rh->ir", hidden_all(m, S[k]), to_output) + V[k + 1] @ m.b2[j]
    return C, engine.residual(m, S[-1])[:, 0]


def placement_pairing(puzzle, out_seq, start, rows=2000, affine=False) -> np.ndarray:
    """cost[i, k]: estimated MSE with inp i at position k and everything else as in
    ``start`` (first order); the assignment on it. ``affine`` first removes the affine
    part of the error, which no pair can explain better than another."""
    m = engine.prepare(puzzle, rows=np.arange(min(rows, puzzle.n_rows)))
    out_seq = np.asarray(out_seq)
    inp_seq = inp_seq_of(out_seq, start)
    C, res = adjoint_features(m, inp_seq, out_seq)
    Q = repair.affine_basis(m.x) if affine else np.zeros((m.n_rows, 0))
    change = repair.project_out(Q, C - C[inp_seq, np.arange(len(inp_seq))][None])
    cost_at = np.mean((repair.project_out(Q, res)[None, None] + change) ** 2, axis=2)  # (inp, position)
    cost = np.empty_like(cost_at)
    cost[:, out_seq] = cost_at
    return assign(cost)


# ---------------------------------------------------------------- greedy insertion

class PlainJudge(repair.Judge):
    """The product's judge with nothing projected out: plain MSE."""

    def __init__(self, m: engine.Model):
        super().__init__(m)
        self.Q = np.zeros((m.n_rows, 0), dtype=m.x.dtype)


def judges(puzzle, affine=True):
    judge = repair.Judge if affine else PlainJudge
    return tuple(judge(engine.prepare(puzzle, rows=rows, dtype=np.float32)) for rows in (RANK_ROWS, EXACT_ROWS))


def greedy_pairing(puzzle, out_seq, affine=True, keep=20) -> np.ndarray:
    """Keep the ``keep`` trace pairs with the largest margins at their out's position,
    skip every other position, and fill them one at a time with the free inp that lowers
    the (projected) MSE most (solver.repair.grow: first-order rank, best few exact)."""
    out_seq = np.asarray(out_seq)
    trace = structural_pairing(puzzle)
    position = np.argsort(out_seq)  # position of each out class
    inp_seq = np.full(len(out_seq), repair.EMPTY)
    for i in np.argsort(-trace.margin)[:keep]:
        inp_seq[position[trace.out_of_inp[i]]] = i
    rank, exact = judges(puzzle, affine)
    return pairing_of(repair.grow(rank, exact, inp_seq, out_seq), out_seq)


def prune_grow_pairing(puzzle, out_seq) -> np.ndarray:
    """The product's re-pairing (solver.repair.prune_grow) from the trace pairing."""
    out_seq = np.asarray(out_seq)
    rank, exact = judges(puzzle)
    fixed, _ = repair.prune_grow(rank, exact, inp_seq_of(out_seq, trace_pairing(puzzle)), out_seq)
    return pairing_of(fixed, out_seq)


# ---------------------------------------------------------------- training-gradient agreement

def gradient_pairing(puzzle, out_seq, start, rows=1000, batch=250) -> np.ndarray:
    """If the pieces were trained where they sit, each looks like the sum of its Adam
    steps. For every (inp i, out j at its position in ``start``) take the gradients of the
    training loss (against ``true``) w.r.t. W_out, W_inp and b_inp, Adam-normalised over
    minibatches, and score the correlation of each piece with minus that direction; the
    z-scored sum of the three, assigned."""
    m = engine.prepare(puzzle, rows=np.arange(min(rows, puzzle.n_rows)))
    out_seq = np.asarray(out_seq)
    inp_seq = inp_seq_of(out_seq, start)
    S = engine.states(m, inp_seq, out_seq)
    V = engine.output_sensitivity(m, inp_seq, out_seq, S)[0]
    error = (puzzle.pred[:m.n_rows] - puzzle.true[:m.n_rows])[:, 0]
    used = m.n_rows // batch * batch
    n = puzzle.n_blocks
    score = np.zeros((3, n, n))
    for k, j in enumerate(out_seq):
        x, g = S[k][:used], (error[:, None] * V[k + 1])[:used]
        for i in range(n):
            score[:, i, j] = piece_agreement(puzzle, m, i, j, x, g, batch)
    return assign(-sum((s - s.mean()) / s.std() for s in score))


def piece_agreement(puzzle, m, i, j, x, g, batch):
    """Correlations of W_out j, W_inp i and b_inp i with minus their Adam-normalised
    gradients in block (i, j) on states x with output gradients g."""
    pre = x @ m.w1[i] + m.b1[i]
    active = pre > 0
    hid, g_hid = pre * active, (g @ m.w2[j].T) * active
    hid, g, x, g_hid = (a.reshape(-1, batch, a.shape[-1]) for a in (hid, g, x, g_hid))
    grads = ((np.einsum("brd,brh->bdh", g, hid), puzzle.out_w[j]),
             (np.einsum("brh,brd->bhd", g_hid, x), puzzle.inp_w[i]),
             (g_hid.sum(1), puzzle.inp_b[i]))
    return [correlation(w, -G.mean(0) / np.sqrt((G ** 2).mean(0) + 1e-30)) for G, w in grads]


def correlation(a, b) -> float:
    a, b = a - a.mean(), b - b.mean()
    return float((a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum() + 1e-300))
