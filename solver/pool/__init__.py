"""The shared pool: migrations, validation at the door, queries.

The contract (every call, its rows and its errors) is solver.pool.base.Store; two stores
honour it:

    from solver.pool import connect, MemoryStore, PoolError, SubmissionRefused
    store = await connect(dsn)            # PostgreSQL, migrated; PoolError if unreachable
    store = MemoryStore()                 # one process, for tests; same calls, same rows
    async with store: ...                 # or await store.close()

Rows are the frozen dataclasses of solver.pool.rows; worker states and their transitions
are solver.pool.lifecycle; the other words (command status, node state, exit code, event
kind and source) are the enums of solver.pool.words; the knobs are solver.pool.knobs.KNOBS;
where the DSN and the data directory come from is solver.pool.locate. LISTEN channel for
change notices: solver.pool.schema.NOTIFY_CHANNEL, the payload a table name.
"""
from .base import Store
from .errors import PoolError, SubmissionRefused, UnknownRow
from .lifecycle import Exit, WorkerState
from .memory import MemoryStore
from .rows import (Beat, BeatReply, CommandRow, ConfigKnob, EventRow, HistoryPoint,
                   InterventionRow, LeaseRow, ObservationRow, PoolCounts, PuzzleRow, SolutionRow,
                   Submitted, WorkerRow)
from .store import PoolStore, connect, is_connection_error
from .words import CommandStatus, EventKind, EventSource, ExitCode, NodeState

__all__ = [
    "connect", "Store", "PoolStore", "MemoryStore", "PoolError", "SubmissionRefused",
    "is_connection_error", "WorkerState", "PuzzleRow", "SolutionRow", "Submitted", "WorkerRow",
    "Beat", "BeatReply", "HistoryPoint", "ConfigKnob", "CommandRow", "ObservationRow",
    "PoolCounts", "InterventionRow", "EventRow", "LeaseRow", "UnknownRow", "Exit",
    "CommandStatus", "EventKind", "EventSource", "ExitCode", "NodeState",
]
