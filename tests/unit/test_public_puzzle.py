"""The public puzzle solves to its published hash; a remix of it (pieces renumbered, new
rows drawn through the network) solves to its own. Nothing may hang on the public ids,
rows or hash. The public files live beside the checkout, in ../shared; JSTUI_PUBLIC_PUZZLE
points elsewhere."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PUBLIC = Path(os.environ.get("JSTUI_PUBLIC_PUZZLE", ROOT.parent / "shared" / "data" / "public-puzzle"))
PUBLIC_SHA256 = "093be1cf2d24094db903cbc3e8d33d306ebca49c6accaa264e44b0b675e7d9c4"


def solve_cli(folder, *extra, timeout=300):
    proc = subprocess.run([sys.executable, "-m", "solver", "solve", str(folder), "--json", "--quiet", *extra],
                          capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    return proc.returncode, json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def public_answer():
    if not (PUBLIC / "historical_data.csv").is_file():
        pytest.skip(f"the public puzzle is not at {PUBLIC} (it lives in ../shared beside the checkout)")
    code, result = solve_cli(PUBLIC, "--expect-sha256", PUBLIC_SHA256, "--time-limit", "120")
    assert code == 0 and result["solved"] and result["hash_matches"], result["verdict"]
    return result


def test_public_puzzle_solves_to_its_hash_on_the_fast_path(public_answer):
    assert public_answer["sha256"] == PUBLIC_SHA256
    assert public_answer["stage"] == "fast"
    assert public_answer["evaluation_rows"] == {"342": public_answer["evaluations"]}


@pytest.mark.slow
def test_remixed_public_puzzle_solves_to_its_own_hash(public_answer, tmp_path):
    from solver.puzzle.files import load_puzzle
    from solver.generate.remix import write_remix
    folder = tmp_path / "remix"
    write_remix(load_puzzle(PUBLIC), public_answer["permutation"], folder, rows=3000, seed=11)
    target = (folder / "answer.sha256").read_text().strip()
    (folder / "answer.sha256").unlink()  # the solver sees only the public files
    (folder / "answer.txt").unlink()
    code, result = solve_cli(folder, "--expect-sha256", target, "--time-limit", "120")
    assert code == 0 and result["solved"] and result["sha256"] == target != PUBLIC_SHA256
    assert result["permutation"] != public_answer["permutation"]
