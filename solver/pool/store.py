"""The pool in PostgreSQL: one asyncpg connection pool, migrated at connect, and the
queries of the contract in solver.pool.base."""
from __future__ import annotations

import asyncio
import json
from dataclasses import fields
from typing import Any, Callable, Sequence

import numpy as np

from . import schema
from .base import EXACT_MSE, WORKER_COMMANDS, Store, _finite_or_none as _f
from .errors import PoolError
from .knobs import KNOBS, check_value
from .locate import NO_DSN
from .rows import (Beat, BeatReply, CommandRow, ConfigKnob, HistoryPoint, InterventionRow,
                   ObservationRow, PoolCounts, PuzzleRow, SolutionRow, Submitted, WorkerRow,
                   SolutionTimeline, WorkerSample, solution_timeline)
from .states import ALIVE, SILENT_AFTER_S, WorkerState


def redact(dsn: str) -> str:
    """DSN without its password, for messages."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(dsn)
    if parts.password:
        netloc = parts.netloc.replace(":" + parts.password + "@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return dsn


def is_connection_error(exc: BaseException) -> bool:
    """True when EXC means the database went away (worth a retry), not a bug or bad data."""
    import asyncpg

    return isinstance(exc, (OSError, ConnectionError, asyncio.TimeoutError,
                            asyncpg.PostgresConnectionError, asyncpg.InterfaceError,
                            asyncpg.exceptions.OperatorInterventionError,
                            asyncpg.exceptions.CannotConnectNowError))


async def _init_connection(conn) -> None:
    for name in ("json", "jsonb"):
        await conn.set_type_codec(name, encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def connect(dsn: str, *, max_size: int = 4, timeout: float = 10.0) -> "PoolStore":
    """Connect, apply missing migrations, make sure every knob has a row."""
    import asyncpg

    if not dsn:
        raise PoolError(NO_DSN)
    try:
        pool = await asyncpg.create_pool(dsn, min_size=1, max_size=max_size, timeout=timeout,
                                         init=_init_connection, command_timeout=60)
    except Exception as exc:
        if isinstance(exc, (ValueError, asyncpg.InvalidCatalogNameError, asyncpg.InvalidAuthorizationSpecificationError)) \
                or is_connection_error(exc):
            raise PoolError(f"cannot reach the pool database at {redact(dsn)}: {exc}") from exc
        raise
    store = PoolStore(pool, dsn)
    try:
        async with pool.acquire() as conn:
            await schema.migrate(conn)
            await conn.executemany(
                "INSERT INTO config (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
                [(k.key, k.default) for k in KNOBS.values()])
    except BaseException:
        await pool.close()
        raise
    return store


def _columns(row_type, sql: dict[str, str] | None = None) -> str:
    """The SELECT list of a row type: its fields by name, SQL[field] where a field is
    computed or named otherwise in the table."""
    sql = sql or {}
    return ", ".join(f"{sql[f.name]} AS {f.name}" if f.name in sql else f.name
                     for f in fields(row_type))


PG_EPOCH = 946684800.0   # 2000-01-01 UTC, where PostgreSQL's binary timestamps count from


def _by_time(columns: dict, names: Sequence[str]) -> list:
    """The columns in (at, id) order: sorted here, where the server would spill a sort of
    a hundred thousand rows to disk."""
    order = np.lexsort((columns["id"], columns["at"]))
    return [columns[name][order] for name in names]


def _row(row_type, record):
    """A row built by name: a field added to the row type and the table needs nothing here."""
    values = {f.name: record[f.name] for f in fields(row_type)}
    for name in ("permutation", "parents"):
        if name in values:
            values[name] = list(values[name])
    return row_type(**values)


SOLUTION_COLUMNS = _columns(SolutionRow, {"sha256": "answer_sha256"})
WORKER_COLUMNS = _columns(WorkerRow, {
    "heartbeat_age_s": "extract(epoch FROM now() - heartbeat)::float8"})
COMMAND_COLUMNS = _columns(CommandRow)

# A worker's heartbeat in one statement: the data-modifying CTEs all run, whatever the
# final SELECT reads. The knobs' version is the sum of theirs: any change raises it.
BEAT_SQL = f"""
WITH w AS (
    UPDATE workers SET status = $2, run = $3, step = $4, best_mse = $5, progress = $6,
           config_version = $7, heartbeat = now(), finished_at = NULL, exit_reason = NULL
    WHERE id = $1 RETURNING id, puzzle_id, node),
