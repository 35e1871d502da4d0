"""What the control center shows: one frozen Snapshot per refresh, and the two boundaries
the app talks to (a source of snapshots, the controls that carry out commands).

Widgets render a Snapshot and nothing else; jstui.assemble builds them from pool rows
and fleet status, jstui.live reads those, jstui.controls carries out the commands.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import AsyncIterator, Protocol

from jstui.puzzles import PuzzleChoice
from solver.pool.states import WorkerState
from solver.tools.zones import ZoneMap

# up: it answered this refresh. slow: connected, but no answer within the deadline (its
# last known figures are shown). connecting, down: the SSH connection. idle: without a
# fleet, a node the pool knows with no running worker (whether the machine is up, the
# pool cannot tell).
NODE_STATES = ("up", "slow", "connecting", "down", "idle")


@dataclass(frozen=True)
class NodeView:
    """One machine of the fleet as the operator sees it."""

    name: str
    state: str = "up"                 # one of NODE_STATES
    reason: str = ""                  # why it is not up, or what is wrong while up
    workers_running: int = 0
    workers_expected: int = 0
    load: float | None = None         # 1-minute load average
    evals_per_s: float = 0.0          # its running workers' evaluations per second
    heartbeat_age: float | None = None  # seconds since its newest worker heartbeat

    @property
    def up(self) -> bool:
        return self.state == "up"


@dataclass(frozen=True)
class WorkerView:
    """One worker process: where it runs, how far it got, how good it is."""

    key: str                          # stable row key ("w<pool id>", or "p:NODE/SLOT")
    node: str
    pid: int | None = None
    state: WorkerState = WorkerState.RUNNING
    run: int = 0
    step: int = 0
    best_mse: float | None = None
    age: float | None = None          # seconds since its last heartbeat
    # What the worker last said of its search, in the solver's words (mse, temperature,
    # evals_per_s, stage, ...): columns read it by name.
    progress: dict = field(default_factory=dict)
    history: tuple[float, ...] = ()   # its best MSE, one sample per few seconds, oldest first
    fleet_name: str = ""              # "NODE/SLOT" when the fleet started it

    @property
    def alive(self) -> bool:
        return self.state.alive

    @property
    def mse(self) -> float | None:
        return self.progress.get("mse")

    @property
    def temperature(self) -> float | None:
        return self.progress.get("temperature")

    @property
    def evals_per_s(self) -> float | None:
        """Its evaluation rate, while it runs (an ended worker evaluates nothing)."""
        return self.progress.get("evals_per_s") if self.alive else None


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
    solutions: int = 0                # solutions of this puzzle in the pool
    nodes: tuple[NodeView, ...] = ()
    workers: tuple[WorkerView, ...] = ()
    best_history: tuple[tuple[float, float], ...] = ()   # (epoch, pool best) at each new best
    zones: ZoneMap | None = None
    events: tuple[Event, ...] = ()
    auto_relaunch: bool = False
    knobs: tuple[tuple[str, float], ...] = ()
    pool_error: str | None = None     # the pool could not be read; the rest is stale
    fleet_error: str | None = None
    refresh_ms: float | None = None   # what building this snapshot cost


EMPTY = Snapshot(taken_at=0.0)


def newly_solved(previous: Snapshot | None, current: Snapshot) -> bool:
    """The pool holds the target hash now and did not in the previous snapshot."""
    return current.solved and not (previous is not None and previous.solved)


class SnapshotSource(Protocol):
    """Anything that yields snapshots: the live reader, or a fixed recorded state."""

    def snapshots(self) -> AsyncIterator[Snapshot]: ...

    def choose_puzzle(self, puzzle_id: int) -> None:
        """Show this puzzle of the pool from the next snapshot on."""


class Controls(Protocol):
    """The commands the UI sends; each returns one line for the event log, and raises
    with one sentence when it cannot be done (the app shows that sentence)."""

    has_fleet: bool

    async def relaunch(self, node: str | None) -> str | None: ...
    async def stop_worker(self, worker: WorkerView) -> str | None: ...
    async def inject(self, kind: str) -> str | None: ...
    async def surgery(self, positions: list[int] | None) -> str | None: ...
    # Optional (a recorded state has none): the running surgery, and cancelling it.
    # async def running_surgery(self) -> CommandRow | None
    # async def cancel_command(self, command_id: int) -> str
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
