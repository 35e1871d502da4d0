"""The pool in one process's memory: the same contract as PostgreSQL (solver.pool.base),
for tests of the worker, the tools and the control center's data layer that run in
milliseconds. The door is the same code; tests/pool_contract.py holds both to it.

CLOCK (epoch seconds) is injectable, so a test can age a heartbeat without sleeping.
"""
from __future__ import annotations

import asyncio
import json
import time
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any, Callable, Sequence

from .base import EXACT_MSE, TABLES, WORKER_COMMANDS, Store, _finite_or_none as _f
from .knobs import KNOBS, check_value, config_version
from .rows import (Beat, BeatReply, CommandRow, ConfigKnob, HistoryPoint, InterventionRow,
                   ObservationRow, PoolCounts, PuzzleRow, SolutionRow, Submitted, WorkerRow,
                   SolutionTimeline, WorkerSample, solution_timeline)
from .schema import LATEST
from .states import ALIVE, SILENT_AFTER_S, WorkerState


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


class MemoryStore(Store):
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
        self.observations: list[ObservationRow] = []
        self.refusals: list[dict] = []
        self.interventions: dict[int, InterventionRow] = {}
        self._listeners: set[MemoryListener] = set()
        self._ids: dict[str, int] = {}

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
                return row.id
        pid = self._next_id("puzzles")
        self.puzzles[pid] = PuzzleRow(pid, puzzle.fingerprint, int(puzzle.n_blocks),
                                      getattr(puzzle, "target_sha256", None), name, self._now())
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
                return Submitted(s.id, s.mse, sha256, s.matches_target, False)
        return None

    async def _insert_solution(self, puzzle_id: int, checked, *, origin: str, node, worker_id,
                               parents: list[int], run=None, method=None,
                               command_id=None) -> int | None:
        if await self._known_solution(puzzle_id, checked.sha256) is not None:
            return None
        sid = self._next_id("solutions")
        self.solutions[sid] = SolutionRow(sid, puzzle_id, list(checked.permutation), checked.mse,
                                          checked.sha256, checked.matches_target, node, worker_id,
                                          origin, list(parents), self._now(), run, method, command_id)
        self._changed("solutions")
        return sid

    async def log_refusal(self, puzzle_id: int | None, reason: str, *, node=None, worker_id=None,
                          origin=None, payload: str | None = None) -> None:
        self.refusals.append({"id": self._next_id("refusals"), "puzzle_id": puzzle_id,
                              "at": self._now(), "node": node, "worker_id": worker_id,
                              "origin": origin, "reason": reason})
        self._changed("refusals")

    async def fetch_refusals(self, limit: int = 100) -> list[dict]:
        return [dict(r) for r in reversed(self.refusals)][:limit]

    async def fetch_top(self, k: int, puzzle_id: int | None = None) -> list[SolutionRow]:
        puzzle_id = await self._puzzle_or_current(puzzle_id)
        mine = [s for s in self.solutions.values() if s.puzzle_id == puzzle_id]
        return sorted(mine, key=lambda s: (s.mse, s.id))[:int(k)]

    async def fetch_solution(self, solution_id: int) -> SolutionRow | None:
        return self.solutions.get(solution_id)

    async def has_exact(self, puzzle_id: int) -> bool:
        return any(s.puzzle_id == puzzle_id and (s.matches_target or s.mse < EXACT_MSE)
                   for s in self.solutions.values())

    async def fetch_records(self, puzzle_id: int | None = None) -> list[SolutionRow]:
        puzzle_id = await self._puzzle_or_current(puzzle_id)
        records, best = [], None
        for s in sorted(self.solutions.values(), key=lambda s: (s.created_at, s.id)):
            if s.puzzle_id == puzzle_id and (best is None or s.mse < best):
                best = s.mse
                records.append(s)
        return records

    async def fetch_best_over_time(self, puzzle_id: int | None = None) -> list[tuple[Any, float]]:
        return [(s.created_at, s.mse) for s in await self.fetch_records(puzzle_id)]

    # ---- workers ------------------------------------------------------------------
    async def register_worker(self, puzzle_id: int, node: str, pid: int) -> int:
        wid = self._next_id("workers")
        now = self._now()
        self.workers[wid] = dict(
            id=wid, puzzle_id=puzzle_id, node=node, pid=pid, status=WorkerState.RUNNING.value,
            run=0, step=0, best_mse=None, progress={}, config_version=None, heartbeat=now,
            started_at=now, finished_at=None, exit_reason=None)
        self._sample(self.workers[wid], None)
        self._changed("workers")
        return wid

    async def heartbeat(self, worker_id: int, *, status: str = "running", run: int = 0,
                        step: int = 0, best_mse: float | None = None,
                        progress: dict | None = None, config_version: int | None = None) -> None:
        if worker_id in self.workers:
            w = self.workers[worker_id]
            was = w["status"]
            w.update(status=status, run=int(run), step=int(step), best_mse=_f(best_mse),
                     progress=dict(progress or {}), config_version=config_version,
                     heartbeat=self._now(), finished_at=None, exit_reason=None)
            self._sample(w, was)
            self._changed("workers")

    async def beat(self, worker_id: int, beat: Beat, history: Sequence[tuple] = ()) -> BeatReply:
        await self.heartbeat(worker_id, status=beat.status, run=beat.run, step=beat.step,
                             best_mse=beat.best_mse, progress=beat.progress,
                             config_version=beat.config_version)
        await self.record_history(worker_id, history)
        row = self.workers.get(worker_id, {})
        command = await self.claim_command(f"worker:{worker_id}", WORKER_COMMANDS,
                                           [f"worker:{worker_id}", f"node:{row.get('node')}"])
        version = config_version(self.config)
        config = ({k: c.value for k, c in self.config.items()}
                  if version > beat.config_version else None)
        exact = row.get("puzzle_id") is not None and await self.has_exact(row["puzzle_id"])
        return BeatReply(config, version, exact, command)

    async def finish_worker(self, worker_id: int, status: str, reason: str,
                            best_mse: float | None = None) -> None:
        w = self.workers[worker_id]
        now, was = self._now(), w["status"]
        w.update(status=status, exit_reason=reason, finished_at=now, heartbeat=now,
                 best_mse=_f(best_mse) if best_mse is not None else w["best_mse"])
        self._sample(w, was)
        self._changed("workers")

    async def mark_lost(self, silent_after: float = SILENT_AFTER_S) -> int:
        lost = 0
        for w in self.workers.values():
            if w["status"] in ALIVE and self._age(w) > silent_after:
                was = w["status"]
                w.update(status=WorkerState.LOST.value, finished_at=w["heartbeat"],
                         exit_reason=f"no heartbeat for {float(silent_after)} s")
                self._sample(w, was)
                lost += 1
        if lost:
            self._changed("workers")
        return lost

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

    async def fetch_worker_samples_at(self, puzzle_id: int, at: float,
                                      trend: int = 120) -> list[WorkerSample]:
        out = []
        for wid in sorted({x["worker_id"] for x in self.samples if x["puzzle_id"] == puzzle_id}):
            mine = [x for x in self.samples if x["worker_id"] == wid and x["at"] <= at]
            later = [x["at"] for x in self.samples if x["worker_id"] == wid and x["at"] > at]
            if mine:
                bests = [x["best_mse"] for x in mine if x["best_mse"] is not None][-trend:]
                last = {k: v for k, v in mine[-1].items() if k != "puzzle_id"}
                out.append(WorkerSample(**{**last, "progress": dict(last["progress"])},
                                        trend=tuple(bests), next_at=min(later, default=None)))
        return out

    async def fetch_solution_timeline(self, puzzle_id: int) -> SolutionTimeline:
        rows = sorted((s for s in self.solutions.values() if s.puzzle_id == puzzle_id),
                      key=lambda s: (s.created_at, s.id))
        return solution_timeline([s.id for s in rows], [s.created_at.timestamp() for s in rows],
                                 [s.mse for s in rows],
                                 [s.matches_target or s.mse < EXACT_MSE for s in rows])

    def _age(self, w: dict) -> float:
        return self.clock() - w["heartbeat"].timestamp()

    async def fetch_workers(self, puzzle_id: int | None = None, alive_only: bool = False) -> list[WorkerRow]:
        return [WorkerRow(**w, heartbeat_age_s=self._age(w))
                for wid, w in sorted(self.workers.items())
                if (puzzle_id is None or w["puzzle_id"] == puzzle_id)
                and (not alive_only or w["status"] in ALIVE)]

    async def record_history(self, worker_id: int, points: Sequence[tuple]) -> None:
        for r, s, m, b in points:
            self.history.append(HistoryPoint(worker_id, self._now(), int(r), int(s), _f(m), _f(b),
                                             self._next_id("mse_history")))

    async def fetch_mse_history(self, puzzle_id: int | None = None, worker_id: int | None = None,
                                after_id: int = 0, limit: int = 5000) -> list[HistoryPoint]:
        def wanted(p: HistoryPoint) -> bool:
            return (p.id > after_id and (worker_id is None or p.worker_id == worker_id)
                    and (puzzle_id is None or self.workers[p.worker_id]["puzzle_id"] == puzzle_id))
        return [p for p in self.history if wanted(p)][:limit]

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
    async def enqueue_command(self, kind: str, args: dict | None = None, target: str | None = None,
                              puzzle_id: int | None = None) -> int:
        cid = self._next_id("commands")
        self.commands[cid] = CommandRow(cid, puzzle_id, kind, dict(args or {}), target, "pending",
                                        self._now(), None, None, None, None)
        self._changed("commands")
        return cid

    async def claim_command(self, claimer: str, kinds: Sequence[str],
                            targets: Sequence[str] = ()) -> CommandRow | None:
        for cid, c in sorted(self.commands.items()):
            if c.status == "pending" and c.kind in kinds and (c.target is None or c.target in targets):
                claimed = replace(c, status="claimed", claimed_by=claimer, claimed_at=self._now())
                self.commands[cid] = claimed
                self._changed("commands")
                return claimed
        return None

    async def finish_command(self, command_id: int, ok: bool, result: dict | None = None) -> None:
        self.commands[command_id] = replace(self.commands[command_id],
                                            status="done" if ok else "failed",
                                            finished_at=self._now(), result=dict(result or {}))
        self._changed("commands")

    async def fetch_commands(self, limit: int = 50) -> list[CommandRow]:
        return [c for _, c in sorted(self.commands.items(), reverse=True)][:limit]

    async def fetch_command(self, command_id: int) -> CommandRow | None:
        return self.commands.get(command_id)

    async def command_progress(self, command_id: int, progress: dict) -> bool:
        command = replace(self.commands[command_id], progress=dict(progress))
        self.commands[command_id] = command
        self._changed("commands")
        return command.cancel_requested

    async def cancel_command(self, command_id: int) -> str | None:
        c = self.commands.get(command_id)
        if c is None:
            return None
        pending = c.status == "pending"
        self.commands[command_id] = replace(
            c, cancel_requested=True, status="cancelled" if pending else c.status,
            finished_at=self._now() if pending else c.finished_at)
        self._changed("commands")
        return self.commands[command_id].status

    # ---- interventions ------------------------------------------------------------
    async def add_intervention(self, puzzle_id: int | None, kind: str, detail: dict, *,
                               reason: str, window_s: float, best_before: float | None,
                               command_id: int | None = None) -> int:
        iid = self._next_id("interventions")
        self.interventions[iid] = InterventionRow(iid, puzzle_id, self._now(), kind, dict(detail),
                                                  reason, command_id, float(window_s),
                                                  _f(best_before), None, None)
        self._changed("interventions")
        return iid

    async def judge_intervention(self, intervention_id: int, best_after: float | None) -> None:
        self.interventions[intervention_id] = replace(
            self.interventions[intervention_id], best_after=_f(best_after), judged_at=self._now())
        self._changed("interventions")

    async def fetch_interventions(self, puzzle_id: int | None = None,
                                  limit: int = 500) -> list[InterventionRow]:
        return [i for _, i in sorted(self.interventions.items())
                if puzzle_id is None or i.puzzle_id == puzzle_id][:limit]

    # ---- observations, summaries, notices -----------------------------------------
    async def add_observation(self, puzzle_id: int | None, kind: str, message: str,
                              stats: dict | None = None, changes: dict | None = None) -> int:
        oid = self._next_id("observations")
        self.observations.append(ObservationRow(oid, puzzle_id, self._now(), kind, message,
                                                dict(stats or {}), dict(changes or {})))
        self._changed("observations")
        return oid

    async def fetch_observations(self, limit: int = 50,
                                 puzzle_id: int | None = None) -> list[ObservationRow]:
        mine = [o for o in reversed(self.observations)
                if puzzle_id is None or o.puzzle_id == puzzle_id]
        return mine[:limit]

    async def counts(self, puzzle_id: int | None = None) -> PoolCounts:
        puzzle_id = await self._puzzle_or_current(puzzle_id)
        mine = [s for s in self.solutions.values() if s.puzzle_id == puzzle_id]
        workers = [w for w in self.workers.values() if w["puzzle_id"] == puzzle_id]
        return PoolCounts(
            solutions=len(mine), exact=sum(s.matches_target for s in mine),
            workers_alive=sum(w["status"] in ALIVE for w in workers),
            workers_lost=sum(w["status"] == WorkerState.LOST.value for w in workers),
            refusals=sum(r["puzzle_id"] in (puzzle_id, None) for r in self.refusals),
            commands_pending=sum(c.status == "pending" for c in self.commands.values()),
            best_mse=min((s.mse for s in mine), default=None))

    async def listen(self, on_change: Callable[[str], None]) -> MemoryListener:
        listener = MemoryListener(self, on_change)
        self._listeners.add(listener)
        return listener
