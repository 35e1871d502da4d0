"""Writing a puzzle in the public format: shuffled piece_*.pth and historical_data.csv."""
from __future__ import annotations

from pathlib import Path

import numpy as np


def write_csv(path: Path, x: np.ndarray, pred: np.ndarray, true: np.ndarray) -> None:
    """Measurements and pred as shortest float32 reprs, true as float64 reprs."""
    d, o = x.shape[1], pred.shape[1]
    if o == 1:
        tail = ["pred", "true"]
    else:
        tail = [f"pred_{i}" for i in range(o)] + [f"true_{i}" for i in range(o)]
    header = [f"measurement_{i}" for i in range(d)] + tail
    left = np.concatenate([x, pred.astype(np.float32)], axis=1).astype(str)
    right = [[repr(float(v)) for v in row] for row in true]
    with open(path, "w", newline="") as f:
        f.write(",".join(header) + "\n")
        f.writelines(",".join(a) + "," + ",".join(b) + "\n" for a, b in zip(left, right))


def write_pieces(out_dir: Path, params: dict, rng: np.random.Generator) -> list[int]:
    """Save shuffled pieces; return the answer permutation (piece id per position)."""
    import torch
    n = params["inp_w"].shape[0]
    ids = rng.permutation(2 * n + 1)
    layers = []
    for k in range(n):
        layers.append((params["inp_w"][k], params["inp_b"][k]))
        layers.append((params["out_w"][k], params["out_b"][k]))
    layers.append((params["last_w"], params["last_b"]))
    for pos, (w, b) in enumerate(layers):
        state = {"weight": w.clone().contiguous(), "bias": b.clone().contiguous()}
        torch.save(state, out_dir / f"piece_{int(ids[pos])}.pth")
    return [int(i) for i in ids]
