"""Immutable snapshots the fleet layer hands out: node health, node facts, worker
processes and the per-node results of deploy / launch / stop / check."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

# The one vocabulary of worker and node states lives with the pool (solver.pool).
from solver.pool.lifecycle import Exit, ProcessSeen, WorkerState
from solver.pool.words import NodeState




@dataclass(frozen=True)
class NodeHealth:
    """The connection state of one node, as the UI shows it."""

    node: str
    state: NodeState = NodeState.UNKNOWN
    reason: str = ""           # why it is down (or empty)
    address: str = ""          # the address that answered (host or a fallback)
    since: float = 0.0         # time.time() of the last change


@dataclass(frozen=True)
class NodeFacts:
    """What the machine says about itself."""

    hostname: str = ""
    os: str = ""
    cpus: int = 0
    load: tuple[float, float, float] = (0.0, 0.0, 0.0)
    mem_total: int = 0         # bytes, 0 if unknown
    mem_available: int = 0     # bytes, 0 if unknown


@dataclass(frozen=True)
class WorkerProcess:
    """One worker slot on one node: `name` is "NODE/SLOT"."""

    node: str
    slot: int
    state: WorkerState
    pid: int | None
    started_at: float | None = None
    ended_at: float | None = None
    exit_code: int | None = None   # negative: killed by that signal
    log_path: str = ""
    log_tail: tuple[str, ...] = ()  # last lines, for ended workers
    alive: bool = False                # its process runs (the agent's word)
    stopped: bool = False              # it was stopped by the operator
    has_exit: bool = False             # the agent kept its exit record

    @property
    def name(self) -> str:
        return f"{self.node}/{self.slot}"

    @property
    def seen(self) -> ProcessSeen:
        """The process as its node reports it (solver.pool.lifecycle)."""
        exit = Exit(self.exit_code, self.stopped) if self.has_exit else None
        return ProcessSeen(self.alive, exit)


@dataclass(frozen=True)
class NodeStatus:
    """A node at one moment: health, facts, worker processes."""

    node: str
    kind: str
    health: NodeHealth
    configured_workers: int
    facts: NodeFacts | None = None
    workers: tuple[WorkerProcess, ...] = ()
    labels: Mapping[str, str] = field(default_factory=dict)
    error: str = ""            # why facts / workers could not be read
    stale: bool = False        # the node did not answer within the status deadline

    @property
    def running(self) -> int:
        return sum(1 for w in self.workers if w.state.alive)


@dataclass(frozen=True)
class FleetStatus:
    taken_at: float
    nodes: tuple[NodeStatus, ...]

    @property
    def workers(self) -> tuple[WorkerProcess, ...]:
        return tuple(w for n in self.nodes for w in n.workers)


@dataclass(frozen=True)
class InterpreterReport:
    """The node's Python: version and which worker dependencies are missing."""

    python: str
    version: str = ""
    missing: tuple[str, ...] = ()   # "numpy: No module named 'numpy'"
    error: str = ""                 # the interpreter could not be run at all
    source: str = ""                # why this one: NodeConfig.python_source

    @property
    def ok(self) -> bool:
        return not self.error and not self.missing


@dataclass(frozen=True)
class NodeResult:
    """The outcome of one command on one node; `ok` False means `error` says why."""

    node: str
    ok: bool
    error: str = ""
    detail: str = ""                         # one line for the table
    uploaded: tuple[str, ...] = ()           # deploy: files sent
    removed: tuple[str, ...] = ()            # deploy: stale files removed
    unchanged: int = 0                       # deploy: files already there
    interpreter: InterpreterReport | None = None
    workers: tuple[str, ...] = ()            # launch / stop: worker names touched
    seconds: float = 0.0

    @property
    def summary(self) -> str:
        """One line: what was done, or why it failed."""
        if not self.ok:
            return f"failed: {self.error}"
        parts = [self.detail] if self.detail else []
        if self.workers:
            parts.append(f"{len(self.workers)} worker(s): {', '.join(self.workers[:4])}")
        if (self.uploaded or self.unchanged) and not self.detail:   # deploy's says it
            parts.append(f"{len(self.uploaded)} file(s) sent, {self.unchanged} unchanged")
        return "; ".join(parts) or "ok"
