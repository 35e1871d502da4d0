"""The hard kinds land in their regimes (solver.generate.landscape) at a small size, and the
shear chain keeps the answer exact and trace pairing untouched."""
from __future__ import annotations

import numpy as np
import pytest

from solver.generate.landscape import measure_puzzle
from solver.generate.recipe import pair_traces
from solver.generate.shear import plant_shears
from solver.puzzle.files import load_puzzle

pytest.importorskip("torch")

SIZE = {"blocks": 16, "dim": 24, "hidden": 48, "rows": 600}


def landscape_of(folder):
    answer = [int(v) for v in (folder / "answer.txt").read_text().split(",")]
    return measure_puzzle(load_puzzle(folder), answer, rows=600)


def test_shears_leave_every_trace_alone_and_chain_the_blocks():
    rng = np.random.default_rng(0)
    n, h, d = 10, 12, 8
    params = {"inp_w": rng.standard_normal((n, h, d)), "inp_b": rng.standard_normal((n, h)),
              "out_w": rng.standard_normal((n, d, h)), "out_b": rng.standard_normal((n, d))}
    sheared = plant_shears(params, np.random.default_rng(1), 50.0)
    larger = plant_shears(params, np.random.default_rng(1), 5000.0)
    # the large columns meet no row in any trace: traces do not depend on the shear's size
    np.testing.assert_allclose(pair_traces(sheared["inp_w"], sheared["out_w"]),
                               pair_traces(larger["inp_w"], larger["out_w"]), atol=1e-3)
    assert np.abs(sheared["out_w"][:-1, :, 0]).max() > 10 * np.abs(params["out_w"]).max()
    assert not np.any(sheared["out_w"][-1, :, 0])


@pytest.mark.slow
def test_explosive_kind_diverges_off_the_answer(make_puzzle, tmp_path):
    out = make_puzzle(tmp_path / "explosive", kind="explosive", seed=1, train_steps=80, **SIZE)
    stats = landscape_of(out)
    assert stats.regime() == "explosive"
    assert stats.random_order > 1e6 and stats.adjacent_swap > 1.0


@pytest.mark.slow
def test_rugged_kind_is_costlier_to_move_than_drift(make_puzzle, tmp_path):
    rugged = landscape_of(make_puzzle(tmp_path / "r", kind="rugged", seed=1, **SIZE))
    drift = landscape_of(make_puzzle(tmp_path / "d", kind="drift", seed=1, **SIZE))
    assert rugged.regime() == "rugged"
    assert rugged.adjacent_swap > 1.5 * drift.adjacent_swap  # 1.8x at this size, seed
