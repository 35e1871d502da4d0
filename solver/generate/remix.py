"""A solved puzzle redrawn: its pieces renumbered at random and new rows drawn through the
network (python -m solver remix). A solver that learned the published ids, rows or hash
fails on the remix; one that solves the network does not.

New measurements follow each column of the source rows: the share of readings above zero
and the mean and spread on either side, so near-binary inputs stay near-binary.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from solver.search import engine
from solver.puzzle.answer import answer_string, from_permutation
from solver.puzzle.files import Puzzle


def draw_rows(x: np.ndarray, rows: int, rng: np.random.Generator) -> np.ndarray:
    """Rows like x, column by column: a two-sided mixture fitted to each column."""
    x = np.asarray(x, dtype=np.float64)
    high = x > 0
    share = high.mean(axis=0)
    stats = []
    for side in (high, ~high):
        count = np.maximum(side.sum(axis=0), 1)
        mean = np.where(side, x, 0).sum(axis=0) / count
        var = np.where(side, (x - mean) ** 2, 0).sum(axis=0) / count
        stats.append((mean, np.sqrt(var)))
    pick_high = rng.random((rows, x.shape[1])) < share
    noise = rng.standard_normal((rows, x.shape[1]))
    (mh, sh), (ml, sl) = stats
    return np.where(pick_high, mh + sh * noise, ml + sl * noise).astype(np.float32)


def network_output(puzzle: Puzzle, answer, x: np.ndarray) -> np.ndarray:
    """The assembled network's output in float32, as the original pred was made."""
    inp, out = from_permutation(puzzle, answer)
    m = engine.prepare(puzzle, rows=0, dtype=np.float32)
    state = engine.run_blocks(m, inp, out, np.asarray(x, dtype=np.float32))
    return engine.output(m, state)


def renumbering(puzzle: Puzzle, rng: np.random.Generator) -> np.ndarray:
    """new_id[old_id]: a random relabelling of all 2N+1 pieces."""
    return rng.permutation(puzzle.n_pieces)


def remix(puzzle: Puzzle, answer, rows: int, seed: int) -> tuple[dict, list[int], np.ndarray, np.ndarray, np.ndarray]:
    """Pieces by new id, the answer in new ids, and new (x, pred, true)."""
    rng = np.random.default_rng(seed)
    new_id = renumbering(puzzle, rng)
    pieces = {}
    for k, pid in enumerate(puzzle.inp_ids):
        pieces[int(new_id[pid])] = (puzzle.inp_w[k], puzzle.inp_b[k])
    for k, pid in enumerate(puzzle.out_ids):
        pieces[int(new_id[pid])] = (puzzle.out_w[k], puzzle.out_b[k])
    pieces[int(new_id[puzzle.last_id])] = (puzzle.last_w, puzzle.last_b)
    x = draw_rows(puzzle.x, rows, rng)
    pred = network_output(puzzle, answer, x).astype(np.float64)
    gap = float(np.sqrt(np.mean((puzzle.pred - puzzle.true) ** 2)))
    true = pred + gap * rng.standard_normal(pred.shape)
    return pieces, [int(new_id[v]) for v in answer], x, pred, true


def write_remix(puzzle: Puzzle, answer, out_dir, rows: int, seed: int) -> dict:
    """Write the remix in the public format (needs torch for the .pth files)."""
    import torch

    from solver.generate import write_csv
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    pieces, new_answer, x, pred, true = remix(puzzle, answer, rows, seed)
    for pid, (w, b) in pieces.items():
        torch.save({"weight": torch.tensor(np.asarray(w, dtype=np.float32)),
                    "bias": torch.tensor(np.asarray(b, dtype=np.float32))}, out_dir / f"piece_{pid}.pth")
    write_csv(out_dir / "historical_data.csv", x, pred, true)
    text = answer_string(new_answer)
    digest = hashlib.sha256(text.encode()).hexdigest()
    (out_dir / "answer.txt").write_text(text + "\n")
    (out_dir / "answer.sha256").write_text(digest + "\n")
    summary = {"source": puzzle.source, "rows": rows, "seed": seed, "answer_sha256": digest}
    (out_dir / "remix.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary
