"""The replay's timeline: the pool best over the whole run, a marker at t, and where
the replay stands (time, speed, playing or paused)."""
from __future__ import annotations

import time

import numpy as np
from rich.text import Text
from textual.widgets import Static

from jstui.replay.run import Run
from jstui.present import fmt_age, fmt_mse

LEVELS = "▁▂▃▄▅▆▇█"


def best_columns(run: Run, width: int) -> np.ndarray:
    """The level (0-7, -1: no solution yet) of the pool best at the end of each column;
    log scale, as the best spans decades."""
    span = max(run.end - run.start, 1e-9)
    ends = run.start + span * (np.arange(1, width + 1) / width)
    n = np.searchsorted(run.solutions.at, ends, side="right")
    levels = np.full(width, -1)
    have = n > 0
    if not have.any():
        return levels
    logs = np.log10(np.maximum(run.best[n[have] - 1], 1e-300))
    low, high = logs.min(), logs.max()
    scaled = (logs - low) / (high - low) if high > low else np.full(len(logs), 0.5)
    levels[have] = np.rint(scaled * (len(LEVELS) - 1)).astype(int)
    return levels


def timeline_text(run: Run, t: float, width: int) -> Text:
    """One line of bars with the marker at T, reverse video."""
    width = max(8, width)
    marker = int((t - run.start) / max(run.end - run.start, 1e-9) * (width - 1))
    line = Text(no_wrap=True)
    for col, level in enumerate(best_columns(run, width)):
        char = " " if level < 0 else LEVELS[level]
        line.append(char if col != marker else (char if char != " " else "│"),
                    style="bold reverse yellow" if col == marker else "cyan")
    return line


def status_text(run: Run, t: float, speed: float, playing: bool) -> Text:
    n = run.count_at(t)
    line = Text(no_wrap=True, overflow="ellipsis")
    line.append("REPLAY ", style="bold magenta")
    line.append(time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(t)))
    line.append(f"  +{fmt_age(t - run.start)} of {fmt_age(run.end - run.start)}  ")
    line.append(f"x{speed:g}  ", style="bold")
    line.append("playing" if playing else "paused", style="green" if playing else "yellow")
    line.append(f"  best {fmt_mse(float(run.best[n - 1]) if n else None)}  "
                "←/→ step  space pause  [ ] speed  g MSE", style="dim")
    return line


class Timeline(Static):
    DEFAULT_CSS = "Timeline { height: 2; padding: 0 1; text-wrap: nowrap; text-overflow: ellipsis; }"

    def show(self, source) -> None:
        width = max(8, self.size.width - 2) if self.size.width else 78
        text = status_text(source.run, source.t, source.speed, source.playing)
        text.append("\n")
        text.append_text(timeline_text(source.run, source.t, width))
        self.update(text)
