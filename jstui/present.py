"""How things look, in one place: numbers and sparklines as the screen, `jstui status` and
the fleet's shell commands write them (short and stable), and the style of each state and
kind. No Textual here: the shell commands use these too.
"""
from __future__ import annotations

import math
import time
from typing import Sequence

from solver.pool.lifecycle import WorkerState
from solver.pool.words import EventKind, NodeState

BARS = "▁▂▃▄▅▆▇█"

# How each state and kind is drawn, by the screen and the shell's tables alike.
WORKER_STYLE = {
    WorkerState.RUNNING: "green", WorkerState.STALLED: "yellow", WorkerState.DONE: "cyan",
    WorkerState.SOLVED: "bold green", WorkerState.STOPPED: "dim",
    WorkerState.CRASHED: "bold red", WorkerState.LOST: "red", WorkerState.UNKNOWN: "magenta",
}
NODE_STYLE = {NodeState.UP: "green", NodeState.DOWN: "red", NodeState.CONNECTING: "yellow",
              NodeState.SLOW: "yellow", NodeState.IDLE: "dim", NodeState.UNKNOWN: "dim"}
EVENT_STYLE = {
    EventKind.ERROR: "bold red", EventKind.REFUSAL: "red", EventKind.RELAUNCH: "yellow",
    EventKind.LAUNCH: "yellow", EventKind.STOP: "yellow", EventKind.DEPLOY: "yellow",
    EventKind.INJECT: "cyan", EventKind.SURGERY: "magenta", EventKind.OBSERVE: "blue",
    EventKind.KNOBS: "blue", EventKind.ANSWER: "bold green", EventKind.NODE: "red",
    EventKind.WORKER: "dim", EventKind.ACTION: "",
}


def spans_decades(values: Sequence[float]) -> bool:
    """True when the positive values span more than one power of ten."""
    pos = [v for v in values if v is not None and v > 0 and math.isfinite(v)]
    return bool(pos) and max(pos) / min(pos) > 10.0


def sparkline(values: Sequence[float], width: int, log: bool | None = None) -> str:
    """A one-line bar chart of the last `width` values; log scale where they span decades.

    A lower MSE draws a lower bar, so a falling line means progress.
    """
    vals = [v for v in values if v is not None and math.isfinite(v)][-width:] if width > 0 else []
    if not vals:
        return ""
    if log is None:
        log = spans_decades(vals)
    if log:
        floor = min(v for v in vals if v > 0) if any(v > 0 for v in vals) else 1e-300
        vals = [math.log10(max(v, floor)) for v in vals]
    lo, hi = min(vals), max(vals)
    if hi - lo <= 1e-12 * max(1.0, abs(hi)):
        return BARS[len(BARS) // 2] * len(vals)
    top = len(BARS) - 1
    return "".join(BARS[round((v - lo) / (hi - lo) * top)] for v in vals)


def fmt_mse(v: float | None) -> str:
    if v is None or not math.isfinite(v):
        return "-"
    if v == 0:
        return "0"
    return f"{v:.3e}" if v < 1e-3 or v >= 1e4 else f"{v:.5f}"


def fmt_age(seconds: float | None) -> str:
    """A short, stable age: 12s, 4m05s, 3h12m, 2d04h."""
    if seconds is None:
        return "-"
    s = max(0, int(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    return f"{s // 86400}d{s % 86400 // 3600:02d}h"


def fmt_trend(trend) -> str:
    """'↓ ×3.1 in 2m00s' while the best falls; 'flat for 2m00s' when it did not move."""
    if trend is None:
        return ""
    if not trend.falling:
        return f"flat for {fmt_age(trend.span)}"
    factor = "to 0" if math.isinf(trend.factor) else f"×{trend.factor:.2g}"
    return f"↓ {factor} in {fmt_age(trend.span)}"


def fmt_rate(v: float | None) -> str:
    if v is None:
        return "-"
    if v >= 10_000:
        return f"{v / 1000:.0f}k"
    if v >= 1000:
        return f"{v / 1000:.1f}k"
    return f"{v:.0f}"


def fmt_clock(epoch: float) -> str:
    """UTC wall clock, so recorded states render the same everywhere."""
    return time.strftime("%H:%M:%S", time.gmtime(epoch))


def short_hash(h: str | None, width: int = 12) -> str:
    if not h:
        return "-"
    return h if len(h) <= width else f"{h[:width // 2]}…{h[-(width // 2):]}"
