"""The workers table's columns, one record each: a column is added here, once, with its
label, how its cell is drawn and (optionally) how it sorts. The table, the sort key `t`,
the header clicks and the help all read this list.

A cell reads a WorkerView: its fields, or `w.progress`, what the worker last said of its
search in the solver's own words (mse, temperature, evals_per_s, stage, ...).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable

from rich.text import Text

from jstui.snapshot import WorkerView
from jstui.present import WORKER_STYLE, fmt_age, fmt_mse, fmt_rate, sparkline
from solver.pool.lifecycle import WorkerState

TREND_WIDTH = 10
# The order an operator cares about: the working first, then what needs a look.
STATE_ORDER = (WorkerState.RUNNING, WorkerState.STALLED, WorkerState.CRASHED, WorkerState.LOST,
               WorkerState.STOPPED, WorkerState.DONE, WorkerState.SOLVED)


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    cell: Callable[[WorkerView], Any]             # a str or a rich Text
    sort: Callable[[WorkerView], Any] | None = None   # None: not a sort key


def _missing_last(value):
    return (value is None, value or 0.0)


WORKER_COLUMNS: tuple[Column, ...] = (
    Column("node", "node", lambda w: w.node, lambda w: (w.node, w.pid or 0)),
    Column("pid", "pid", lambda w: "-" if w.pid is None else str(w.pid)),
    Column("state", "state", lambda w: Text(w.state.value, style=WORKER_STYLE.get(w.state, "")),
           lambda w: (STATE_ORDER.index(w.state), w.node)),
    Column("best", "best MSE", lambda w: fmt_mse(w.best_mse), lambda w: _missing_last(w.best_mse)),
    Column("mse", "MSE", lambda w: fmt_mse(w.mse), lambda w: _missing_last(w.mse)),
    Column("rate", "evals/s", lambda w: fmt_rate(w.evals_per_s), lambda w: -(w.evals_per_s or 0.0)),
    Column("age", "age", lambda w: fmt_age(w.age), lambda w: _missing_last(w.age)),
    Column("trend", "trend", lambda w: Text(sparkline(w.history, TREND_WIDTH), style="cyan")),
    Column("run", "run", lambda w: str(w.run)),
    Column("step", "step", lambda w: f"{w.step:,}", lambda w: -w.step),
    Column("temp", "T", lambda w: "-" if w.temperature is None else f"{w.temperature:.1e}"),
    Column("start", "start", lambda w: w.progress.get("start") or "-"),
)
SORTS = tuple(c.key for c in WORKER_COLUMNS if c.sort is not None)
_BY_KEY = {c.key: c for c in WORKER_COLUMNS}


def worker_cells(w: WorkerView) -> tuple:
    return tuple(c.cell(w) for c in WORKER_COLUMNS)


def sort_workers(workers: Iterable[WorkerView], by: str, reverse: bool = False) -> list[WorkerView]:
    column = _BY_KEY.get(by)
    key = column.sort if column is not None and column.sort is not None else _BY_KEY["node"].sort
    return sorted(workers, key=key, reverse=reverse)


def filter_workers(workers: Iterable[WorkerView], query: str) -> list[WorkerView]:
    """Workers whose node, state, pid or run contain every word of `query`."""
    words = query.lower().split()
    if not words:
        return list(workers)

    def text(w: WorkerView) -> str:
        return f"{w.node} {w.state.value} {w.pid or ''} run{w.run} {w.key}".lower()

    return [w for w in workers if all(word in text(w) for word in words)]
