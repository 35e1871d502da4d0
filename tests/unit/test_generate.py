"""The generator writes real puzzles in the public format whose answer reproduces pred."""
from __future__ import annotations

import argparse
import csv
import hashlib
import json

import numpy as np
import pytest

from solver import generate
from solver.generate import cli as generate_cli
from tests.fixture_puzzles import SMALL_PUZZLE

torch = pytest.importorskip("torch")

N, D, H = SMALL_PUZZLE["blocks"], SMALL_PUZZLE["dim"], SMALL_PUZZLE["hidden"]


def load_pieces(puzzle_dir) -> dict[int, dict]:
    pieces = {}
    for path in puzzle_dir.glob("piece_*.pth"):
        state = torch.load(path, map_location="cpu", weights_only=True)
        pieces[int(path.stem.split("_")[1])] = {k: v.numpy() for k, v in state.items()}
    return pieces


def read_answer(puzzle_dir) -> list[int]:
    return [int(i) for i in (puzzle_dir / "answer.txt").read_text().strip().split(",")]


def read_rows(puzzle_dir) -> tuple[list[str], list[list[str]]]:
    with open(puzzle_dir / "historical_data.csv", newline="") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


def forward64(pieces: dict, answer: list[int], x: np.ndarray) -> np.ndarray:
    s = x.astype(np.float64)
    for k in range(0, len(answer) - 1, 2):
        inp, out = pieces[answer[k]], pieces[answer[k + 1]]
        hid = np.maximum(s @ inp["weight"].T.astype(np.float64) + inp["bias"], 0.0)
        s = s + hid @ out["weight"].T.astype(np.float64) + out["bias"]
    last = pieces[answer[-1]]
    return s @ last["weight"].T.astype(np.float64) + last["bias"]


def run_cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="solver")
    generate_cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return args.func(args)


def test_pieces_are_linear_state_dicts_classified_by_shape(small_puzzle_dir):
    pieces = load_pieces(small_puzzle_dir)
    assert sorted(pieces) == list(range(2 * N + 1))
    shapes = [p["weight"].shape for p in pieces.values()]
    assert shapes.count((H, D)) == N and shapes.count((D, H)) == N
    assert shapes.count((1, D)) == 1
    for p in pieces.values():
        assert set(p) == {"weight", "bias"}
        assert p["weight"].dtype == np.float32 and p["bias"].shape == p["weight"].shape[:1]


def test_answer_lists_inp_out_pairs_then_last(small_puzzle_dir):
    pieces = load_pieces(small_puzzle_dir)
    answer = read_answer(small_puzzle_dir)
    assert sorted(answer) == list(range(2 * N + 1))
    assert all(pieces[i]["weight"].shape == (H, D) for i in answer[0:-1:2])
    assert all(pieces[i]["weight"].shape == (D, H) for i in answer[1:-1:2])
    assert pieces[answer[-1]]["weight"].shape == (1, D)
    text = (small_puzzle_dir / "answer.txt").read_text().strip()
    assert " " not in text
    digest = (small_puzzle_dir / "answer.sha256").read_text().strip()
    assert digest == hashlib.sha256(text.encode()).hexdigest()


def test_csv_has_public_header_and_float32_reprs(small_puzzle_dir):
    header, rows = read_rows(small_puzzle_dir)
    assert header == [f"measurement_{i}" for i in range(D)] + ["pred", "true"]
    assert len(rows) == SMALL_PUZZLE["rows"]
    for row in rows[:50]:
        # measurements and pred: shortest float32 reprs, as in the public file
        assert all(str(np.float32(v)) == v for v in row[:-1])
        assert float(row[-1]) == float(np.float64(row[-1]))
    x = np.array([[float(v) for v in r[:D]] for r in rows])
    assert 0.6 < np.median(np.abs(x)) < 1.0  # near-binary, about +/-0.8


def test_answer_reproduces_pred_in_float64(small_puzzle_dir):
    pieces = load_pieces(small_puzzle_dir)
    _, rows = read_rows(small_puzzle_dir)
    data = np.array(rows, dtype=np.float64)
    out = forward64(pieces, read_answer(small_puzzle_dir), data[:, :D])
    pred = data[:, D:D + 1]
    assert np.mean((out - pred) ** 2) / np.mean(pred ** 2) < 1e-10
    summary = json.loads((small_puzzle_dir / "generate.json").read_text())
    assert summary["mse_answer_float64_relative"] < 1e-10
    assert summary["mse_pred_true"] == pytest.approx(np.mean((pred - data[:, -1:]) ** 2))


