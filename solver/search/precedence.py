"""The precedence model of the output around an arrangement, and annealing on it (numpy).

Linearised at an arrangement with states S and sensitivities V (dy/dS), the output of any
reordering of its blocks is, to second order, the current output plus one term per pair
of blocks whose order is reversed: C[i, j] = <V_i - V_{i+1}, S_{j+1} - S_j> is the update
of position j carried through the Jacobian of the block at i and on to the output, and
reversing the pair (x before y) changes the output by H[x, y] = C[y, x] - C[x, y] (row by
row, outputs stacked after rows). Annealing on this model costs no block passes: a move
of one block over a run of others adds a sum of H terms, read off prefix sums along the
order. Each candidate the model likes is a compound move of tens of insertions, ranked
jointly: what breaks the compensating errors that make every single move uphill.

Linearised once at the inputs the model explains nothing; relinearised where the search
stands it explains 70-85% of the output change of a few dozen insertions (measured on
the pairing kind), so the search iterates: linearise, anneal, check exactly, move.
"""
from __future__ import annotations

import math

import numpy as np


def precedence_model(S: np.ndarray, V: np.ndarray, residual: np.ndarray, dtype=np.float32):
    """H (N, N, Q) and the residual e (Q,) as float64, Q = outputs x rows.

    S (N+1, R, d) states, V (o, N+1, R, d) sensitivities, residual (Q,) output minus pred
    flattened output-major."""
    n = S.shape[0] - 1
    dS = (S[1:] - S[:-1]).transpose(1, 2, 0)  # (R, d, N)
    parts = []
    for c in range(V.shape[0]):
        dV = (V[c, :-1] - V[c, 1:]).transpose(1, 0, 2)  # (R, N, d)
        parts.append(np.matmul(dV, dS).transpose(1, 2, 0))  # (N, N, R): C[i, j, r]
    C = np.concatenate(parts, axis=2).astype(dtype)
    H = np.ascontiguousarray(np.swapaxes(C, 0, 1) - C)
    assert H.shape[:2] == (n, n)
    return H, np.asarray(residual, dtype=np.float64)


def window_model(S: np.ndarray, V: np.ndarray, residual: np.ndarray, first: int, stop: int,
                 dtype=np.float32):
    """The precedence model of positions [first, stop) alone: the block of H those
    positions span, built from S[first:stop+1] and V[:, first:stop+1] only, so its cost
    is the window's squared, not N's (V may be unset before ``first``)."""
    return precedence_model(S[first:stop + 1], V[:, first:stop + 1], residual, dtype=dtype)


def model_output(H: np.ndarray, e: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """The model's residual after reordering the positions by sigma (new position q holds
    old position sigma[q])."""
    f = e.copy()
    for s in range(len(sigma)):
        later = sigma[s + 1:]
        inverted = later < sigma[s]
        if inverted.any():
            f += H[sigma[s], later[inverted]].sum(axis=0)
    return f


def anneal(H: np.ndarray, e: np.ndarray, rng: np.random.Generator, proposals: int = 8000,
           t0: float = 0.05, t1: float = 5e-4, reach: int = 10, batch: int = 32):
    """Simulated annealing over insertions on the model alone (Metropolis on log-loss,
    the temperature falling geometrically from t0 to t1). Returns (best sigma, its model
    loss). A proposal costs one vector of Q: moving the element at s to t < s puts it
    before sigma[t:s] and adds sum H[x, sigma[t:s]], read off prefix sums P along sigma."""
    n, q = H.shape[0], H.shape[2]
    sigma = np.arange(n)
    Ht = np.ascontiguousarray(H.transpose(1, 0, 2))  # Ht[y, x] = H[x, y]
    P = np.zeros((n + 1, n, q), dtype=H.dtype)  # P[k, x] = sum over k' < k of H[x, sigma[k']]
    for k in range(n):
        np.add(P[k], Ht[sigma[k]], out=P[k + 1])
    f = e.copy()
    loss = float(f @ f) / q
    best = (loss, sigma.copy())
    done = 0
    cooling = math.log(t1 / t0)
    while done < proposals:
        temp = t0 * math.exp(cooling * done / proposals)
        s = rng.integers(0, n, batch)
        t = np.clip(s + rng.integers(1, reach + 1, batch) * rng.choice((-1, 1), batch), 0, n - 1)
        keep = t != s
        s, t = s[keep], t[keep]
        if not len(s):
            continue
        x = sigma[s]
        back = t < s
        a = np.where(back, s, t + 1)
        b = np.where(back, t, s + 1)
        change = (P[a, x] - P[b, x]).astype(np.float64)
        change[~back] *= -1
        new = (loss * q + 2.0 * (change @ f) + np.einsum("br,br->b", change, change)) / q
        accept = new < loss * np.exp(-temp * np.log(rng.random(len(s))))
        hit = np.flatnonzero(accept)
        if not len(hit):
            done += len(s)
            continue
        i = int(hit[0])
        done += i + 1
        si, ti = int(s[i]), int(t[i])
        f += change[i]
        loss = float(f @ f) / q
        moved = sigma[si]
        if ti < si:
            sigma[ti + 1:si + 1] = sigma[ti:si].copy()
        else:
            sigma[si:ti] = sigma[si + 1:ti + 1].copy()
        sigma[ti] = moved
        lo, hi = min(si, ti), max(si, ti)  # the prefix sums change over [lo, hi] only
        np.cumsum(Ht[sigma[lo:hi + 1]], axis=0, out=P[lo + 1:hi + 2])
        P[lo + 1:hi + 2] += P[lo]
        if loss < best[0]:
            best = (loss, sigma.copy())
    return best[1], best[0]
