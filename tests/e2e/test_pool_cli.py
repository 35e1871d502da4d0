"""`pool up|status|best|down` and the tools' user errors, as real processes."""
from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from solver.pool import embedded
from tests.helpers import free_port

ROOT = Path(__file__).resolve().parents[2]


def run(*args, env_extra=None, timeout=60):
    env = {k: v for k, v in os.environ.items() if k != "JSTUI_DSN"}
    env.update({"PYTHONPATH": str(ROOT), **(env_extra or {})})
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)


POOL = ("-m", "solver", "pool")
TOOLS = ("-m", "solver")


def test_pool_up_outlives_its_command_and_is_reused_then_down(small_puzzle_dir):
    from tests.fixture_pg import make_pg_dir

    data_dir = make_pg_dir()
    try:
        up = run(*POOL, "up", "--data-dir", str(data_dir))
        assert up.returncode == 0, up.stderr
        dsn = up.stdout.strip()
        assert dsn.startswith("postgresql://") and embedded.status(data_dir).running
        pid = embedded.status(data_dir).pid
        again = run(*POOL, "up", "--data-dir", str(data_dir))
        assert again.stdout.strip() == dsn and embedded.status(data_dir).pid == pid

        inject = run(*TOOLS, "inject", "--kind", "structural", "--puzzle", str(small_puzzle_dir),
                     "--data-dir", str(data_dir))
        assert inject.returncode == 0, inject.stderr
        best = run(*POOL, "best", "--puzzle", str(small_puzzle_dir), "--json", env_extra={"JSTUI_DSN": dsn})
        assert best.returncode == 0, best.stderr
        record = json.loads(best.stdout)
        assert record["origin"] == "seed:structural" and len(record["sha256"]) == 64
        assert record["permutation"].count(",") == 12
        status = run(*POOL, "status", "--data-dir", str(data_dir))
        assert status.returncode == 0 and "1 solutions" in status.stdout

        down = run(*POOL, "down", "--data-dir", str(data_dir))
        assert down.returncode == 0 and not embedded.status(data_dir).running
        assert run(*POOL, "status", "--data-dir", str(data_dir)).returncode == 1
    finally:
        embedded.down(data_dir)
        shutil.rmtree(data_dir.parent, ignore_errors=True)


@pytest.mark.parametrize("args, code, words", [
    (("inject", "--kind", "file", "--puzzle", "{puzzle}", "--dsn", "{dsn}"), 2, "needs PATH"),
    (("inject", "--kind", "file", "/nonexistent/x.txt", "--puzzle", "{puzzle}", "--dsn", "{dsn}"), 2,
     "cannot read"),
    (("zones", "--puzzle", "/nonexistent/puzzle", "--dsn", "{dsn}"), 2, "/nonexistent/puzzle"),
    (("surgery", "--positions", "5-2", "--puzzle", "{puzzle}", "--dsn", "{dsn}"), 2, "--positions"),
    (("zones", "--puzzle", "{puzzle}", "--dsn", "postgresql://postgres@/x?host=/nonexistent"), 1,
     "cannot reach"),
    (("breakpoints", "--puzzle", "{puzzle}", "--data-dir", "/nonexistent/pg"), 2, "JSTUI_DSN"),
])
def test_tool_user_errors_are_one_line_with_an_exit_code(args, code, words, small_puzzle_dir, fresh_dsn,
                                                          capsys, monkeypatch):
    from solver.cli.main import main

    monkeypatch.delenv("JSTUI_DSN", raising=False)
    argv = [a.format(puzzle=small_puzzle_dir, dsn=fresh_dsn) for a in args]
    assert main(argv) == code
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and words in lines[0] and "Traceback" not in err


async def test_pool_up_listen_serves_tcp_by_password():
    import asyncpg

    from tests.fixture_pg import make_pg_dir

    data_dir = make_pg_dir()
    port = free_port()
    try:
        # 127.0.0.1: initdb trusted loopback; with --listen the password counts there too.
        state = await asyncio.to_thread(embedded.up, data_dir, "127.0.0.1", port)
        assert state.listen == "127.0.0.1" and state.port == port
        dsn = embedded.tcp_dsn(state)
        assert f"@127.0.0.1:{port}/" in dsn
        assert (data_dir.parent / "pool-password").stat().st_mode & 0o077 == 0
        conn = await asyncpg.connect(dsn)
        assert await conn.fetchval("SELECT 1") == 1
        await conn.close()
        for no_good in ("postgres:wrong", "postgres"):
            with pytest.raises((asyncpg.InvalidPasswordError,
                                asyncpg.InvalidAuthorizationSpecificationError)):
                await asyncpg.connect(f"postgresql://{no_good}@127.0.0.1:{port}/postgres")
        conn = await asyncpg.connect(state.dsn)  # the unix socket still works
        await conn.close()
        again = await asyncio.to_thread(embedded.up, data_dir)
        assert again.pid == state.pid and again.port == port
        hba = (data_dir / "pg_hba.conf").read_text()
        assert "0.0.0.0/0 scram-sha-256" in hba
    finally:
        embedded.down(data_dir)
        shutil.rmtree(data_dir.parent, ignore_errors=True)
