"""End to end over SSH: deploy the real solver and a small puzzle, launch the real
worker detached, and find it in the pool; the fleet joins process and pool state."""
import asyncio
import time

import pytest

from jstui.fleet import Fleet, WorkerState

pytestmark = pytest.mark.timeout(180)


async def test_real_workers_launched_over_ssh_appear_in_the_pool(sshd_fleet, small_puzzle_dir,
                                                                 fresh_dsn):
    from solver.pool import connect

    cfg = sshd_fleet.config(
        ["beta", "delta"], dsn=fresh_dsn, puzzle=small_puzzle_dir,
        workers={"runs": 1, "extra_args": ["--run-seconds", "2", "--heartbeat", "0.5",
                                           "--flush-timeout", "5"]},
        beta={"workers": 1})
    async with Fleet(cfg) as fleet:
        deployed = {r.node: r for r in await fleet.deploy()}
        assert deployed["beta"].ok, deployed["beta"].error
        assert not deployed["delta"].ok and "down" in deployed["delta"].error
        launched = {r.node: r for r in await fleet.launch()}
        assert launched["beta"].workers == ("beta/0",)
        [pid] = [w.pid for w in (await fleet.status()).workers if w.name == "beta/0"]
    # The connections are closed; the worker goes on and registers in the pool.
    store = await connect(fresh_dsn)
    try:
        deadline = time.monotonic() + 60
        rows = []
        while time.monotonic() < deadline:
            rows = [r for r in await store.fetch_workers() if r.node == "beta" and r.pid == pid]
            if rows and rows[0].status not in ("starting", "running"):
                break
            await asyncio.sleep(0.3)
        assert rows, "the worker never showed up in the pool"
    finally:
        await store.close()
    async with Fleet(cfg) as fleet:
        st = await fleet.status(deadline=10)
        [w] = [w for w in st.workers if w.node == "beta" and w.pid == pid]
        assert w.pid == pid and w.state == WorkerState.DONE, (w.state, w.exit_code, w.log_tail)
        from jstui.fleet.cli import joined_with_pool      # the pool's side, joined once
        joined, error = await joined_with_pool(cfg, st)
        view = joined[("beta", pid)]
        assert not error and view.state.value == rows[0].status and view.worker_id == rows[0].id
        log = await fleet.tail_log("beta/0", 200)
        assert any(f"pid={pid}" in line for line in log)  # timestamped worker log lines
