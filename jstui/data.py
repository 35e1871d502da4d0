"""What the control center shows: immutable snapshots of pool + fleet, and pure helpers.

Widgets only render a `Snapshot`; the reader at the end of this module builds them.
The helpers are pure functions of their arguments (no clock, no I/O): tested alone.
"""
from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import AsyncIterator, Iterable, Protocol, Sequence

from jstui.fleet.model import WorkerState
from jstui.puzzles import ConfiguredPuzzle, PuzzleChoice, Shown, choices, choose, identify

# Worker states: the fleet's words (WorkerState), in the order an operator cares about them.
RUNNING, STALLED, CRASHED, LOST, STOPPED, DONE, SOLVED = STATUSES = tuple(s.value for s in (
    WorkerState.RUNNING, WorkerState.STALLED, WorkerState.CRASHED, WorkerState.LOST,
    WorkerState.STOPPED, WorkerState.DONE, WorkerState.SOLVED))

# Agreement zones: share of the top-K solutions that agree with the best at a position.
LOCKED, MIXED, UNCERTAIN = "locked", "mixed", "uncertain"


@dataclass(frozen=True)
class NodeView:
    """One machine of the fleet as the operator sees it."""

    name: str
    state: str = "up"                 # see NODE_STATES
    reason: str = ""                  # why it is not up, or what is wrong while up
    workers_running: int = 0
    workers_expected: int = 0
    load: float | None = None         # 1-minute load average
    moves_per_s: float = 0.0
    heartbeat_age: float | None = None  # seconds since its newest worker heartbeat

    @property
    def up(self) -> bool:
        return self.state == "up"


# up: it answered this refresh. slow: connected, but no answer within the deadline (its
# last known figures are shown). connecting, down: the SSH connection. idle: without a
# fleet, a node the pool knows with no running worker (whether the machine is up, the
# pool cannot tell).
NODE_STATES = ("up", "slow", "connecting", "down", "idle")


@dataclass(frozen=True)
class WorkerView:
    """One worker process: where it runs, how far it got, how good it is."""

    key: str                          # stable row key (worker id from the pool)
    node: str
    pid: int | None = None
    run: int = 0
    step: int = 0
    temperature: float | None = None
    mse: float | None = None
    best_mse: float | None = None
    moves_per_s: float | None = None
    status: str = RUNNING             # a WorkerState value: running, stalled, done, ...
    age: float | None = None          # seconds since its last heartbeat
    history: tuple[float, ...] = ()   # its best MSE over time, oldest first
    fleet_name: str = ""               # "NODE/SLOT" when the fleet started it

    @property
    def alive(self) -> bool:
        return WorkerState(self.status).alive


@dataclass(frozen=True)
class Zones:
    """Per position, the share of the top-K solutions agreeing with the pool best."""

    shares: tuple[float, ...]
    k: int
    locked_at: float = 0.9            # share >= locked_at: locked
    uncertain_below: float = 0.5      # share < uncertain_below: uncertain
    min_evidence: int = 5             # fewer solutions than this: nothing is locked


@dataclass(frozen=True)
class Event:
    """One line of the event log: relaunches, injections, surgery, observer, errors."""

    id: int
    at: float                         # epoch seconds
    kind: str
    text: str


@dataclass(frozen=True)
class Snapshot:
    """Everything the main screen shows at one instant."""

    taken_at: float
    puzzle: str = ""                  # "name (N=48)" of the puzzle on screen
    puzzle_id: int | None = None      # its id in the pool (None: not registered yet)
    puzzle_why: str = ""              # why this one: "the configured puzzle", "chosen; ..."
    puzzle_is_configured: bool = True  # the fleet's and the observer's (or none is configured)
    puzzles: tuple[PuzzleChoice, ...] = ()   # every puzzle of the pool, to switch between
    target_sha256: str | None = None
    best_mse: float | None = None
    best_age: float | None = None     # seconds since the pool best was found
    best_sha256: str | None = None
    solved: bool = False              # the pool holds the target hash
    pool_rows: int = 0
    nodes: tuple[NodeView, ...] = ()
    workers: tuple[WorkerView, ...] = ()
    best_history: tuple[float, ...] = ()
    zones: Zones | None = None
    events: tuple[Event, ...] = ()
    auto_relaunch: bool = False
    knobs: tuple[tuple[str, float], ...] = ()
    pool_error: str | None = None     # the pool could not be read; the rest is stale
    fleet_error: str | None = None
    refresh_ms: float | None = None   # what building this snapshot cost


