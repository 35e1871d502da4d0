"""What the control center shows: one frozen Snapshot per refresh, and the source of
snapshots the screen reads (the live reader, a replay, a fixed recorded state).

Widgets render a Snapshot and nothing else; jstui.assemble builds them from pool rows
and fleet status, jstui.live reads those; jstui.backend carries out the actions.
"""
from __future__ import annotations

import abc
import asyncio
from dataclasses import dataclass, field
from typing import AsyncIterator

from jstui.puzzles import PuzzleChoice
from solver.pool.lifecycle import WorkerState
from solver.pool.words import NodeState
from solver.tools.zones import ZoneMap

# The node states the screen shows (solver.pool.words.NodeState).
NODE_STATES = tuple(s.value for s in NodeState if s is not NodeState.UNKNOWN)


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
    fleet_name: str = ""              # "NODE/SLOT" while the fleet sees its process
    worker_id: int | None = None      # its pool row's id (None: it never reached the pool)
    last_word: str = ""               # why it ended: its own last word, or its exit record

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
    """One line of the event log (the pool's event book): operator actions and their
    results, fleet events, what the observer did, worker transitions, the answer."""

    id: int                           # the pool's id; negative: written here, not stored yet
    at: float                         # epoch seconds
    kind: str                         # an EventKind word
    text: str


@dataclass(frozen=True)
class ObserverView:
    """The observer that holds the pool's lease: the one that acts."""

    holder: str                       # "NODE/PID"
    puzzle_id: int | None
    beat_age: float                   # seconds since it renewed its lease
    live: bool                        # renewed within the lease's time to live

    @property
    def line(self) -> str:
        if not self.live:
            return f"{self.holder}: silent for {self.beat_age:.0f} s (lease lapsed)"
        return f"{self.holder} (lease renewed {self.beat_age:.0f} s ago)"


@dataclass(frozen=True)
class CommandView:
    """A command that has not ended: waiting for its executor, or running."""

    id: int
    kind: str
    status: str                       # pending | claimed
    age: float                        # seconds since it was queued
    progress: str = ""                # a running command's last word ("piece 2/5 ...")
    claimed_by: str | None = None
    waiting_why: str = ""             # a pending one nobody took: why, and the fix

    @property
    def line(self) -> str:
        if self.status == "claimed":
            return f"{self.kind} #{self.id} running ({self.age:.0f} s)" + \
                (f": {self.progress}" if self.progress else "")
        return f"{self.kind} #{self.id} waiting {self.age:.0f} s" + \
            (f": {self.waiting_why}" if self.waiting_why else "")


@dataclass(frozen=True)
class Trend:
    """How the pool best moved lately: it fell FACTOR times in the last SPAN seconds
    (1.0: it did not move)."""

    factor: float
    span: float

    @property
    def falling(self) -> bool:
        return self.factor > 1.0 + 1e-9


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
    best_relative: float | None = None   # best MSE / var(pred): 1 is a random guess's scale
    best_trend: Trend | None = None   # how the best moved over the last TREND_WINDOW_S
    solved: bool = False              # the pool holds the answer (the one rule, any puzzle)
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
    observer: ObserverView | None = None      # who holds the lease (None: nobody)
    commands: tuple[CommandView, ...] = ()    # queued or running commands, oldest first


EMPTY = Snapshot(taken_at=0.0)


def newly_solved(previous: Snapshot | None, current: Snapshot) -> bool:
    """The answer to the puzzle on screen landed between the two snapshots: the same
    puzzle, unsolved before and solved now (switching to a solved puzzle is not it)."""
    return (current.solved and previous is not None and not previous.solved
            and previous.puzzle_id is not None and previous.puzzle_id == current.puzzle_id)


class SnapshotSource(abc.ABC):
    """Anything that yields snapshots: the live reader, a replay, a fixed recorded state.
    What it can do beyond that is declared, not probed (the Harlequin adapter's way)."""

    @abc.abstractmethod
    def snapshots(self) -> AsyncIterator[Snapshot]: ...

    @property
    def can_choose_puzzle(self) -> bool:
        """Whether the operator may switch the puzzle on screen (`p`)."""
        return False

    def choose_puzzle(self, puzzle_id: int) -> None:
        """Show this puzzle of the pool from the next snapshot on."""
        raise NotImplementedError("this source shows one puzzle only")


class FixedSource(SnapshotSource):
    """A recorded state: yields its snapshots once, then stays quiet (no clock)."""

    can_choose_puzzle = True

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
