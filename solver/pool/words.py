"""The pool's vocabulary, typed: every word the pool stores or the screens show for a
command, a node, an exit or an event is one of these enums. They are `str` (or `int`)
enums, so they compare equal to the stored word and go to the database as it is.

Worker states and their transitions are solver.pool.lifecycle.
"""
from __future__ import annotations

import enum


class CommandStatus(str, enum.Enum):
    """Where one queued command stands. DONE, FAILED and CANCELLED are final."""

    PENDING = "pending"        # queued; nobody has claimed it
    CLAIMED = "claimed"        # an executor took it and runs it
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"    # cancelled before anyone claimed it

    @property
    def final(self) -> bool:
        return self in (CommandStatus.DONE, CommandStatus.FAILED, CommandStatus.CANCELLED)


class NodeState(str, enum.Enum):
    """A machine of the fleet. The connection's own states are UNKNOWN, CONNECTING, UP
    and DOWN; the screen adds SLOW (connected, but no answer within the refresh
    deadline: its last known figures are shown) and IDLE (no fleet: the pool knows the
    node, but none of its workers runs; whether the machine is up, the pool cannot tell)."""

    UNKNOWN = "unknown"        # not contacted yet
    CONNECTING = "connecting"
    UP = "up"
    SLOW = "slow"
    DOWN = "down"              # the reason says why; retried with backoff
    IDLE = "idle"


class ExitCode(enum.IntEnum):
    """A worker process's exit status (`python -m solver.worker`)."""

    DONE = 0          # its runs were done, or it was stopped on request
    FAILED = 1        # an unexpected error
    BAD_INPUT = 2     # a flag or a file it was given is wrong
    SOLVED = 3        # the pool holds the exact answer: nothing left to search
    SPOOLED = 4       # results could not be delivered; they wait in the node's spool


class EventKind(str, enum.Enum):
    """What one line of the event book is about."""

    ACTION = "action"          # the operator asked for something (and what came of it)
    DEPLOY = "deploy"
    LAUNCH = "launch"
    STOP = "stop"
    RELAUNCH = "relaunch"
    INJECT = "inject"
    SURGERY = "surgery"
    KNOBS = "knobs"            # a knob changed (by the observer or the operator)
    OBSERVE = "observe"        # the observer's judgement of the pool changed
    WORKER = "worker"          # a worker changed state (detail: from, to, reason)
    NODE = "node"              # a node went down or came back
    ANSWER = "answer"          # the exact answer is in the pool
    REFUSAL = "refusal"        # a submission was refused at the door
    ERROR = "error"


class EventSource(str, enum.Enum):
    """Who wrote an event."""

    OPERATOR = "operator"      # a key on a screen, or a fleet command from a shell
    FLEET = "fleet"            # what a session saw of the nodes and their processes
    OBSERVER = "observer"
    POOL = "pool"              # the pool itself: worker transitions, the answer, refusals