@pytest.mark.slow
def test_same_seed_gives_identical_files(small_puzzle_dir, make_puzzle, tmp_path):
    again = make_puzzle(tmp_path / "again")
    for name in ["answer.txt", "historical_data.csv"] + [
            f"piece_{i}.pth" for i in range(2 * N + 1)]:
        assert (again / name).read_bytes() == (small_puzzle_dir / name).read_bytes(), name
    other = make_puzzle(tmp_path / "other", seed=SMALL_PUZZLE["seed"] + 1)
    assert (other / "answer.txt").read_text() != (again / "answer.txt").read_text()


def test_several_outputs_get_numbered_columns(make_puzzle, tmp_path):
    out = make_puzzle(tmp_path / "o2", blocks=2, rows=64, out_dim=2, train_steps=5)
    header, rows = read_rows(out)
    assert header[-4:] == ["pred_0", "pred_1", "true_0", "true_1"]
    pieces = load_pieces(out)
    assert pieces[read_answer(out)[-1]]["weight"].shape == (2, D)
    data = np.array(rows, dtype=np.float64)
    got = forward64(pieces, read_answer(out), data[:, :D])
    assert np.allclose(got, data[:, D:D + 2], rtol=1e-5, atol=1e-6)


# Each preset keeps its promise on a small size (measured, not just planted).
KIND_SIZE = {"blocks": 12, "dim": 24, "hidden": 48, "rows": 600, "train_steps": 150}


@pytest.mark.slow
@pytest.mark.parametrize("kind", sorted(generate.KINDS))
def test_kind_keeps_its_pairing_promise(kind, make_puzzle, tmp_path):
    out = make_puzzle(tmp_path / kind, kind=kind, seed=3, **KIND_SIZE)
    summary = json.loads((out / "generate.json").read_text())
    low, high = generate.PAIR_BANDS[kind]
    assert low <= summary["trace_pair_accuracy"] <= high
    # recompute from the written pieces, not from the generator's own bookkeeping
    pieces = load_pieces(out)
    answer = read_answer(out)
    inp_w = np.stack([pieces[i]["weight"] for i in answer[0:-1:2]])
    out_w = np.stack([pieces[i]["weight"] for i in answer[1:-1:2]])
    assert generate.trace_pair_accuracy(inp_w, out_w) == summary["trace_pair_accuracy"]
    if kind.startswith("explosive"):
        return  # the shear columns, equal in size, dominate every block's norm
    if kind in ("readable", "weak", "trained", "drift", "rugged", "rugged-weak"):
        assert summary["out_norm_depth_spearman"] > 0.9
    else:  # norms say nothing about depth
        assert abs(summary["out_norm_depth_spearman"]) < 0.7


def test_cli_writes_and_refuses_to_overwrite(tmp_path, capsys):
    out = tmp_path / "cli"
    argv = ["generate", str(out), "--blocks", "3", "--dim", "4", "--hidden", "8",
            "--rows", "32", "--seed", "2", "--train-steps", "3"]
    assert run_cli(argv) == 0
    printed = capsys.readouterr().out
    assert "trace-Hungarian" in printed and str(out) in printed
    assert json.loads((out / "generate.json").read_text())["parameters"]["blocks"] == 3
    assert run_cli(argv) == 2
    assert "already holds a puzzle" in capsys.readouterr().out


def test_cli_rejects_bad_sizes(tmp_path, capsys):
    assert run_cli(["generate", str(tmp_path / "x"), "--blocks", "0"]) == 2
    assert "--blocks" in capsys.readouterr().out
    assert run_cli(["generate", str(tmp_path / "y"), "--pair-target", "1.5"]) == 2
    with pytest.raises(SystemExit):
        run_cli(["generate", str(tmp_path / "z"), "--kind", "nonsense"])


@pytest.mark.slow
def test_python_m_solver_generate_as_a_process(tmp_path):
    import subprocess
    import sys
    from pathlib import Path
    root = Path(__file__).resolve().parents[2]
    out = tmp_path / "proc"
    proc = subprocess.run(
        [sys.executable, "-m", "solver", "generate", str(out), "--blocks", "2", "--dim", "4",
         "--hidden", "8", "--rows", "16", "--train-steps", "2", "--kind", "hard"],
        cwd=root, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "answer sha256" in proc.stdout
    assert len(read_answer(out)) == 5
