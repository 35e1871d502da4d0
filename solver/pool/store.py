"""The pool in PostgreSQL: one asyncpg connection pool, migrated at connect, and the
queries of the contract in solver.pool.base (puzzles, solutions, workers, knobs and
commands here; the event book, the lease, observations and interventions in store_book;
the reads over time in store_timeline)."""
from __future__ import annotations

import asyncio
import json
from typing import Callable, Sequence

from . import schema
from .base import WORKER_COMMANDS, Store, _finite_or_none as _f, pred_var_of
from .errors import PoolError, UnknownRow
from .knobs import KNOBS, check_value
from .lifecycle import ALIVE, SILENT_AFTER_S, Exit, WorkerState, sources_of
from .locate import NO_DSN, redact
from .rows import (Beat, BeatReply, CommandRow, ConfigKnob, PoolCounts, PuzzleRow, SolutionRow,
                   Submitted, WorkerRow)
from .sql import columns as _columns, row as _row
from .store_book import BookQueries
from .store_timeline import SOLUTION_COLUMNS, TimelineQueries
from .words import CommandStatus


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


WORKER_COLUMNS = _columns(WorkerRow, {
    "heartbeat_age_s": "extract(epoch FROM now() - heartbeat)::float8"})
COMMAND_COLUMNS = _columns(CommandRow)
# A beat is a sign of life: it may move a worker only from these (lost comes back).
BEATS_FROM = list(sources_of(WorkerState.RUNNING))

# A worker's heartbeat in one statement: the data-modifying CTEs all run, whatever the
# final SELECT reads. The knobs' version is the sum of theirs: any change raises it. A
# terminal worker's row is left alone (the lifecycle never leaves a terminal state); the
# reply still says whether the answer is in.
BEAT_SQL = f"""
WITH me AS (SELECT id, puzzle_id, node FROM workers WHERE id = $1),
w AS (
    UPDATE workers SET status = 'running', run = $2, step = $3, best_mse = $4, progress = $5,
           config_version = $6, heartbeat = now(), finished_at = NULL, exit_reason = NULL
    WHERE id = $1 AND status = ANY($12::text[]) RETURNING id),
h AS (
    INSERT INTO mse_history (worker_id, run, step, mse, best_mse)
    SELECT $1, r, s, m, b FROM unnest($7::int[], $8::bigint[], $9::float8[], $10::float8[])
        AS t(r, s, m, b) WHERE EXISTS (SELECT 1 FROM me)),
c AS (
    UPDATE commands SET status = 'claimed', claimed_by = 'worker:' || $1::text,
           claimed_at = now()
    WHERE id = (SELECT id FROM commands
                WHERE status = 'pending' AND kind = ANY($11::text[])
                  AND (target IS NULL OR target = 'worker:' || $1::text
                       OR target = 'node:' || (SELECT node FROM me))
                ORDER BY id FOR UPDATE SKIP LOCKED LIMIT 1)
      AND EXISTS (SELECT 1 FROM w)
    RETURNING {COMMAND_COLUMNS}),
k AS (SELECT coalesce(sum(version), 0)::int AS version,
             jsonb_object_agg(key, value) AS knobs FROM config)
SELECT EXISTS (SELECT 1 FROM me) AS known, k.version,
       CASE WHEN k.version > $6 THEN k.knobs END AS knobs,
       EXISTS (SELECT 1 FROM solutions WHERE puzzle_id = (SELECT puzzle_id FROM me) AND exact)
           AS exact,
       c.*
FROM k LEFT JOIN c ON true"""


