"""The pool's contract: what every store does, whatever holds the rows.

Two stores honour it: `PoolStore` (PostgreSQL, solver.pool.store) and `MemoryStore`
(one process, solver.pool.memory, for fast tests). tests/pool_contract.py runs the same
tests over both. All calls are async and hand out the frozen rows of solver.pool.rows.

Errors: PoolError when the store cannot be used (unreachable, wrong schema);
SubmissionRefused (one sentence, logged in the refusals) for a solution refused at the
door; ValueError naming the knob for a config value outside its limits; UnknownRow (a
KeyError) for a write addressed to an id the pool does not hold, while a read of one row
by an unknown id returns None. A connection that goes away raises whatever
`is_connection_error` recognises: retry later.

Every read that takes `puzzle_id=None` means the current puzzle (`current_puzzle_id`),
except the event book's, where None means every puzzle. "Exact" is one rule
(solver.puzzle.answer.is_exact), decided at the door and stored with the solution:
`has_exact`, `counts().exact`, the heartbeat's reply and the timeline all read it, with or
without a target hash. Worker states move only as solver.pool.lifecycle allows.
"""
from __future__ import annotations

import abc
import asyncio
import math
from typing import Any, Callable, Iterable, Protocol, Sequence

from .errors import SubmissionRefused
from .lifecycle import SILENT_AFTER_S, Exit, WorkerState
from .rows import (Beat, BeatReply, CommandRow, ConfigKnob, EventRow, HistoryPoint,
                   InterventionRow, LeaseRow, ObservationRow, PoolCounts, PuzzleRow, SolutionRow,
                   SolutionTimeline, Submitted, WorkerRow, WorkerSample)
from .validate import check_claim, check_shape, check_submission
from .words import CommandStatus, EventKind, EventSource

# An observer that has not renewed its lease for this long has lost it: another may act.
LEASE_TTL_S = 20.0
# Commands a worker takes from the queue (targeted "worker:ID" or "node:NAME"); the tool
# commands (inject, surgery, zones, breakpoints) go to the observer.
WORKER_COMMANDS = ("stop", "new_run")
TOOL_COMMANDS = ("inject", "surgery", "zones", "breakpoints")
# Tables a change notice may name (the payload of every notice).
TABLES = frozenset({"puzzles", "solutions", "workers", "config", "commands", "observations",
                    "refusals", "interventions", "events"})


class Listener(Protocol):
    """What `listen` returns: a subscription to change notices."""

    async def close(self) -> None: ...
    def is_closed(self) -> bool: ...
    def add_termination_listener(self, callback: Callable[[Any], None]) -> None: ...


