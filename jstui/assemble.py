"""From pool rows and fleet status to a Snapshot: pure functions of their arguments (no
clock, no I/O), so each is tested alone. jstui.live reads the rows; this puts them together.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Iterable, Sequence

from jstui.puzzles import PuzzleChoice, Shown
from jstui.snapshot import CommandView, Event, NodeView, ObserverView, Snapshot, Trend, WorkerView
from solver.pool.base import LEASE_TTL_S, TOOL_COMMANDS
from solver.pool.lifecycle import SILENT_AFTER_S, Exit, WorkerState, view_state
from solver.pool.words import CommandStatus, NodeState
from solver.tools.zones import ZoneMap, zone_map

SHOW_ENDED_FOR = 3600.0   # ended workers stay in the table this long
MAX_WORKER_ROWS = 300
UNCLAIMED_AFTER = 5.0     # a command nobody took for this long: the screen says why


@dataclass
class History:
    """Bounded per-key MSE histories kept by the reader between snapshots.

    One sample per `spacing` seconds (a newer value inside the spacing replaces the last
    sample), so a busy pool's fast refreshes do not squeeze the time axis.
    """

    length: int = 120
    spacing: float = 5.0
    series: dict[str, list[float]] = field(default_factory=dict)
    stamps: dict[str, float] = field(default_factory=dict)

    def add(self, key: str, value: float | None, now: float = 0.0) -> tuple[float, ...]:
        values = self.series.setdefault(key, [])
        if value is not None and math.isfinite(value):
            if values and now - self.stamps.get(key, -1e18) < self.spacing:
                values[-1] = value
            else:
                values.append(value)
                self.stamps[key] = now
                del values[:-self.length]
        return tuple(values)


@dataclass(frozen=True)
class PoolState:
    """What one refresh read from the pool (rows of solver.pool, untouched)."""

    puzzle: object | None = None          # PuzzleRow of the puzzle shown
    shown: Shown | None = None            # which puzzle is shown, and why
    puzzles: tuple[PuzzleChoice, ...] = ()
    best: object | None = None            # SolutionRow
    top: tuple = ()                       # SolutionRow, best first
    counts: object | None = None          # PoolCounts
    workers: tuple = ()                   # WorkerRow
    knobs: tuple[tuple[str, float], ...] = ()
    best_over_time: tuple[tuple[float, float], ...] = ()   # (epoch, mse)
    lease: object | None = None           # LeaseRow: the observer that acts
    commands: tuple = ()                  # CommandRow, newest first


def worker_views(rows, processes, now: float, history: History,
                 down: frozenset[str] = frozenset(),
                 silent_after: float = SILENT_AFTER_S) -> tuple[WorkerView, ...]:
    """Pool worker rows joined with the fleet's processes by (node, pid), each one's state
    by the lifecycle's one rule (solver.pool.lifecycle.view_state): a terminal row is
    final, an exit record beats silence, a worker of a DOWN node is unknown."""
    procs = {(p.node, p.pid): p for p in processes}
    out = []
    for row in rows:
        proc = procs.pop((row.node, row.pid), None)
        state = view_state(row.state_stored, row.heartbeat_age_s,
                           process=proc.seen if proc is not None else None,
                           node_down=row.node in down, silent_after=silent_after)
        if not state.alive and state is not WorkerState.UNKNOWN \
                and row.heartbeat_age_s > SHOW_ENDED_FOR:
            continue
        key = f"w{row.id}"
        out.append(WorkerView(
            key=key, node=row.node, pid=row.pid, state=state, run=row.run, step=row.step,
            best_mse=row.best_mse, age=row.heartbeat_age_s, progress=dict(row.progress),
            history=history.add(key, row.best_mse, now),
            fleet_name=proc.name if proc is not None else "", worker_id=row.id,
            last_word=_last_word(row, proc)))
    for proc in procs.values():   # started but never reached the pool (e.g. crashed at import)
        age = max(0.0, now - (proc.started_at or now))
        state = view_state(None, None, process=proc.seen, node_down=proc.node in down)
        out.append(WorkerView(key=f"p:{proc.name}", node=proc.node, pid=proc.pid,
                              state=state, age=age, fleet_name=proc.name,
                              last_word=proc.seen.exit.describe() if proc.seen.exit else ""))
    out.sort(key=lambda w: (not w.alive, w.node, w.pid or 0))
    return tuple(out[:MAX_WORKER_ROWS])


def _last_word(row, proc) -> str:
    """Why an ended worker ended: its own last word in the pool, else its exit record."""
    if row.exit_reason:
        return row.exit_reason
    if proc is not None and proc.seen.exit is not None:
        return proc.seen.exit.describe()
    return ""


def exits_to_record(rows, processes) -> list[tuple[int, Exit]]:
    """(worker id, exit) for each worker whose process ended with an exit record while
    its pool row is still running or lost: the record the pool is still missing."""
    procs = {(p.node, p.pid): p for p in processes}
    out = []
    for row in rows:
        proc = procs.get((row.node, row.pid))
        if proc is not None and not row.state_stored.terminal and not proc.alive \
                and proc.seen.exit is not None:
            out.append((row.id, proc.seen.exit))
    return out


def summarise_nodes(nodes: Iterable[NodeView], workers: Sequence[WorkerView]) -> tuple[NodeView, ...]:
    """Fill each node's running count, evaluations/s and heartbeat age from its workers."""
    out = []
    for node in nodes:
        running = [w for w in workers if w.node == node.name and w.alive]
        ages = [w.age for w in running if w.age is not None]
        out.append(replace(
            node, workers_running=len(running),
            evals_per_s=sum(w.evals_per_s or 0.0 for w in running),
            heartbeat_age=min(ages) if ages else node.heartbeat_age))
    return tuple(out)


