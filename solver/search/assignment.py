"""Minimum-cost perfect assignment and per-pair margins (numpy only).

scipy's ``linear_sum_assignment`` would do, but importing scipy.optimize costs about
0.6 s: more than the whole fast path on the public puzzle. Shortest augmenting paths with
dual potentials (Jonker-Volgenant style, one vectorised Dijkstra step per column) take a
few milliseconds at N=48 and leave the duals that make the margins cheap.
"""
from __future__ import annotations

import numpy as np


def _solve(cost: np.ndarray):
    """Optimal assignment of a square cost matrix: (col_of_row, row potentials, col potentials)."""
    n = cost.shape[0]
    u = np.zeros(n + 1)
    v = np.zeros(n + 1)
    row_of_col = np.zeros(n + 1, dtype=np.int64)  # 1-based rows; column 0 is the virtual start
    way = np.zeros(n + 1, dtype=np.int64)
    padded = np.zeros((n + 1, n + 1))
    padded[1:, 1:] = cost
    for i in range(1, n + 1):
        row_of_col[0] = i
        j0 = 0
        min_v = np.full(n + 1, np.inf)
        used = np.zeros(n + 1, dtype=bool)
        while True:
            used[j0] = True
            i0 = row_of_col[j0]
            free = ~used
            reduced = padded[i0] - u[i0] - v
            better = free & (reduced < min_v)
            min_v[better] = reduced[better]
            way[better] = j0
            masked = np.where(free, min_v, np.inf)
            j1 = int(np.argmin(masked))
            delta = masked[j1]
            u[row_of_col[used]] += delta
            v[used] -= delta
            min_v[free] -= delta
            j0 = j1
            if row_of_col[j0] == 0:
                break
        while j0:
            j1 = way[j0]
            row_of_col[j0] = row_of_col[j1]
            j0 = j1
    col_of_row = np.empty(n, dtype=np.int64)
    col_of_row[row_of_col[1:] - 1] = np.arange(n)
    return col_of_row, u[1:], v[1:]


def assign(cost: np.ndarray) -> np.ndarray:
    """The column given to each row in a minimum-cost perfect assignment."""
    cost = np.asarray(cost, dtype=np.float64)
    if cost.ndim != 2 or cost.shape[0] != cost.shape[1]:
        raise ValueError(f"assignment needs a square cost matrix, got shape {cost.shape}")
    return _solve(cost)[0]


def assign_with_margins(cost: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Optimal assignment, and for each row how much the optimum rises if its chosen pair
    is forbidden (0 where another optimum exists).

    With the optimal duals every reduced cost is >= 0 and the chosen pairs cost 0, so the
    cheapest way to do without pair (i, c) is a shortest alternating path from row i to
    column c over reduced costs: one dense Dijkstra per row.
    """
    cost = np.asarray(cost, dtype=np.float64)
    col, u, v = _solve(cost)
    n = len(col)
    reduced = np.maximum(cost - u[:, None] - v[None, :], 0.0)
    row_of = np.empty(n, dtype=np.int64)
    row_of[col] = np.arange(n)
    margins = np.empty(n)
    for i in range(n):
        target = col[i]
        dist = reduced[i].copy()
        dist[target] = np.inf
        done = np.zeros(n, dtype=bool)
        best_to_target = np.inf
        while True:
            open_dist = np.where(done, np.inf, dist)
            j = int(np.argmin(open_dist))
            if open_dist[j] >= best_to_target:
                break
            done[j] = True
            k = row_of[j]  # the row that loses column j and must move on
            best_to_target = min(best_to_target, dist[j] + reduced[k, target])
            np.minimum(dist, dist[j] + reduced[k], out=dist, where=~done)
        margins[i] = best_to_target
    return col, margins
