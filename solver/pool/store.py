"""The pool store: one asyncpg connection pool, migrated at connect, and the queries.

Everything the worker, the tools and the UI do with the database goes through
PoolStore; rows come back as the plain dataclasses of solver.pool.rows.
"""
from __future__ import annotations

import asyncio
import json
from typing import Any, Callable, Iterable, Sequence

from . import schema
from .errors import PoolError, SubmissionRefused
from .knobs import KNOBS, check_value
from .rows import (CommandRow, ConfigKnob, HistoryPoint, ObservationRow, PoolCounts, PuzzleRow,
                   SolutionRow, Submitted, WorkerRow)
from .validate import check_claim, check_shape, check_submission

ALIVE = ("starting", "running")
# Without a target hash, an MSE this small means the arrangement reproduces pred exactly
# (the true answer sits near 1e-14 in float64; the next best is many orders above).
EXACT_MSE = 1e-10


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
        raise PoolError("no database given: pass --dsn or set JSTUI_DSN (see `python -m solver pool up`)")
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


def _solution(r) -> SolutionRow:
    return SolutionRow(r["id"], r["puzzle_id"], list(r["permutation"]), r["mse"], r["answer_sha256"],
                       r["matches_target"], r["node"], r["worker_id"], r["origin"], list(r["parents"]),
                       r["created_at"])


def _worker(r) -> WorkerRow:
    return WorkerRow(r["id"], r["puzzle_id"], r["node"], r["pid"], r["status"], r["run"], r["step"],
                     r["temperature"], r["current_mse"], r["best_mse"], r["moves_per_s"], r["heartbeat"],
                     r["started_at"], r["finished_at"], r["exit_reason"], float(r["age"]))


def _command(r) -> CommandRow:
    return CommandRow(r["id"], r["puzzle_id"], r["kind"], r["args"], r["target"], r["status"],
                      r["created_at"], r["claimed_by"], r["claimed_at"], r["finished_at"], r["result"])


SOLUTION_COLUMNS = ("id, puzzle_id, permutation, mse, answer_sha256, matches_target, node, worker_id, "
                    "origin, parents, created_at")
WORKER_COLUMNS = ("id, puzzle_id, node, pid, status, run, step, temperature, current_mse, best_mse, "
                  "moves_per_s, heartbeat, started_at, finished_at, exit_reason, "
                  "extract(epoch FROM now() - heartbeat) AS age")


