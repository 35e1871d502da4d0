"""The `jstui` command line as a user runs it: real processes, a real pool."""
from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys

from tests.helpers import seed_screen_pool
from tests.helpers import jstui


def test_help_lists_the_flags():
    r = jstui("--help")
    assert r.returncode == 0
    for flag in ("--config", "--dsn", "--puzzle", "--read-only", "--refresh", "status"):
        assert flag in r.stdout


def test_user_errors_are_one_sentence_and_exit_2(tmp_path):
    r = jstui("--pool-only", "status")
    assert r.returncode == 2 and r.stderr.strip() == "jstui: --pool-only needs --dsn or JSTUI_DSN"
    r = jstui("--workers", "0")
    assert r.returncode == 2
    assert r.stderr.strip() == "jstui: --workers: 0 is not a number of workers (1 or more)"
    r = jstui("--config", str(tmp_path / "nope.toml"), "status")
    assert r.returncode == 2 and "nope.toml: fleet file not found" in r.stderr
    assert "Traceback" not in r.stderr


def test_status_of_an_unreachable_pool_exits_1():
    r = jstui("--pool-only", "--dsn", "postgresql://nobody@127.0.0.1:1/none", "status")
    assert r.returncode == 1
    assert "pool unreachable" in r.stdout and "Traceback" not in r.stderr


def test_status_prints_the_pool(fresh_dsn, small_puzzle_dir):
    async def seed():
        store, _, _ = await seed_screen_pool(fresh_dsn, small_puzzle_dir)
        await store.close()

    asyncio.run(seed())
    r = jstui("--pool-only", "--dsn", fresh_dsn, "status")
    assert r.returncode == 0, r.stderr
    assert "answer   not yet" in r.stdout
    assert "nodeA" in r.stdout and "running" in r.stdout
    r = jstui("--pool-only", "status", "--json", env={"JSTUI_DSN": fresh_dsn})
    assert r.returncode == 0, r.stderr
    state = json.loads(r.stdout)
    assert state["solutions"] == 1 and state["workers"][0]["node"] == "nodeA"
    assert state["error"] is None


def test_status_piped_into_head_exits_0_without_a_traceback(fresh_dsn, small_puzzle_dir):
    """`jstui status | head -n 1`: head leaves after one line; with 300 workers the output
    is larger than the pipe holds, so jstui is still writing when its reader goes."""
    async def seed():
        store, _, _ = await seed_screen_pool(fresh_dsn, small_puzzle_dir)
        pid = await store.current_puzzle_id()
        for i in range(299):
            await store.register_worker(pid, f"node{i % 7}", 10_000 + i)
        await store.close()

    asyncio.run(seed())
    jstui_cmd = f"{sys.executable} -m jstui --pool-only --dsn '{fresh_dsn}'"
    env = {**os.environ, "PYTHONPATH": os.environ.get("PYTHONPATH", "")}
    for tail in ("status --json | head -n 1", "status | head -n 1", "status | true"):
        r = subprocess.run(["bash", "-o", "pipefail", "-c", f"{jstui_cmd} {tail}"],
                           capture_output=True, text=True, timeout=60, env=env)
        assert r.returncode == 0, (tail, r.stderr)
        assert "Traceback" not in r.stderr and "BrokenPipe" not in r.stderr, (tail, r.stderr)
        first = {"status --json | head -n 1": "{", "status | true": ""}.get(tail, "puzzle   ")
        assert r.stdout.startswith(first) and r.stdout.count("\n") <= 1, (tail, r.stdout)


def test_status_json_says_each_node_state_truthfully(sshd_fleet, fresh_dsn, small_puzzle_dir,
                                                      tmp_path):
    """status waits for the nodes (--deadline), so a node that answers is up with no
    reason; a dead one is down, naming its port. No "up" beside a reason it is not."""
    from jstui.fleet import Fleet
    from tests.helpers import write_fleet_file

    async def deploy():
        async with Fleet(sshd_fleet.config(["alpha"])) as fleet:
            assert all(r.ok for r in await fleet.deploy())

    asyncio.run(deploy())
    cfg = write_fleet_file(tmp_path / "fleet.toml", sshd_fleet, ["alpha", "delta"], dsn=fresh_dsn)
    r = jstui("status", "--config", str(cfg), "--json", "--puzzle", str(small_puzzle_dir))
    assert r.returncode == 0, r.stderr
    nodes = {n["name"]: n for n in json.loads(r.stdout)["nodes"]}
    assert (nodes["alpha"]["state"], nodes["alpha"]["reason"]) == ("up", "")
    port = sshd_fleet.daemons["delta"].port
    assert nodes["delta"]["state"] == "down"
    assert nodes["delta"]["reason"] == f"127.0.0.1:{port}: connection refused"
    assert all("up" not in n for n in nodes.values())
