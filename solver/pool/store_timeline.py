"""The pool's reads over time, in PostgreSQL: the records and the best over time, every
solution as columns (a binary COPY), the workers' samples at a time, the MSE history.
A mixin of solver.pool.store.PoolStore (it needs ``self._pool``)."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .rows import HistoryPoint, SolutionRow, SolutionTimeline, WorkerSample, solution_timeline
from .sql import columns as _columns, row as _row

SOLUTION_COLUMNS = _columns(SolutionRow, {"sha256": "answer_sha256"})

PG_EPOCH = 946684800.0   # 2000-01-01 UTC, where PostgreSQL's binary timestamps count from


def _by_time(columns: dict, names: Sequence[str]) -> list:
    """The columns in (at, id) order: sorted here, where the server would spill a sort of
    a hundred thousand rows to disk."""
    order = np.lexsort((columns["id"], columns["at"]))
    return [columns[name][order] for name in names]


class TimelineQueries:
    """Reads over time (mixed into PoolStore)."""

    async def fetch_records(self, puzzle_id: int | None = None) -> list[SolutionRow]:
        puzzle_id = await self._puzzle_or_current(puzzle_id)
        rows = await self._pool.fetch(
            f"""SELECT {SOLUTION_COLUMNS} FROM (
                 SELECT *, min(mse) OVER (ORDER BY created_at, id
                        ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS before
                 FROM solutions WHERE puzzle_id = $1) s
               WHERE before IS NULL OR mse < before ORDER BY created_at, id""", puzzle_id)
        return [_row(SolutionRow, r) for r in rows]

    async def fetch_best_over_time(self, puzzle_id: int | None = None) -> list[tuple[Any, float]]:
        puzzle_id = await self._puzzle_or_current(puzzle_id)
        rows = await self._pool.fetch(
            """SELECT created_at, mse FROM (
                 SELECT created_at, mse, min(mse) OVER (ORDER BY created_at, id
                        ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS before
                 FROM solutions WHERE puzzle_id = $1) s
               WHERE before IS NULL OR mse < before ORDER BY created_at""", puzzle_id)
        return [(r["created_at"], r["mse"]) for r in rows]

    async def fetch_solution_timeline(self, puzzle_id: int) -> SolutionTimeline:
        c = await self._copy_columns(
            """SELECT id, created_at, mse, exact
               FROM solutions WHERE puzzle_id = $1""",
            (puzzle_id,), [("id", ">i8"), ("at", "timestamptz"), ("mse", ">f8"), ("exact", "?")])
        return solution_timeline(*_by_time(c, ("id", "at", "mse", "exact")))

    async def _copy_columns(self, query: str, args: tuple, columns: list[tuple[str, str]]):
        """Fixed-width, non-null columns of QUERY as arrays, through a binary COPY: a
        hundred thousand rows in tens of milliseconds, where records take a second."""
        chunks: list[bytes] = []

        async def take(chunk: bytes) -> None:   # a file would be written from a thread
            chunks.append(chunk)

        async with self._pool.acquire() as conn:
            await conn.copy_from_query(query, *args, output=take, format="binary")
        data = b"".join(chunks)
        # 11-byte signature, flags, header extension; each row: a field count, then a
        # length and the value per field; a -1 count ends it.
        start = 19 + int.from_bytes(data[15:19], "big")
        layout = [("fields", ">i2")]
        for name, kind in columns:
            layout += [(f"{name}_length", ">i4"), (name, kind)]
        rows = np.frombuffer(data[start:-2], dtype=np.dtype(
            [(name, ">i8" if kind == "timestamptz" else kind) for name, kind in layout]))
        out = {}
        for name, kind in columns:
            if kind == "timestamptz":   # microseconds since 2000-01-01 UTC: no conversion
                out[name] = rows[name] / 1e6 + PG_EPOCH   # on the server, the costly part
            else:
                out[name] = rows[name].astype(np.dtype(kind).newbyteorder("="))
        return out

    async def fetch_mse_history(self, puzzle_id: int | None = None, worker_id: int | None = None,
                                after_id: int = 0, limit: int = 5000) -> list[HistoryPoint]:
        args: list[Any] = [after_id, limit]
        where = "h.id > $1"
        if worker_id is not None:
            args.append(worker_id)
            where += f" AND h.worker_id = ${len(args)}"
        if puzzle_id is not None:
            args.append(puzzle_id)
            where += f" AND w.puzzle_id = ${len(args)}"
        rows = await self._pool.fetch(
            f"""SELECT h.worker_id, h.at, h.run, h.step, h.mse, h.best_mse, h.id FROM mse_history h
                JOIN workers w ON w.id = h.worker_id WHERE {where} ORDER BY h.id LIMIT $2""", *args)
        return [_row(HistoryPoint, r) for r in rows]

    async def fetch_worker_samples_at(self, puzzle_id: int, at: float,
                                      trend: int = 120) -> list[WorkerSample]:
        # Three probes of (worker_id, at) per worker: the cost does not grow with the run.
        rows = await self._pool.fetch(
            """SELECT s.id, s.worker_id, date_part('epoch', s.at) AS at,
                      date_part('epoch', s.heartbeat) AS heartbeat, s.status, s.run, s.step,
                      s.best_mse, s.progress, coalesce(t.trend, '{}') AS trend,
                      (SELECT date_part('epoch', h.at) FROM worker_history h
                       WHERE h.worker_id = w.id AND h.at > to_timestamp($2)
                       ORDER BY h.at LIMIT 1) AS next_at
               FROM workers w
               CROSS JOIN LATERAL (
                   SELECT * FROM worker_history h
                   WHERE h.worker_id = w.id AND h.at <= to_timestamp($2)
                   ORDER BY h.at DESC, h.id DESC LIMIT 1) s
               CROSS JOIN LATERAL (
                   SELECT array_agg(b ORDER BY at) AS trend FROM (
                       SELECT h.best_mse AS b, h.at FROM worker_history h
                       WHERE h.worker_id = w.id AND h.at <= to_timestamp($2)
                         AND h.best_mse IS NOT NULL
                       ORDER BY h.at DESC LIMIT $3) last) t
               WHERE w.puzzle_id = $1 ORDER BY w.id""", puzzle_id, float(at), int(trend))
        return [WorkerSample(**{**dict(r), "trend": tuple(r["trend"])}) for r in rows]
