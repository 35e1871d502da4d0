"""The shared pool in PostgreSQL: migrations, validation at the door, queries.

The narrow API everything else (worker, tools, UI) uses; all calls are async (asyncpg)
and return the plain frozen dataclasses of solver.pool.rows:

    from solver.pool import connect, PoolError, SubmissionRefused
    store = await connect(dsn)            # migrates; PoolError if unreachable / bad DSN
    async with store: ...                 # or await store.close()

    # puzzles (a Puzzle from solver.puzzle.load_puzzle; registered by fingerprint)
    pid = await store.register_puzzle(puzzle)           -> int
    await store.fetch_puzzles()                         -> list[PuzzleRow]
    await store.current_puzzle_id()                     -> int | None (most recent activity)

    # solutions: every read takes puzzle_id=None meaning "the current puzzle"
    await store.submit(puzzle, perm, mse=None, origin="anneal", node=, worker_id=, parents=())
                                                        -> Submitted(id, mse, sha256, matches_target, new)
        # raises SubmissionRefused(one sentence) and logs it in `refusals`; MSE recomputed here
    await store.fetch_best(puzzle_id=None)              -> SolutionRow | None
    await store.fetch_top(k, puzzle_id=None)            -> list[SolutionRow] (best first)
    await store.fetch_solution(id)                      -> SolutionRow | None
    await store.fetch_best_over_time(puzzle_id=None)    -> list[(datetime, mse)]
    await store.has_exact(puzzle_id)                    -> bool
    await store.fetch_refusals(limit=100)               -> list[dict]

    # workers
    await store.fetch_workers(puzzle_id=None, alive_only=False) -> list[WorkerRow]
        # WorkerRow.status: starting|running|stopped|done|solved|lost|failed;
        # heartbeat_age_s is computed by the server clock
    await store.mark_lost(grace_s)                      -> int (workers newly marked lost)
    await store.fetch_mse_history(puzzle_id=None, worker_id=None, after_id=0, limit=5000)
                                                        -> list[HistoryPoint]
    # (worker side: register_worker, heartbeat, record_history, finish_worker)

    # config knobs (solver.pool.knobs.KNOBS lists keys, defaults, limits)
    await store.fetch_config()                          -> dict[str, ConfigKnob]
    await store.set_config(key, value, by="operator")   -> ConfigKnob (ValueError if out of limits)

    # operator commands, claimed with FOR UPDATE SKIP LOCKED
    await store.enqueue_command(kind, args={}, target=None, puzzle_id=None) -> int
        # kinds: stop | new_run (taken by workers; target "worker:ID" or "node:NAME"),
        #        inject | surgery | zones | breakpoints (taken by `solver observe`)
    await store.claim_command(claimer, kinds, targets=()) -> CommandRow | None
    await store.finish_command(id, ok, result={})
    await store.fetch_commands(limit=50)                -> list[CommandRow] (newest first)

    # observations and summaries
    await store.add_observation(puzzle_id, kind, message, stats={}, changes={}) -> int
    await store.fetch_observations(limit=50, puzzle_id=None) -> list[ObservationRow] (newest first)
    await store.counts(puzzle_id=None)                  -> PoolCounts
    conn = await store.listen(on_change)                # on_change(table_name) per change
    await conn.close()

Channel for LISTEN: solver.pool.schema.NOTIFY_CHANNEL ("jstui_pool"), payload = table name.
Connection trouble: solver.pool.store.is_connection_error(exc) tells "retry later" apart.
"""
from .errors import PoolError, SubmissionRefused
from .rows import (CommandRow, ConfigKnob, HistoryPoint, ObservationRow, PoolCounts, PuzzleRow,
                   SolutionRow, Submitted, WorkerRow)
from .store import PoolStore, connect, is_connection_error

__all__ = [
    "connect", "PoolStore", "PoolError", "SubmissionRefused", "is_connection_error",
    "PuzzleRow", "SolutionRow", "Submitted", "WorkerRow", "HistoryPoint", "ConfigKnob",
    "CommandRow", "ObservationRow", "PoolCounts",
]
