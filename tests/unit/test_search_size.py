"""Search parts at size: exact losses from cached prefixes, batched candidates, and the
windowed precedence model (solver.search.engine, evaluator, precedence, reorder)."""
from __future__ import annotations

import numpy as np

from solver.search import engine, moves as mv, precedence
from solver.search.evaluator import Evaluator


def random_model(n: int, rows: int = 40, d: int = 8, h: int = 12, seed: int = 0, dtype=np.float64):
    g = np.random.default_rng(seed)
    c = lambda a: np.asarray(a, dtype=dtype)  # noqa: E731
    pred = g.normal(size=(rows, 1))
    return engine.Model(w1=c(g.normal(size=(n, d, h)) / 3), b1=c(g.normal(size=(n, h)) / 10),
                        w2=c(g.normal(size=(n, h, d)) / 10), b2=c(g.normal(size=(n, d)) / 10),
                        wl=c(g.normal(size=(d, 1))), bl=c(np.zeros(1)), x=c(g.normal(size=(rows, d))),
                        pred=pred, target=c(pred))


def full_loss(m, inp, out):
    return engine.loss(m, engine.run_blocks(m, inp, out, m.x))


def test_a_candidate_run_from_its_cached_prefix_equals_the_full_forward():
    n = 30
    m = random_model(n)
    ev = Evaluator(m)
    rng = np.random.default_rng(1)
    ev.set(rng.permutation(n), rng.permutation(n))
    for move in (("swap", 20, 21), ("insert", 25, 3), ("reverse", 5, 12), ("cycle", 27, 28, 29)):
        inp, out, span = mv.apply(move, ev.inp, ev.out)
        got = ev.candidates([(inp, out, span)])[0]
        assert np.isclose(got, full_loss(m, inp, out), rtol=1e-10)
    # refreshing from the first changed block gives the same states as a full pass
    inp, out, (first, _) = mv.apply(("insert", 28, 10), ev.inp, ev.out)
    ev.refresh(inp, out, first)
    assert np.allclose(ev.S, engine.states(m, inp, out))


def test_batched_candidates_sharing_prefixes_equal_one_by_one():
    n = 24
    m = random_model(n, seed=2)
    ev = Evaluator(m)
    ev.set(np.arange(n), np.arange(n))
    moves = mv.neighbourhood(("swap", "insert", "reverse"), n, 5)
    cands = [mv.apply(move, ev.inp, ev.out) for move in moves]
    batched = ev.candidates(cands)
    single = np.array([ev.candidates([c])[0] for c in cands])
    assert np.allclose(batched, single, rtol=1e-10)
    assert len(set(np.round(batched, 12))) > len(moves) // 4  # the moves really differ


def test_sensitivity_from_a_position_matches_the_full_backward_pass():
    n = 20
    m = random_model(n, seed=3)
    inp, out = np.arange(n), np.arange(n)
    S = engine.states(m, inp, out)
    full = engine.output_sensitivity(m, inp, out, S)
    part = engine.output_sensitivity(m, inp, out, S, first=12)
    assert np.allclose(part[:, 12:], full[:, 12:])


def test_a_window_model_is_the_block_of_the_full_model_it_spans():
    n = 20
    m = random_model(n, seed=4)
    inp, out = np.arange(n), np.arange(n)
    S = engine.states(m, inp, out)
    V = engine.output_sensitivity(m, inp, out, S)
    res = engine.residual(m, S[-1]).T.reshape(-1)
    H, _ = precedence.precedence_model(S, V, res, dtype=np.float64)
    Hw, e = precedence.window_model(S, engine.output_sensitivity(m, inp, out, S, first=6), res, 6, 15,
                                    dtype=np.float64)
    assert Hw.shape[:2] == (9, 9)
    assert np.allclose(Hw, H[6:15, 6:15])
    assert np.array_equal(e, res)


def planted(n: int, q: int, seed: int):
    """A model whose residual is explained by a local reordering that a planted sigma undoes."""
    rng = np.random.default_rng(seed)
    H = rng.normal(size=(n, n, q))
    H = H - H.transpose(1, 0, 2)
    sigma = np.arange(n)
    for a in range(0, n - 4, 7):  # blocks a few places off, as in a trained net's norm order
        sigma[a:a + 4] = sigma[a:a + 4][rng.permutation(4)]
    return H, -_inverted(H, sigma), sigma


def _inverted(H, sigma):
    total = np.zeros(H.shape[2])
    for a in range(len(sigma)):
        later = sigma[a + 1:]
        total += H[sigma[a], later[later < sigma[a]]].sum(axis=0)
    return total


def test_windowed_annealing_recovers_a_planted_order_near_a_hundred_blocks():
    import time
    n, q, w = 100, 256, 40
    H, e, sigma = planted(n, q, seed=5)
    rng = np.random.default_rng(0)
    order = np.arange(n)
    f = e.copy()
    started = time.perf_counter()
    windows = list(range(0, n - w + 1, w // 2)) + [n - w]
    for first in windows * 2:  # two passes: a block may need to cross a window's edge
        stop = first + w
        # the window's model at the current order: H among the blocks it now holds
        blocks = order[first:stop]
        part, _ = precedence.anneal(H[np.ix_(blocks, blocks)].astype(np.float32), f, rng,
                                    proposals=150 * w, reach=6, t0=0.01)
        order[first:stop] = blocks[part]
        f = e + _inverted(H, order)
    assert time.perf_counter() - started < 5.0
    assert float(f @ f) / q < 1e-6 * float(e @ e) / q
    assert np.array_equal(order, sigma)
