"""A past run loaded once: the pool's solutions, worker samples and events of one puzzle
as arrays sorted by time, so that any moment is a bisection away."""
from __future__ import annotations

import asyncio
from dataclasses import dataclass

import numpy as np

from jstui.assemble import EventBook
from jstui.snapshot import Event
from solver.pool.rows import PuzzleRow, SolutionTimeline, WorkerTimeline, worker_timeline

EVENTS_READ = 100_000   # observations and commands read per run (newest first)


class ReplayError(Exception):
    """Nothing to replay (one sentence naming the puzzle and the pool)."""


@dataclass(frozen=True)
class WorkerTrack:
    """One worker's samples: indices into the run's WorkerTimeline and their times."""
    id: int
    node: str
    pid: int | None
    rows: np.ndarray        # int64 indices, oldest first
    at: np.ndarray          # float64


@dataclass(frozen=True)
class Run:
    puzzle: PuzzleRow
    label: str
    solutions: SolutionTimeline
    best: np.ndarray             # the pool best after each solution (running minimum)
    improved: np.ndarray         # indices of the solutions that improved the pool best
    samples: WorkerTimeline
    workers: tuple[WorkerTrack, ...]
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


def build_run(puzzle: PuzzleRow, label: str, solutions: SolutionTimeline,
              samples: WorkerTimeline, worker_rows, events: tuple[Event, ...]) -> Run:
    """Arrays from rows (pure): the running best, each worker's track, the time span."""
    best = np.minimum.accumulate(solutions.mse) if len(solutions.mse) else solutions.mse
    before = np.concatenate(([np.inf], best[:-1])) if len(best) else best
    names = {w.id: (w.node, w.pid) for w in worker_rows}
    tracks = []
    for wid in np.unique(samples.worker_id):
        rows = np.flatnonzero(samples.worker_id == wid)
        node, pid = names.get(int(wid), (f"worker {wid}", None))
        tracks.append(WorkerTrack(int(wid), node, pid, rows, samples.at[rows]))
    times = [a for a in (solutions.at[:1], solutions.at[-1:], samples.at[:1], samples.at[-1:])
             if len(a)]
    start = float(min(a[0] for a in times)) if times else 0.0
    end = float(max(a[0] for a in times)) if times else 0.0
    return Run(puzzle, label, solutions, best, np.flatnonzero(solutions.mse < before), samples,
               tuple(tracks), events, np.array([e.at for e in events], dtype=np.float64),
               start, end)


def fallback_samples(samples: WorkerTimeline, worker_rows) -> WorkerTimeline:
    """Workers of a run older than the pool's worker samples (migration 6): two samples
    each from their rows, their start and their last word (ids below 0: no progress)."""
    have = set(samples.worker_id.tolist())
    extra = []
    for w in worker_rows:
        if w.id in have:
            continue
        start, last = w.started_at.timestamp(), (w.finished_at or w.heartbeat).timestamp()
        extra.append((-1 - len(extra), w.id, start, start, "running", 0, 0, None))
        extra.append((-1 - len(extra), w.id, last, w.heartbeat.timestamp(), w.status, w.run,
                      w.step, w.best_mse))
    if not extra:
        return samples
    columns = [list(c) for c in (samples.id, samples.worker_id, samples.at, samples.heartbeat,
                                 samples.status, samples.run, samples.step, samples.best_mse)]
    for row in extra:
        for column, value in zip(columns, row):
            column.append(value)
    order = np.argsort(np.asarray(columns[2], dtype=np.float64), kind="stable")
    return worker_timeline(*([column[i] for i in order] for column in columns))


def replay_events(observations, commands, refusals, puzzle_id: int) -> tuple[Event, ...]:
    """The live screen's events (jstui.assemble.EventBook), by time, numbered in order."""
    book = EventBook(keep=10 * EVENTS_READ)
    book.observations([o for o in observations if o.puzzle_id in (None, puzzle_id)])
    book.commands([c for c in commands if c.puzzle_id in (None, puzzle_id)])
    book.refusals([r for r in refusals if r.get("puzzle_id") in (None, puzzle_id)])
    ordered = sorted(book.snapshot(), key=lambda e: (e.at, e.id))
    return tuple(Event(i + 1, e.at, e.kind, e.text) for i, e in enumerate(ordered))


async def load_run(store, puzzle_id: int, label: str) -> Run:
    """Everything of one puzzle's run the pool holds, read once."""
    puzzle = next((p for p in await store.fetch_puzzles() if p.id == puzzle_id), None)
    if puzzle is None:
        raise ReplayError(f"the pool holds no puzzle #{puzzle_id}")
    # The two big reads side by side (on two connections of the store).
    solutions, samples = await asyncio.gather(store.fetch_solution_timeline(puzzle_id),
                                              store.fetch_worker_timeline(puzzle_id))
    if not len(solutions.id):
        raise ReplayError(f"puzzle {label}: the pool holds no solution of it, so there is "
                          "no run to replay")
    worker_rows = await store.fetch_workers(puzzle_id)
    samples = fallback_samples(samples, worker_rows)
    events = replay_events(await store.fetch_observations(EVENTS_READ, puzzle_id),
                           await store.fetch_commands(EVENTS_READ),
                           await store.fetch_refusals(EVENTS_READ), puzzle_id)
    return build_run(puzzle, label, solutions, samples, worker_rows, events)
