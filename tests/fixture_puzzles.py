"""Test fixtures: small generated puzzles in the public format with known answers.

small_puzzle_dir: one shared N=6, d=8, h=16, 512-row readable puzzle (session scope);
medium_puzzle: one shared 12-block puzzle that holds workers on elites (session scope);
tiny / tiny_puzzle / tiny_answer: a numpy-made puzzle, no torch, no files (fast tests);
puzzle / answer: that puzzle loaded, and its answer as a list of piece ids;
make_puzzle(out_dir, **kwargs): generate another one (kwargs go to generate_puzzle).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

import pytest

SMALL_PUZZLE = {"blocks": 6, "dim": 8, "hidden": 16, "rows": 512, "seed": 1,
                "kind": "readable"}


def _generate(out_dir, **kwargs) -> Path:
    from solver.generate import generate_puzzle
    params = {**SMALL_PUZZLE, **kwargs}
    generate_puzzle(out_dir, **params)
    return Path(out_dir)


@pytest.fixture(scope="session")
def small_puzzle_dir(tmp_path_factory) -> Path:
    """A read-only shared puzzle dir: piece_*.pth, historical_data.csv, answer.txt,
    answer.sha256, generate.json. Copy it before changing anything in it."""
    return _generate(tmp_path_factory.mktemp("small-puzzle") / "puzzle")


# Twelve blocks: solved in a second from a structural seed, not from a random one, so
# tests can hold workers on elites (restart_share 0) and release them at will.
MEDIUM_PUZZLE = {"blocks": 12, "dim": 16, "hidden": 32, "rows": 1024, "seed": 2}


@pytest.fixture(scope="session")
def medium_puzzle(tmp_path_factory) -> Path:
    """A read-only shared 12-block puzzle dir (see MEDIUM_PUZZLE)."""
    return _generate(tmp_path_factory.mktemp("medium") / "puzzle", **MEDIUM_PUZZLE)


@pytest.fixture
def make_puzzle():
    """make_puzzle(out_dir, **generate_kwargs) -> Path; defaults are the small puzzle's."""
    return _generate


@pytest.fixture(scope="session")
def puzzle(small_puzzle_dir):
    """The small puzzle, loaded (solver.puzzle.Puzzle)."""
    from solver.puzzle.files import load_puzzle
    return load_puzzle(small_puzzle_dir)


@pytest.fixture(scope="session")
def answer(small_puzzle_dir) -> list[int]:
    """The small puzzle's answer: piece ids by position."""
    from solver.puzzle.answer import parse_permutation
    return parse_permutation((small_puzzle_dir / "answer.txt").read_text())


def numpy_puzzle(blocks: int = 4, dim: int = 6, hidden: int = 8, rows: int = 96, seed: int = 0):
    """(Puzzle, answer): a small untrained network made with numpy alone (no torch, a few
    ms), its pred the network's own output. For tests of the pool and the worker's logic,
    which need a valid puzzle, not a trained one. Each out damps its own inp (a negative
    trace) so that structural seeds pair it right, as in trained nets."""
    from solver.puzzle.answer import answer_sha256, to_permutation
    from solver.puzzle.files import Puzzle, compute_fingerprint

    rng = np.random.default_rng(seed)
    inp_w = rng.normal(0, 0.4, (blocks, hidden, dim))
    out_w = rng.normal(0, 0.1, (blocks, dim, hidden)) - 0.3 * inp_w.transpose(0, 2, 1)
    inp_b, out_b = rng.normal(0, 0.1, (blocks, hidden)), rng.normal(0, 0.1, (blocks, dim))
    last_w, last_b = rng.normal(0, 0.5, (1, dim)), rng.normal(0, 0.1, (1,))
    ids = rng.permutation(2 * blocks + 1)          # piece ids of inp_k, out_k, last
    inp_ids, out_ids, last_id = ids[:blocks], ids[blocks:2 * blocks], int(ids[-1])
    x = rng.choice([-0.8, 0.8], (rows, dim)) + rng.normal(0, 0.05, (rows, dim))
    state = x.astype(np.float32).astype(np.float64)
    for k in range(blocks):                        # the true order: block k at position k
        state = state + np.maximum(state @ inp_w[k].T + inp_b[k], 0) @ out_w[k].T + out_b[k]
    pred = state @ last_w.T + last_b
    by_inp, by_out = np.argsort(inp_ids), np.argsort(out_ids)   # class index: increasing id
    f32 = np.float32
    puzzle = Puzzle(inp_w[by_inp].astype(f32), inp_b[by_inp].astype(f32),
                    out_w[by_out].astype(f32), out_b[by_out].astype(f32),
                    last_w.astype(f32), last_b.astype(f32), np.sort(inp_ids), np.sort(out_ids),
                    last_id, x.astype(f32), pred, pred + rng.normal(0, 0.3, pred.shape),
                    source="numpy_puzzle")
    rank_inp, rank_out = np.argsort(by_inp), np.argsort(by_out)
    answer = to_permutation(puzzle, rank_inp, rank_out)
    puzzle = Puzzle(**{**puzzle.__dict__, "target_sha256": answer_sha256(answer)})
    return Puzzle(**{**puzzle.__dict__, "fingerprint": compute_fingerprint(puzzle)}), answer


@pytest.fixture(scope="session")
def tiny():
    """(Puzzle, answer) of numpy_puzzle(): no torch, no files."""
    return numpy_puzzle()


@pytest.fixture
def tiny_puzzle(tiny):
    return tiny[0]


@pytest.fixture
def tiny_answer(tiny):
    return tiny[1]
