"""The benchmarks' figures in one house style: matplotlib without a display (Agg), panels
side by side with ticks and units in the labels, one legend for the figure, PNG at a fixed DPI.

    fig, axes = panels(2, xlabel="time (s)", ylabel="best MSE", logy=True, titles=["K = 1", "K = 2"])
    axes[0].plot(t, mse, label="one solve", color=COLOURS[0])
    save(fig, "docs/example.png", legend_title="median over 3 puzzles")

matplotlib is the optional `bench` extra; a benchmark imports this module only when asked
to draw, so it measures without it.
"""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")   # no display: the benchmarks run on headless machines

import matplotlib.pyplot as plt  # noqa: E402

DPI = 150
PANEL = (3.6, 3.4)   # inches per panel; at DPI, 540 x 510 pixels
# Okabe-Ito: told apart by colour-blind readers and still distinct in greyscale print.
COLOURS = ("#000000", "#E69F00", "#0072B2", "#009E73", "#D55E00", "#56B4E9", "#CC79A7", "#F0E442")
STYLE = {
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "axes.grid": True,
    "axes.prop_cycle": matplotlib.cycler(color=COLOURS),
    "axes.spines.top": False,
    "axes.spines.right": False,
    "grid.color": "#dddddd",
    "grid.linewidth": 0.6,
    "lines.linewidth": 1.6,
    "lines.markersize": 4.5,
    "legend.frameon": False,
    "xtick.direction": "out",
    "ytick.direction": "out",
    "savefig.dpi": DPI,
}


def panels(count: int = 1, *, xlabel: str, ylabel: str, titles: list[str] | None = None,
           logx: bool = False, logy: bool = False, sharey: bool = True, title: str | None = None):
    """A figure of `count` axes side by side in the house style; (figure, list of axes).
    Labels carry their units, e.g. "wall time (s)"; the y label goes on the first panel
    when the panels share their y axis, on every panel otherwise."""
    matplotlib.rcParams.update(STYLE)
    fig, grid = plt.subplots(1, count, figsize=(PANEL[0] * count, PANEL[1]), sharey=sharey,
                             squeeze=False, layout="constrained")
    axes = list(grid[0])
    for i, ax in enumerate(axes):
        ax.set_xlabel(xlabel)
        if i == 0 or not sharey:
            ax.set_ylabel(ylabel)
        if logx:
            ax.set_xscale("log")
        if logy:
            ax.set_yscale("log")
        if titles:
            ax.set_title(titles[i])
    if title:
        fig.suptitle(title)
    return fig, axes


def save(fig, path: str | Path, *, legend_title: str | None = None, order: list[str] | None = None) -> Path:
    """One legend for the whole figure under the panels (each label once: those in `order`
    first, in that order, then the rest as first drawn), then the PNG at DPI; the figure
    is closed."""
    handles: dict[str, object] = {}
    for ax in fig.axes:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(label, handle)
    first = [label for label in order or [] if label in handles]
    handles = {label: handles[label] for label in first + [h for h in handles if h not in first]}
    if handles:
        fig.legend(handles.values(), handles.keys(), loc="outside lower center",
                   ncols=min(len(handles), 4), title=legend_title)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path
