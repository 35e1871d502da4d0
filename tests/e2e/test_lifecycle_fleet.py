"""The worker lifecycle on a real SSH node and a real pool, as an operator lived it: a
worker killed with -9 is crashed at once and stays crashed while its node goes down,
while the lease holder marks the silent ones lost, and when the node comes back; its
still-running neighbour is unknown while the node is down, running after. Every
transition and the node's going and coming are lines of the event book."""
from __future__ import annotations

import os
import signal

import numpy as np
import pytest

from jstui.fleet.fleet import Fleet
from jstui.live import LiveSource
from solver.pool import WorkerState, connect
from solver.puzzle.files import load_puzzle
from solver.search.seeds import make_seed
from tests.helpers import eventually

pytestmark = pytest.mark.timeout(240)


async def until_snapshot(source, condition, timeout: float = 60.0):
    """The reader's snapshot once CONDITION holds for it (tests.helpers.eventually)."""
    async def look():
        snap = await source.read_once(fleet_deadline=5.0)
        return snap if condition(snap) else None
    return await eventually(look, timeout, every=0.5)


def by_pid(snap) -> dict:
    return {w.pid: w for w in snap.workers}


async def test_a_killed_worker_stays_crashed_through_a_node_outage(sshd_fleet, fresh_dsn,
                                                                  medium_puzzle):
    puzzle = load_puzzle(medium_puzzle)
    async with await connect(fresh_dsn) as store:   # workers held on an elite: they search
        await store.set_config("restart_share", 0.0)
        await store.submit(puzzle, make_seed(puzzle, "random", np.random.default_rng(5)),
                           origin="injected")
    daemon = sshd_fleet.start("extra-zeta")
    cfg = sshd_fleet.config(["extra-zeta"], dsn=fresh_dsn, puzzle=medium_puzzle,
                            workers={"extra_args": ["--heartbeat", "0.5"]})
    try:
        async with Fleet(cfg) as fleet:
            [launched] = await fleet.launch()
            assert launched.ok and len(launched.workers) == 2, launched.error
            source = LiveSource(fresh_dsn, fleet, refresh=0.5, record=True)
            snap = await until_snapshot(source, lambda s: sum(
                w.state == WorkerState.RUNNING and w.worker_id is not None for w in s.workers) == 2)
            victim, other = sorted(w.pid for w in snap.workers if w.worker_id is not None)
            os.kill(victim, signal.SIGKILL)
            snap = await until_snapshot(source, lambda s: by_pid(s)[victim].state == WorkerState.CRASHED)
            assert by_pid(snap)[victim].state == WorkerState.CRASHED
            async with await connect(fresh_dsn) as store:
                rows = {w.pid: w for w in await store.fetch_workers()}
                assert rows[victim].status == "crashed"            # recorded in the pool

            daemon.drop_connections()                              # the node goes down
            snap = await until_snapshot(source, lambda s: any(
                n.name == "extra-zeta" and n.state == "down" for n in s.nodes))
            assert by_pid(snap)[victim].state == WorkerState.CRASHED    # never revived
            assert by_pid(snap)[other].state == WorkerState.UNKNOWN     # nobody can tell
            async with await connect(fresh_dsn) as store:
                await store.mark_lost(silent_after=0.0)             # the lease holder's rule
                rows = {w.pid: w for w in await store.fetch_workers()}
                assert rows[victim].status == "crashed" and rows[other].status == "lost"

            daemon.run()                                           # the node comes back
            snap = await until_snapshot(source, lambda s: by_pid(s)[other].state
                                        == WorkerState.RUNNING, timeout=90)
            assert by_pid(snap)[victim].state == WorkerState.CRASHED
            assert by_pid(snap)[other].state == WorkerState.RUNNING     # it beat again
            lines = [e.text for e in snap.events]
            assert any(f"worker {victim} on extra-zeta running -> crashed: killed by SIGKILL (-9)"
                       in line for line in lines), lines
            assert any(line.startswith("node extra-zeta down:") for line in lines), lines
            assert "node extra-zeta is back" in lines
            assert any(f"worker {other} on extra-zeta is alive again" in line for line in lines)
            await source.close()
            await fleet.stop()
    finally:
        daemon.stop()
