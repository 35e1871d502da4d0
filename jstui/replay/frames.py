"""The screen at time t of a loaded run: the same assembly as the live screen
(jstui.assemble.build_snapshot) fed the pool as it was then. Pure: no clock, no I/O; the
few solutions whose permutations it shows are handed in (frames.needed says which)."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone

import numpy as np

from jstui.assemble import History, PoolState, build_snapshot
from jstui.puzzles import Shown
from jstui.replay.run import Run
from jstui.snapshot import Snapshot
from solver.pool.rows import PoolCounts, WorkerRow, WorkerSample
from solver.pool.lifecycle import SILENT_AFTER_S, WorkerState

ZONE_K = 20          # the top solutions the zones are judged from, as on the live screen
EVENTS_SHOWN = 200


def needed(run: Run, t: float, k: int = ZONE_K) -> list[int]:
    """Ids of the K best solutions the pool held at T, best first (ties: the older)."""
    n = run.count_at(t)
    if n == 0:
        return []
    mse = run.solutions.mse[:n]
    part = np.argpartition(mse, min(k, n) - 1)[:k] if n > k else np.arange(n)
    order = part[np.lexsort((part, mse[part]))]
    return [int(i) for i in run.solutions.id[order]]


def _stamp(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, tz=timezone.utc)


def as_of(row: WorkerRow, t: float) -> WorkerSample | None:
    """A worker of a run older than the worker samples (migration 6), from its row alone:
    running from its start, its last word from its end."""
    start, beat = row.started_at.timestamp(), row.heartbeat.timestamp()
    if t < start:
        return None
    if t < (row.finished_at or row.heartbeat).timestamp():
        return WorkerSample(0, row.id, start, start, "running", 0, 0, None, {})
    return WorkerSample(0, row.id, beat, beat, row.status, row.run, row.step, row.best_mse,
                        dict(row.progress))


def worker_rows_at(run: Run, t: float, samples) -> tuple[tuple[WorkerRow, tuple], ...]:
    """Each worker started by T as its row said then (SAMPLES: the pool's samples of T,
    fetch_worker_samples_at), with its best-MSE trend."""
    by_worker = {s.worker_id: s for s in samples}
    out = []
    for row in run.workers:
        s = by_worker.get(row.id) or as_of(row, t)
        if s is None:
            continue
        age = max(0.0, t - s.heartbeat)
        if s.next_at is not None and WorkerState.parse(s.status).alive:
            # A later sample says it went on beating: between two samples of the grain
            # it is alive, whatever the age of the last one.
            age = min(age, SILENT_AFTER_S)
        then = replace(row, status=s.status, run=s.run, step=s.step, best_mse=s.best_mse,
                       progress=dict(s.progress), heartbeat=_stamp(s.heartbeat),
                       finished_at=None, exit_reason=None, heartbeat_age_s=age)
        out.append((then, s.trend))
    return tuple(out)


def pool_at(run: Run, t: float, solutions: dict, workers) -> PoolState:
    n = run.count_at(t)
    top = tuple(solutions[i] for i in needed(run, t) if i in solutions)
    shown = int(np.searchsorted(run.solutions.at[run.improved], t, side="right"))
    curve = tuple((float(run.solutions.at[i]), float(run.solutions.mse[i]))
                  for i in run.improved[:shown])
    counts = PoolCounts(solutions=n, exact=int(run.solutions.exact[:n].sum()),
                        workers_alive=sum(r.state.alive for r, _ in workers),
                        workers_lost=0, refusals=0, commands_pending=0,
                        best_mse=float(run.best[n - 1]) if n else None)
    return PoolState(puzzle=run.puzzle, shown=Shown(run.puzzle.id, run.label, "replay", True),
                     best=top[0] if top else None, top=top, counts=counts,
                     workers=tuple(r for r, _ in workers), best_over_time=curve)


def frame_at(run: Run, t: float, solutions: dict, samples) -> Snapshot:
    """The snapshot the live screen showed at T. SOLUTIONS: id -> SolutionRow, holding at
    least needed(run, t); SAMPLES: the pool's worker samples of T."""
    workers = worker_rows_at(run, t, samples)
    events = run.events[:int(np.searchsorted(run.event_at, t, side="right"))][-EVENTS_SHOWN:]
    snap = build_snapshot(pool_at(run, t, solutions, workers), None, t, history=History(),
                          events=events, auto_relaunch=False)
    trends = {f"w{r.id}": trend for r, trend in workers}
    return replace(snap, workers=tuple(replace(w, history=trends.get(w.key, w.history))
                                       for w in snap.workers))