def node_views(fleet_status, workers: Sequence[WorkerView]) -> tuple[NodeView, ...]:
    """The fleet's nodes; without a fleet, the nodes the pool has heard of."""
    if fleet_status is None:
        alive = {w.node for w in workers if w.alive}
        nodes = [NodeView(n, NodeState.UP if n in alive else NodeState.IDLE,
                          "" if n in alive else "no running worker in the pool")
                 for n in sorted({w.node for w in workers})]
        return summarise_nodes(nodes, workers)
    nodes = []
    for ns in fleet_status.nodes:
        state, reason = node_state(ns)
        nodes.append(NodeView(
            name=ns.node, state=state, reason=reason, workers_expected=ns.configured_workers,
            load=ns.facts.load[0] if ns.facts is not None and ns.facts.load else None))
    return summarise_nodes(nodes, workers)


def node_state(ns) -> tuple[NodeState, str]:
    """(state, reason) of a fleet NodeStatus. A node that never answered yet is
    connecting, not slow: only a node that answered before can fall behind."""
    health = NodeState(ns.health.state)
    if health is NodeState.DOWN:
        return NodeState.DOWN, ns.health.reason or "down"
    if health is not NodeState.UP or (ns.stale and ns.facts is None):
        return NodeState.CONNECTING, ""
    if ns.stale:
        return NodeState.SLOW, f"{ns.error}; its last known figures are shown"
    return NodeState.UP, ns.error


def down_nodes(fleet_status) -> frozenset[str]:
    if fleet_status is None:
        return frozenset()
    return frozenset(n.node for n in fleet_status.nodes if node_state(n)[0] is NodeState.DOWN)


def zones_of(best, top) -> ZoneMap | None:
    """The same map as `python -m solver zones`: one rule, solver.tools.zones."""
    if best is None or not top:
        return None
    return zone_map(best.permutation, [s.permutation for s in top], best.id)


def observer_view(lease) -> ObserverView | None:
    if lease is None:
        return None
    return ObserverView(lease.holder, lease.puzzle_id, lease.beat_age_s,
                        lease.live(LEASE_TTL_S))