EMPTY = Snapshot(taken_at=0.0)


# ---- zones -----------------------------------------------------------------------

def agreement_shares(best: Sequence[int], top: Iterable[Sequence[int]]) -> tuple[float, ...]:
    """Per position, the share of `top` arrangements equal to `best` there."""
    top = [t for t in top if len(t) == len(best)]
    if not top:
        return tuple(1.0 for _ in best)
    agree = [0] * len(best)
    for arrangement in top:
        for i, (a, b) in enumerate(zip(arrangement, best)):
            agree[i] += a == b
    return tuple(a / len(top) for a in agree)


def block_positions(permutation: Sequence[int]) -> list[tuple[int, int]]:
    """The (inp, out) pair of piece ids at each block of a public permutation."""
    n = (len(permutation) - 1) // 2
    return [(permutation[2 * i], permutation[2 * i + 1]) for i in range(n)]


def zone_of(share: float, zones: Zones) -> str:
    if share >= zones.locked_at and zones.k >= zones.min_evidence:
        return LOCKED
    if share < zones.uncertain_below:
        return UNCERTAIN
    return MIXED


def zone_runs(zones: Zones) -> list[tuple[int, int, str]]:
    """Consecutive positions in the same zone, as (first, last, zone), 1-based."""
    runs: list[tuple[int, int, str]] = []
    for i, share in enumerate(zones.shares, start=1):
        z = zone_of(share, zones)
        if runs and runs[-1][2] == z:
            runs[-1] = (runs[-1][0], i, z)
        else:
            runs.append((i, i, z))
    return runs


def uncertain_positions(zones: Zones | None) -> list[int]:
    """1-based positions in the uncertain zone: the default target of surgery."""
    if zones is None:
        return []
    return [i for i, s in enumerate(zones.shares, start=1) if zone_of(s, zones) == UNCERTAIN]


# ---- sparklines and numbers ------------------------------------------------------

BARS = "▁▂▃▄▅▆▇█"


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


# ---- workers ---------------------------------------------------------------------

SORT_KEYS = {
    "node": lambda w: (w.node, w.pid or 0),
    "best": lambda w: (w.best_mse is None, w.best_mse or 0.0),
    "mse": lambda w: (w.mse is None, w.mse or 0.0),
    "rate": lambda w: -(w.moves_per_s or 0.0),
    "status": lambda w: (STATUSES.index(w.status) if w.status in STATUSES else 9, w.node),
    "age": lambda w: (w.age is None, w.age or 0.0),
    "step": lambda w: -w.step,
}


def sort_workers(workers: Iterable[WorkerView], by: str, reverse: bool = False) -> list[WorkerView]:
    key = SORT_KEYS.get(by, SORT_KEYS["node"])
    return sorted(workers, key=key, reverse=reverse)


def filter_workers(workers: Iterable[WorkerView], query: str) -> list[WorkerView]:
    """Workers whose node, status, pid or run contain every word of `query`."""
    words = query.lower().split()
    if not words:
        return list(workers)

    def text(w: WorkerView) -> str:
        return f"{w.node} {w.status} {w.pid or ''} run{w.run} {w.key}".lower()

    return [w for w in workers if all(word in text(w) for word in words)]


def summarise_nodes(nodes: Iterable[NodeView], workers: Sequence[WorkerView]) -> tuple[NodeView, ...]:
    """Fill each node's running count, moves/s and heartbeat age from its workers."""
    out = []
    for node in nodes:
        mine = [w for w in workers if w.node == node.name]
        running = [w for w in mine if w.alive]
        ages = [w.age for w in running if w.age is not None]
        out.append(replace(
            node,
            workers_running=len(running),
            moves_per_s=sum(w.moves_per_s or 0.0 for w in running),
            heartbeat_age=min(ages) if ages else node.heartbeat_age,
        ))
    return tuple(out)


def newly_solved(previous: Snapshot | None, current: Snapshot) -> bool:
    """The pool holds the target hash now and did not in the previous snapshot."""
    return current.solved and not (previous is not None and previous.solved)


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


# ---- what the app talks to -------------------------------------------------------

