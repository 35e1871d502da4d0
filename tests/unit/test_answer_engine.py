"""Answers and hashes round-trip; the engine equals a plain torch forward pass; moves stay valid."""
import hashlib

import numpy as np
import pytest
import torch

from solver.search import engine, moves
from solver.puzzle.answer import (AnswerError, answer_sha256, answer_string, from_permutation,
                           to_permutation, validate_permutation)


def test_round_trip_and_hash(puzzle, answer, small_puzzle_dir):
    inp, out = from_permutation(puzzle, answer)
    assert to_permutation(puzzle, inp, out) == answer
    assert answer_string(answer) == (small_puzzle_dir / "answer.txt").read_text().strip()
    assert answer_sha256(answer) == hashlib.sha256(answer_string(answer).encode()).hexdigest()
    assert answer_sha256(np.array(answer)) == puzzle.target_sha256


@pytest.mark.parametrize("mutate, message", [
    (lambda p: p[:-1], "entries"),
    (lambda p: [p[2]] + p[1:], "appears twice"),
    (lambda p: [p[1], p[0]] + p[2:], "slot"),
    (lambda p: p[:-1] + [99], "does not exist"),
])
def test_invalid_permutations(puzzle, answer, mutate, message):
    with pytest.raises(AnswerError, match=message):
        validate_permutation(puzzle, mutate(list(answer)))


def test_last_slot_must_hold_last(puzzle, answer):
    bad = list(answer)
    bad[-1], bad[0] = bad[0], bad[-1]
    with pytest.raises(AnswerError):
        validate_permutation(puzzle, bad)


def torch_forward(puzzle, perm):
    x = torch.tensor(puzzle.x, dtype=torch.float64)
    pieces = {}
    for cls, ids, w, b in (("inp", puzzle.inp_ids, puzzle.inp_w, puzzle.inp_b),
                           ("out", puzzle.out_ids, puzzle.out_w, puzzle.out_b)):
        for k, pid in enumerate(ids):
            lin = torch.nn.Linear(w.shape[2], w.shape[1]).double()
            lin.weight.data = torch.tensor(w[k], dtype=torch.float64)
            lin.bias.data = torch.tensor(b[k], dtype=torch.float64)
            pieces[int(pid)] = lin
    for k in range(puzzle.n_blocks):
        x = x + pieces[perm[2 * k + 1]](torch.relu(pieces[perm[2 * k]](x)))
    last = torch.tensor(puzzle.last_w, dtype=torch.float64)
    return (x @ last.T + torch.tensor(puzzle.last_b, dtype=torch.float64)).detach().numpy()


def test_engine_matches_torch(puzzle, answer):
    rng = np.random.default_rng(3)
    inp, out = from_permutation(puzzle, answer)
    for perm in (answer, to_permutation(puzzle, rng.permutation(inp), rng.permutation(out))):
        i, o = from_permutation(puzzle, perm)
        m = engine.prepare(puzzle)
        y = engine.output(m, engine.states(m, i, o)[-1])
        np.testing.assert_allclose(y, torch_forward(puzzle, perm), rtol=1e-10, atol=1e-12)
        assert engine.mse(puzzle, i, o) == pytest.approx(float(np.mean((y - puzzle.pred) ** 2)))


def test_true_answer_reproduces_pred(puzzle, answer):
    inp, out = from_permutation(puzzle, answer)
    assert engine.mse(puzzle, inp, out) < 1e-10 * np.var(puzzle.pred)


def test_cached_prefix_equals_full_pass(puzzle, answer):
    inp, out = from_permutation(puzzle, answer)
    m = engine.prepare(puzzle)
    S = engine.states(m, inp, out)
    for k in range(puzzle.n_blocks):
        i2, o2, (first, _) = moves.apply(("swap", k, (k + 2) % puzzle.n_blocks), inp, out)
        full = engine.loss(m, engine.run_blocks(m, i2, o2, m.x))
        cached = engine.loss(m, engine.run_blocks(m, i2, o2, S[first], start=first))
        assert cached == pytest.approx(full, rel=1e-12)


def test_gradients_match_finite_differences(puzzle, answer):
    inp, out = from_permutation(puzzle, answer)
    rng = np.random.default_rng(0)
    inp, out = rng.permutation(inp), out[rng.permutation(len(out))]
    m = engine.prepare(puzzle, rows=64)
    S = engine.states(m, inp, out)
    G = engine.gradients(m, inp, out, S)
    k, r, c, eps = 2, 5, 3, 1e-6
    bumped = S[k].copy()
    bumped[r, c] += eps
    numeric = (engine.loss(m, engine.run_blocks(m, inp, out, bumped, start=k)) - engine.loss(m, S[-1])) / eps
    assert numeric == pytest.approx(G[k][r, c], rel=1e-3, abs=1e-9)


@pytest.mark.parametrize("kind", moves.KINDS)
def test_moves_keep_permutation_valid(puzzle, answer, kind):
    inp, out = from_permutation(puzzle, answer)
    rng = np.random.default_rng(1)
    for _ in range(50):
        move = moves.random_move(rng, puzzle.n_blocks, 4)
        if kind == "double":
            move = ("double", 0, 3)
        elif move[0] != kind:
            continue
        i2, o2, (first, stop) = moves.apply(move, inp, out)
        validate_permutation(puzzle, to_permutation(puzzle, i2, o2))
        changed = np.flatnonzero((i2 != inp) | (o2 != out))
        assert changed.size == 0 or (changed.min() >= first and changed.max() < stop)


def test_evaluator_batch_equals_single(puzzle, answer):
    from solver.search.evaluator import Evaluator
    inp, out = from_permutation(puzzle, answer)
    ev = Evaluator(engine.prepare(puzzle, dtype=np.float32))
    ev.set(inp, out)
    cands = [moves.apply(mv, inp, out) for mv in [("swap", 0, 1), ("insert", 4, 1), ("pair", 2, 5), ("cycle", 1, 3, 4)]]
    batch = ev.candidates(cands)
    m = engine.prepare(puzzle, dtype=np.float32)
    for (i2, o2, _), got in zip(cands, batch):
        assert got == pytest.approx(engine.loss(m, engine.run_blocks(m, i2, o2, m.x)), rel=1e-4)