class PoolStore(BookQueries, TimelineQueries, Store):
    def __init__(self, pool, dsn: str):
        self._pool = pool
        self.dsn = dsn
        self._puzzle_ids: dict[str, tuple[int, bool]] = {}   # id, var(pred) stored

    async def close(self) -> None:
        await self._pool.close()

    def abort(self) -> None:
        self._pool.terminate()

    async def schema_version(self) -> int:
        async with self._pool.acquire() as conn:
            return await schema.schema_version(conn)

    # ---- puzzles -------------------------------------------------------------------
    async def register_puzzle(self, puzzle, name: str | None = None) -> int:
        fingerprint, pred_var = puzzle.fingerprint, pred_var_of(puzzle)
        known_id, complete = self._puzzle_ids.get(fingerprint, (None, False))
        if known_id is not None and (complete or pred_var is None):
            return known_id   # its row holds all this registration knows
        pid = await self._pool.fetchval(
            """INSERT INTO puzzles (fingerprint, n_blocks, target_sha256, name, pred_var)
               VALUES ($1, $2, $3, $4, $5)
               ON CONFLICT (fingerprint) DO UPDATE
                 SET target_sha256 = coalesce(puzzles.target_sha256, EXCLUDED.target_sha256),
                     name = coalesce(puzzles.name, EXCLUDED.name),
                     pred_var = coalesce(puzzles.pred_var, EXCLUDED.pred_var)
               RETURNING id""",
            fingerprint, int(puzzle.n_blocks), getattr(puzzle, "target_sha256", None), name,
            pred_var)
        self._puzzle_ids[fingerprint] = (pid, pred_var is not None)
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
            """SELECT id, mse, matches_target, exact FROM solutions
               WHERE puzzle_id = $1 AND answer_sha256 = $2""", puzzle_id, sha256)
        return None if r is None else Submitted(r["id"], r["mse"], sha256, r["matches_target"],
                                                False, r["exact"])

    async def _insert_solution(self, puzzle_id: int, checked, *, origin: str, node, worker_id,
                               parents: list[int], run=None, method=None,
                               command_id=None) -> int | None:
        return await self._pool.fetchval(
            """INSERT INTO solutions (puzzle_id, permutation, mse, answer_sha256, matches_target,
                                      node, worker_id, origin, parents, run, method, command_id,
                                      exact)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
               ON CONFLICT (puzzle_id, answer_sha256) DO NOTHING RETURNING id""",
            puzzle_id, checked.permutation, checked.mse, checked.sha256, checked.matches_target,
            node, worker_id, origin, parents, run, method, command_id, checked.exact)

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
            "SELECT EXISTS (SELECT 1 FROM solutions WHERE puzzle_id = $1 AND exact)", puzzle_id))

    # ---- workers -------------------------------------------------------------------
    async def register_worker(self, puzzle_id: int, node: str, pid: int) -> int:
        return await self._pool.fetchval(
            "INSERT INTO workers (puzzle_id, node, pid, status) VALUES ($1, $2, $3, $4) RETURNING id",
            puzzle_id, node, pid, WorkerState.RUNNING.value)

    async def heartbeat(self, worker_id: int, *, run: int = 0, step: int = 0,
                        best_mse: float | None = None, progress: dict | None = None,
                        config_version: int | None = None) -> None:
        await self.beat(worker_id, Beat(run, step, best_mse, progress or {}, config_version or 0))

    async def beat(self, worker_id: int, beat: Beat, history: Sequence[tuple] = ()) -> BeatReply:
        runs, steps, mses, bests = (list(col) for col in zip(*history)) if history else ([],) * 4
        r = await self._pool.fetchrow(
            BEAT_SQL, worker_id, int(beat.run), int(beat.step), _f(beat.best_mse),
            beat.progress, int(beat.config_version), [int(x) for x in runs],
            [int(x) for x in steps], [_f(x) for x in mses], [_f(x) for x in bests],
            list(WORKER_COMMANDS), BEATS_FROM)
        if not r["known"]:
            raise UnknownRow("worker", worker_id)
        command = _row(CommandRow, r) if r["id"] is not None else None
        config = r["knobs"]
        return BeatReply(None if config is None else {k: float(v) for k, v in config.items()},
                         r["version"], r["exact"], command)

    async def _end_worker(self, worker_id: int, state: WorkerState, reason: str,
                          best_mse: float | None, spoke: bool) -> bool:
        """Move a running or lost worker to terminal STATE (False: it was terminal).
        SPOKE: the worker said it itself, so that is its last heartbeat too."""
        r = await self._pool.fetchrow(
            """WITH me AS (SELECT id FROM workers WHERE id = $1),
                    w AS (UPDATE workers SET status = $2, exit_reason = $3, finished_at = now(),
                                 best_mse = coalesce($4, best_mse),
                                 heartbeat = CASE WHEN $6 THEN now() ELSE heartbeat END
                          WHERE id = $1 AND status = ANY($5::text[]) RETURNING id)
               SELECT EXISTS (SELECT 1 FROM me) AS known, EXISTS (SELECT 1 FROM w) AS moved""",
            worker_id, state.value, reason, _f(best_mse), list(sources_of(state)), spoke)
        if not r["known"]:
            raise UnknownRow("worker", worker_id)
        return r["moved"]

    async def finish_worker(self, worker_id: int, status: WorkerState, reason: str,
                            best_mse: float | None = None) -> bool:
        state = WorkerState(status)
        if not state.terminal:
            raise ValueError(f"a worker finishes in a terminal state, not {state.value!r}")
        return await self._end_worker(worker_id, state, reason, best_mse, True)

    async def record_exit(self, worker_id: int, exit: Exit) -> bool:
        return await self._end_worker(worker_id, exit.state, exit.describe(), None, False)

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
        if not points:
            return
        import asyncpg

        try:
            await self._pool.executemany(
                "INSERT INTO mse_history (worker_id, run, step, mse, best_mse) VALUES ($1, $2, $3, $4, $5)",
                [(worker_id, int(r), int(s), _f(m), _f(b)) for r, s, m, b in points])
        except asyncpg.ForeignKeyViolationError:
            raise UnknownRow("worker", worker_id) from None

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
                            targets: Sequence[str] = (), puzzle_id: int | None = None) -> CommandRow | None:
        r = await self._pool.fetchrow(
            f"""UPDATE commands SET status = 'claimed', claimed_by = $1, claimed_at = now()
               WHERE id = (SELECT id FROM commands
                           WHERE status = 'pending' AND kind = ANY($2)
                             AND (target IS NULL OR target = ANY($3))
                             AND ($4::int IS NULL OR puzzle_id IS NULL OR puzzle_id = $4)
                           ORDER BY id FOR UPDATE SKIP LOCKED LIMIT 1)
               RETURNING {COMMAND_COLUMNS}""", claimer, list(kinds), list(targets), puzzle_id)
        return _row(CommandRow, r) if r else None

    async def finish_command(self, command_id: int, ok: bool, result: dict | None = None) -> None:
        status = CommandStatus.DONE if ok else CommandStatus.FAILED
        done = await self._pool.execute(
            "UPDATE commands SET status = $2, finished_at = now(), result = $3 WHERE id = $1",
            command_id, status.value, result or {})
        if done == "UPDATE 0":
            raise UnknownRow("command", command_id)

    async def fetch_commands(self, limit: int = 50) -> list[CommandRow]:
        rows = await self._pool.fetch(f"SELECT {COMMAND_COLUMNS} FROM commands ORDER BY id DESC LIMIT $1",
                                      limit)
        return [_row(CommandRow, r) for r in rows]

    async def fetch_command(self, command_id: int) -> CommandRow | None:
        r = await self._pool.fetchrow(f"SELECT {COMMAND_COLUMNS} FROM commands WHERE id = $1", command_id)
        return _row(CommandRow, r) if r else None

    async def command_progress(self, command_id: int, progress: dict) -> bool:
        r = await self._pool.fetchrow(
            "UPDATE commands SET progress = $2 WHERE id = $1 RETURNING cancel_requested",
            command_id, progress)
        if r is None:
            raise UnknownRow("command", command_id)
        return bool(r["cancel_requested"])

    async def cancel_command(self, command_id: int) -> CommandStatus:
        status = await self._pool.fetchval(
            """UPDATE commands SET cancel_requested = true,
                   status = CASE status WHEN 'pending' THEN 'cancelled' ELSE status END,
                   finished_at = CASE status WHEN 'pending' THEN now() ELSE finished_at END
               WHERE id = $1 RETURNING status""", command_id)
        if status is None:
            raise UnknownRow("command", command_id)
        return CommandStatus(status)

    # ---- summaries and notifications -----------------------------------------------
    async def counts(self, puzzle_id: int | None = None) -> PoolCounts:
        puzzle_id = await self._puzzle_or_current(puzzle_id)
        r = await self._pool.fetchrow(
            """SELECT (SELECT count(*) FROM solutions WHERE puzzle_id = $1) AS solutions,
                      (SELECT count(*) FROM solutions WHERE puzzle_id = $1 AND exact) AS exact,
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
