"""The pool's book in PostgreSQL: the event book, the observer's lease, refusals,
observations and interventions. A mixin of solver.pool.store.PoolStore (it needs
``self._pool``)."""
from __future__ import annotations

from datetime import datetime, timezone

from .base import LEASE_TTL_S, _finite_or_none as _f
from .errors import UnknownRow
from .rows import EventRow, InterventionRow, LeaseRow, ObservationRow
from .sql import columns as _columns, row as _row
from .words import EventKind, EventSource

EVENT_COLUMNS = _columns(EventRow)
LEASE_COLUMNS = _columns(LeaseRow, {"beat_age_s": "extract(epoch FROM now() - beat_at)::float8"})


class BookQueries:
    """The event book, the lease, refusals, observations, interventions (mixed into PoolStore)."""

    # ---- the event book ------------------------------------------------------------
    async def add_event(self, kind: EventKind, text: str, *, source: EventSource,
                        puzzle_id: int | None = None, node: str | None = None,
                        worker_id: int | None = None, command_id: int | None = None,
                        detail: dict | None = None, at: float | None = None,
                        once_key: str | None = None) -> int | None:
        when = None if at is None else datetime.fromtimestamp(at, tz=timezone.utc)
        return await self._pool.fetchval(
            """INSERT INTO events (puzzle_id, at, kind, source, text, node, worker_id,
                                   command_id, detail, once_key)
               VALUES ($1, coalesce($2, clock_timestamp()), $3, $4, $5, $6, $7, $8, $9, $10)
               ON CONFLICT (once_key) DO NOTHING RETURNING id""",
            puzzle_id, when, EventKind(kind).value, EventSource(source).value, text, node,
            worker_id, command_id, detail or {}, once_key)

    async def fetch_events(self, puzzle_id: int | None = None, after_id: int = 0,
                           limit: int = 1000) -> list[EventRow]:
        rows = await self._pool.fetch(
            f"""SELECT * FROM (SELECT {EVENT_COLUMNS} FROM events
                 WHERE id > $1 AND ($2::int IS NULL OR puzzle_id = $2 OR puzzle_id IS NULL)
                 ORDER BY at DESC, id DESC LIMIT $3) newest ORDER BY at, id""",
            after_id, puzzle_id, limit)
        return [_row(EventRow, r) for r in rows]

    # ---- the observer's lease --------------------------------------------------------
    async def acquire_lease(self, node: str, pid: int, puzzle_id: int | None,
                            ttl_s: float = LEASE_TTL_S) -> LeaseRow:
        r = await self._pool.fetchrow(
            f"""WITH taken AS (
                 INSERT INTO observer_lease (node, pid, puzzle_id) VALUES ($1, $2, $3)
                 ON CONFLICT (pool) DO UPDATE SET node = EXCLUDED.node, pid = EXCLUDED.pid,
                     puzzle_id = EXCLUDED.puzzle_id, beat_at = now(),
                     acquired_at = CASE WHEN observer_lease.node = EXCLUDED.node
                                         AND observer_lease.pid = EXCLUDED.pid
                                        THEN observer_lease.acquired_at ELSE now() END
                 WHERE (observer_lease.node = EXCLUDED.node AND observer_lease.pid = EXCLUDED.pid)
                    OR observer_lease.beat_at < now() - make_interval(secs => $4)
                 RETURNING {LEASE_COLUMNS})
               SELECT * FROM taken UNION ALL
               SELECT {LEASE_COLUMNS} FROM observer_lease WHERE NOT EXISTS (SELECT 1 FROM taken)""",
            node, int(pid), puzzle_id, float(ttl_s))
        return _row(LeaseRow, r)

    async def release_lease(self, node: str, pid: int) -> None:
        await self._pool.execute("DELETE FROM observer_lease WHERE node = $1 AND pid = $2",
                                 node, int(pid))

    async def fetch_lease(self) -> LeaseRow | None:
        r = await self._pool.fetchrow(f"SELECT {LEASE_COLUMNS} FROM observer_lease")
        return _row(LeaseRow, r) if r else None

    # ---- refusals --------------------------------------------------------------------
    async def log_refusal(self, puzzle_id: int | None, reason: str, *, node=None, worker_id=None,
                          origin=None, payload: str | None = None) -> None:
        await self._pool.execute(
            "INSERT INTO refusals (puzzle_id, node, worker_id, origin, reason, payload) VALUES ($1,$2,$3,$4,$5,$6)",
            puzzle_id, node, worker_id, origin, reason, payload)

    async def fetch_refusals(self, limit: int = 100) -> list[dict]:
        rows = await self._pool.fetch(
            "SELECT id, puzzle_id, at, node, worker_id, origin, reason FROM refusals ORDER BY id DESC LIMIT $1",
            limit)
        return [dict(r) for r in rows]

    # ---- interventions -------------------------------------------------------------
    async def add_intervention(self, puzzle_id: int | None, kind: str, detail: dict, *,
                               reason: str, window_s: float, best_before: float | None,
                               command_id: int | None = None) -> int:
        return await self._pool.fetchval(
            """INSERT INTO interventions (puzzle_id, kind, detail, reason, command_id, window_s, best_before)
               VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id""",
            puzzle_id, kind, detail, reason, command_id, float(window_s), _f(best_before))

    async def judge_intervention(self, intervention_id: int, best_after: float | None) -> None:
        done = await self._pool.execute(
            "UPDATE interventions SET best_after = $2, judged_at = now() WHERE id = $1",
            intervention_id, _f(best_after))
        if done == "UPDATE 0":
            raise UnknownRow("intervention", intervention_id)

    async def fetch_interventions(self, puzzle_id: int | None = None,
                                  limit: int = 500) -> list[InterventionRow]:
        rows = await self._pool.fetch(
            f"""SELECT {_columns(InterventionRow)} FROM interventions
               WHERE $1::int IS NULL OR puzzle_id = $1 ORDER BY id LIMIT $2""", puzzle_id, limit)
        return [_row(InterventionRow, r) for r in rows]

    # ---- observations --------------------------------------------------------------
    async def add_observation(self, puzzle_id: int | None, kind: str, message: str,
                              stats: dict | None = None, changes: dict | None = None) -> int:
        return await self._pool.fetchval(
            """INSERT INTO observations (puzzle_id, kind, message, stats, changes)
               VALUES ($1, $2, $3, $4, $5) RETURNING id""",
            puzzle_id, kind, message, stats or {}, changes or {})

    async def fetch_observations(self, limit: int = 50, puzzle_id: int | None = None) -> list[ObservationRow]:
        rows = await self._pool.fetch(
            f"""SELECT {_columns(ObservationRow)} FROM observations
               WHERE $2::int IS NULL OR puzzle_id = $2 ORDER BY id DESC LIMIT $1""", limit, puzzle_id)
        return [_row(ObservationRow, r) for r in rows]
