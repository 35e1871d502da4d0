"""Test fixtures: a real embedded PostgreSQL for the session and a fresh database per test.

`pg_server` gives the data dir too (for tests that stop and restart the server);
`pg_dsn` is the server's maintenance DSN; `fresh_dsn` is a new empty database.
"""
from __future__ import annotations

import asyncio
import itertools
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from solver.pool import embedded

_counter = itertools.count()


def make_pg_dir() -> Path:
    """A data-dir parent outside pytest's basetemp: pytest resets that tree to mode 0700
    when another session starts, which locks out the server's own system user."""
    return Path(tempfile.mkdtemp(prefix="jstui-pg-")) / "pgdata"


@pytest.fixture(scope="session")
def pg_server():
    """A real PostgreSQL in its own temp dir; stopped and removed at the end of the session."""
    data_dir = make_pg_dir()
    state = embedded.up(data_dir)
    yield state
    embedded.down(data_dir)
    shutil.rmtree(data_dir.parent, ignore_errors=True)


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
