"""The `jstui` command line as a user runs it: real processes, a real pool."""
from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys

from tests.test_app_pool import seed_pool


def jstui(*args, env=None) -> subprocess.CompletedProcess:
    env = {**os.environ, "JSTUI_CONFIG": "", "JSTUI_DSN": "", **(env or {})}
    env.pop("JSTUI_CONFIG") if not env["JSTUI_CONFIG"] else None
    return subprocess.run([sys.executable, "-m", "jstui", *args], capture_output=True,
                          text=True, timeout=60, env=env)


def test_help_lists_the_flags():
    r = jstui("--help")
    assert r.returncode == 0
    for flag in ("--config", "--dsn", "--puzzle", "--read-only", "--refresh", "status"):
        assert flag in r.stdout


def test_user_errors_are_one_sentence_and_exit_2(tmp_path):
    r = jstui("--pool-only", "status")
    assert r.returncode == 2 and r.stderr.strip() == "jstui: --pool-only needs --dsn or JSTUI_DSN"
    r = jstui("--config", str(tmp_path / "nope.toml"), "status")
    assert r.returncode == 2 and "nope.toml: fleet file not found" in r.stderr
    assert "Traceback" not in r.stderr


def test_status_of_an_unreachable_pool_exits_1():
    r = jstui("--pool-only", "--dsn", "postgresql://nobody@127.0.0.1:1/none", "status")
    assert r.returncode == 1
    assert "pool unreachable" in r.stdout and "Traceback" not in r.stderr


def test_status_prints_the_pool(fresh_dsn, small_puzzle_dir):
    async def seed():
        store, _, _ = await seed_pool(fresh_dsn, small_puzzle_dir)
        await store.close()

    asyncio.run(seed())
    r = jstui("--pool-only", "--dsn", fresh_dsn, "status")
    assert r.returncode == 0, r.stderr
    assert "answer   not yet" in r.stdout
    assert "nodeA" in r.stdout and "running" in r.stdout
    r = jstui("--pool-only", "status", "--json", env={"JSTUI_DSN": fresh_dsn})
    assert r.returncode == 0, r.stderr
    state = json.loads(r.stdout)
    assert state["pool_rows"] == 1 and state["workers"][0]["node"] == "nodeA"
    assert state["error"] is None
