"""The precedence model (solver.search.precedence): its algebra, the output it predicts
for a reordering, and annealing on it, on planted models whose best order is known."""
from __future__ import annotations

import itertools

import numpy as np

from solver.search.precedence import anneal, model_output, precedence_model


def random_model(n: int, q: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    S = rng.normal(size=(n + 1, 3, 4))
    V = rng.normal(size=(2, n + 1, 3, 4))
    H, e = precedence_model(S, V, rng.normal(size=q), dtype=np.float64)
    return H, e


def inverted_sum(H, sigma):
    """The model's change by its definition: H[x, y] for every pair with x placed before
    y although y came first."""
    total = np.zeros(H.shape[2])
    for a, b in itertools.combinations(range(len(sigma)), 2):
        if sigma[a] > sigma[b]:
            total += H[sigma[a], sigma[b]]
    return total


def test_reversing_a_pair_twice_changes_nothing_so_h_is_antisymmetric():
    H, e = random_model(6, q=2 * 3)
    assert H.shape == (6, 6, 6) and e.shape == (6,)
    assert np.allclose(H, -H.transpose(1, 0, 2))
    assert np.allclose(H[np.arange(6), np.arange(6)], 0)


def test_the_model_output_adds_one_term_per_reversed_pair():
    H, e = random_model(6, q=6, seed=1)
    assert np.array_equal(model_output(H, e, np.arange(6)), e)     # no reordering
    swap = np.array([0, 2, 1, 3, 4, 5])                            # one adjacent swap
    assert np.allclose(model_output(H, e, swap), e + H[2, 1])
    rng = np.random.default_rng(2)
    for _ in range(5):
        sigma = rng.permutation(6)
        assert np.allclose(model_output(H, e, sigma), e + inverted_sum(H, sigma))


def test_annealing_finds_a_planted_order_and_reports_its_model_loss():
    n, q = 7, 12
    rng = np.random.default_rng(3)
    H = rng.normal(size=(n, n, q))
    H = H - H.transpose(1, 0, 2)
    planted = rng.permutation(n)
    e = -inverted_sum(H, planted)          # reordering by PLANTED explains the residual
    assert np.allclose(model_output(H, e, planted), 0)
    sigma, loss = anneal(H.astype(np.float32), e, np.random.default_rng(0), proposals=20000, reach=6)
    f = model_output(H, e, sigma)
    assert abs(loss - float(f @ f) / q) < 1e-3 * max(1.0, float(e @ e) / q)
    brute = min(float(model_output(H, e, np.array(s)) @ model_output(H, e, np.array(s))) / q
                for s in itertools.permutations(range(n)))
    assert brute < 1e-12 and loss < 1e-3 * float(e @ e) / q
    assert sorted(sigma.tolist()) == list(range(n))