class Store(abc.ABC):
    """One pool. Subclasses implement the abstract methods; the door lives here."""

    # ---- lifecycle ----------------------------------------------------------------
    @abc.abstractmethod
    async def close(self) -> None:
        """Release the connections, waiting for calls in flight."""

    @abc.abstractmethod
    def abort(self) -> None:
        """Drop the connections at once (the server went away; nothing to wait for)."""

    async def __aenter__(self) -> "Store":
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    @abc.abstractmethod
    async def schema_version(self) -> int: ...

    # ---- puzzles ------------------------------------------------------------------
    @abc.abstractmethod
    async def register_puzzle(self, puzzle, name: str | None = None) -> int:
        """The puzzle's id, registering it by fingerprint the first time."""

    @abc.abstractmethod
    async def find_puzzle_id(self, puzzle) -> int | None:
        """The puzzle's id if it is registered (never registers it)."""

    @abc.abstractmethod
    async def fetch_puzzles(self) -> list[PuzzleRow]: ...

    @abc.abstractmethod
    async def current_puzzle_id(self) -> int | None:
        """The puzzle with the most recent activity (a worker start or a solution)."""

    async def _puzzle_or_current(self, puzzle_id: int | None) -> int | None:
        return puzzle_id if puzzle_id is not None else await self.current_puzzle_id()

    # ---- solutions: the door ------------------------------------------------------
    async def submit(self, puzzle, permutation: Sequence[int], mse: float | None = None, *,
                     origin: str, node: str | None = None, worker_id: int | None = None,
                     parents: Iterable[int] = (), run: int | None = None,
                     method: str | None = None, command_id: int | None = None) -> Submitted:
        """Validate at the door and store; a duplicate answer collapses onto its row and
        costs no forward pass. SubmissionRefused (logged first) for anything malformed.
        RUN, METHOD and COMMAND_ID complete the lineage (see SolutionRow)."""
        puzzle_id = await self.register_puzzle(puzzle)
        try:
            if not isinstance(origin, str) or not origin or len(origin) > 64:
                raise SubmissionRefused(f"origin {origin!r} must be a short non-empty name")
            lineage = _lineage(run, method, command_id)
            perm, sha = check_shape(puzzle, permutation)
            parent_ids = _solution_ids(parents)
            known = await self._known_solution(puzzle_id, sha)
            if known is not None:
                check_claim(mse, known.mse)
                return known
            # The full-data MSE takes a while on a big puzzle: keep the event loop beating.
            checked = await asyncio.to_thread(check_submission, puzzle, perm, mse)
        except SubmissionRefused as exc:
            await self.log_refusal(puzzle_id, str(exc), node=node, worker_id=worker_id,
                                   origin=origin if isinstance(origin, str) else None,
                                   payload=repr({"permutation": permutation, "mse": mse})[:4000])
            raise
        new_id = await self._insert_solution(puzzle_id, checked, origin=origin, node=node,
                                             worker_id=worker_id, parents=parent_ids, **lineage)
        if new_id is not None:
            return Submitted(new_id, checked.mse, checked.sha256, checked.matches_target, True,
                             checked.exact)
        return await self._known_solution(puzzle_id, checked.sha256)   # another got there first

    @abc.abstractmethod
    async def _known_solution(self, puzzle_id: int, sha256: str) -> Submitted | None:
        """The stored solution with this hash, as a Submitted with new=False."""

    @abc.abstractmethod
    async def _insert_solution(self, puzzle_id: int, checked, *, origin: str, node, worker_id,
                               parents: list[int], run=None, method=None,
                               command_id=None) -> int | None:
        """Store a checked solution; its id, or None when the hash is there already."""

    @abc.abstractmethod
    async def log_refusal(self, puzzle_id: int | None, reason: str, *, node=None, worker_id=None,
                          origin=None, payload: str | None = None) -> None: ...

    @abc.abstractmethod
    async def fetch_refusals(self, limit: int = 100) -> list[dict]:
        """Newest first: dicts with id, puzzle_id, at, node, worker_id, origin, reason."""

    @abc.abstractmethod
    async def fetch_top(self, k: int, puzzle_id: int | None = None) -> list[SolutionRow]:
        """The K lowest-MSE solutions (the elites), best first; ties by age."""

    async def fetch_best(self, puzzle_id: int | None = None) -> SolutionRow | None:
        top = await self.fetch_top(1, puzzle_id)
        return top[0] if top else None

    @abc.abstractmethod
    async def fetch_solution(self, solution_id: int) -> SolutionRow | None: ...

    @abc.abstractmethod
    async def has_exact(self, puzzle_id: int) -> bool:
        """The pool holds the answer (the one rule, stored at the door)."""

    @abc.abstractmethod
    async def fetch_records(self, puzzle_id: int | None = None) -> list[SolutionRow]:
        """The solutions that lowered the pool's best when they came, oldest first: with
        their lineage, they say what paid off."""

    @abc.abstractmethod
    async def fetch_best_over_time(self, puzzle_id: int | None = None) -> list[tuple[Any, float]]:
        """(time, best MSE so far) at each time the pool's best improved, oldest first."""

    @abc.abstractmethod
    async def fetch_solution_timeline(self, puzzle_id: int) -> SolutionTimeline:
        """Every solution of the puzzle as columns, by creation time (then id)."""

    # ---- workers ------------------------------------------------------------------
    @abc.abstractmethod
    async def register_worker(self, puzzle_id: int, node: str, pid: int) -> int: ...

    @abc.abstractmethod
    async def heartbeat(self, worker_id: int, *, run: int = 0, step: int = 0,
                        best_mse: float | None = None, progress: dict | None = None,
                        config_version: int | None = None) -> None:
        """A beat without history or a command (see beat)."""

    @abc.abstractmethod
    async def beat(self, worker_id: int, beat: Beat,
                   history: Sequence[tuple] = ()) -> BeatReply:
        """A worker's whole heartbeat in one round trip: write BEAT, append HISTORY
        points (run, step, mse, best_mse), read the knobs if newer than
        beat.config_version, whether the exact answer is in, and claim one of
        WORKER_COMMANDS addressed to this worker or its node. A beat is a sign of life: a
        lost worker is running again; a terminal one stays as it is (no command then)."""

    @abc.abstractmethod
    async def finish_worker(self, worker_id: int, status: WorkerState, reason: str,
                            best_mse: float | None = None) -> bool:
        """The worker's own last word: a terminal STATUS and why. False when its row was
        terminal already (the lifecycle keeps the first terminal state)."""

    @abc.abstractmethod
    async def record_exit(self, worker_id: int, exit: Exit) -> bool:
        """What a node recorded when the worker's process ended: running or lost becomes
        exit.state, with exit.describe() as the reason. False when the row was terminal
        already (the worker's own word came first)."""

    @abc.abstractmethod
    async def mark_lost(self, silent_after: float = SILENT_AFTER_S) -> int:
        """Store `lost` for running workers silent for longer than SILENT_AFTER (the rule
        of lifecycle.pool_state); returns how many. The lease holder calls it."""

    @abc.abstractmethod
    async def fetch_workers(self, puzzle_id: int | None = None,
                            alive_only: bool = False) -> list[WorkerRow]:
        """Every worker (of one puzzle), oldest first; ALIVE_ONLY by stored status."""

    @abc.abstractmethod
    async def record_history(self, worker_id: int, points: Sequence[tuple]) -> None: ...

    @abc.abstractmethod
    async def fetch_mse_history(self, puzzle_id: int | None = None, worker_id: int | None = None,
                                after_id: int = 0, limit: int = 5000) -> list[HistoryPoint]:
        """Points oldest first; pass AFTER_ID (the last id seen) to read only newer ones."""

    @abc.abstractmethod
    async def fetch_worker_samples_at(self, puzzle_id: int, at: float,
                                      trend: int = 120) -> list[WorkerSample]:
        """Each of the puzzle's workers as its last sample by AT (epoch seconds) said,
        with the best MSEs of its last TREND samples. The samples: one per worker every
        `history_grain_s` seconds and at each change of status, kept `history_keep_days`."""

    # ---- config knobs -------------------------------------------------------------
    @abc.abstractmethod
    async def fetch_config(self) -> dict[str, ConfigKnob]: ...

    @abc.abstractmethod
    async def set_config(self, key: str, value: float, by: str = "operator") -> ConfigKnob:
        """Set one knob within its limits (ValueError naming the knob otherwise)."""

    # ---- operator commands --------------------------------------------------------
    @abc.abstractmethod
    async def enqueue_command(self, kind: str, args: dict | None = None, target: str | None = None,
                              puzzle_id: int | None = None) -> int:
        """Queue a command. TARGET: None (any taker), 'worker:ID' or 'node:NAME'."""

    @abc.abstractmethod
    async def claim_command(self, claimer: str, kinds: Sequence[str],
                            targets: Sequence[str] = (),
                            puzzle_id: int | None = None) -> CommandRow | None:
        """Claim the oldest pending command of KINDS for one of TARGETS (or untargeted),
        and of PUZZLE_ID (or of no puzzle) when given; two claimers never get the same one."""

    @abc.abstractmethod
    async def finish_command(self, command_id: int, ok: bool, result: dict | None = None) -> None:
        """DONE or FAILED, with RESULT (its "message" is what the event book says)."""

    @abc.abstractmethod
    async def fetch_commands(self, limit: int = 50) -> list[CommandRow]:
        """Newest first."""

    @abc.abstractmethod
    async def fetch_command(self, command_id: int) -> CommandRow | None: ...

    @abc.abstractmethod
    async def command_progress(self, command_id: int, progress: dict) -> bool:
        """Store how far a claimed command got; True when it was asked to cancel."""

    @abc.abstractmethod
    async def cancel_command(self, command_id: int) -> CommandStatus:
        """Ask a command to stop: a pending one is cancelled at once, a claimed one is
        flagged (it stops at its next progress report). Its status after the call."""

    # ---- interventions: what the observer did, and what came of it -----------------
    @abc.abstractmethod
    async def add_intervention(self, puzzle_id: int | None, kind: str, detail: dict, *,
                               reason: str, window_s: float, best_before: float | None,
                               command_id: int | None = None) -> int: ...

    @abc.abstractmethod
    async def judge_intervention(self, intervention_id: int, best_after: float | None) -> None:
        """Record the pool's best at the end of the intervention's window."""

    @abc.abstractmethod
    async def fetch_interventions(self, puzzle_id: int | None = None,
                                  limit: int = 500) -> list[InterventionRow]:
        """Oldest first."""

    # ---- the event book -----------------------------------------------------------
    @abc.abstractmethod
    async def add_event(self, kind: EventKind, text: str, *, source: EventSource,
                        puzzle_id: int | None = None, node: str | None = None,
                        worker_id: int | None = None, command_id: int | None = None,
                        detail: dict | None = None, at: float | None = None,
                        once_key: str | None = None) -> int | None:
        """Write one event (AT: epoch seconds it happened, default now). With ONCE_KEY, a
        second event of the same key is dropped (None). The pool writes its own events
        (worker transitions, the answer, refusals, ended commands)."""

    @abc.abstractmethod
    async def fetch_events(self, puzzle_id: int | None = None, after_id: int = 0,
                           limit: int = 1000) -> list[EventRow]:
        """Events with an id above AFTER_ID, of one puzzle and of none (the fleet's),
        or of every puzzle when PUZZLE_ID is None; in (at, id) order, the newest LIMIT."""

    # ---- the observer's lease -------------------------------------------------------
    @abc.abstractmethod
    async def acquire_lease(self, node: str, pid: int, puzzle_id: int | None,
                            ttl_s: float = LEASE_TTL_S) -> LeaseRow:
        """Take or renew the lease when it is free, this holder's, or not renewed for
        TTL_S; the lease as it stands after the attempt (compare its holder)."""

    @abc.abstractmethod
    async def release_lease(self, node: str, pid: int) -> None:
        """Give the lease up, if this holder has it."""

    @abc.abstractmethod
    async def fetch_lease(self) -> LeaseRow | None: ...

    # ---- observations, summaries, notices -----------------------------------------
    @abc.abstractmethod
    async def add_observation(self, puzzle_id: int | None, kind: str, message: str,
                              stats: dict | None = None, changes: dict | None = None) -> int: ...

    @abc.abstractmethod
    async def fetch_observations(self, limit: int = 50,
                                 puzzle_id: int | None = None) -> list[ObservationRow]:
        """Newest first."""

    @abc.abstractmethod
    async def counts(self, puzzle_id: int | None = None) -> PoolCounts: ...

    @abc.abstractmethod
    async def listen(self, on_change: Callable[[str], None]) -> Listener:
        """Call ON_CHANGE(table) on every change of one of TABLES (at most once per
        statement); close() the returned listener to stop."""


def _lineage(run, method, command_id) -> dict:
    """The lineage fields checked: whole numbers or None, a short method name or None."""
    def whole(name, value):
        if value is None:
            return None
        try:
            return int(value)
        except (TypeError, ValueError):
            raise SubmissionRefused(f"{name} must be a whole number, got {value!r}") from None
    if method is not None and (not isinstance(method, str) or len(method) > 64):
        raise SubmissionRefused(f"method {method!r} must be a short name")
    return dict(run=whole("run", run), method=method, command_id=whole("command_id", command_id))


def _solution_ids(parents) -> list[int]:
    try:
        return [int(p) for p in parents]
    except (TypeError, ValueError):
        raise SubmissionRefused(f"parents must be solution ids, got {parents!r}") from None


def _finite_or_none(value) -> float | None:
    """VALUE as a float, or None when it is None, infinite or not a number."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def pred_var_of(puzzle) -> float | None:
    """The puzzle's var(pred) for its row in the pool (None: not a loaded puzzle, or no
    usable variance)."""
    value = _finite_or_none(getattr(puzzle, "pred_var", None))
    return value if value is not None and value > 0 else None
