"""Shears planted into trained weights: each block emits a large signal that only the
next block in the true order cancels, so any wrong order leaves it in the residual
stream, where later blocks amplify it (the `explosive` kinds; numpy, no I/O).

Block k's hidden unit 0 reads a direction w_k and writes big * v_k; block k+1's unit 1
reads v_k / big and writes -big * v_k.  The v's cycle through one half of a random
orthonormal basis of the stream and the w's lie in the other, so the large emitter
columns add nothing to any trace.  The canceller adds -v_{j-1}.v_{i-1} to the trace of
(inp i, out j); unit 2 reads a_k and writes a_k (a plain, bounded term), where the a's
cycle through the other half with the same pattern, adding +a_{j}.a_{i}: the two cancel
for every pair, so trace pairing stays exactly as readable as before the shear.
"""
from __future__ import annotations

import numpy as np


def plant_shears(params: dict, rng: np.random.Generator, big: float) -> dict:
    """PARAMS (numpy, blocks in true order) with the shear chain planted; a copy."""
    p = {k: np.array(v, dtype=np.float64) for k, v in params.items()}
    n, h, d = p["inp_w"].shape
    if big <= 0 or n < 2 or h < 2 or d < 2:
        return {k: v.astype(np.float32) for k, v in p.items()}
    basis, _ = np.linalg.qr(rng.standard_normal((d, d)))
    half = d // 2
    cycle = np.arange(n) % half
    v_dirs = basis[:, cycle]  # (d, n): emitted directions, orthonormal within a cycle
    a_dirs = basis[:, half + (np.arange(n) + half - 1) % half % (d - half)]
    w_dirs = basis[:, half:] @ _unit_rows(rng, n, d - half).T  # (d, n): read directions
    for k in range(n):
        # emitter: fires on most rows thanks to its bias; the last block's is silent
        # (a trained row there would meet every big column in the traces)
        p["inp_w"][k, 0] = w_dirs[:, k]
        p["inp_b"][k, 0] = 1.0
        p["out_w"][k, :, 0] = big * v_dirs[:, k] if k + 1 < n else 0.0
        if k == 0:  # nothing to cancel: silence units 1 and 2 for the same reason
            p["inp_w"][0, 1:3] = 0.0
            p["out_w"][0, :, 1:3] = 0.0
        if k > 0:  # canceller of the previous block's signal; nothing else reads it
            v = v_dirs[:, k - 1]
            others = np.arange(h) != 1
            p["inp_w"][k, others] -= np.outer(p["inp_w"][k, others] @ v, v)
            p["inp_w"][k, 1] = v / big
            p["inp_b"][k, 1] = 0.0
            p["out_w"][k, :, 1] = -big * v
            if h > 2 and d - half >= half:  # unit 2 undoes the canceller's trace terms
                p["inp_w"][k, 2] = a_dirs[:, k]
                p["inp_b"][k, 2] = 0.0
                p["out_w"][k, :, 2] = a_dirs[:, k]
    return {k: v.astype(np.float32) for k, v in p.items()}


def _unit_rows(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    rows = rng.standard_normal((n, dim))
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)
