"""Loading the public format, the compact .npz, and every refusal of bad input."""
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from solver.puzzle.pthread import read_state_dict
from solver.puzzle.files import PuzzleError, load_puzzle, save_npz

SAMPLE = "../shared/data/public-historical-data-sample.csv"


@pytest.fixture
def puzzle_copy(small_puzzle_dir, tmp_path):
    target = tmp_path / "p"
    shutil.copytree(small_puzzle_dir, target)
    return target


def test_loads_generated_puzzle(small_puzzle_dir):
    p = load_puzzle(small_puzzle_dir)
    assert (p.n_blocks, p.dim, p.hidden, p.out_dim) == (6, 8, 16, 1)
    assert p.n_rows == 512
    ids = sorted(p.inp_ids.tolist() + p.out_ids.tolist() + [p.last_id])
    assert ids == list(range(13))
    assert p.target_sha256 == (small_puzzle_dir / "answer.sha256").read_text().strip()
    assert len(p.fingerprint) == 64


def test_pth_reader_matches_torch_including_views(tmp_path):
    w = torch.randn(7, 5)
    state = {"weight": w.t(), "bias": torch.randn(12)[3:8], "h": torch.randn(3, 3).half()}
    torch.save(state, tmp_path / "x.pth")
    got = read_state_dict(tmp_path / "x.pth")
    for key, value in state.items():
        assert np.array_equal(got[key], value.numpy())


def test_refuses_pickled_code(tmp_path):
    torch.save({"weight": torch.zeros(2, 2), "evil": print}, tmp_path / "piece_0.pth")
    with pytest.raises(PuzzleError, match="piece_0.pth"):
        load_puzzle(tmp_path)


def test_npz_round_trip_same_fingerprint(small_puzzle_dir, tmp_path):
    p = load_puzzle(small_puzzle_dir)
    path = save_npz(p, tmp_path / "p.npz")
    q = load_puzzle(path)
    assert q.fingerprint == p.fingerprint
    assert q.target_sha256 == p.target_sha256
    np.testing.assert_array_equal(q.out_w, p.out_w)


def test_npz_damage_detected(small_puzzle_dir, tmp_path):
    p = load_puzzle(small_puzzle_dir)
    path = save_npz(p, tmp_path / "p.npz")
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(PuzzleError, match="p.npz"):
        load_puzzle(path)


def test_missing_piece(puzzle_copy):
    (puzzle_copy / "piece_4.pth").unlink()
    with pytest.raises(PuzzleError, match="missing 4"):
        load_puzzle(puzzle_copy)


def test_extra_piece(puzzle_copy):
    shutil.copy(puzzle_copy / "piece_0.pth", puzzle_copy / "piece_20.pth")
    with pytest.raises(PuzzleError, match="unexpected 20"):
        load_puzzle(puzzle_copy)


def test_shape_fits_no_class(puzzle_copy):
    torch.save({"weight": torch.zeros(3, 5), "bias": torch.zeros(3)}, puzzle_copy / "piece_2.pth")
    with pytest.raises(PuzzleError, match=r"piece_2.pth: weight shape \(3, 5\) fits no class"):
        load_puzzle(puzzle_copy)


def test_counts_do_not_pair(puzzle_copy):
    p = load_puzzle(puzzle_copy)
    victim = int(p.out_ids[0])
    torch.save({"weight": torch.zeros(16, 8), "bias": torch.zeros(16)}, puzzle_copy / f"piece_{victim}.pth")
    with pytest.raises(PuzzleError, match="counts do not pair up"):
        load_puzzle(puzzle_copy)


def test_more_than_one_last_layer(puzzle_copy):
    p = load_puzzle(puzzle_copy)
    # replace one inp and one out by last layers: still 2N+1 pieces, three "last" pieces
    for victim in (int(p.inp_ids[0]), int(p.out_ids[0])):
        torch.save({"weight": torch.zeros(1, 8), "bias": torch.zeros(1)}, puzzle_copy / f"piece_{victim}.pth")
    with pytest.raises(PuzzleError, match="more than one last layer"):
        load_puzzle(puzzle_copy)


