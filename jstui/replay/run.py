"""A past run loaded once: the pool's solutions and events of one puzzle as arrays sorted
by time, so that any moment is a bisection away, and its workers' rows. (The worker
samples are read per frame, a few index probes a worker: reading them all would cost more
than the rest of the run together.)"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from jstui.snapshot import Event
from solver.pool.rows import PuzzleRow, SolutionTimeline

EVENTS_READ = 100_000   # events read per run (the newest)


class ReplayError(Exception):
    """Nothing to replay (one sentence naming the puzzle and the pool)."""


@dataclass(frozen=True)
class Run:
    puzzle: PuzzleRow
    label: str
    solutions: SolutionTimeline
    best: np.ndarray             # the pool best after each solution (running minimum)
    improved: np.ndarray         # indices of the solutions that improved the pool best
    workers: tuple               # WorkerRow of every worker of the puzzle, as it ended
    events: tuple[Event, ...]    # by time, numbered in that order
    event_at: np.ndarray
    start: float
    end: float

    def count_at(self, t: float) -> int:
        """How many solutions the pool held at T."""
        return int(np.searchsorted(self.solutions.at, t, side="right"))

    def first_reaching(self, mse: float) -> float | None:
        """When the pool best first was MSE or lower (None: never in this run)."""
        i = int(np.searchsorted(-self.best, -mse, side="left"))
        return float(self.solutions.at[i]) if i < len(self.best) else None


def build_run(puzzle: PuzzleRow, label: str, solutions: SolutionTimeline, worker_rows,
              events: tuple[Event, ...]) -> Run:
    """Arrays from rows (pure): the running best, its improvements, the time span (the
    first solution or worker start to the last solution or heartbeat)."""
    best = np.minimum.accumulate(solutions.mse) if len(solutions.mse) else solutions.mse
    before = np.concatenate(([np.inf], best[:-1])) if len(best) else best
    times = [float(t) for t in solutions.at[[0, -1]]] if len(solutions.at) else []
    times += [t for w in worker_rows for t in (w.started_at.timestamp(), w.heartbeat.timestamp())]
    return Run(puzzle, label, solutions, best, np.flatnonzero(solutions.mse < before),
               tuple(worker_rows), events, np.array([e.at for e in events], dtype=np.float64),
               min(times, default=0.0), max(times, default=0.0))


def replay_events(rows) -> tuple[Event, ...]:
    """The event book's rows as the live screen shows them, by time, numbered in order."""
    ordered = sorted(rows, key=lambda r: (r.at, r.id))
    return tuple(Event(i + 1, r.at.timestamp(), r.kind.value, r.line)
                 for i, r in enumerate(ordered))


async def load_run(store, puzzle_id: int, label: str) -> Run:
    """Everything of one puzzle's run the pool holds, read once."""
    puzzle = next((p for p in await store.fetch_puzzles() if p.id == puzzle_id), None)
    if puzzle is None:
        raise ReplayError(f"the pool holds no puzzle #{puzzle_id}")
    solutions = await store.fetch_solution_timeline(puzzle_id)
    if not len(solutions.id):
        raise ReplayError(f"puzzle {label}: the pool holds no solution of it, so there is "
                          "no run to replay")
    worker_rows = await store.fetch_workers(puzzle_id)
    events = replay_events(await store.fetch_events(puzzle_id, limit=EVENTS_READ))
    return build_run(puzzle, label, solutions, worker_rows, events)
