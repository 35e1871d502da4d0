"""The in-memory pool's book and reads over time: the event book, the observer's lease,
refusals, observations, interventions, the records, the timeline and the worker samples.
A mixin of solver.pool.memory.MemoryStore (it needs the store's clock, ids and notices)."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone
from typing import Any

from .base import LEASE_TTL_S, _finite_or_none as _f
from .errors import UnknownRow
from .rows import (EventRow, HistoryPoint, InterventionRow, LeaseRow, ObservationRow,
                   SolutionRow, SolutionTimeline, WorkerSample, solution_timeline)
from .words import EventKind, EventSource


class MemoryBook:
    def __init__(self) -> None:
        self.events: list[EventRow] = []
        self._once: set[str] = set()
        self.lease: dict | None = None
        self.observations: list[ObservationRow] = []
        self.refusals: list[dict] = []
        self.interventions: dict[int, InterventionRow] = {}

    # ---- the event book ------------------------------------------------------------
    async def add_event(self, kind: EventKind, text: str, *, source: EventSource,
                        puzzle_id: int | None = None, node: str | None = None,
                        worker_id: int | None = None, command_id: int | None = None,
                        detail: dict | None = None, at: float | None = None,
                        once_key: str | None = None) -> int | None:
        return self._append_event(kind, text, source, puzzle_id, node, worker_id, command_id,
                                  detail, at, once_key)

    def _pool_event(self, kind: EventKind, puzzle_id, *, source=EventSource.POOL, text="",
                    node=None, worker_id=None, command_id=None, detail=None, at=None,
                    once_key=None) -> None:
        """What migration 8's triggers write: the pool's own events."""
        self._append_event(kind, text, source, puzzle_id, node, worker_id, command_id, detail,
                           at, once_key)

    def _append_event(self, kind, text, source, puzzle_id, node, worker_id, command_id,
                      detail, at, once_key) -> int | None:
        if once_key is not None:
            if once_key in self._once:
                return None
            self._once.add(once_key)
        eid = self._next_id("events")
        when = self._now() if at is None else datetime.fromtimestamp(at, tz=timezone.utc)
        self.events.append(EventRow(eid, puzzle_id, when, EventKind(kind), EventSource(source),
                                    text, node, worker_id, command_id, dict(detail or {})))
        self._changed("events")
        return eid

    async def fetch_events(self, puzzle_id: int | None = None, after_id: int = 0,
                           limit: int = 1000) -> list[EventRow]:
        mine = [e for e in self.events if e.id > after_id
                and (puzzle_id is None or e.puzzle_id in (None, puzzle_id))]
        return sorted(mine, key=lambda e: (e.at, e.id))[-limit:]

    # ---- the observer's lease --------------------------------------------------------
    async def acquire_lease(self, node: str, pid: int, puzzle_id: int | None,
                            ttl_s: float = LEASE_TTL_S) -> LeaseRow:
        now, held = self.clock(), self.lease
        mine = held is not None and (held["node"], held["pid"]) == (node, int(pid))
        if held is None or mine or now - held["beat_at"] > ttl_s:
            acquired = held["acquired_at"] if mine else now
            self.lease = dict(node=node, pid=int(pid), puzzle_id=puzzle_id,
                              acquired_at=acquired, beat_at=now)
        return await self.fetch_lease()

    async def release_lease(self, node: str, pid: int) -> None:
        if self.lease is not None and (self.lease["node"], self.lease["pid"]) == (node, int(pid)):
            self.lease = None

    async def fetch_lease(self) -> LeaseRow | None:
        held = self.lease
        if held is None:
            return None
        stamp = lambda t: datetime.fromtimestamp(t, tz=timezone.utc)  # noqa: E731
        return LeaseRow(held["node"], held["pid"], held["puzzle_id"], stamp(held["acquired_at"]),
                        stamp(held["beat_at"]), self.clock() - held["beat_at"])

    # ---- refusals, observations, interventions ----------------------------------------
    async def log_refusal(self, puzzle_id: int | None, reason: str, *, node=None, worker_id=None,
                          origin=None, payload: str | None = None) -> None:
        now = self._now()
        self.refusals.append({"id": self._next_id("refusals"), "puzzle_id": puzzle_id,
                              "at": now, "node": node, "worker_id": worker_id,
                              "origin": origin, "reason": reason})
        self._pool_event(EventKind.REFUSAL, puzzle_id, text=reason, node=node,
                         worker_id=worker_id, at=now.timestamp())
        self._changed("refusals")

    async def fetch_refusals(self, limit: int = 100) -> list[dict]:
        return [dict(r) for r in reversed(self.refusals)][:limit]

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
        if intervention_id not in self.interventions:
            raise UnknownRow("intervention", intervention_id)
        self.interventions[intervention_id] = replace(
            self.interventions[intervention_id], best_after=_f(best_after), judged_at=self._now())
        self._changed("interventions")

    async def fetch_interventions(self, puzzle_id: int | None = None,
                                  limit: int = 500) -> list[InterventionRow]:
        return [i for _, i in sorted(self.interventions.items())
                if puzzle_id is None or i.puzzle_id == puzzle_id][:limit]

    # ---- reads over time ----------------------------------------------------------------
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

    async def fetch_solution_timeline(self, puzzle_id: int) -> SolutionTimeline:
        rows = sorted((s for s in self.solutions.values() if s.puzzle_id == puzzle_id),
                      key=lambda s: (s.created_at, s.id))
        return solution_timeline([s.id for s in rows], [s.created_at.timestamp() for s in rows],
                                 [s.mse for s in rows], [s.exact for s in rows])

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

    async def fetch_mse_history(self, puzzle_id: int | None = None, worker_id: int | None = None,
                                after_id: int = 0, limit: int = 5000) -> list[HistoryPoint]:
        def wanted(p: HistoryPoint) -> bool:
            return (p.id > after_id and (worker_id is None or p.worker_id == worker_id)
                    and (puzzle_id is None or self.workers[p.worker_id]["puzzle_id"] == puzzle_id))
        return [p for p in self.history if wanted(p)][:limit]
