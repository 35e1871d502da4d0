"""The fleet search's figure (benchmarks/bench_fleet_search.py --png): best MSE against
wall time, one panel per K, one line per set-up, in the house style of benchmarks/figures.py;
drawn from a run's records, or from the medians of its summary table when the records are gone.
"""
from __future__ import annotations

import re
import statistics
from pathlib import Path

from benchmarks import figures
from benchmarks.bench_fleet_search import SOLVED_FLOOR, record_curve

SETUPS = ("a", "b", "c", "d")
COLOURS = {"a": "#000000", "b": "#E69F00", "c": "#0072B2", "d": "#009E73"}   # figures.COLOURS' first four
NAMES = {"a": "a: one solve", "b": "b: K solves sharing nothing", "c": "c: K workers sharing a pool",
         "d": "d: as c, plus the observer"}


def median_curve(runs: list[dict], limit: float, step: float = 2.0) -> list[tuple[float, float]]:
    """The median over puzzles of the best MSE at each time (where every run has one)."""
    curves = [record_curve(r) for r in runs]
    points, t = [], 0.0
    while t <= limit:
        values = [c.at(t) for c in curves]
        if values and all(v is not None for v in values):
            points.append((t, statistics.median(values)))
        t += step
    return points


def draw(results: list[dict], limit: float, path: Path) -> None:
    """The runs' curves: per K, per set-up, the median over the puzzles of the best MSE so
    far (set-up a, which runs once, is the baseline in every panel)."""
    series = {}
    for k in sorted({r["k"] for r in results}):
        for setup in SETUPS:
            runs = [r for r in results if r["setup"] == setup and (r["k"] == k or setup == "a")]
            series[(setup, k)] = median_curve(runs, limit)
    puzzles = len({r["puzzle"] for r in results})
    plot(series, limit, path, f"the median over {puzzles} puzzles of the best MSE so far", points=False)


def plot(series: dict, limit: float, path: Path, legend_title: str, points: bool) -> None:
    """Best MSE (log) against wall time, one panel per K, one line per set-up; the exact
    answer sits at the floor. Every series is a best-so-far (it can only fall), drawn as
    steps: solid for a measured curve; with `points`, a few medians as markers and dotted
    steps between them (the bound each sets until the next)."""
    ks = sorted({k for _, k in series})
    fig, axes = figures.panels(len(ks), xlabel="wall time since the start (s)", ylabel="best MSE so far",
                               logy=True, titles=[f"K = {k}" for k in ks])
    for ax, k in zip(axes, ks):
        for setup in SETUPS:
            line = series.get((setup, k)) or []
            if len(line) < (1 if points else 2):
                continue
            t, mse = zip(*line)
            ax.plot(t, [max(m, SOLVED_FLOOR) for m in mse], color=COLOURS[setup], label=NAMES[setup],
                    drawstyle="steps-post", linestyle=":" if points else "-", marker="o" if points else None)
        ax.set_xlim(0, limit)
        ax.set_ylim(SOLVED_FLOOR / 4, 4)
        ax.set_yticks([1, 1e-3, 1e-6, 1e-9, SOLVED_FLOOR], ["1", "$10^{-3}$", "$10^{-6}$", "$10^{-9}$", "exact"])
        ax.minorticks_off()
    figures.save(fig, path, legend_title=legend_title, order=[NAMES[s] for s in SETUPS])


def read_table(path: Path) -> list[dict]:
    """The first summary table in a text (as `summary` prints it, or as docs/benchmarks.md
    quotes it): per row the set-up, K, the runs, the median time to the exact answer (None
    when censored) and the median best MSE at each checkpoint (None for "-")."""
    rows, times = [], None
    for line in path.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| set-up | K | solved") and not rows:
            times = [float(re.search(r"(\d+) s$", c).group(1)) for c in cells[5:]]
        elif times is not None and line.startswith("|") and not set(cells[0]) <= set("-:"):
            rows.append({"setup": cells[0], "k": int(cells[1]), "runs": int(cells[2].split("/")[1]),
                         "wall": None if cells[3].startswith(">") else float(cells[3]),
                         "checkpoints": [(t, _mse_cell(c)) for t, c in zip(times, cells[5:])]})
        elif rows:
            break
    return rows


def _mse_cell(cell: str) -> float | None:
    return None if cell == "-" else SOLVED_FLOOR if cell == "exact" else float(cell)


def draw_table(rows: list[dict], limit: float, path: Path) -> None:
    """The summary's medians when the runs' records are gone: the checkpoints and the
    median time to the exact answer, as markers."""
    series = {}
    for row in rows:
        points = [(t, m) for t, m in row["checkpoints"] if m is not None]
        if row["wall"] is not None:
            points.append((row["wall"], SOLVED_FLOOR))
        series[(row["setup"], row["k"])] = sorted(points)
    for k in {k for _, k in series}:
        series.setdefault(("a", k), series.get(("a", 1)))
    times = ", ".join(f"{t:g}" for t, _ in rows[0]["checkpoints"])
    plot(series, limit, path, f"markers: the summary table's medians over {rows[0]['runs']} puzzles (best MSE at "
         f"{times} s; time to the exact answer)\ndotted: the bound each marker sets until the next, not measured", points=True)
