"""From pool rows and fleet status to a Snapshot: pure functions of their arguments (no
clock, no I/O), so each is tested alone. jstui.live reads the rows; this puts them together.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Iterable, Sequence

from jstui.puzzles import PuzzleChoice, Shown
from jstui.snapshot import Event, NodeView, Snapshot, WorkerView
from solver.pool.base import TOOL_COMMANDS
from solver.pool.states import WorkerState
from solver.tools.zones import ZoneMap, zone_map

SHOW_ENDED_FOR = 3600.0   # ended workers stay in the table this long
MAX_WORKER_ROWS = 300


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


def worker_views(rows, processes, now: float, history: History) -> tuple[WorkerView, ...]:
    """Pool worker rows joined with the fleet's processes by (node, pid). A process the
    fleet sees knows its own state best; a row alone follows the pool's rule (row.state)."""
    procs = {(p.node, p.pid): p for p in processes}
    out = []
    for row in rows:
        proc = procs.pop((row.node, row.pid), None)
        state = WorkerState(proc.state) if proc is not None else row.state
        if not state.alive and row.heartbeat_age_s > SHOW_ENDED_FOR:
            continue
        key = f"w{row.id}"
        out.append(WorkerView(
            key=key, node=row.node, pid=row.pid, state=state, run=row.run, step=row.step,
            best_mse=row.best_mse, age=row.heartbeat_age_s, progress=dict(row.progress),
            history=history.add(key, row.best_mse, now),
            fleet_name=proc.name if proc is not None else ""))
    for proc in procs.values():   # started but never reached the pool (e.g. crashed at import)
        age = proc.heartbeat_age if proc.heartbeat_age is not None else \
            max(0.0, now - (proc.started_at or now))
        out.append(WorkerView(key=f"p:{proc.name}", node=proc.node, pid=proc.pid,
                              state=WorkerState(proc.state), age=age, fleet_name=proc.name))
    out.sort(key=lambda w: (not w.alive, w.node, w.pid or 0))
    return tuple(out[:MAX_WORKER_ROWS])


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
        nodes = [NodeView(n, "up" if n in alive else "idle",
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


def node_state(ns) -> tuple[str, str]:
    """(state, reason) of a fleet NodeStatus, in the words of snapshot.NODE_STATES."""
    health = getattr(ns.health.state, "value", ns.health.state)
    if health == "down":
        return "down", ns.health.reason or "down"
    if health != "up":
        return "connecting", ""
    if ns.stale:
        return "slow", f"{ns.error}; its last known figures are shown"
    return "up", ns.error


def zones_of(best, top) -> ZoneMap | None:
    """The same map as `python -m solver zones`: one rule, solver.tools.zones."""
    if best is None or not top:
        return None
    return zone_map(best.permutation, [s.permutation for s in top], best.id)


def build_snapshot(pool: PoolState, fleet_status, now: float, *, history: History,
                   events: tuple[Event, ...], auto_relaunch: bool,
                   pool_error: str | None = None) -> Snapshot:
    processes = fleet_status.workers if fleet_status is not None else ()
    workers = worker_views(pool.workers, processes, now, history)
    best, counts = pool.best, pool.counts
    shown = pool.shown or Shown(None, "", "", True)
    fleet_error = None
    if fleet_status is not None:
        down = [n.node for n in fleet_status.nodes if node_state(n)[0] == "down"]
        fleet_error = f"{len(down)} node(s) down" if down else None
    return Snapshot(
        taken_at=now, puzzle=shown.label, puzzle_id=shown.id, puzzle_why=shown.why,
        puzzle_is_configured=shown.is_configured, puzzles=pool.puzzles,
        target_sha256=getattr(pool.puzzle, "target_sha256", None),
        best_mse=best.mse if best is not None else None,
        best_age=max(0.0, now - best.created_at.timestamp()) if best is not None else None,
        best_sha256=best.sha256 if best is not None else None,
        solved=bool(counts is not None and counts.exact > 0)
        or bool(best is not None and best.matches_target),
        solutions=counts.solutions if counts is not None else 0,
        nodes=node_views(fleet_status, workers), workers=workers,
        best_history=pool.best_over_time, zones=zones_of(best, pool.top),
        events=events, auto_relaunch=auto_relaunch, knobs=pool.knobs,
        pool_error=pool_error, fleet_error=fleet_error)


class EventBook:
    """Turns pool observations, finished commands and refusals into numbered events."""

    def __init__(self, keep: int = 200) -> None:
        self.keep = keep
        self.seen: set[tuple[str, int]] = set()
        self.events: list[Event] = []
        self.next_id = 1

    def add(self, source: str, source_id: int, at: float, kind: str, text: str) -> None:
        if (source, source_id) in self.seen:
            return
        self.seen.add((source, source_id))
        self.events.append(Event(self.next_id, at, kind, text))
        self.next_id += 1
        del self.events[:-self.keep]

    def local(self, kind: str, text: str, at: float) -> None:
        self.add("local", self.next_id, at, kind, text)

    def observations(self, rows) -> None:
        for r in sorted(rows, key=lambda r: r.id):
            kind = r.kind if r.kind in ("inject", "surgery", "error") else "observe"
            if r.kind == "command":   # the observer's report of a tool command it ran
                kind = next((k for k in ("inject", "surgery") if r.message.startswith(k)), kind)
            self.add("obs", r.id, r.at.timestamp(), kind, r.message)

    def commands(self, rows) -> None:
        for r in sorted(rows, key=lambda r: r.id):
            if r.status not in ("done", "failed") or r.finished_at is None:
                continue
            if r.kind in TOOL_COMMANDS and r.status == "done":
                continue              # the observer reports these as observations
            kind = r.kind if r.kind in ("inject", "surgery") else "relaunch"
            if r.status == "failed":
                kind = "error"
            outcome = (r.result or {}).get("message") or (r.result or {}).get("error") or r.status
            self.add("cmd", r.id, r.finished_at.timestamp(), kind, f"{r.kind} #{r.id}: {outcome}")

    def refusals(self, rows) -> None:
        for r in sorted(rows, key=lambda r: r["id"]):
            who = f"{r['node']}" if r.get("node") else "pool"
            self.add("ref", r["id"], r["at"].timestamp(), "error", f"{who}: refused: {r['reason']}")

    def snapshot(self) -> tuple[Event, ...]:
        return tuple(self.events)
