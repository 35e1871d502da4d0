"""The pool best against time: a step line (the best holds until the next one), on a log
scale when it spans decades, the x axis in minutes (or hours) before now.

The first arrangements of a search are random and their MSE is orders of magnitude above
what follows (3e5, then 0.1): drawn as they are, they flatten the rest into one line. So
points above the upper fence of the log values (Tukey's: Q3 + 1.5 IQR, at least a decade)
are drawn at the top edge, and the title says how many.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

from textual_plotext import PlotextPlot

from jstui.present import spans_decades


@dataclass(frozen=True)
class ChartData:
    xs: tuple[float, ...]          # time before now, in UNIT (negative; 0 is now)
    ys: tuple[float, ...]          # log10(MSE) when LOG, else MSE; clipped ones at TOP
    log: bool
    unit: str                      # "seconds", "minutes", "hours"
    top: float | None              # the y axis's upper limit when some points are clipped
    clipped: int                   # how many points lie above it
    title: str
    note: str                      # what was clipped, if anything


UNITS = (("seconds", 1.0, 300.0), ("minutes", 60.0, 3 * 3600.0), ("hours", 3600.0, math.inf))


def steps(best_history: Sequence[tuple[float, float]], now: float) -> list[tuple[float, float]]:
    """(time, best) points of the step line, extended to NOW."""
    points = sorted(best_history)
    out = []
    for i, (t, v) in enumerate(points):
        out.append((t, v))
        end = points[i + 1][0] if i + 1 < len(points) else max(now, t)
        out.append((end, v))
    return out


def upper_fence(values: Sequence[float]) -> float | None:
    """Q3 + max(1.5 IQR, 1) of VALUES (log10 units: at least a decade); None below 4."""
    if len(values) < 4:
        return None
    ordered = sorted(values)
    q1, q3 = (ordered[int(q * (len(ordered) - 1))] for q in (0.25, 0.75))
    return q3 + max(1.5 * (q3 - q1), 1.0)


def clip_outliers(values: Sequence[float]) -> list[float]:
    """Positive VALUES with those above the upper fence of their logs brought down to it."""
    fence = upper_fence([math.log10(v) for v in values if v > 0])
    return list(values) if fence is None else [min(v, 10 ** fence) for v in values]


def chart_data(best_history: Sequence[tuple[float, float]], now: float) -> ChartData:
    history = [(t, v) for t, v in best_history if v is not None and math.isfinite(v)]
    values = [v for _, v in history]
    log = spans_decades(values) and all(v > 0 for v in values)
    fence = upper_fence([math.log10(v) for v in values]) if log else None
    clipped = sum(math.log10(v) > fence for v in values) if fence is not None else 0
    top = fence if clipped else None
    points = steps(history, now)
    span = now - points[0][0] if points else 0.0
    unit, scale, _ = next(u for u in UNITS if span <= u[2])
    xs = tuple((t - now) / scale for t, _ in points)
    ys = tuple(math.log10(v) if log else v for _, v in points)
    if top is not None:
        ys = tuple(min(y, top) for y in ys)
    title = "pool best MSE over time" + (" (log scale)" if log else "")
    note = (f"{clipped} early point{'s' * (clipped != 1)} above {10 ** top:.2g} "
            "drawn at the top edge") if clipped else ""
    return ChartData(xs, ys, log, unit, top, clipped, title, note)


class BestChart(PlotextPlot):
    """The pool best against time; `show` draws a snapshot's best history."""

    _drawn: tuple | None = None      # (last point, count, now) of the drawing on screen

    def show(self, best_history: Sequence[tuple[float, float]], now: float) -> None:
        """Plotting costs more than the rest of a refresh (tens of ms): redraw for a new
        best at once, and for the passing time only once the axis has moved by 5 s and a
        hundredth of its span (under one column of a long chart)."""
        last = tuple(best_history[-1]) if best_history else None
        span = now - best_history[0][0] if best_history else 0.0
        if self._drawn is not None and self._drawn[:2] == (last, len(best_history)) \
                and abs(now - self._drawn[2]) < max(5.0, span / 100):
            return
        self._drawn = (last, len(best_history), now)
        data = chart_data(best_history, now)
        self.border_title, self.border_subtitle = data.title, data.note
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        plt.xlabel(f"{data.unit} before now")
        if data.xs:
            plt.plot(list(data.xs), list(data.ys), marker="braille")
        if data.log and data.ys:
            lo = math.floor(min(data.ys))
            hi = data.top if data.top is not None else math.ceil(max(data.ys))
            ticks = list(range(lo, math.floor(hi) + 1))
            plt.yticks(ticks, [f"1e{t}" for t in ticks])
            plt.ylim(lo, hi)
        self.refresh()
