"""The one vocabulary of worker states, and the one rule for a worker gone silent.

The worker writes these words into the pool, the fleet derives them from processes, and
the screen, `jstui status` and `fleet status` all say them.
"""
from __future__ import annotations

import enum

# A worker that has not beaten for this long is silent: lost when no process is known to
# run it, stalled when one is. Heartbeats come every 2 s; a loaded machine delays a few.
SILENT_AFTER_S = 30.0


class WorkerState(str, enum.Enum):
    """What one worker is doing. STALLED is derived, never stored; the rest are stored."""

    RUNNING = "running"
    STALLED = "stalled"        # alive, but no pool heartbeat for a while
    DONE = "done"              # exited 0: its runs were done
    SOLVED = "solved"          # exited because the pool holds the exact answer
    STOPPED = "stopped"        # ended by the operator (SIGTERM, a stop command)
    CRASHED = "crashed"        # an unexpected error, or an exit nobody asked for
    LOST = "lost"              # gone without saying so (killed hard, machine rebooted)

    @property
    def alive(self) -> bool:
        return self in (WorkerState.RUNNING, WorkerState.STALLED)

    @classmethod
    def parse(cls, word: str) -> "WorkerState":
        """The state a stored word names; a word this code does not know reads as lost."""
        try:
            return cls(word)
        except ValueError:
            return cls.LOST


ALIVE = tuple(s.value for s in WorkerState if s.alive)


def pool_state(status: str, heartbeat_age_s: float,
               silent_after: float = SILENT_AFTER_S) -> WorkerState:
    """A worker known by its pool row alone: alive but silent for SILENT_AFTER is lost."""
    state = WorkerState.parse(status)
    if state.alive and heartbeat_age_s > silent_after:
        return WorkerState.LOST
    return state
