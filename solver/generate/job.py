"""The whole job: draw, train, write, measure (python -m solver generate)."""
from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import numpy as np

from solver.puzzle.answer import answer_string
from solver.generate.files import write_csv, write_pieces
from solver.generate.measure import measure
from solver.generate.recipe import (GENERATOR_VERSION, KINDS, GenerateError, default_train_steps,
                                    draw_initial, make_labels, make_measurements, trace_pair_accuracy,
                                    with_damping)
from solver.generate.shear import plant_shears
from solver.generate.training import fit_readout, network_forward_torch, train, train_to_pair_target

def resolve_knobs(kind: str, blocks: int, rows: int, **given) -> dict:
    """The knobs of one run: those given, the rest from the kind's preset."""
    if kind not in KINDS:
        raise GenerateError(f"--kind: unknown preset {kind!r} (choose from {', '.join(KINDS)})")
    preset = KINDS[kind]
    knobs = dict(given)
    if knobs["trace_snr"] is None and knobs["pair_target"] is None:
        knobs["trace_snr"], knobs["pair_target"] = preset["trace_snr"], preset["pair_target"]
    for name in ("depth_growth", "norm_jitter"):
        if knobs[name] is None:
            knobs[name] = preset[name]
    if knobs["lr"] is None:
        # Deep nets diverge at the shallow rate (N=192 at 1e-3 ends worse than its
        # initial readout): the preset rate holds up to 48 blocks, then falls as 48/N.
        knobs["lr"] = preset["lr"] * min(1.0, 48.0 / blocks)
    knobs.setdefault("shear", None)
    if knobs["shear"] is None:
        knobs["shear"] = float(preset.get("shear", 0.0))
    if knobs["train_steps"] is None:
        knobs["train_steps"] = default_train_steps(blocks, rows) * preset.get("train_scale", 1)
    return knobs


def generate_puzzle(out_dir, *, blocks: int, dim: int, hidden: int, rows: int, seed: int,
                    out_dim: int = 1, kind: str = "readable", train_steps: int | None = None,
                    lr: float | None = None, batch: int = 256, weight_decay: float = 0.0,
                    trace_snr: float | None = None, pair_target: float | None = None,
                    depth_growth: float | None = None, norm_jitter: float | None = None,
                    shear: float | None = None, gain: float = 1.0, label_noise: float = 0.25, threads: int = 1) -> dict:
    """Train a network, write the puzzle to out_dir, return the summary (generate.json)."""
    for name, value in (("blocks", blocks), ("dim", dim), ("hidden", hidden),
                        ("rows", rows), ("out_dim", out_dim)):
        if value < 1:
            raise GenerateError(f"--{name.replace('_', '-')}: must be at least 1, got {value}")
    knobs = resolve_knobs(kind, blocks, rows, train_steps=train_steps, lr=lr, trace_snr=trace_snr,
                          pair_target=pair_target, depth_growth=depth_growth, norm_jitter=norm_jitter,
                          shear=shear)
    clock = _Clock()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    x = make_measurements(rng, rows, dim)
    true = make_labels(rng, x, out_dim, label_noise)
    raw = draw_initial(rng, blocks, dim, hidden, out_dim, knobs["depth_growth"], gain, knobs["norm_jitter"])
    clock.lap("data")
    fit = dict(x=x, y=true, steps=knobs["train_steps"], lr=knobs["lr"], batch=batch,
               weight_decay=weight_decay, seed=seed, threads=threads)
    snr, init, trained = _train(raw, knobs, fit)
    trained = _sheared(trained, knobs["shear"], rng)
    clock.lap("train")
    pred, trained_np = _predict(trained, x)
    clock.lap("predict")
    answer_hash = _write(out_dir, trained, x, pred, true, rng)
    clock.lap("write")
    measured = measure(trained_np, x, pred.astype(np.float64), true)
    clock.lap("measure")
    summary = {
        "generator_version": GENERATOR_VERSION,
        "parameters": {"blocks": blocks, "dim": dim, "hidden": hidden, "out_dim": out_dim, "rows": rows,
                       "seed": seed, "kind": kind, **knobs, "batch": batch, "weight_decay": weight_decay,
                       "gain": gain, "label_noise": label_noise, "threads": threads},
        "trace_snr_used": snr,
        "initial_trace_pair_accuracy": trace_pair_accuracy(init["inp_w"], init["out_w"]),
        **measured,
        "answer_sha256": answer_hash,
        "seconds": round(clock.total(), 3),
        "seconds_by_phase": clock.phases(),
    }
    (out_dir / "generate.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def _train(raw: dict, knobs: dict, fit: dict):
    """(snr used, initial parameters, trained parameters as torch tensors)."""
    if knobs["pair_target"] is None:
        snr = float(knobs["trace_snr"] or 0.0)
        init = fit_readout(with_damping(raw, snr), fit["x"], fit["y"])
        return snr, init, train(init, **fit)
    return train_to_pair_target(raw, knobs["pair_target"], fit)


def _sheared(trained: dict, big: float, rng: np.random.Generator) -> dict:
    """The trained tensors with the shear chain planted (unchanged when big is 0)."""
    if not big:
        return trained
    import torch
    planted = plant_shears({k: v.numpy() for k, v in trained.items()}, rng, big)
    return {k: torch.from_numpy(v) for k, v in planted.items()}


def _predict(trained: dict, x: np.ndarray):
    import torch
    with torch.no_grad():
        pred = network_forward_torch(trained, torch.from_numpy(x)).numpy()
    return pred, {k: v.numpy() for k, v in trained.items()}


def _write(out_dir: Path, trained: dict, x, pred, true, rng) -> str:
    """The public files plus answer.txt and answer.sha256; returns the answer's hash."""
    perm = write_pieces(out_dir, trained, rng)
    write_csv(out_dir / "historical_data.csv", x, pred, true)
    answer = answer_string(perm)
    (out_dir / "answer.txt").write_text(answer + "\n")
    answer_hash = hashlib.sha256(answer.encode()).hexdigest()
    (out_dir / "answer.sha256").write_text(answer_hash + "\n")
    return answer_hash


class _Clock:
    def __init__(self):
        self.started = self.last = time.perf_counter()
        self.laps: dict[str, float] = {}

    def lap(self, name: str):
        now = time.perf_counter()
        self.laps[name] = now - self.last
        self.last = now

    def total(self) -> float:
        return time.perf_counter() - self.started

    def phases(self) -> dict:
        return {k: round(v, 3) for k, v in self.laps.items()}
