"""The pool in one process's memory: the same contract as PostgreSQL (solver.pool.base),
for tests of the worker, the tools and the control center's data layer that run in
milliseconds. The door is the same code; tests/contract/test_pool_contract.py holds both to it.
What PostgreSQL's triggers do (worker samples, the event book's own events) is done here
by the same rules; the book, the lease and the reads over time are memory_book.

CLOCK (epoch seconds) is injectable, so a test can age a heartbeat without sleeping.
"""
from __future__ import annotations

import asyncio
import json
import time
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any, Callable, Sequence

from .base import TABLES, WORKER_COMMANDS, Store, _finite_or_none as _f, pred_var_of
from .errors import UnknownRow
from .knobs import KNOBS, check_value, config_version
from .lifecycle import ALIVE, SILENT_AFTER_S, Exit, WorkerState, allowed
from .memory_book import MemoryBook
from .rows import (Beat, BeatReply, CommandRow, ConfigKnob, HistoryPoint, PoolCounts,
                   PuzzleRow, SolutionRow, Submitted, WorkerRow)
from .schema import LATEST
from .words import CommandStatus, EventKind, EventSource


class MemoryListener:
    def __init__(self, store: "MemoryStore", on_change: Callable[[str], None]) -> None:
        self.store, self.on_change = store, on_change
        self._closed = False
        self._on_terminate: list[Callable] = []

    async def close(self) -> None:
        self._closed = True
        self.store._listeners.discard(self)

    def is_closed(self) -> bool:
        return self._closed

    def add_termination_listener(self, callback: Callable[[Any], None]) -> None:
        self._on_terminate.append(callback)

    def terminate(self) -> None:
        """As when the server goes away: closed, and its termination listeners told."""
        self._closed = True
        for callback in self._on_terminate:
            callback(self)


