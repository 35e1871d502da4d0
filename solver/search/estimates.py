"""First-order (adjoint) estimates of what moves do to the output (numpy only).

For a move that changes positions [lo, hi), the new blocks are run exactly from the
cached state S[lo] and the difference they make at S[hi] is carried to the output by the
sensitivity V[:, hi]: ``change = V[hi] . (z - S[hi])`` per row and output. This costs one
block pass per position in the span, and it is exact when the suffix is linear in the
change. Spans longer than ``EXACT_SPAN`` are estimated position by position instead (each
changed position's new block on its current input state, carried on from there), which
is cheaper and coarser.

A move's estimated MSE is ``mean((residual + change)^2)``; two moves on disjoint spans
add their changes, so pairs of moves are ranked from one Gram matrix (solver.search.descent).
"""
from __future__ import annotations

import numpy as np

from solver.search import engine, moves as mv
EXACT_SPAN = 5
CHUNK_ROWS = 1 << 21  # states per batched block pass (memory bound)


def change_vectors(m, inp, out, S, V, moves, exact_span: int = EXACT_SPAN) -> np.ndarray:
    """(M, R*o) first-order output change of each move (outputs stacked after rows)."""
    rows, d, n_out = S.shape[1], S.shape[2], V.shape[0]
    C = np.zeros((len(moves), n_out, rows), dtype=S.dtype)
    exact, local = {}, []
    for idx, move in enumerate(moves):
        new_inp, new_out, (lo, hi) = mv.apply(move, inp, out)
        if hi - lo <= exact_span:
            exact.setdefault(hi - lo, []).append((idx, lo, hi, new_inp[lo:hi], new_out[lo:hi]))
        else:
            local.append((idx, lo, hi, new_inp, new_out))
    for length, group in exact.items():
        per_chunk = max(1, CHUNK_ROWS // (rows * d))
        for start in range(0, len(group), per_chunk):
            part = group[start:start + per_chunk]
            idx = np.array([g[0] for g in part])
            lo = np.array([g[1] for g in part])
            hi = np.array([g[2] for g in part])
            blocks_in = np.array([g[3] for g in part])
            blocks_out = np.array([g[4] for g in part])
            z = S[lo]
            for t in range(length):
                z = engine.steps(m, blocks_in[:, t], blocks_out[:, t], z)
            C[idx] = np.einsum("ogrd,grd->gor", V[:, hi], z - S[hi])
    if local:
        C[[g[0] for g in local]] = _positionwise(m, inp, out, S, V, local)
    return C.reshape(len(moves), -1)


def _positionwise(m, inp, out, S, V, group) -> np.ndarray:
    """Sum over changed positions k of V[k+1] . (new block at k - old block at k)(S[k]);
    the block evaluations are shared between moves that need the same one."""
    wanted: dict[tuple[int, int, int], int] = {}
    plan = []
    for idx, lo, hi, new_inp, new_out in group:
        terms = []
        for k in range(lo, hi):
            if new_inp[k] != inp[k] or new_out[k] != out[k]:
                key = (int(new_inp[k]), int(new_out[k]), k)
                terms.append((wanted.setdefault(key, len(wanted)), k))
        plan.append(terms)
    keys = list(wanted)
    pos = np.array([k for _, _, k in keys])
    per_chunk = max(1, CHUNK_ROWS // (S.shape[1] * S.shape[2]))
    effect = np.empty((len(keys), V.shape[0], S.shape[1]), dtype=S.dtype)
    for start in range(0, len(keys), per_chunk):
        sl = slice(start, start + per_chunk)
        blocks_in = np.array([i for i, _, _ in keys[sl]])
        blocks_out = np.array([j for _, j, _ in keys[sl]])
        p = pos[sl]
        z = engine.steps(m, blocks_in, blocks_out, S[p])
        effect[sl] = np.einsum("ogrd,grd->gor", V[:, p + 1], z - S[p + 1])
    out_changes = np.zeros((len(group), V.shape[0], S.shape[1]), dtype=S.dtype)
    for g, terms in enumerate(plan):
        for e, _ in terms:
            out_changes[g] += effect[e]
    return out_changes


def estimated_losses(res: np.ndarray, C: np.ndarray) -> np.ndarray:
    """mean((res + C_i)^2) for every move i; res is the residual flattened like C."""
    q = res.shape[0]
    base = float(res @ res)
    return (base + 2.0 * (C @ res) + np.einsum("mq,mq->m", C, C)) / q