h AS (
    INSERT INTO mse_history (worker_id, run, step, mse, best_mse)
    SELECT $1, r, s, m, b FROM unnest($8::int[], $9::bigint[], $10::float8[], $11::float8[])
        AS t(r, s, m, b)),
c AS (
    UPDATE commands SET status = 'claimed', claimed_by = 'worker:' || $1::text,
           claimed_at = now()
    WHERE id = (SELECT id FROM commands
                WHERE status = 'pending' AND kind = ANY($12::text[])
                  AND (target IS NULL OR target = 'worker:' || $1::text
                       OR target = 'node:' || (SELECT node FROM w))
                ORDER BY id FOR UPDATE SKIP LOCKED LIMIT 1)
    RETURNING {COMMAND_COLUMNS}),
k AS (SELECT coalesce(sum(version), 0)::int AS version,
             jsonb_object_agg(key, value) AS knobs FROM config)
SELECT k.version, CASE WHEN k.version > $7 THEN k.knobs END AS knobs,
       (EXISTS (SELECT 1 FROM solutions WHERE puzzle_id = (SELECT puzzle_id FROM w) AND matches_target)
        OR EXISTS (SELECT 1 FROM solutions WHERE puzzle_id = (SELECT puzzle_id FROM w)
                   AND mse < $13)) AS exact,
       c.*