class PoolStore:
    def __init__(self, pool, dsn: str):
        self._pool = pool
        self.dsn = dsn
        self._puzzle_ids: dict[str, int] = {}

    async def close(self) -> None:
        await self._pool.close()

    async def __aenter__(self) -> "PoolStore":
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    async def schema_version(self) -> int:
        async with self._pool.acquire() as conn:
            return await schema.schema_version(conn)

    # ---- puzzles -------------------------------------------------------------------
    async def register_puzzle(self, puzzle, name: str | None = None) -> int:
        """The puzzle's id, registering it by fingerprint the first time."""
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
        """The puzzle's id if it is registered (read-only, unlike register_puzzle)."""
        return await self._pool.fetchval("SELECT id FROM puzzles WHERE fingerprint = $1", puzzle.fingerprint)

    async def fetch_puzzles(self) -> list[PuzzleRow]:
        rows = await self._pool.fetch(
            "SELECT id, fingerprint, n_blocks, target_sha256, name, created_at FROM puzzles ORDER BY id")
        return [PuzzleRow(*r) for r in rows]

    async def current_puzzle_id(self) -> int | None:
        """The puzzle with the most recent activity (a worker start or a solution)."""
        return await self._pool.fetchval(
            """SELECT id FROM puzzles p ORDER BY greatest(
                 (SELECT max(started_at) FROM workers w WHERE w.puzzle_id = p.id),
                 (SELECT max(created_at) FROM solutions s WHERE s.puzzle_id = p.id),
                 p.created_at) DESC LIMIT 1""")

    async def _puzzle_or_current(self, puzzle_id: int | None) -> int | None:
        return puzzle_id if puzzle_id is not None else await self.current_puzzle_id()

    # ---- solutions -----------------------------------------------------------------
    async def submit(self, puzzle, permutation: Sequence[int], mse: float | None = None, *,
                     origin: str, node: str | None = None, worker_id: int | None = None,
                     parents: Iterable[int] = ()) -> Submitted:
        """Validate at the door and store; a duplicate answer collapses onto its row.

        Raises SubmissionRefused (after logging the refusal) for anything malformed.
        """
        puzzle_id = await self.register_puzzle(puzzle)
        try:
            if not isinstance(origin, str) or not origin or len(origin) > 64:
                raise SubmissionRefused(f"origin {origin!r} must be a short non-empty name")
            perm, sha = check_shape(puzzle, permutation)
            parent_ids = _solution_ids(parents)
            known = await self._pool.fetchrow(
                "SELECT id, mse, matches_target FROM solutions WHERE puzzle_id = $1 AND answer_sha256 = $2",
                puzzle_id, sha)
            if known is not None:
                # Already checked at the door once: a duplicate costs no forward pass.
                check_claim(mse, known["mse"])
                return Submitted(known["id"], known["mse"], sha, known["matches_target"], False)
            # The full-data MSE takes a while on a big puzzle: keep the event loop beating.
            checked = await asyncio.to_thread(check_submission, puzzle, perm, mse)
        except SubmissionRefused as exc:
            await self.log_refusal(puzzle_id, str(exc), node=node, worker_id=worker_id,
                                   origin=origin if isinstance(origin, str) else None,
                                   payload=_payload(permutation, mse))
            raise
        new_id = await self._pool.fetchval(
            """INSERT INTO solutions (puzzle_id, permutation, mse, answer_sha256, matches_target,
                                      node, worker_id, origin, parents)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
               ON CONFLICT (puzzle_id, answer_sha256) DO NOTHING RETURNING id""",
            puzzle_id, checked.permutation, checked.mse, checked.sha256, checked.matches_target,
            node, worker_id, origin, parent_ids)
        if new_id is not None:
            return Submitted(new_id, checked.mse, checked.sha256, checked.matches_target, True)
        old_id = await self._pool.fetchval(
            "SELECT id FROM solutions WHERE puzzle_id = $1 AND answer_sha256 = $2", puzzle_id, checked.sha256)
        return Submitted(old_id, checked.mse, checked.sha256, checked.matches_target, False)

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

    async def fetch_best(self, puzzle_id: int | None = None) -> SolutionRow | None:
        top = await self.fetch_top(1, puzzle_id)
        return top[0] if top else None

    async def fetch_top(self, k: int, puzzle_id: int | None = None) -> list[SolutionRow]:
        """The K lowest-MSE solutions (the elites), best first; ties by age."""
        puzzle_id = await self._puzzle_or_current(puzzle_id)
        rows = await self._pool.fetch(
            f"SELECT {SOLUTION_COLUMNS} FROM solutions WHERE puzzle_id = $1 ORDER BY mse, id LIMIT $2",
            puzzle_id, int(k))
        return [_solution(r) for r in rows]

    async def fetch_solution(self, solution_id: int) -> SolutionRow | None:
        r = await self._pool.fetchrow(f"SELECT {SOLUTION_COLUMNS} FROM solutions WHERE id = $1", solution_id)
        return _solution(r) if r else None

    async def has_exact(self, puzzle_id: int) -> bool:
        """True when the pool holds the target answer (or, without a target, an MSE ~ 0)."""
        return bool(await self._pool.fetchval(
            "SELECT EXISTS (SELECT 1 FROM solutions WHERE puzzle_id = $1 AND (matches_target OR mse < $2))",
            puzzle_id, EXACT_MSE))

    async def fetch_best_over_time(self, puzzle_id: int | None = None) -> list[tuple[Any, float]]:
        """(time, best MSE so far) at each time the pool's best improved."""
        puzzle_id = await self._puzzle_or_current(puzzle_id)
        rows = await self._pool.fetch(
            """SELECT created_at, mse FROM (
                 SELECT created_at, mse, min(mse) OVER (ORDER BY created_at, id
                        ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS before
                 FROM solutions WHERE puzzle_id = $1) s
               WHERE before IS NULL OR mse < before ORDER BY created_at""", puzzle_id)
        return [(r["created_at"], r["mse"]) for r in rows]

    # ---- workers -------------------------------------------------------------------
    async def register_worker(self, puzzle_id: int, node: str, pid: int) -> int:
        return await self._pool.fetchval(
            "INSERT INTO workers (puzzle_id, node, pid, status) VALUES ($1, $2, $3, 'running') RETURNING id",
            puzzle_id, node, pid)

    async def heartbeat(self, worker_id: int, *, status: str = "running", run: int = 0, step: int = 0,
                        temperature: float | None = None, current_mse: float | None = None,
                        best_mse: float | None = None, moves_per_s: float | None = None,
                        config_version: int | None = None) -> None:
        """Refresh the worker's row; a worker marked lost that beats again is alive again."""
        await self._pool.execute(
            """UPDATE workers SET status = $2, run = $3, step = $4, temperature = $5, current_mse = $6,
                   best_mse = $7, moves_per_s = $8, config_version = $9, heartbeat = now(),
                   finished_at = NULL, exit_reason = NULL
               WHERE id = $1""",
            worker_id, status, int(run), int(step), _f(temperature), _f(current_mse), _f(best_mse),
            _f(moves_per_s), config_version)

    async def finish_worker(self, worker_id: int, status: str, reason: str,
                            best_mse: float | None = None) -> None:
        await self._pool.execute(
            """UPDATE workers SET status = $2, exit_reason = $3, finished_at = now(), heartbeat = now(),
                   best_mse = coalesce($4, best_mse) WHERE id = $1""",
            worker_id, status, reason, _f(best_mse))

    async def mark_lost(self, grace_s: float) -> int:
        """Mark workers whose heartbeat is older than GRACE_S as lost; their results stay."""
        result = await self._pool.execute(
            """UPDATE workers SET status = 'lost', finished_at = heartbeat,
                   exit_reason = 'no heartbeat for ' || $1::text || ' s'
               WHERE status = ANY($2) AND heartbeat < now() - make_interval(secs => $1)""",
            float(grace_s), list(ALIVE))
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
        return [_worker(r) for r in rows]

    async def record_history(self, worker_id: int, points: Sequence[tuple]) -> None:
        """Append (run, step, mse, best_mse) points to the worker's MSE history."""
        if points:
            await self._pool.executemany(
                "INSERT INTO mse_history (worker_id, run, step, mse, best_mse) VALUES ($1, $2, $3, $4, $5)",
                [(worker_id, int(r), int(s), _f(m), _f(b)) for r, s, m, b in points])

    async def fetch_mse_history(self, puzzle_id: int | None = None, worker_id: int | None = None,
                                after_id: int = 0, limit: int = 5000) -> list[HistoryPoint]:
        """History points oldest first; pass AFTER_ID (the last id seen) to read only new ones."""
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
        return [HistoryPoint(*r) for r in rows]

    # ---- config --------------------------------------------------------------------
    async def fetch_config(self) -> dict[str, ConfigKnob]:
        rows = await self._pool.fetch("SELECT key, value, version, updated_at, updated_by FROM config")
        return {r["key"]: ConfigKnob(*r) for r in rows}

    async def set_config(self, key: str, value: float, by: str = "operator") -> ConfigKnob:
        """Set one knob within its limits (ValueError names the knob otherwise)."""
        value = check_value(key, value)
        r = await self._pool.fetchrow(
            """INSERT INTO config (key, value, updated_by) VALUES ($1, $2, $3)
               ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, version = config.version + 1,
                   updated_at = now(), updated_by = EXCLUDED.updated_by
               RETURNING key, value, version, updated_at, updated_by""", key, value, by)
        return ConfigKnob(*r)

    # ---- operator commands ---------------------------------------------------------
    async def enqueue_command(self, kind: str, args: dict | None = None, target: str | None = None,
                              puzzle_id: int | None = None) -> int:
        """Queue a command. TARGET: None (any taker), 'worker:ID' or 'node:NAME'."""
        return await self._pool.fetchval(
            "INSERT INTO commands (puzzle_id, kind, args, target) VALUES ($1, $2, $3, $4) RETURNING id",
            puzzle_id, kind, args or {}, target)

    async def claim_command(self, claimer: str, kinds: Sequence[str],
                            targets: Sequence[str] = ()) -> CommandRow | None:
        """Claim the oldest pending command of KINDS for one of TARGETS (or untargeted)."""
        r = await self._pool.fetchrow(
            """UPDATE commands SET status = 'claimed', claimed_by = $1, claimed_at = now()
               WHERE id = (SELECT id FROM commands
                           WHERE status = 'pending' AND kind = ANY($2)
                             AND (target IS NULL OR target = ANY($3))
                           ORDER BY id FOR UPDATE SKIP LOCKED LIMIT 1)
               RETURNING *""", claimer, list(kinds), list(targets))
        return _command(r) if r else None

    async def finish_command(self, command_id: int, ok: bool, result: dict | None = None) -> None:
        await self._pool.execute(
            "UPDATE commands SET status = $2, finished_at = now(), result = $3 WHERE id = $1",
            command_id, "done" if ok else "failed", result or {})

    async def fetch_commands(self, limit: int = 50) -> list[CommandRow]:
        rows = await self._pool.fetch("SELECT * FROM commands ORDER BY id DESC LIMIT $1", limit)
        return [_command(r) for r in rows]

    # ---- observations --------------------------------------------------------------
    async def add_observation(self, puzzle_id: int | None, kind: str, message: str,
                              stats: dict | None = None, changes: dict | None = None) -> int:
        return await self._pool.fetchval(
            """INSERT INTO observations (puzzle_id, kind, message, stats, changes)
               VALUES ($1, $2, $3, $4, $5) RETURNING id""",
            puzzle_id, kind, message, stats or {}, changes or {})

    async def fetch_observations(self, limit: int = 50, puzzle_id: int | None = None) -> list[ObservationRow]:
        rows = await self._pool.fetch(
            """SELECT id, puzzle_id, at, kind, message, stats, changes FROM observations
               WHERE $2::int IS NULL OR puzzle_id = $2 ORDER BY id DESC LIMIT $1""", limit, puzzle_id)
        return [ObservationRow(*r) for r in rows]

    # ---- summaries and notifications -----------------------------------------------
    async def counts(self, puzzle_id: int | None = None) -> PoolCounts:
        puzzle_id = await self._puzzle_or_current(puzzle_id)
        r = await self._pool.fetchrow(
            """SELECT (SELECT count(*) FROM solutions WHERE puzzle_id = $1) AS solutions,
                      (SELECT count(*) FROM solutions WHERE puzzle_id = $1 AND matches_target) AS exact,
                      (SELECT count(*) FROM workers WHERE puzzle_id = $1 AND status = ANY($2)) AS alive,
                      (SELECT count(*) FROM workers WHERE puzzle_id = $1 AND status = 'lost') AS lost,
                      (SELECT count(*) FROM refusals WHERE puzzle_id = $1 OR puzzle_id IS NULL) AS refusals,
                      (SELECT count(*) FROM commands WHERE status = 'pending') AS pending,
                      (SELECT min(mse) FROM solutions WHERE puzzle_id = $1) AS best""",
            puzzle_id, list(ALIVE))
        return PoolCounts(r["solutions"], r["exact"], r["alive"], r["lost"], r["refusals"], r["pending"],
                          r["best"])

    async def listen(self, on_change: Callable[[str], None]):
        """Call ON_CHANGE(table) on every pool change; returns the connection (close() it)."""
        import asyncpg

        conn = await asyncpg.connect(self.dsn)
        await conn.add_listener(schema.NOTIFY_CHANNEL, lambda _c, _pid, _ch, payload: on_change(payload))
        return conn


def _solution_ids(parents) -> list[int]:
    try:
        return [int(p) for p in parents]
    except (TypeError, ValueError):
        raise SubmissionRefused(f"parents must be solution ids, got {parents!r}") from None


def _f(value) -> float | None:
    return None if value is None else float(value)


def _payload(permutation, mse) -> str:
    return repr({"permutation": permutation, "mse": mse})[:4000]