def command_views(rows, lease, puzzle_id: int | None, now: float) -> tuple[CommandView, ...]:
    """The commands that have not ended, oldest first; one nobody took for
    UNCLAIMED_AFTER seconds says why, and what to do about it."""
    out = []
    for c in sorted(rows, key=lambda c: c.id):
        if c.status not in (CommandStatus.PENDING, CommandStatus.CLAIMED):
            continue
        age = max(0.0, now - c.created_at.timestamp())
        why = ""
        if c.status is CommandStatus.PENDING and age >= UNCLAIMED_AFTER:
            why = unclaimed_why(c, lease, puzzle_id)
        out.append(CommandView(c.id, c.kind, c.status.value, age,
                               (c.progress or {}).get("message", ""), c.claimed_by, why))
    return tuple(out)


def unclaimed_why(command, lease, puzzle_id: int | None) -> str:
    """Why nobody took a command: who should, and the fix."""
    if command.kind not in TOOL_COMMANDS:
        return "no worker has taken it (a worker takes its commands at its heartbeat)"
    if lease is None or not lease.live(LEASE_TTL_S):
        return ("no observer holds the lease: jstui starts one beside a fleet it drives; "
                "else run `python -m solver observe --puzzle DIR --dsn DSN`")
    wanted = command.puzzle_id if command.puzzle_id is not None else puzzle_id
    if lease.puzzle_id is not None and wanted is not None and lease.puzzle_id != wanted:
        return (f"the observer {lease.holder} serves puzzle #{lease.puzzle_id}, not #{wanted}: "
                "stop it (its session's q) and jstui starts one for this puzzle")
    return f"the observer {lease.holder} has not taken it yet (it runs one command at a time)"


TREND_WINDOW_S = 120.0   # the header's trend: how far the best fell in the last 2 minutes


def trend_of(best_history: Sequence[tuple[float, float]], now: float,
             window: float = TREND_WINDOW_S) -> Trend | None:
    """How many times the pool best fell over the last WINDOW seconds (or since the
    first best, when the run is younger). None before any finite best."""
    points = sorted((t, v) for t, v in best_history if v is not None and math.isfinite(v))
    if not points:
        return None
    since = now - window
    before = [p for p in points if p[0] <= since]
    then_t, then = before[-1] if before else points[0]
    best = min(v for _, v in points)
    span = now - max(then_t, since)
    if best <= 0:
        return Trend(math.inf if then > 0 else 1.0, span)
    return Trend(then / best, span)


def build_snapshot(pool: PoolState, fleet_status, now: float, *, history: History,
                   events: tuple[Event, ...], auto_relaunch: bool,
                   pool_error: str | None = None,
                   silent_after: float = SILENT_AFTER_S) -> Snapshot:
    processes = fleet_status.workers if fleet_status is not None else ()
    down = down_nodes(fleet_status)
    workers = worker_views(pool.workers, processes, now, history, down, silent_after)
    best, counts = pool.best, pool.counts
    shown = pool.shown or Shown(None, "", "", True)
    return Snapshot(
        taken_at=now, puzzle=shown.label, puzzle_id=shown.id, puzzle_why=shown.why,
        puzzle_is_configured=shown.is_configured, puzzles=pool.puzzles,
        target_sha256=getattr(pool.puzzle, "target_sha256", None),
        best_mse=best.mse if best is not None else None,
        best_age=max(0.0, now - best.created_at.timestamp()) if best is not None else None,
        best_sha256=best.sha256 if best is not None else None,
        best_relative=relative_of(pool.puzzle, best),
        best_trend=trend_of(pool.best_over_time, now),
        solved=bool(counts is not None and counts.exact > 0) or bool(best is not None and best.exact),
        solutions=counts.solutions if counts is not None else 0,
        nodes=node_views(fleet_status, workers), workers=workers,
        best_history=pool.best_over_time, zones=zones_of(best, pool.top),
        events=events, auto_relaunch=auto_relaunch, knobs=pool.knobs,
        pool_error=pool_error, fleet_error=f"{len(down)} node(s) down" if down else None,
        observer=observer_view(pool.lease),
        commands=command_views(pool.commands, pool.lease, shown.id, now))


def relative_of(puzzle, best) -> float | None:
    """The pool best over the puzzle's var(pred), where the pool knows it."""
    if puzzle is None or best is None:
        return None
    return puzzle.relative(best.mse)
