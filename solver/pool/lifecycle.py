"""The worker lifecycle: one vocabulary of states, its transitions, and the one rule that
says what a worker is from its pool row, its process and its node.

Stored states (workers.status) and how a worker moves between them:

    (registered) -> running
    running -> running                          a heartbeat
    running -> done | solved | stopped | crashed   the worker's own last word, or the exit
                                                record its node keeps (killed: crashed)
    running -> lost                             silence for SILENT_AFTER_S, no exit known
    lost    -> running                          a heartbeat: it was alive after all
    lost    -> done | solved | stopped | crashed   an exit record: it beats silence
    done, solved, stopped, crashed              terminal: never left

Two more states are derived for the screens and never stored: STALLED (its process is
alive, but it has been silent) and UNKNOWN (its node is down, so nobody can tell; it
lasts until the node answers again). A node going down never revives a terminal state.
The pool enforces the transitions (solver.pool.store, solver.pool.memory), and every
transition becomes an event of the event book.
"""
from __future__ import annotations

import enum
import signal
from dataclasses import dataclass

from .words import ExitCode

# A worker that has not beaten for this long is silent: lost when no process is known to
# run it, stalled when one is. Heartbeats come every 2 s; a loaded machine delays a few.
SILENT_AFTER_S = 30.0


class WorkerState(str, enum.Enum):
    """What one worker is doing."""

    RUNNING = "running"
    STALLED = "stalled"        # derived: alive, but no pool heartbeat for a while
    UNKNOWN = "unknown"        # derived: its node is down
    DONE = "done"              # exited 0: its runs were done, or the answer came from another
    SOLVED = "solved"          # it delivered the exact answer
    STOPPED = "stopped"        # ended by the operator (SIGTERM, a stop command)
    CRASHED = "crashed"        # an unexpected error, or killed (an exit nobody asked for)
    LOST = "lost"              # gone without saying so (killed hard, machine rebooted)

    @property
    def alive(self) -> bool:
        return self in (WorkerState.RUNNING, WorkerState.STALLED)

    @property
    def terminal(self) -> bool:
        return self in TERMINAL

    @classmethod
    def parse(cls, word: str) -> "WorkerState":
        """The state a stored word names; a word this code does not know reads as lost."""
        try:
            return cls(word)
        except ValueError:
            return cls.LOST


TERMINAL = frozenset({WorkerState.DONE, WorkerState.SOLVED, WorkerState.STOPPED,
                      WorkerState.CRASHED})
STORED = TERMINAL | {WorkerState.RUNNING, WorkerState.LOST}
ALIVE = (WorkerState.RUNNING.value,)          # the stored words of a live worker
# Which stored state may follow which (a state not listed as a key may not be left).
NEXT: dict[WorkerState, frozenset[WorkerState]] = {
    WorkerState.RUNNING: frozenset({WorkerState.RUNNING, WorkerState.LOST}) | TERMINAL,
    WorkerState.LOST: frozenset({WorkerState.RUNNING}) | TERMINAL,
}


def allowed(old: WorkerState, new: WorkerState) -> bool:
    """May a stored worker in state OLD be stored as NEW?"""
    return new in NEXT.get(old, frozenset())


def sources_of(new: WorkerState) -> tuple[str, ...]:
    """The stored words from which NEW may be reached (for the stores' WHERE clauses)."""
    return tuple(old.value for old, nexts in NEXT.items() if new in nexts)


# ---------------------------------------------------------------- exits

@dataclass(frozen=True)
class Exit:
    """What a node recorded when a worker process ended."""

    code: int | None           # the exit status; negative: killed by that signal
    stopped: bool = False      # the operator stopped it (SIGTERM from `stop`)

    @property
    def state(self) -> WorkerState:
        """The terminal state this exit means, by itself."""
        if self.stopped:
            return WorkerState.STOPPED
        if self.code in (ExitCode.DONE, ExitCode.SOLVED):
            return WorkerState.DONE
        return WorkerState.CRASHED

    def describe(self) -> str:
        """One line for the log column and the event book."""
        code = self.code
        if code is None:
            return "ended; no exit status recorded"
        if code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            how = f"killed by {name} ({code})"
            return f"stopped: {how}" if self.stopped else how
        meaning = {c.value: c.name.lower().replace("_", " ") for c in ExitCode}.get(code, "error")
        if code == ExitCode.SOLVED:
            meaning = "the pool holds the exact answer"
        elif code == ExitCode.DONE:
            meaning = "stopped on request" if self.stopped else "its runs were done"
        return f"exit {code}: {meaning}"


# ---------------------------------------------------------------- the one rule

def pool_state(status: str, heartbeat_age_s: float,
               silent_after: float = SILENT_AFTER_S) -> WorkerState:
    """A worker known by its pool row alone: alive but silent for SILENT_AFTER is lost."""
    state = WorkerState.parse(status)
    if state.alive and heartbeat_age_s > silent_after:
        return WorkerState.LOST
    return state


@dataclass(frozen=True)
class ProcessSeen:
    """A worker's process as its node reports it: alive, or ended (with its exit record,
    when the node kept one)."""

    alive: bool
    exit: Exit | None = None


def view_state(stored: WorkerState | None, heartbeat_age_s: float | None, *,
               process: ProcessSeen | None = None, node_down: bool = False,
               silent_after: float = SILENT_AFTER_S) -> WorkerState:
    """What a worker is, from everything known of it: its pool row's stored state (None:
    it never reached the pool), its process as its node reports it (None: no node
    reports it), and whether its node is down. A terminal stored state is final; an
    exit record beats silence; a down node makes a live worker unknown, never alive."""
    if stored is not None and stored.terminal:
        return stored
    if process is not None and not process.alive:
        return process.exit.state if process.exit is not None else WorkerState.LOST
    if node_down:
        return WorkerState.UNKNOWN
    silent = heartbeat_age_s is not None and heartbeat_age_s > silent_after
    if process is not None:
        return WorkerState.STALLED if silent and stored is not None else WorkerState.RUNNING
    if stored is None:
        return WorkerState.LOST
    return WorkerState.LOST if silent else stored
