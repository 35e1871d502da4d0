"""Test fixtures: a real embedded PostgreSQL for the session and a fresh database per test.

`pg_server` gives the data dir too (for tests that stop and restart the server);
`pg_dsn` is the server's maintenance DSN; `fresh_dsn` is a new empty database.
"""
from __future__ import annotations

import asyncio
import itertools
import os

import pytest

from solver.pool import embedded

_counter = itertools.count()


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory):
    """A real PostgreSQL in a session tmp dir; stopped at the end of the session."""
    data_dir = tmp_path_factory.mktemp("pg") / "pgdata"
    state = embedded.up(data_dir)
    yield state
    embedded.down(data_dir)


@pytest.fixture(scope="session")
def pg_dsn(pg_server) -> str:
    return pg_server.dsn


async def _admin(dsn: str, sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture
def fresh_dsn(pg_dsn) -> str:
    """A new, empty database on the session server; dropped after the test."""
    name = f"t_{os.getpid()}_{next(_counter)}"
    asyncio.run(_admin(pg_dsn, f'CREATE DATABASE "{name}"'))
    yield embedded.with_database(pg_dsn, name)
    try:
        asyncio.run(_admin(pg_dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    except Exception:  # the server may have been restarted or stopped by the test
        pass