class SnapshotSource(Protocol):
    """Anything that yields snapshots: the live reader, or a fixed recorded state."""

    def snapshots(self) -> AsyncIterator[Snapshot]: ...

    def choose_puzzle(self, puzzle_id: int) -> None:
        """Show this puzzle of the pool from the next snapshot on."""


class Controls(Protocol):
    """The commands the UI sends; each returns one line for the event log."""

    async def relaunch(self, node: str | None) -> str | None: ...
    async def stop_worker(self, worker: WorkerView) -> str | None: ...
    async def inject(self, kind: str) -> str | None: ...
    async def surgery(self, positions: list[int]) -> str | None: ...
    async def deploy(self) -> str | None: ...
    async def set_auto_relaunch(self, on: bool) -> str | None: ...
    async def set_knobs(self, knobs: dict[str, float]) -> str | None: ...
    async def tail(self, worker: WorkerView) -> str: ...


class FixedSource:
    """A recorded state: yields its snapshots once, then stays quiet (no clock)."""

    def __init__(self, *snapshots: Snapshot) -> None:
        self.chosen_puzzle: int | None = None
        self.queue: asyncio.Queue[Snapshot] = asyncio.Queue()
        for snap in snapshots:
            self.queue.put_nowait(snap)

    def push(self, snap: Snapshot) -> None:
        self.queue.put_nowait(snap)

    def choose_puzzle(self, puzzle_id: int) -> None:
        self.chosen_puzzle = puzzle_id   # a recorded state has only its own puzzle

    async def snapshots(self) -> AsyncIterator[Snapshot]:
        while True:
            yield await self.queue.get()


# ---- from pool rows and fleet status to a snapshot (pure) -----------------------

SHOW_ENDED_FOR = 3600.0   # ended workers stay in the table this long
MAX_WORKER_ROWS = 300


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
    best_over_time: tuple[float, ...] = ()


def _state(value) -> str:
    return getattr(value, "value", value)


def worker_views(rows, processes, now: float, lost_after: float,
                 history: History) -> tuple[WorkerView, ...]:
    """Pool worker rows joined with the fleet's processes by (node, pid)."""
    procs = {(p.node, p.pid): p for p in processes}
    seen = set()
    out = []
    for row in rows:
        proc = procs.get((row.node, row.pid))
        seen.add((row.node, row.pid))
        status = WorkerState.from_pool(row.status)
        if proc is not None:      # the process itself knows best
            status = WorkerState(_state(proc.state))
        elif status == WorkerState.RUNNING and row.heartbeat_age_s > lost_after:
            status = WorkerState.LOST
        if not status.alive and row.heartbeat_age_s > SHOW_ENDED_FOR:
            continue
        key = f"w{row.id}"
        out.append(WorkerView(
            key=key, node=row.node, pid=row.pid, run=row.run, step=row.step,
            temperature=row.temperature, mse=row.current_mse, best_mse=row.best_mse,
            moves_per_s=row.moves_per_s if status.alive else None, status=status.value,
            age=row.heartbeat_age_s, history=history.add(key, row.best_mse, now),
            fleet_name=proc.name if proc is not None else "",
        ))
    for proc in processes:   # started but never reached the pool (e.g. crashed at import)
        if (proc.node, proc.pid) in seen:
            continue
        started = proc.started_at or now
        out.append(WorkerView(
            key=f"p:{proc.name}", node=proc.node, pid=proc.pid,
            status=_state(proc.state), age=proc.heartbeat_age
            if proc.heartbeat_age is not None else max(0.0, now - started), fleet_name=proc.name))
    out.sort(key=lambda w: (not w.alive, w.node, w.pid or 0))
    return tuple(out[:MAX_WORKER_ROWS])


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
    """(state, reason) of a fleet NodeStatus, in the words of NODE_STATES."""
    health = _state(ns.health.state)
    if health == "down":
        return "down", ns.health.reason or "down"
    if health != "up":
        return "connecting", ""
    if ns.stale:
        return "slow", f"{ns.error}; its last known figures are shown"
    return "up", ns.error


def zones_from_top(best, top) -> Zones | None:
    """The same map as `python -m solver zones` (its thresholds, its evidence rule)."""
    from solver.tools.zones import LOCKED_AT, MIN_EVIDENCE, UNCERTAIN_BELOW

    if best is None or not top:
        return None
    pairs = [block_positions(s.permutation) for s in top]
    return Zones(agreement_shares(block_positions(best.permutation), pairs), k=len(top),
                 locked_at=LOCKED_AT, uncertain_below=UNCERTAIN_BELOW, min_evidence=MIN_EVIDENCE)


