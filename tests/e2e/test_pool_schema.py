"""The schema: migrations from empty, from an older version in place, concurrently."""
import asyncio

import asyncpg
import pytest

from solver.pool import connect, schema


async def test_empty_database_migrates_to_latest(fresh_dsn):
    store = await connect(fresh_dsn)
    async with store:
        conn = await asyncpg.connect(fresh_dsn)
        try:
            assert await schema.schema_version(conn) == schema.LATEST
        finally:
            await conn.close()
        assert set(await store.fetch_config()) >= {"restart_share", "perturb_width"}


# What a worker row looked like before migration 5, by the version it was written under.
OLD_WORKER = {
    1: "INSERT INTO workers (puzzle_id, node, status, current_mse, moves_per_s) "
       "VALUES ($1, 'n1', 'finished', 0.25, 812.5) RETURNING id",
    2: "INSERT INTO workers (puzzle_id, node, status, temperature) "
       "VALUES ($1, 'n1', 'failed', 0.001) RETURNING id",
    3: "INSERT INTO workers (puzzle_id, node, exit_reason, config_version) "
       "VALUES ($1, 'n1', 'SIGTERM', 2) RETURNING id",
    4: "INSERT INTO workers (puzzle_id, node, status) VALUES ($1, 'n1', 'running') RETURNING id",
}
UPGRADED = {1: ("done", {"mse": 0.25, "evals_per_s": 812.5}),
            2: ("crashed", {"temperature": 0.001}),
            3: ("running", {}),             # 'starting', the old default: it never beat
            4: ("running", {})}


@pytest.mark.parametrize("version", sorted(OLD_WORKER))
async def test_older_schema_upgraded_in_place_without_losing_rows(fresh_dsn, version):
    conn = await asyncpg.connect(fresh_dsn)
    try:
        assert await schema.migrate(conn, up_to=version) == list(range(1, version + 1))
        pid = await conn.fetchval(
            "INSERT INTO puzzles (fingerprint, n_blocks) VALUES ('abc', 1) RETURNING id")
        await conn.execute(
            """INSERT INTO solutions (puzzle_id, permutation, mse, answer_sha256, origin)
               VALUES ($1, '{1,0,2}', 0.5, 'h1', 'anneal')""", pid)
        wid = await conn.fetchval(OLD_WORKER[version], pid)
    finally:
        await conn.close()
    async with await connect(fresh_dsn) as store:
        best = await store.fetch_best(pid)
        assert best.permutation == [1, 0, 2] and best.mse == 0.5 and best.parents == []
        [worker] = await store.fetch_workers()
        assert worker.id == wid and (worker.status, worker.progress) == UPGRADED[version]
    conn = await asyncpg.connect(fresh_dsn)
    try:
        versions = [r[0] for r in await conn.fetch("SELECT version FROM schema_version ORDER BY 1")]
        assert versions == [v for v, _, _ in schema.MIGRATIONS]
    finally:
        await conn.close()


async def test_concurrent_connects_migrate_once(fresh_dsn):
    stores = await asyncio.gather(*[connect(fresh_dsn, max_size=1) for _ in range(6)])
    for s in stores:
        await s.close()
    conn = await asyncpg.connect(fresh_dsn)
    try:
        assert await conn.fetchval("SELECT count(*) FROM schema_version") == len(schema.MIGRATIONS)
    finally:
        await conn.close()


async def test_database_refuses_a_bad_permutation_even_past_the_code(fresh_dsn):
    async with await connect(fresh_dsn):
        pass
    conn = await asyncpg.connect(fresh_dsn)
    try:
        pid = await conn.fetchval("INSERT INTO puzzles (fingerprint, n_blocks) VALUES ('x', 1) RETURNING id")
        for perm in ([0, 1], [0, 0, 1], [0, 1, 5]):
            try:
                await conn.execute(
                    """INSERT INTO solutions (puzzle_id, permutation, mse, answer_sha256, origin)
                       VALUES ($1, $2, 0.1, 'h', 'x')""", pid, perm)
            except asyncpg.RaiseError:
                pass
            else:
                raise AssertionError(f"accepted {perm}")
        try:
            await conn.execute(
                """INSERT INTO solutions (puzzle_id, permutation, mse, answer_sha256, origin)
                   VALUES ($1, '{0,1,2}', 'NaN', 'h', 'x')""", pid)
        except asyncpg.CheckViolationError:
            pass
        else:
            raise AssertionError("accepted NaN")
    finally:
        await conn.close()


async def test_the_history_triggers_defaults_are_the_knobs_rows(fresh_dsn):
    """Migration 8: the worker-sample trigger reads the grain and the retention from the
    knobs' rows (written at connect from solver.pool.knobs), no literal of its own."""
    from solver.pool import connect
    from solver.pool.knobs import KNOBS

    async with await connect(fresh_dsn) as store:
        source = await store._pool.fetchval(
            "SELECT pg_get_functiondef('jstui_worker_sample'::regproc)")
        assert "coalesce" not in source.lower()
        knobs = await store.fetch_config()
        for key in ("history_grain_s", "history_keep_days"):
            assert knobs[key].value == KNOBS[key].default