class MemoryStore(MemoryBook, Store):
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.closed = False
        self.puzzles: dict[int, PuzzleRow] = {}
        self.solutions: dict[int, SolutionRow] = {}
        self.workers: dict[int, dict] = {}          # id -> WorkerRow fields, heartbeat as epoch
        self.history: list[HistoryPoint] = []
        self.samples: list[dict] = []               # the worker_history table (migration 6)
        self._sampled_at: dict[int, float] = {}     # worker id -> its last sample (epoch)
        self.config = {k.key: ConfigKnob(k.key, k.default, 1, self._now(), "default")
                       for k in KNOBS.values()}
        self.commands: dict[int, CommandRow] = {}
        self._listeners: set[MemoryListener] = set()
        self._ids: dict[str, int] = {}
        MemoryBook.__init__(self)

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), tz=timezone.utc)

    def _next_id(self, table: str) -> int:
        self._ids[table] = self._ids.get(table, 0) + 1
        return self._ids[table]

    def _changed(self, table: str) -> None:
        assert table in TABLES, table
        loop = asyncio.get_running_loop()
        for listener in list(self._listeners):   # delivered later, as a server's notice is
            loop.call_soon(listener.on_change, table)

    async def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.closed = True

    async def schema_version(self) -> int:
        return LATEST

    # ---- puzzles ------------------------------------------------------------------
    async def register_puzzle(self, puzzle, name: str | None = None) -> int:
        for row in self.puzzles.values():
            if row.fingerprint == puzzle.fingerprint:
                if row.pred_var is None and pred_var_of(puzzle) is not None:  # as coalesce
                    self.puzzles[row.id] = replace(row, pred_var=pred_var_of(puzzle))
                return row.id
        pid = self._next_id("puzzles")
        self.puzzles[pid] = PuzzleRow(pid, puzzle.fingerprint, int(puzzle.n_blocks),
                                      getattr(puzzle, "target_sha256", None), name, self._now(),
                                      pred_var_of(puzzle))
        self._changed("puzzles")
        return pid

    async def find_puzzle_id(self, puzzle) -> int | None:
        return next((r.id for r in self.puzzles.values() if r.fingerprint == puzzle.fingerprint), None)

    async def fetch_puzzles(self) -> list[PuzzleRow]:
        return sorted(self.puzzles.values(), key=lambda r: r.id)

    async def current_puzzle_id(self) -> int | None:
        def activity(p: PuzzleRow):
            times = [p.created_at]
            times += [w["started_at"] for w in self.workers.values() if w["puzzle_id"] == p.id]
            times += [s.created_at for s in self.solutions.values() if s.puzzle_id == p.id]
            return max(times), p.id
        return max(self.puzzles.values(), key=activity).id if self.puzzles else None

    # ---- solutions ----------------------------------------------------------------
    async def _known_solution(self, puzzle_id: int, sha256: str) -> Submitted | None:
        for s in self.solutions.values():
            if s.puzzle_id == puzzle_id and s.sha256 == sha256:
                return Submitted(s.id, s.mse, sha256, s.matches_target, False, s.exact)
        return None

    async def _insert_solution(self, puzzle_id: int, checked, *, origin: str, node, worker_id,
                               parents: list[int], run=None, method=None,
                               command_id=None) -> int | None:
        if await self._known_solution(puzzle_id, checked.sha256) is not None:
            return None
        sid = self._next_id("solutions")
        row = SolutionRow(sid, puzzle_id, list(checked.permutation), checked.mse, checked.sha256,
                          checked.matches_target, node, worker_id, origin, list(parents),
                          self._now(), run, method, command_id, checked.exact)
        self.solutions[sid] = row
        if row.exact:   # migration 8's trigger: the answer, once per puzzle
            self._pool_event(EventKind.ANSWER, puzzle_id, node=node, worker_id=worker_id,
                             detail={"solution_id": sid, "sha256": row.sha256, "mse": row.mse,
                                     "origin": origin}, once_key=f"answer:{puzzle_id}")
        self._changed("solutions")
        return sid

    async def fetch_top(self, k: int, puzzle_id: int | None = None) -> list[SolutionRow]:
        puzzle_id = await self._puzzle_or_current(puzzle_id)
        mine = [s for s in self.solutions.values() if s.puzzle_id == puzzle_id]
        return sorted(mine, key=lambda s: (s.mse, s.id))[:int(k)]

    async def fetch_solution(self, solution_id: int) -> SolutionRow | None:
        return self.solutions.get(solution_id)

    async def has_exact(self, puzzle_id: int) -> bool:
        return any(s.puzzle_id == puzzle_id and s.exact for s in self.solutions.values())

    # ---- workers ------------------------------------------------------------------
    def _worker(self, worker_id: int) -> dict:
        if worker_id not in self.workers:
            raise UnknownRow("worker", worker_id)
        return self.workers[worker_id]

    def _move(self, w: dict, state: WorkerState, **fields) -> bool:
        """The lifecycle's rule, as the PostgreSQL store's WHERE clauses apply it; a
        change of state is an event (migration 8's trigger)."""
        was = w["status"]
        if not allowed(WorkerState.parse(was), state):
            return False
        w.update(status=state.value, **fields)
        self._sample(w, was)
        if was != state.value:
            self._worker_event(w, was)
        self._changed("workers")
        return True

    def _worker_event(self, w: dict, was: str | None) -> None:
        self._pool_event(EventKind.WORKER, w["puzzle_id"], node=w["node"], worker_id=w["id"],
                         detail={"pid": w["pid"], "to": w["status"], "reason": w["exit_reason"],
                                 "from": was})

    async def register_worker(self, puzzle_id: int, node: str, pid: int) -> int:
        wid = self._next_id("workers")
        now = self._now()
        self.workers[wid] = w = dict(
            id=wid, puzzle_id=puzzle_id, node=node, pid=pid, status=WorkerState.RUNNING.value,
            run=0, step=0, best_mse=None, progress={}, config_version=None, heartbeat=now,
            started_at=now, finished_at=None, exit_reason=None)
        self._sample(w, None)
        self._worker_event(w, None)
        self._changed("workers")
        return wid

    async def heartbeat(self, worker_id: int, *, run: int = 0, step: int = 0,
                        best_mse: float | None = None, progress: dict | None = None,
                        config_version: int | None = None) -> None:
        self._move(self._worker(worker_id), WorkerState.RUNNING, run=int(run), step=int(step),
                   best_mse=_f(best_mse), progress=dict(progress or {}),
                   config_version=config_version, heartbeat=self._now(), finished_at=None,
                   exit_reason=None)

    async def beat(self, worker_id: int, beat: Beat, history: Sequence[tuple] = ()) -> BeatReply:
        row = self._worker(worker_id)
        alive = WorkerState.parse(row["status"]) in (WorkerState.RUNNING, WorkerState.LOST)
        await self.heartbeat(worker_id, run=beat.run, step=beat.step, best_mse=beat.best_mse,
                             progress=beat.progress, config_version=beat.config_version)
        await self.record_history(worker_id, history)
        command = await self.claim_command(f"worker:{worker_id}", WORKER_COMMANDS,
                                           [f"worker:{worker_id}", f"node:{row['node']}"]) \
            if alive else None
        version = config_version(self.config)
        config = ({k: c.value for k, c in self.config.items()}
                  if version > beat.config_version else None)
        exact = row["puzzle_id"] is not None and await self.has_exact(row["puzzle_id"])
        return BeatReply(config, version, exact, command)

    async def finish_worker(self, worker_id: int, status: WorkerState, reason: str,
                            best_mse: float | None = None) -> bool:
        state = WorkerState(status)
        if not state.terminal:
            raise ValueError(f"a worker finishes in a terminal state, not {state.value!r}")
        w, now = self._worker(worker_id), self._now()
        return self._move(w, state, exit_reason=reason, finished_at=now, heartbeat=now,
                          best_mse=_f(best_mse) if best_mse is not None else w["best_mse"])

    async def record_exit(self, worker_id: int, exit: Exit) -> bool:
        return self._move(self._worker(worker_id), exit.state, exit_reason=exit.describe(),
                          finished_at=self._now())

    async def mark_lost(self, silent_after: float = SILENT_AFTER_S) -> int:
        silent = [w for w in self.workers.values()
                  if w["status"] in ALIVE and self._age(w) > silent_after]
        for w in silent:
            self._move(w, WorkerState.LOST, finished_at=w["heartbeat"],
                       exit_reason=f"no heartbeat for {float(silent_after):g} s")
        return len(silent)

    def _sample(self, w: dict, was: str | None) -> None:
        """The rule of migration 6's trigger: a sample per history_grain_s and at each
        change of status; samples older than history_keep_days go."""
        now = self.clock()
        grain, keep = self.config["history_grain_s"].value, self.config["history_keep_days"].value
        if was == w["status"] and now < self._sampled_at.get(w["id"], -1e18) + grain:
            return
        self._sampled_at[w["id"]] = now
        self.samples = [x for x in self.samples if x["at"] >= now - keep * 86400]
        self.samples.append(dict(id=self._next_id("worker_history"), worker_id=w["id"],
                                 puzzle_id=w["puzzle_id"], at=now,
                                 heartbeat=w["heartbeat"].timestamp(), status=w["status"],
                                 run=w["run"], step=w["step"], best_mse=w["best_mse"],
                                 progress=json.loads(json.dumps(w["progress"]))))

    def _age(self, w: dict) -> float:
        return self.clock() - w["heartbeat"].timestamp()

    async def fetch_workers(self, puzzle_id: int | None = None, alive_only: bool = False) -> list[WorkerRow]:
        return [WorkerRow(**w, heartbeat_age_s=self._age(w))
                for wid, w in sorted(self.workers.items())
                if (puzzle_id is None or w["puzzle_id"] == puzzle_id)
                and (not alive_only or w["status"] in ALIVE)]

    async def record_history(self, worker_id: int, points: Sequence[tuple]) -> None:
        self._worker(worker_id)
        for r, s, m, b in points:
            self.history.append(HistoryPoint(worker_id, self._now(), int(r), int(s), _f(m), _f(b),
                                             self._next_id("mse_history")))

    # ---- config knobs -------------------------------------------------------------
    async def fetch_config(self) -> dict[str, ConfigKnob]:
        return dict(self.config)

    async def set_config(self, key: str, value: float, by: str = "operator") -> ConfigKnob:
        value = check_value(key, value)
        old = self.config.get(key)
        knob = ConfigKnob(key, value, old.version + 1 if old else 1, self._now(), by)
        self.config[key] = knob
        self._changed("config")
        return knob

    # ---- operator commands --------------------------------------------------------
    def _command(self, command_id: int) -> CommandRow:
        if command_id not in self.commands:
            raise UnknownRow("command", command_id)
        return self.commands[command_id]

    async def enqueue_command(self, kind: str, args: dict | None = None, target: str | None = None,
                              puzzle_id: int | None = None) -> int:
        cid = self._next_id("commands")
        self.commands[cid] = CommandRow(cid, puzzle_id, kind, dict(args or {}), target,
                                        CommandStatus.PENDING, self._now(), None, None, None, None)
        self._changed("commands")
        return cid

    async def claim_command(self, claimer: str, kinds: Sequence[str],
                            targets: Sequence[str] = (),
                            puzzle_id: int | None = None) -> CommandRow | None:
        for cid, c in sorted(self.commands.items()):
            if c.status is CommandStatus.PENDING and c.kind in kinds \
                    and (c.target is None or c.target in targets) \
                    and (puzzle_id is None or c.puzzle_id in (None, puzzle_id)):
                claimed = replace(c, status=CommandStatus.CLAIMED, claimed_by=claimer,
                                  claimed_at=self._now())
                self.commands[cid] = claimed
                self._changed("commands")
                return claimed
        return None

    def _end_command(self, c: CommandRow, status: CommandStatus, **fields) -> None:
        """A command that ends is an event (migration 8's trigger)."""
        self.commands[c.id] = ended = replace(c, status=status, finished_at=self._now(), **fields)
        kind = EventKind.ERROR if status is CommandStatus.FAILED else \
            EventKind(c.kind) if c.kind in ("inject", "surgery", "stop") else EventKind.ACTION
        source = EventSource.POOL if (c.claimed_by or "").startswith("worker:") \
            else EventSource.OBSERVER
        self._pool_event(kind, c.puzzle_id, source=source, command_id=c.id,
                         detail={"command": c.kind, "status": status.value,
                                 "result": ended.result, "by": c.claimed_by})
        self._changed("commands")

    async def finish_command(self, command_id: int, ok: bool, result: dict | None = None) -> None:
        self._end_command(self._command(command_id),
                          CommandStatus.DONE if ok else CommandStatus.FAILED,
                          result=dict(result or {}))

    async def fetch_commands(self, limit: int = 50) -> list[CommandRow]:
        return [c for _, c in sorted(self.commands.items(), reverse=True)][:limit]

    async def fetch_command(self, command_id: int) -> CommandRow | None:
        return self.commands.get(command_id)

    async def command_progress(self, command_id: int, progress: dict) -> bool:
        command = replace(self._command(command_id), progress=dict(progress))
        self.commands[command_id] = command
        self._changed("commands")
        return command.cancel_requested

    async def cancel_command(self, command_id: int) -> CommandStatus:
        c = replace(self._command(command_id), cancel_requested=True)
        if c.status is CommandStatus.PENDING:
            self._end_command(c, CommandStatus.CANCELLED)
        else:
            self.commands[command_id] = c
            self._changed("commands")
        return self.commands[command_id].status

    # ---- summaries, notices ---------------------------------------------------------
    async def counts(self, puzzle_id: int | None = None) -> PoolCounts:
        puzzle_id = await self._puzzle_or_current(puzzle_id)
        mine = [s for s in self.solutions.values() if s.puzzle_id == puzzle_id]
        workers = [w for w in self.workers.values() if w["puzzle_id"] == puzzle_id]
        return PoolCounts(
            solutions=len(mine), exact=sum(s.exact for s in mine),
            workers_alive=sum(w["status"] in ALIVE for w in workers),
            workers_lost=sum(w["status"] == WorkerState.LOST.value for w in workers),
            refusals=sum(r["puzzle_id"] in (puzzle_id, None) for r in self.refusals),
            commands_pending=sum(c.status is CommandStatus.PENDING for c in self.commands.values()),
            best_mse=min((s.mse for s in mine), default=None))

    async def listen(self, on_change: Callable[[str], None]) -> MemoryListener:
        listener = MemoryListener(self, on_change)
        self._listeners.add(listener)
        return listener