def test_nan_weights(puzzle_copy):
    p = load_puzzle(puzzle_copy)
    w = torch.zeros(16, 8)
    w[1, 1] = float("nan")
    torch.save({"weight": w, "bias": torch.zeros(16)}, puzzle_copy / f"piece_{int(p.inp_ids[2])}.pth")
    with pytest.raises(PuzzleError, match="NaN or inf"):
        load_puzzle(puzzle_copy)


def _rewrite_csv(folder, edit):
    path = folder / "historical_data.csv"
    lines = path.read_text().splitlines()
    edit(lines)
    path.write_text("\n".join(lines) + "\n")


def test_csv_wrong_column_count(puzzle_copy):
    def edit(lines):
        lines[5] = lines[5] + ",1.0"
    _rewrite_csv(puzzle_copy, edit)
    with pytest.raises(PuzzleError, match="line 6: 11 columns, expected 10"):
        load_puzzle(puzzle_copy)


def test_csv_non_numeric_cell(puzzle_copy):
    def edit(lines):
        cells = lines[3].split(",")
        cells[2] = "abc"
        lines[3] = ",".join(cells)
    _rewrite_csv(puzzle_copy, edit)
    with pytest.raises(PuzzleError, match="line 4, column 3: 'abc' is not a number"):
        load_puzzle(puzzle_copy)


def test_csv_too_few_rows(puzzle_copy):
    _rewrite_csv(puzzle_copy, lambda lines: lines.__delitem__(slice(4, None)))
    with pytest.raises(PuzzleError, match="only 3 data rows"):
        load_puzzle(puzzle_copy)


def test_csv_wrong_header(puzzle_copy):
    def edit(lines):
        lines[0] = lines[0].replace("pred", "prediction")
    _rewrite_csv(puzzle_copy, edit)
    with pytest.raises(PuzzleError, match="line 1: header"):
        load_puzzle(puzzle_copy)


def test_public_sample_reads_as_d48(tmp_path):
    from pathlib import Path

    from solver.puzzle.files import read_csv
    sample = Path(__file__).resolve().parents[3] / "shared" / "data" / "public-historical-data-sample.csv"
    if not sample.exists():
        pytest.skip("shared sample not present")
    x, pred, true = read_csv(sample, 48, 1)
    assert x.shape == (342, 48) and pred.shape == (342, 1)
    assert 0.05 < float(np.mean((pred - true) ** 2)) < 0.3  # pred is not the label


def test_not_a_puzzle(tmp_path):
    with pytest.raises(PuzzleError, match="no piece_"):
        load_puzzle(tmp_path)
    with pytest.raises(PuzzleError, match="no such file"):
        load_puzzle(tmp_path / "nope")


PUBLIC_PIECE = Path(__file__).resolve().parents[1] / "data" / "public-piece_0.pth"


def test_a_piece_saved_from_a_gpu_loads_on_a_cpu_without_torch():
    """piece_0.pth of the public puzzle, as published: its tensors were saved on cuda:0."""
    assert b"cuda:0" in zipfile.ZipFile(PUBLIC_PIECE).read("archive/data.pkl")
    state = read_state_dict(PUBLIC_PIECE)
    assert state["weight"].shape == (96, 48) and state["bias"].shape == (96,)
    reference = torch.load(PUBLIC_PIECE, map_location="cpu", weights_only=True)
    np.testing.assert_array_equal(state["weight"], reference["weight"].numpy())
    np.testing.assert_array_equal(state["bias"], reference["bias"].numpy())


def test_an_npz_whose_content_does_not_match_its_fingerprint_is_refused(small_puzzle_dir,
                                                                         tmp_path):
    path = save_npz(load_puzzle(small_puzzle_dir), tmp_path / "p.npz")
    with np.load(path, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    arrays["pred"] = arrays["pred"] + 1e-3          # the data changed, the record did not
    np.savez_compressed(tmp_path / "q.npz", **arrays)
    with pytest.raises(PuzzleError, match="q.npz: content does not match its recorded fingerprint"):
        load_puzzle(tmp_path / "q.npz")
