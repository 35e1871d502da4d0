"""`jstui` with no fleet file, as the README promises it: the default puzzle, one worker
per core (or --workers), the observer, `q` stopping the workers (or --keep-running
leaving them), the embedded pool's fate said on exit, and `jstui down`.

Real processes: the local node's agent, real workers, a real observer, a real pool.
"""
from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest

from jstui.__main__ import parser
from jstui.plan import open_fleet
from jstui.session import run_down, serve
from solver.pool import WorkerState, connect, embedded
from solver.puzzle.files import load_puzzle
from solver.search.seeds import make_seed
from tests.helpers import until

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def home(monkeypatch, medium_puzzle):
    """A machine without a fleet file, whose data dir already holds the default puzzle
    (made by an earlier run; generating the real one takes half a minute). Outside
    pytest's tmp tree: the embedded server runs as its own system user."""
    root = Path(tempfile.mkdtemp(prefix="jstui-home-"))
    root.chmod(0o755)
    monkeypatch.setenv("XDG_DATA_HOME", str(root / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(root / "config"))
    monkeypatch.delenv("JSTUI_CONFIG", raising=False)
    monkeypatch.delenv("JSTUI_DSN", raising=False)
    from jstui.fleet.local import default_puzzle_path

    default = default_puzzle_path()
    default.parent.mkdir(parents=True)
    shutil.copytree(medium_puzzle, default)
    yield default
    embedded.down()
    shutil.rmtree(root, ignore_errors=True)


async def hold_workers_on_elites(dsn, puzzle_dir) -> None:
    """Workers start from one random elite (restart_share 0): they search, not solve."""
    puzzle = load_puzzle(puzzle_dir)
    async with await connect(dsn) as store:
        await store.set_config("restart_share", 0.0)
        await store.submit(puzzle, make_seed(puzzle, "random", np.random.default_rng(5)),
                           origin="injected")


def quitting_when(seen: dict, condition):
    """A drive for serve(): once CONDITION(app) holds, note what is on screen and press q."""
    async def drive(app, session):
        async with app.run_test(size=(160, 48)) as pilot:
            await until(pilot, lambda: condition(app), timeout=90)
            seen.update(snapshot=app.snapshot, session=session,
                        observer_running=session.observer.returncode is None)
            await pilot.press("q")
    return drive


def running_workers(app) -> bool:
    return any(w.fleet_name and w.key.startswith("w") and w.alive
               for w in app.snapshot.workers)


async def local_workers() -> list:
    fleet, local = await open_fleet(None)
    try:
        assert local
        return list((await fleet.status(deadline=10)).workers)
    finally:
        await fleet.close()


async def held_embedded_pool(puzzle_dir) -> None:
    """The embedded pool, seeded to hold the workers on elites, and stopped again: the
    session starts it itself."""
    state = await asyncio.to_thread(embedded.up)
    await hold_workers_on_elites(state.dsn, puzzle_dir)
    await asyncio.to_thread(embedded.down)


async def test_no_fleet_file_runs_the_default_puzzle_with_workers_and_an_observer(home):
    await held_embedded_pool(home)
    seen: dict = {}
    args = parser().parse_args(["--workers", "1", "--refresh", "0.5"])
    farewell = await serve(args, quitting_when(seen, running_workers))
    snap, session = seen["snapshot"], seen["session"]
    assert session.local and session.fleet.config.puzzle == str(home)   # the default puzzle
    assert snap.puzzle == f"{home.name} (N=12)" and snap.puzzle_is_configured
    [node] = snap.nodes
    assert node.workers_expected == 1                                     # --workers 1
    assert seen["observer_running"] and session.observer.returncode is not None
    assert [w.state for w in await local_workers()] == [WorkerState.STOPPED]   # q stopped it
    assert farewell[0] == "1 local worker(s) stopped (--keep-running leaves them running)"
    assert farewell[-1].startswith("embedded pool stopped (")   # started here, not needed
    assert not embedded.status().running


async def test_one_worker_per_core_and_keep_running_until_jstui_down(home):
    await held_embedded_pool(home)
    seen: dict = {}

    def all_running(app):
        alive = [w for w in app.snapshot.workers if w.fleet_name and w.alive]
        return len(alive) == (os.cpu_count() or 1)

    args = parser().parse_args(["--refresh", "0.5", "--keep-running"])
    farewell = await serve(args, quitting_when(seen, all_running))
    assert seen["snapshot"].nodes[0].workers_expected == (os.cpu_count() or 1)
    assert farewell[0] == (f"{os.cpu_count() or 1} worker(s) left running (--keep-running) on "
                           f"{seen['snapshot'].nodes[0].name}; `jstui down` stops them")
    assert farewell[1].startswith("the observer (pid ") and "stays to serve them" in farewell[1]
    assert farewell[-1].startswith("embedded pool left running (its workers go on)")
    assert all(w.state.alive for w in await local_workers()) and embedded.status().running

    observer = seen["session"].observer
    assert observer.alive                               # it serves the workers left running
    assert await asyncio.to_thread(run_down, args) == 0   # `jstui down`
    assert not any(w.state.alive for w in await local_workers())
    assert not embedded.status().running
    await asyncio.wait_for(observer.proc.wait(), 15)      # and `down` stopped the observer


async def test_status_after_q_stopped_the_embedded_pool_still_tells_the_answer(home):
    """`q` stops the embedded pool it started; `jstui status` reads what the pool holds
    anyway (starting it for the read, stopping it again), answer included."""
    import subprocess
    import sys

    from solver.puzzle.answer import parse_permutation

    state = await asyncio.to_thread(embedded.up)
    puzzle = load_puzzle(home)
    async with await connect(state.dsn) as store:
        await store.submit(puzzle, parse_permutation((home / "answer.txt").read_text()),
                           origin="anneal")
    await asyncio.to_thread(embedded.down)
    r = await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "jstui", "status"],
                                capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "answer   FOUND" in r.stdout and "pool no pool DSN" not in r.stdout
    assert "best     " in r.stdout and "best     -" not in r.stdout
    assert not embedded.status().running                  # left as it was found