def build_snapshot(pool: PoolState, fleet_status, now: float, *, history: History,
                   events: tuple[Event, ...], auto_relaunch: bool, lost_after: float = 60.0,
                   pool_error: str | None = None) -> Snapshot:
    processes = fleet_status.workers if fleet_status is not None else ()
    workers = worker_views(pool.workers, processes, now, lost_after, history)
    best = pool.best
    puzzle = pool.puzzle
    target = getattr(puzzle, "target_sha256", None)
    shown = pool.shown or Shown(None, "", "", True)
    counts = pool.counts
    fleet_error = None
    if fleet_status is not None:
        down = [n.node for n in fleet_status.nodes if _state(n.health.state) == "down"]
        fleet_error = f"{len(down)} node(s) down" if down else None
    return Snapshot(
        taken_at=now, puzzle=shown.label, puzzle_id=shown.id, puzzle_why=shown.why,
        puzzle_is_configured=shown.is_configured, puzzles=pool.puzzles, target_sha256=target,
        best_mse=best.mse if best is not None else None,
        best_age=max(0.0, now - best.created_at.timestamp()) if best is not None else None,
        best_sha256=best.sha256 if best is not None else None,
        solved=bool(counts is not None and counts.exact > 0)
        or bool(best is not None and best.matches_target),
        pool_rows=counts.solutions if counts is not None else 0,
        nodes=node_views(fleet_status, workers), workers=workers,
        best_history=pool.best_over_time,
        zones=zones_from_top(best, pool.top),
        events=events, auto_relaunch=auto_relaunch, knobs=pool.knobs,
        pool_error=pool_error, fleet_error=fleet_error,
    )


TOOL_COMMANDS = ("inject", "surgery", "zones", "breakpoints")


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


# ---- the live reader ------------------------------------------------------------

POOL_TABLES = frozenset({"solutions", "workers", "config", "commands", "observations",
                         "refusals"})