FROM k LEFT JOIN c ON true"""


class PoolStore(Store):
    def __init__(self, pool, dsn: str):
        self._pool = pool
        self.dsn = dsn
        self._puzzle_ids: dict[str, int] = {}

    async def close(self) -> None:
        await self._pool.close()

    def abort(self) -> None:
        self._pool.terminate()

    async def schema_version(self) -> int:
        async with self._pool.acquire() as conn:
            return await schema.schema_version(conn)

    # ---- puzzles -------------------------------------------------------------------
    async def register_puzzle(self, puzzle, name: str | None = None) -> int:
        fingerprint = puzzle.fingerprint
        if fingerprint in self._puzzle_ids:
            return self._puzzle_ids[fingerprint]
        pid = await self._pool.fetchval(
            """INSERT INTO puzzles (fingerprint, n_blocks, target_sha256, name) VALUES ($1, $2, $3, $4)
               ON CONFLICT (fingerprint) DO UPDATE
                 SET target_sha256 = coalesce(puzzles.target_sha256, EXCLUDED.target_sha256),
                     name = coalesce(puzzles.name, EXCLUDED.name)
               RETURNING id""",
            fingerprint, int(puzzle.n_blocks), getattr(puzzle, "target_sha256", None), name)
        self._puzzle_ids[fingerprint] = pid
        return pid

    async def find_puzzle_id(self, puzzle) -> int | None:
        return await self._pool.fetchval("SELECT id FROM puzzles WHERE fingerprint = $1", puzzle.fingerprint)

    async def fetch_puzzles(self) -> list[PuzzleRow]:
        rows = await self._pool.fetch(f"SELECT {_columns(PuzzleRow)} FROM puzzles ORDER BY id")
        return [_row(PuzzleRow, r) for r in rows]

    async def current_puzzle_id(self) -> int | None:
        return await self._pool.fetchval(
            """SELECT id FROM puzzles p ORDER BY greatest(
                 (SELECT max(started_at) FROM workers w WHERE w.puzzle_id = p.id),
                 (SELECT max(created_at) FROM solutions s WHERE s.puzzle_id = p.id),
                 p.created_at) DESC LIMIT 1""")

    # ---- solutions -----------------------------------------------------------------
    async def _known_solution(self, puzzle_id: int, sha256: str) -> Submitted | None:
        r = await self._pool.fetchrow(
            "SELECT id, mse, matches_target FROM solutions WHERE puzzle_id = $1 AND answer_sha256 = $2",
            puzzle_id, sha256)
        return None if r is None else Submitted(r["id"], r["mse"], sha256, r["matches_target"], False)

    async def _insert_solution(self, puzzle_id: int, checked, *, origin: str, node, worker_id,
                               parents: list[int], run=None, method=None,
                               command_id=None) -> int | None:
        return await self._pool.fetchval(
            """INSERT INTO solutions (puzzle_id, permutation, mse, answer_sha256, matches_target,
                                      node, worker_id, origin, parents, run, method, command_id)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
               ON CONFLICT (puzzle_id, answer_sha256) DO NOTHING RETURNING id""",
            puzzle_id, checked.permutation, checked.mse, checked.sha256, checked.matches_target,
            node, worker_id, origin, parents, run, method, command_id)

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

    async def fetch_top(self, k: int, puzzle_id: int | None = None) -> list[SolutionRow]:
        puzzle_id = await self._puzzle_or_current(puzzle_id)
        rows = await self._pool.fetch(
            f"SELECT {SOLUTION_COLUMNS} FROM solutions WHERE puzzle_id = $1 ORDER BY mse, id LIMIT $2",
            puzzle_id, int(k))
        return [_row(SolutionRow, r) for r in rows]

    async def fetch_solution(self, solution_id: int) -> SolutionRow | None:
        r = await self._pool.fetchrow(f"SELECT {SOLUTION_COLUMNS} FROM solutions WHERE id = $1", solution_id)
        return _row(SolutionRow, r) if r else None

    async def has_exact(self, puzzle_id: int) -> bool:
        return bool(await self._pool.fetchval(
            """SELECT EXISTS (SELECT 1 FROM solutions WHERE puzzle_id = $1 AND matches_target)
                   OR EXISTS (SELECT 1 FROM solutions WHERE puzzle_id = $1 AND mse < $2)""",
            puzzle_id, EXACT_MSE))

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
            """SELECT id, created_at, mse, (matches_target OR mse < $2)
               FROM solutions WHERE puzzle_id = $1""",
            (puzzle_id, EXACT_MSE), [("id", ">i8"), ("at", "timestamptz"), ("mse", ">f8"),
                                     ("exact", "?")])
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

    # ---- workers -------------------------------------------------------------------
    async def register_worker(self, puzzle_id: int, node: str, pid: int) -> int:
        return await self._pool.fetchval(
            "INSERT INTO workers (puzzle_id, node, pid, status) VALUES ($1, $2, $3, $4) RETURNING id",
            puzzle_id, node, pid, WorkerState.RUNNING.value)

    async def heartbeat(self, worker_id: int, *, status: str = "running", run: int = 0,
                        step: int = 0, best_mse: float | None = None,
                        progress: dict | None = None, config_version: int | None = None) -> None:
        await self._pool.execute(
            """UPDATE workers SET status = $2, run = $3, step = $4, best_mse = $5, progress = $6,
                   config_version = $7, heartbeat = now(), finished_at = NULL, exit_reason = NULL
               WHERE id = $1""",
            worker_id, status, int(run), int(step), _f(best_mse), progress or {}, config_version)

    async def beat(self, worker_id: int, beat: Beat, history: Sequence[tuple] = ()) -> BeatReply:
        runs, steps, mses, bests = (list(col) for col in zip(*history)) if history else ([],) * 4
        r = await self._pool.fetchrow(
            BEAT_SQL, worker_id, beat.status, int(beat.run), int(beat.step), _f(beat.best_mse),
            beat.progress, int(beat.config_version), [int(x) for x in runs],
            [int(x) for x in steps], [_f(x) for x in mses], [_f(x) for x in bests],
            list(WORKER_COMMANDS), EXACT_MSE)
        command = _row(CommandRow, r) if r["id"] is not None else None
        config = r["knobs"]
        return BeatReply(None if config is None else {k: float(v) for k, v in config.items()},
                         r["version"], r["exact"], command)

    async def finish_worker(self, worker_id: int, status: str, reason: str,
                            best_mse: float | None = None) -> None:
        await self._pool.execute(
            """UPDATE workers SET status = $2, exit_reason = $3, finished_at = now(), heartbeat = now(),
                   best_mse = coalesce($4, best_mse) WHERE id = $1""",
            worker_id, status, reason, _f(best_mse))

    async def mark_lost(self, silent_after: float = SILENT_AFTER_S) -> int:
        result = await self._pool.execute(
            """UPDATE workers SET status = $3, finished_at = heartbeat,
                   exit_reason = 'no heartbeat for ' || $1::text || ' s'
               WHERE status = ANY($2) AND heartbeat < now() - make_interval(secs => $1)""",
            float(silent_after), list(ALIVE), WorkerState.LOST.value)
        return int(result.split()[-1])

    async def fetch_workers(self, puzzle_id: int | None = None, alive_only: bool = False) -> list[WorkerRow]:
        where, args = [], []
        if puzzle_id is not None:
            args.append(puzzle_id)
            where.append(f"puzzle_id = ${len(args)}")
        if alive_only:
            args.append(list(ALIVE))
            where.append(f"status = ANY(${len(args)})")
        clause = ("WHERE " + " AND ".join(where)) if where else ""
        rows = await self._pool.fetch(f"SELECT {WORKER_COLUMNS} FROM workers {clause} ORDER BY id", *args)
        return [_row(WorkerRow, r) for r in rows]

    async def record_history(self, worker_id: int, points: Sequence[tuple]) -> None:
        if points:
            await self._pool.executemany(
                "INSERT INTO mse_history (worker_id, run, step, mse, best_mse) VALUES ($1, $2, $3, $4, $5)",
                [(worker_id, int(r), int(s), _f(m), _f(b)) for r, s, m, b in points])

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

    # ---- config --------------------------------------------------------------------
    async def fetch_config(self) -> dict[str, ConfigKnob]:
        rows = await self._pool.fetch(f"SELECT {_columns(ConfigKnob)} FROM config")
        return {r["key"]: _row(ConfigKnob, r) for r in rows}

    async def set_config(self, key: str, value: float, by: str = "operator") -> ConfigKnob:
        value = check_value(key, value)
        r = await self._pool.fetchrow(
            f"""INSERT INTO config (key, value, updated_by) VALUES ($1, $2, $3)
               ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, version = config.version + 1,
                   updated_at = now(), updated_by = EXCLUDED.updated_by
               RETURNING {_columns(ConfigKnob)}""", key, value, by)
        return _row(ConfigKnob, r)

    # ---- operator commands ---------------------------------------------------------
    async def enqueue_command(self, kind: str, args: dict | None = None, target: str | None = None,
                              puzzle_id: int | None = None) -> int:
        return await self._pool.fetchval(
            "INSERT INTO commands (puzzle_id, kind, args, target) VALUES ($1, $2, $3, $4) RETURNING id",
            puzzle_id, kind, args or {}, target)

    async def claim_command(self, claimer: str, kinds: Sequence[str],
                            targets: Sequence[str] = ()) -> CommandRow | None:
        r = await self._pool.fetchrow(
            f"""UPDATE commands SET status = 'claimed', claimed_by = $1, claimed_at = now()
               WHERE id = (SELECT id FROM commands
                           WHERE status = 'pending' AND kind = ANY($2)
                             AND (target IS NULL OR target = ANY($3))
                           ORDER BY id FOR UPDATE SKIP LOCKED LIMIT 1)
               RETURNING {COMMAND_COLUMNS}""", claimer, list(kinds), list(targets))
        return _row(CommandRow, r) if r else None

    async def finish_command(self, command_id: int, ok: bool, result: dict | None = None) -> None:
        await self._pool.execute(
            "UPDATE commands SET status = $2, finished_at = now(), result = $3 WHERE id = $1",
            command_id, "done" if ok else "failed", result or {})

    async def fetch_commands(self, limit: int = 50) -> list[CommandRow]:
        rows = await self._pool.fetch(f"SELECT {COMMAND_COLUMNS} FROM commands ORDER BY id DESC LIMIT $1",
                                      limit)
        return [_row(CommandRow, r) for r in rows]

    async def fetch_command(self, command_id: int) -> CommandRow | None:
        r = await self._pool.fetchrow(f"SELECT {COMMAND_COLUMNS} FROM commands WHERE id = $1", command_id)
        return _row(CommandRow, r) if r else None

    async def command_progress(self, command_id: int, progress: dict) -> bool:
        return bool(await self._pool.fetchval(
            "UPDATE commands SET progress = $2 WHERE id = $1 RETURNING cancel_requested",
            command_id, progress))

    async def cancel_command(self, command_id: int) -> str | None:
        return await self._pool.fetchval(
            """UPDATE commands SET cancel_requested = true,
                   status = CASE status WHEN 'pending' THEN 'cancelled' ELSE status END,
                   finished_at = CASE status WHEN 'pending' THEN now() ELSE finished_at END
               WHERE id = $1 RETURNING status""", command_id)

    # ---- interventions -------------------------------------------------------------
    async def add_intervention(self, puzzle_id: int | None, kind: str, detail: dict, *,
                               reason: str, window_s: float, best_before: float | None,
                               command_id: int | None = None) -> int:
        return await self._pool.fetchval(
            """INSERT INTO interventions (puzzle_id, kind, detail, reason, command_id, window_s, best_before)
               VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id""",
            puzzle_id, kind, detail, reason, command_id, float(window_s), _f(best_before))

    async def judge_intervention(self, intervention_id: int, best_after: float | None) -> None:
        await self._pool.execute(
            "UPDATE interventions SET best_after = $2, judged_at = now() WHERE id = $1",
            intervention_id, _f(best_after))

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

    # ---- summaries and notifications -----------------------------------------------
    async def counts(self, puzzle_id: int | None = None) -> PoolCounts:
        puzzle_id = await self._puzzle_or_current(puzzle_id)
        r = await self._pool.fetchrow(
            """SELECT (SELECT count(*) FROM solutions WHERE puzzle_id = $1) AS solutions,
                      (SELECT count(*) FROM solutions WHERE puzzle_id = $1 AND matches_target) AS exact,
                      (SELECT count(*) FROM workers WHERE puzzle_id = $1 AND status = ANY($2)) AS workers_alive,
                      (SELECT count(*) FROM workers WHERE puzzle_id = $1 AND status = $3) AS workers_lost,
                      (SELECT count(*) FROM refusals WHERE puzzle_id = $1 OR puzzle_id IS NULL) AS refusals,
                      (SELECT count(*) FROM commands WHERE status = 'pending') AS commands_pending,
                      (SELECT min(mse) FROM solutions WHERE puzzle_id = $1) AS best_mse""",
            puzzle_id, list(ALIVE), WorkerState.LOST.value)
        return _row(PoolCounts, r)

    async def listen(self, on_change: Callable[[str], None]):
        import asyncpg

        conn = await asyncpg.connect(self.dsn)
        await conn.add_listener(schema.NOTIFY_CHANNEL, lambda _c, _pid, _ch, payload: on_change(payload))
        return conn
