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
from solver.pool.rows import PoolCounts, WorkerRow

ZONE_K = 20          # the top solutions the zones are judged from, as on the live screen
TREND_POINTS = 120   # samples of a worker's best in its trend
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


def samples_at(run: Run, t: float) -> list[tuple[object, int]]:
    """(track, position in it) of each worker's last sample by T (workers started by T)."""
    out = []
    for track in run.workers:
        j = int(np.searchsorted(track.at, t, side="right")) - 1
        if j >= 0:
            out.append((track, j))
    return out


def progress_needed(run: Run, t: float) -> list[int]:
    """Ids of the samples whose progress the screen at T shows."""
    return [int(run.samples.id[track.rows[j]]) for track, j in samples_at(run, t)]


def worker_rows_at(run: Run, t: float,
                   progress: dict) -> tuple[tuple[WorkerRow, tuple[float, ...]], ...]:
    """Each worker started by T as its row said then, with its best-MSE trend. PROGRESS:
    sample id -> the progress it carried (progress_needed says which)."""
    s, out = run.samples, []
    for track, j in samples_at(run, t):
        i = int(track.rows[j])
        best = None if np.isnan(s.best_mse[i]) else float(s.best_mse[i])
        trend = s.best_mse[track.rows[max(0, j + 1 - TREND_POINTS):j + 1]]
        row = WorkerRow(
            id=track.id, puzzle_id=run.puzzle.id, node=track.node, pid=track.pid,
            status=s.status[i], run=int(s.run[i]), step=int(s.step[i]), best_mse=best,
            progress=dict(progress.get(int(s.id[i]), {})), config_version=None,
            heartbeat=_stamp(s.heartbeat[i]), started_at=_stamp(track.at[0]),
            finished_at=None, exit_reason=None, heartbeat_age_s=max(0.0, t - s.heartbeat[i]))
        out.append((row, tuple(float(v) for v in trend if not np.isnan(v))))
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


def frame_at(run: Run, t: float, solutions: dict, progress: dict) -> Snapshot:
    """The snapshot the live screen showed at T. SOLUTIONS: id -> SolutionRow, holding at
    least needed(run, t); PROGRESS: sample id -> progress, for progress_needed(run, t)."""
    workers = worker_rows_at(run, t, progress)
    events = run.events[:int(np.searchsorted(run.event_at, t, side="right"))][-EVENTS_SHOWN:]
    snap = build_snapshot(pool_at(run, t, solutions, workers), None, t, history=History(),
                          events=events, auto_relaunch=False)
    trends = {f"w{r.id}": trend for r, trend in workers}
    return replace(snap, workers=tuple(replace(w, history=trends.get(w.key, w.history))
                                       for w in snap.workers))