class LiveSource:
    """Reads the pool (LISTEN + periodic re-query) and the fleet; yields snapshots.

    One dedicated listening connection; after a database restart both it and the query
    pool are opened again with backoff, and meanwhile the last snapshot is shown with
    the reason. A slow node never holds up a refresh beyond the fleet's status deadline.
    """

    def __init__(self, dsn: str | None, fleet=None, *,
                 puzzle: str | ConfiguredPuzzle | None = None, refresh: float = 5.0,
                 min_interval: float = 0.5, zone_k: int = 20, lost_after: float = 60.0,
                 clock=time.time) -> None:
        self.dsn, self.fleet = dsn, fleet
        # The puzzle to show: given, else the fleet's. A path is identified (by
        # fingerprint) on the first read, in a thread: loading a puzzle takes a while.
        if puzzle is None and fleet is not None:
            puzzle = fleet.config.puzzle
        self.configured = puzzle if isinstance(puzzle, ConfiguredPuzzle) else None
        self._puzzle_path = puzzle if isinstance(puzzle, str) else None
        self.chosen_puzzle: int | None = None
        self.FULL_EVERY, self.SLOW_EVERY, self.AUTO_EVERY = max(30.0, refresh), 5.0, 10.0
        self.refresh, self.min_interval = refresh, min_interval
        self.zone_k, self.lost_after = zone_k, lost_after
        self.clock = clock
        self.store = None
        self.history = History()
        self.book = EventBook()
        self.auto_relaunch = bool(fleet is not None and fleet.config.workers.auto_relaunch)
        self.changed = asyncio.Event()
        self.last = Snapshot(taken_at=clock())
        self._listener = None
        self._last_pool = PoolState()
        self.dirty: set[str] = set(POOL_TABLES)
        self._fleet_seen = False
        self._pid: int | None = None
        self._shown: Shown | None = None
        self._puzzles: dict = {}
        self._choices: tuple[PuzzleChoice, ...] = ()
        self._parts: dict = {}
        self._full_at = self._counted_at = -1e9
        self._best_id: int | None = None
        self._best_over_time: tuple[float, ...] = ()
        self._relaunching: asyncio.Task | None = None
        self._down: dict[str, str | None] = {}   # node -> the reason it was last seen down
        self._relaunched_at = -1e9

    def _on_notice(self, table: str) -> None:
        self.dirty.add(table)
        self.changed.set()

    def poke(self) -> None:
        """Refresh now (after an action), within the rate limit."""
        self.changed.set()

    def choose_puzzle(self, puzzle_id: int) -> None:
        """The operator switched puzzles: read everything of that one at once."""
        self.chosen_puzzle = puzzle_id
        self._full_at = -1e9
        self.poke()

    async def snapshots(self) -> AsyncIterator[Snapshot]:
        backoff = 0.5
        try:
            while True:
                snap = await self.read_once()
                self.last = snap
                yield snap
                if snap.pool_error and self.dsn:   # retry sooner than a refresh, then back off
                    await self._wait(backoff)
                    backoff = min(backoff * 2, 4.0)
                else:
                    backoff = 0.5
                    await self._wait(self.refresh)
        finally:
            await self._close()

    async def read_once(self, fleet_deadline: float | None = None) -> Snapshot:
        """One refresh: the pool and the fleet read concurrently. A pool that cannot be
        read leaves its last state on show, with the reason; the fleet view goes on.
        FLEET_DEADLINE: how long to wait for the nodes (a one-shot `status` waits;
        the screen's refreshes do not, see _fleet_status)."""
        started = time.perf_counter()
        fleet_task = asyncio.ensure_future(self._fleet_status(fleet_deadline))
        pool, pool_error = self._last_pool, None if self.dsn else "no pool DSN"
        if self.dsn:
            try:
                if self.store is None:
                    await self._open()
                pool = self._last_pool = await self._read_pool()
            except Exception as exc:  # the server is away or restarting: reconnect later
                await self._close()
                pool_error = f"unreachable ({_one_line(exc)}); retrying"
        fleet_status = await fleet_task
        best = pool.best
        self._maybe_auto_relaunch(fleet_status, solved=bool(best is not None and best.matches_target))
        snap = build_snapshot(pool, fleet_status, self.clock(), history=self.history,
                              events=self.book.snapshot(), auto_relaunch=self.auto_relaunch,
                              lost_after=self.lost_after, pool_error=pool_error)
        if self._note_down_nodes(snap.nodes):
            snap = replace(snap, events=self.book.snapshot())
        return replace(snap, refresh_ms=(time.perf_counter() - started) * 1000)

    def _note_down_nodes(self, nodes: Sequence[NodeView]) -> bool:
        """A node that goes down (or is down for a new reason): its whole reason, once,
        in the event log, where the nodes table has room for only its start."""
        noted = False
        for n in nodes:
            now_down = n.reason if n.state == "down" else None
            if now_down is not None and self._down.get(n.name) != now_down:
                self.book.local("error", f"node {n.name} down: {n.reason}", self.clock())
                noted = True
            self._down[n.name] = now_down
        return noted

    async def _read_pool(self) -> PoolState:
        """Re-read what the change notices named; workers every time (their ages move).

        The solution count (tens of ms on a 100,000-row pool) runs at most every
        SLOW_EVERY seconds and the best-over-time curve once per puzzle (then each new
        best is appended); everything is re-read every FULL_EVERY seconds in case a
        notice was missed.
        """
        store, now = self.store, time.monotonic()
        dirty, self.dirty = self.dirty, set()
        # No notice comes when a puzzle is registered: look again on every full read, and
        # on every read while the configured puzzle is not in the pool yet.
        waiting = self._pid is None and self._puzzle_path is None
        if now - self._full_at >= self.FULL_EVERY or waiting:
            dirty |= POOL_TABLES
            self._full_at = now
            await self._choose_puzzle(store)
        pid = self._pid
        if pid is None:
            return PoolState(shown=self._shown, puzzles=self._choices)
        parts = self._parts
        reads = {"workers": store.fetch_workers(pid)}
        if "solutions" in dirty or "best" not in parts:
            reads["best"] = store.fetch_best(pid)
            reads["top"] = store.fetch_top(self.zone_k, pid)
            if now - self._counted_at >= self.SLOW_EVERY or "counts" not in parts:
                reads["counts"] = store.counts(pid)
                self._counted_at = now
            else:
                self.dirty.add("solutions")     # count again once the rate limit allows
        if "config" in dirty or "knobs" not in parts:
            reads["knobs"] = store.fetch_config()
        if "observations" in dirty:
            reads["obs"] = store.fetch_observations(30, pid)
        if "commands" in dirty:
            reads["cmds"] = store.fetch_commands(30)
        if "refusals" in dirty:
            reads["refusals"] = store.fetch_refusals(20)
        values = dict(zip(reads, await asyncio.gather(*reads.values())))
        parts.update(values)
        if "knobs" in values:
            parts["knobs"] = tuple(sorted((k, v.value) for k, v in values["knobs"].items()))
        self.book.observations(values.get("obs", ()))
        self.book.commands(values.get("cmds", ()))
        self.book.refusals(values.get("refusals", ()))
        best = parts.get("best")
        if best is not None and best.id != self._best_id:
            if self._best_id is None:   # the whole curve once; then each new best appends
                curve = await store.fetch_best_over_time(pid)
                self._best_over_time = tuple(m for _, m in curve)[-500:]
            elif not self._best_over_time or best.mse < self._best_over_time[-1]:
                self._best_over_time = (self._best_over_time + (best.mse,))[-500:]
            self._best_id = best.id
        return PoolState(puzzle=self._puzzles.get(pid), shown=self._shown, puzzles=self._choices,
                         best=best, top=tuple(parts.get("top", ())),
                         counts=parts.get("counts"), workers=tuple(parts["workers"]),
                         knobs=parts.get("knobs", ()), best_over_time=self._best_over_time)

    async def _choose_puzzle(self, store) -> None:
        from solver.puzzle import PuzzleError

        if self._puzzle_path is not None:
            try:
                self.configured = await asyncio.to_thread(identify, self._puzzle_path)
            except PuzzleError as exc:   # shown, and tried again at the next full read
                self._shown = Shown(None, Path(self._puzzle_path).name,
                                    f"cannot read the configured puzzle: {exc}", True)
                self._pid, self._parts = None, {}
                return
            self._puzzle_path = None
            self.book.local("observe", self.configured.description, self.clock())
        rows = await store.fetch_puzzles()
        newest = None
        if self.configured is None and self.chosen_puzzle is None:
            newest = await store.current_puzzle_id()
        shown = choose(rows, self.configured, self.chosen_puzzle, newest)
        self._puzzles = {p.id: p for p in rows}
        self._choices = choices(rows, self.configured)
        if shown.id != self._pid:
            self._pid, self._parts, self._best_id = shown.id, {}, None
            self._best_over_time = ()
        self._shown = shown

    async def _fleet_status(self, deadline: float | None = None):
        if self.fleet is None:
            return None
        try:
            self._fleet_seen, first = True, not self._fleet_seen
            if deadline is not None:
                return await self.fleet.status(deadline=deadline)
            if first:
                return await self.fleet.status(deadline=0.3)
            # late nodes come back stale with their last state and are awaited in the
            # background, so a short deadline costs nothing but a refresh of delay
            return await self.fleet.status(deadline=1.0)
        except Exception as exc:  # never let the fleet take the pool view down
            self.book.local("error", f"fleet status: {_one_line(exc)}", self.clock())
            return None

    def _maybe_auto_relaunch(self, fleet_status, solved: bool) -> None:
        """Relaunch workers whose runs are done, at most every AUTO_EVERY seconds; never
        once the answer is in (workers then exit at once, and would loop)."""
        if not (self.auto_relaunch and fleet_status is not None) or solved:
            return
        if self._relaunching is not None and not self._relaunching.done():
            return
        if time.monotonic() - self._relaunched_at < self.AUTO_EVERY:
            return
        self._relaunched_at = time.monotonic()

        async def relaunch():
            results = await self.fleet.auto_relaunch_once(fleet_status)
            for r in results:
                if r.workers or not r.ok:
                    self.book.local("relaunch" if r.ok else "error",
                                    f"auto-relaunch {r.node}: {describe(r)}", self.clock())
            if results:
                self.poke()

        self._relaunching = asyncio.ensure_future(relaunch())

    async def _open(self) -> None:
        from solver.pool import connect

        self.store = await connect(self.dsn, max_size=3, timeout=5.0)
        try:
            self._listener = await self.store.listen(self._on_notice)
            self._listener.add_termination_listener(lambda _c: self.changed.set())
            self._full_at = -1e9     # (re)connected: read everything once
        except Exception:
            await self._close()
            raise

    async def close(self) -> None:
        """Close the pool connections (the reader's own, when it is used once)."""
        await self._close()

    async def _close(self) -> None:
        listener, self._listener = self._listener, None
        store, self.store = self.store, None
        for thing in (listener, store):
            if thing is None:
                continue
            try:
                await asyncio.wait_for(thing.close(), 2.0)
            except Exception:  # already gone with the server
                pass

    async def _wait(self, timeout: float) -> None:
        """Until a change notice or the timeout; never faster than min_interval."""
        await asyncio.sleep(self.min_interval)
        if self._listener is not None and self._listener.is_closed():
            await self._close()   # the server went away: reconnect on the next round
            return
        try:
            await asyncio.wait_for(self.changed.wait(), max(0.0, timeout - self.min_interval))
        except asyncio.TimeoutError:
            pass
        self.changed.clear()


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:160]


