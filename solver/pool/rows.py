"""Plain, immutable rows the pool hands out (to the worker, the tools and the UI)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from .lifecycle import WorkerState, pool_state
from .words import CommandStatus, EventKind, EventSource


@dataclass(frozen=True)
class PuzzleRow:
    id: int
    fingerprint: str
    n_blocks: int
    target_sha256: str | None
    name: str | None
    created_at: datetime
    pred_var: float | None = None     # var(pred): an MSE over it says how close (None: unknown)

    def relative(self, mse: float | None) -> float | None:
        """MSE / var(pred), the scale-free closeness; None where either is unknown."""
        if mse is None or not self.pred_var:
            return None
        return mse / self.pred_var


@dataclass(frozen=True)
class SolutionRow:
    id: int
    puzzle_id: int
    permutation: list[int]
    mse: float
    sha256: str
    matches_target: bool
    node: str | None
    worker_id: int | None
    origin: str
    parents: list[int]
    created_at: datetime
    # Lineage beyond origin and parents: the worker's run, how that run started
    # (seed:norm, elite, crossover, adopted) or the tool's method, and the command.
    run: int | None = None
    method: str | None = None
    command_id: int | None = None
    exact: bool = False    # the answer, by solver.puzzle.answer.is_exact (decided at the door)


@dataclass(frozen=True)
class Submitted:
    """The outcome of one accepted submission; NEW is False when it was a duplicate."""
    id: int
    mse: float
    sha256: str
    matches_target: bool
    new: bool
    exact: bool = False


@dataclass(frozen=True)
class WorkerRow:
    """A worker as the pool knows it; built by column name (see store.WORKER_COLUMNS)."""
    id: int
    puzzle_id: int | None
    node: str
    pid: int | None
    status: str            # a WorkerState word, as the worker (or mark_lost) stored it
    run: int
    step: int
    best_mse: float | None
    # What the worker last said about its search, in the solver's own words (mse,
    # temperature, evals_per_s, stage, ...) plus its own (start): shown, never reasoned on.
    progress: dict
    config_version: int | None
    heartbeat: datetime
    started_at: datetime
    finished_at: datetime | None
    exit_reason: str | None
    heartbeat_age_s: float  # by the server's clock

    @property
    def state(self) -> WorkerState:
        """Its state by the pool's rule alone: a running row silent for too long is lost."""
        return pool_state(self.status, self.heartbeat_age_s)

    @property
    def state_stored(self) -> WorkerState:
        """The state as stored (the lifecycle's; no silence rule applied)."""
        return WorkerState.parse(self.status)


@dataclass(frozen=True)
class Beat:
    """What a worker says at each heartbeat (store.beat writes it in one round trip)."""
    run: int
    step: int
    best_mse: float | None
    progress: dict = field(default_factory=dict)
    config_version: int = 0


@dataclass(frozen=True)
class BeatReply:
    """What the pool answers a heartbeat: the knobs if they changed, whether the exact
    answer is in, and a command for this worker (claimed for it), if one waits."""
    config: dict[str, float] | None   # knob values; None: no newer than the beat's version
    config_version: int               # the knobs' version now (it rises with every change)
    exact: bool
    command: "CommandRow | None"


@dataclass(frozen=True)
class HistoryPoint:
    worker_id: int
    at: datetime
    run: int
    step: int
    mse: float | None
    best_mse: float | None
    id: int = 0            # pass the last one seen as after_id to read only newer points


@dataclass(frozen=True)
class ConfigKnob:
    key: str
    value: float
    version: int
    updated_at: datetime
    updated_by: str


@dataclass(frozen=True)
class CommandRow:
    id: int
    puzzle_id: int | None
    kind: str
    args: dict
    target: str | None
    status: CommandStatus
    created_at: datetime
    claimed_by: str | None
    claimed_at: datetime | None
    finished_at: datetime | None
    result: dict | None
    progress: dict = field(default_factory=dict)   # how far a long command got
    cancel_requested: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "status", CommandStatus(self.status))


@dataclass(frozen=True)
class InterventionRow:
    """One thing the observer did, with the pool's best before it and (once judged,
    WINDOW_S later) after it."""
    id: int
    puzzle_id: int | None
    at: datetime
    kind: str              # knobs | inject | surgery
    detail: dict
    reason: str
    command_id: int | None
    window_s: float
    best_before: float | None
    best_after: float | None
    judged_at: datetime | None

    @property
    def paid(self) -> bool | None:
        """None until judged; True when the best fell within the window."""
        if self.judged_at is None:
            return None
        if self.best_after is None:
            return False
        return self.best_before is None or self.best_after < self.best_before * (1 - 1e-9)


@dataclass(frozen=True)
class ObservationRow:
    id: int
    puzzle_id: int | None
    at: datetime
    kind: str
    message: str
    stats: dict = field(default_factory=dict)
    changes: dict = field(default_factory=dict)


@dataclass(frozen=True)
class EventRow:
    """One line of the event book (schema migration 8). TEXT is what the writer said; the
    pool's own events (worker transitions, the answer, ended commands) carry DETAIL
    instead, and solver.pool.events.describe writes their line."""
    id: int
    puzzle_id: int | None
    at: datetime
    kind: EventKind
    source: EventSource
    text: str
    node: str | None
    worker_id: int | None
    command_id: int | None
    detail: dict

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", EventKind(self.kind))
        object.__setattr__(self, "source", EventSource(self.source))

    @property
    def line(self) -> str:
        from .events import describe
        return describe(self)


@dataclass(frozen=True)
class LeaseRow:
    """Who holds the observer's lease: the one observer that acts on the pool."""
    node: str
    pid: int
    puzzle_id: int | None
    acquired_at: datetime
    beat_at: datetime
    beat_age_s: float       # by the server's clock

    @property
    def holder(self) -> str:
        return f"{self.node}/{self.pid}"

    def live(self, ttl_s: float) -> bool:
        return self.beat_age_s <= ttl_s


@dataclass(frozen=True)
class PoolCounts:
    solutions: int
    exact: int             # solutions that are the answer (the one rule, stored at the door)
    workers_alive: int
    workers_lost: int
    refusals: int
    commands_pending: int
    best_mse: float | None


@dataclass(frozen=True)
class SolutionTimeline:
    """Every solution of one puzzle as columns, oldest first: what a replay needs of them
    (the permutations are read one by one, for the few solutions shown)."""
    id: np.ndarray          # int64
    at: np.ndarray          # float64 epoch seconds of created_at
    mse: np.ndarray         # float64
    exact: np.ndarray       # bool: the answer (the one rule, stored at the door)


@dataclass(frozen=True)
class WorkerSample:
    """A worker row as it was (schema migration 6), with its best MSE just before."""
    id: int
    worker_id: int
    at: float              # epoch seconds the sample was taken
    heartbeat: float       # epoch seconds of the worker's heartbeat then
    status: str
    run: int
    step: int
    best_mse: float | None
    progress: dict
    trend: tuple[float, ...] = ()   # its best MSE in its last samples, oldest first
    next_at: float | None = None    # when its next sample was taken (None: none since)


def solution_timeline(ids, at, mse, exact) -> SolutionTimeline:
    return SolutionTimeline(np.asarray(ids, dtype=np.int64), np.asarray(at, dtype=np.float64),
                            np.asarray(mse, dtype=np.float64), np.asarray(exact, dtype=bool))
