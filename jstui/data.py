"""What the control center shows: immutable snapshots of pool + fleet, and pure helpers.

Widgets only render a `Snapshot`; the reader at the end of this module builds them.
The helpers are pure functions of their arguments (no clock, no I/O): tested alone.
"""
from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass, field, replace
from typing import AsyncIterator, Iterable, Protocol, Sequence

# Worker statuses, in the order an operator cares about them.
RUNNING, FINISHED, LOST, CRASHED = "running", "finished", "lost", "crashed"
STATUSES = (RUNNING, LOST, CRASHED, FINISHED)

# Agreement zones: share of the top-K solutions that agree with the best at a position.
LOCKED, MIXED, UNCERTAIN = "locked", "mixed", "uncertain"


@dataclass(frozen=True)
class NodeView:
    """One machine of the fleet as the operator sees it."""

    name: str
    up: bool
    reason: str = ""                  # why it is down (or a note while up)
    workers_running: int = 0
    workers_expected: int = 0
    load: float | None = None         # 1-minute load average
    moves_per_s: float = 0.0
    heartbeat_age: float | None = None  # seconds since its newest worker heartbeat


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
    status: str = RUNNING
    age: float | None = None          # seconds since its last heartbeat
    history: tuple[float, ...] = ()   # its best MSE over time, oldest first
    log_path: str = ""


@dataclass(frozen=True)
class Zones:
    """Per position, the share of the top-K solutions agreeing with the pool best."""

    shares: tuple[float, ...]
    k: int
    locked_at: float = 0.9            # share >= locked_at: locked
    uncertain_below: float = 0.5      # share < uncertain_below: uncertain


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
    puzzle: str = ""
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
    if share >= zones.locked_at:
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

def worker_status(finished: bool, exit_code: int | None, age: float | None,
                  lost_after: float) -> str:
    """running / finished / crashed / lost, from what the pool and fleet know."""
    if finished:
        return FINISHED if not exit_code else CRASHED
    if exit_code is not None:
        return FINISHED if exit_code == 0 else CRASHED
    if age is None or age > lost_after:
        return LOST
    return RUNNING


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
        running = [w for w in mine if w.status == RUNNING]
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


def new_events(snapshot: Snapshot, last_id: int) -> list[Event]:
    return [e for e in snapshot.events if e.id > last_id]


@dataclass
class History:
    """Bounded per-key MSE histories kept by the reader between snapshots."""

    length: int = 120
    series: dict[str, list[float]] = field(default_factory=dict)

    def add(self, key: str, value: float | None) -> tuple[float, ...]:
        values = self.series.setdefault(key, [])
        if value is not None and math.isfinite(value):
            values.append(value)
            del values[:-self.length]
        return tuple(values)


# ---- what the app talks to -------------------------------------------------------

class SnapshotSource(Protocol):
    """Anything that yields snapshots: the live reader, or a fixed recorded state."""

    def snapshots(self) -> AsyncIterator[Snapshot]: ...


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
        self.queue: asyncio.Queue[Snapshot] = asyncio.Queue()
        for snap in snapshots:
            self.queue.put_nowait(snap)

    def push(self, snap: Snapshot) -> None:
        self.queue.put_nowait(snap)

    async def snapshots(self) -> AsyncIterator[Snapshot]:
        while True:
            yield await self.queue.get()