def describe(result) -> str:
    """One line for a fleet NodeResult."""
    if not result.ok:
        return f"failed: {result.error}"
    parts = [result.detail] if result.detail else []
    if result.workers:
        parts.append(f"{len(result.workers)} worker(s): {', '.join(result.workers[:4])}")
    if result.uploaded or result.unchanged:
        parts.append(f"{len(result.uploaded)} file(s) sent, {result.unchanged} unchanged")
    return "; ".join(parts) or "ok"


# ---- commands --------------------------------------------------------------------

class LiveControls:
    """The commands of the UI, carried out by the fleet layer and the pool."""

    def __init__(self, source: LiveSource, fleet=None) -> None:
        self.source, self.fleet = source, fleet
        self.has_fleet = fleet is not None

    def _store(self):
        if self.source.store is None:
            raise RuntimeError("the pool is unreachable right now")
        return self.source.store

    def _fleet(self):
        if self.fleet is None:
            raise RuntimeError("no fleet is configured (pool-only view)")
        return self.fleet

    def _results(self, what: str, results) -> str:
        self.source.poke()
        bad = [r for r in results if not r.ok]
        lines = [f"{r.node}: {describe(r)}" for r in results]
        if bad and len(bad) == len(results):
            raise RuntimeError("; ".join(lines))
        return f"{what}: " + ("; ".join(lines) or "no nodes")

    async def relaunch(self, node: str | None) -> str:
        return self._results(f"relaunch {node or 'all'}", await self._fleet().relaunch(node))

    async def stop_worker(self, worker: WorkerView) -> str:
        if self.fleet is not None and worker.fleet_name:
            return self._results(f"stop {worker.fleet_name}", await self.fleet.stop(worker.fleet_name))
        if not worker.key.startswith("w"):
            raise RuntimeError(f"worker {worker.key} is not known to the pool")
        cid = await self._store().enqueue_command("stop", target=f"worker:{worker.key[1:]}")
        self.source.poke()
        return f"stop requested for worker {worker.pid} on {worker.node} (command #{cid})"

    async def inject(self, kind: str) -> str:
        count = 8 if kind == "random" else 1   # the other kinds make the same seed each time
        cid = await self._store().enqueue_command("inject", {"kind": kind, "count": count})
        self.source.poke()
        return f"inject {kind}: queued as command #{cid} for the observer (solver observe)"

    async def surgery(self, positions: list[int] | None) -> str:
        args = {"positions": positions} if positions else {}
        cid = await self._store().enqueue_command("surgery", args)
        self.source.poke()
        where = f"{len(positions)} position(s)" if positions else "the uncertain zone"
        return f"surgery on {where}: queued as command #{cid} for the observer"

    async def deploy(self) -> str:
        return self._results("deploy", await self._fleet().deploy())

    async def set_auto_relaunch(self, on: bool) -> str:
        fleet = self._fleet()
        cfg = fleet.config
        fleet.config = replace(cfg, workers=replace(cfg.workers, auto_relaunch=on))
        self.source.auto_relaunch = on
        self.source.poke()
        return f"auto-relaunch {'on' if on else 'off'}"

    async def set_knobs(self, knobs: dict[str, float]) -> str:
        store = self._store()
        for key, value in knobs.items():
            await store.set_config(key, value, by="jstui")
        self.source.poke()
        return "knobs: " + ", ".join(f"{k}={v:g}" for k, v in knobs.items())

    async def tail(self, worker: WorkerView) -> str:
        if not worker.fleet_name:
            raise RuntimeError(f"worker {worker.pid} on {worker.node} was not started by this fleet")
        return "\n".join(await self._fleet().tail_log(worker.fleet_name, lines=200))
