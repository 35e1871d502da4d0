"""The search recovers generated puzzles exactly; the CLI reports it with the promised exits."""
import json
import subprocess
import sys

import numpy as np
import pytest

from solver.puzzle.answer import from_permutation, to_permutation
from solver.puzzle.files import load_puzzle
from solver.search.search import solve
from solver.search.seeds import SEED_METHODS, make_seed, perturb


def run_cli(*args, timeout=240):
    return subprocess.run([sys.executable, "-m", "solver", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout)


def truth_of(folder):
    return [int(v) for v in (folder / "answer.txt").read_text().strip().split(",")]


def test_solve_small_puzzle_exactly(small_puzzle_dir):
    p = load_puzzle(small_puzzle_dir)
    r = solve(p, seed=0, time_limit=60)
    assert r.solved and r.hash_matches
    assert r.permutation == truth_of(small_puzzle_dir)
    assert "exact" in r.verdict


def test_solve_from_a_scrambled_start_without_target(small_puzzle_dir):
    p = load_puzzle(small_puzzle_dir)
    p = type(p)(**{**{k: getattr(p, k) for k in p.__dataclass_fields__}, "target_sha256": None})
    rng = np.random.default_rng(5)
    start = to_permutation(p, rng.permutation(p.n_blocks), rng.permutation(p.n_blocks))
    r = solve(p, start=start, seed=1, time_limit=120)
    assert r.solved and r.hash_matches is None
    assert r.permutation == truth_of(small_puzzle_dir)


def test_time_limit_stops_with_best_so_far(small_puzzle_dir):
    p = load_puzzle(small_puzzle_dir)
    calls = []
    r = solve(p, seed=0, time_limit=0.0, on_improve=lambda perm, mse: calls.append(mse))
    assert r.seconds < 5
    from_permutation(p, r.permutation)  # a valid answer either way


def test_wrong_target_is_not_solved(small_puzzle_dir):
    p = load_puzzle(small_puzzle_dir, target_sha256="0" * 64)
    r = solve(p, seed=0, time_limit=3)
    assert not r.solved and r.hash_matches is False


@pytest.mark.parametrize("method", SEED_METHODS)
def test_seeds_are_valid(small_puzzle_dir, method):
    p = load_puzzle(small_puzzle_dir)
    rng = np.random.default_rng(0)
    perm = make_seed(p, method, rng)
    from_permutation(p, perm)
    moved = perturb(p, perm, 3, rng)
    from_permutation(p, moved)


def test_cli_end_to_end_generate_then_solve(tmp_path):
    out = tmp_path / "gen"
    gen = run_cli("generate", out, "--blocks", 8, "--dim", 8, "--hidden", 16, "--rows", 600,
                  "--seed", 4, "--kind", "pairing")
    assert gen.returncode == 0, gen.stderr
    res = run_cli("solve", out, "--json", "--time-limit", 180, "--quiet")
    assert res.returncode == 0, res.stdout + res.stderr
    result = json.loads(res.stdout.strip().splitlines()[-1])
    assert result["solved"] is True
    assert result["permutation"] == truth_of(out)
    assert result["sha256"] == (out / "answer.sha256").read_text().strip()
    assert result["evaluations"] > 0 and result["seconds"] > 0
    assert res.stdout.splitlines()[0] == (out / "answer.txt").read_text().strip()


def test_cli_solve_npz_and_verify(small_puzzle_dir, tmp_path):
    npz = tmp_path / "p.npz"
    assert run_cli("pack", small_puzzle_dir, npz).returncode == 0
    res = run_cli("solve", npz, "--json", "--quiet", "--time-limit", 60)
    assert res.returncode == 0
    answer = (small_puzzle_dir / "answer.txt").read_text().strip()
    ok = run_cli("verify", npz, "--permutation", answer)
    assert ok.returncode == 0 and "exact" in ok.stdout
    truth = truth_of(small_puzzle_dir)
    wrong = truth[2:4] + truth[0:2] + truth[4:]
    bad = run_cli("verify", npz, "--permutation", ",".join(map(str, wrong)))
    assert bad.returncode == 1 and "not exact" in bad.stdout
    invalid = run_cli("verify", npz, "--permutation", "1,2,3")
    assert invalid.returncode == 2 and "entries" in invalid.stderr


def test_cli_bad_input_exit_2(tmp_path):
    res = run_cli("solve", tmp_path / "missing")
    assert res.returncode == 2 and "no such file" in res.stderr
    (tmp_path / "historical_data.csv").write_text("x\n")
    res = run_cli("inspect", tmp_path)
    assert res.returncode == 2 and "no piece_" in res.stderr


def test_cli_time_limit_exit_1(small_puzzle_dir):
    res = run_cli("solve", small_puzzle_dir, "--expect-sha256", "f" * 64, "--time-limit", 2, "--json", "--quiet")
    assert res.returncode == 1
    assert json.loads(res.stdout.strip().splitlines()[-1])["solved"] is False


def test_cli_inspect_json(small_puzzle_dir):
    res = run_cli("inspect", small_puzzle_dir, "--json")
    info = json.loads(res.stdout)
    assert info["blocks"] == 6 and len(info["structural_pairs"]) == 6


def test_renumbered_copy_solves_to_its_own_hash(small_puzzle_dir, answer, tmp_path):
    from solver.generate.remix import write_remix
    p = load_puzzle(small_puzzle_dir)
    folder = tmp_path / "renumbered"
    summary = write_remix(p, answer, folder, rows=600, seed=3)
    (folder / "answer.sha256").unlink()
    r = solve(load_puzzle(folder), seed=0, time_limit=120, expect_sha256=summary["answer_sha256"])
    assert r.solved and r.sha256 == summary["answer_sha256"] != p.target_sha256


def test_few_rows_do_not_send_the_search_astray(make_puzzle, tmp_path):
    folder = make_puzzle(tmp_path / "few", blocks=10, rows=64, seed=4)
    r = solve(load_puzzle(folder), seed=0, time_limit=120)
    assert r.solved and r.hash_matches and r.permutation == truth_of(folder)
