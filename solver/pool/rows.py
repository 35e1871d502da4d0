"""Plain, immutable rows the pool hands out (to the worker, the tools and the UI)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class PuzzleRow:
    id: int
    fingerprint: str
    n_blocks: int
    target_sha256: str | None
    name: str | None
    created_at: datetime


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


@dataclass(frozen=True)
class Submitted:
    """The outcome of one accepted submission; NEW is False when it was a duplicate."""
    id: int
    mse: float
    sha256: str
    matches_target: bool
    new: bool


@dataclass(frozen=True)
class WorkerRow:
    id: int
    puzzle_id: int | None
    node: str
    pid: int | None
    status: str            # starting | running | stopped | done | solved | lost | failed
    run: int
    step: int
    temperature: float | None
    current_mse: float | None
    best_mse: float | None
    moves_per_s: float | None
    heartbeat: datetime
    started_at: datetime
    finished_at: datetime | None
    exit_reason: str | None
    heartbeat_age_s: float


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
    status: str            # pending | claimed | done | failed
    created_at: datetime
    claimed_by: str | None
    claimed_at: datetime | None
    finished_at: datetime | None
    result: dict | None


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
class PoolCounts:
    solutions: int
    exact: int
    workers_alive: int
    workers_lost: int
    refusals: int
    commands_pending: int
    best_mse: float | None
