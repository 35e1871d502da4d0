"""Test fixtures: small generated puzzles in the public format with known answers.

small_puzzle_dir: one shared N=6, d=8, h=16, 512-row readable puzzle (session scope);
puzzle / answer: that puzzle loaded, and its answer as a list of piece ids;
make_puzzle(out_dir, **kwargs): generate another one (kwargs go to generate_puzzle).
"""
from __future__ import annotations

from pathlib import Path

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


@pytest.fixture
def make_puzzle():
    """make_puzzle(out_dir, **generate_kwargs) -> Path; defaults are the small puzzle's."""
    return _generate


@pytest.fixture(scope="session")
def puzzle(small_puzzle_dir):
    """The small puzzle, loaded (solver.puzzle.Puzzle)."""
    from solver.puzzle import load_puzzle
    return load_puzzle(small_puzzle_dir)


@pytest.fixture(scope="session")
def answer(small_puzzle_dir) -> list[int]:
    """The small puzzle's answer: piece ids by position."""
    from solver.answer import parse_permutation
    return parse_permutation((small_puzzle_dir / "answer.txt").read_text())
