"""A jstui session on a fleet file, end to end: the observer it starts beside itself
carries out `i` (nothing started by hand), the puzzle named by --puzzle is the one that
runs even where another ran before, and `jstui status` still tells the answer after `q`
stopped the embedded pool."""
from __future__ import annotations

import sys

import pytest

from jstui.__main__ import parser
from jstui.session import serve
from solver.pool import connect
from solver.puzzle.files import load_puzzle
from tests.helpers import until

pytestmark = pytest.mark.timeout(240)


@pytest.fixture
def xdg(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("JSTUI_CONFIG", raising=False)
    monkeypatch.delenv("JSTUI_DSN", raising=False)
    return tmp_path


def local_fleet_file(path, dsn: str, puzzle, workdir) -> str:
    path.write_text(f'''[pool]
dsn = "{dsn}"
[puzzle]
path = "{puzzle}"
[[node]]
name = "here"
kind = "local"
python = "{sys.executable}"
workdir = "{workdir}"
workers = 1
nice = 0
''')
    return str(path)


def events(app) -> list[str]:
    return [e.text for e in app.snapshot.events]


async def test_i_on_a_fleet_file_is_carried_out_by_the_observer_the_session_starts(
        xdg, fresh_dsn, small_puzzle_dir):
    config = local_fleet_file(xdg / "fleet.toml", fresh_dsn, small_puzzle_dir, xdg / "work")
    seen = {}

    async def drive(app, session):
        async with app.run_test(size=(160, 48)) as pilot:
            await until(pilot, lambda: app.snapshot.observer is not None, timeout=30)
            seen["observer"] = app.snapshot.observer
            await pilot.press("i")
            await until(pilot, lambda: type(app.screen).__name__ == "ChoiceScreen")
            await pilot.press("enter")                       # the first kind of the registry
            await until(pilot, lambda: any(" done: " in t and t.startswith("inject #")
                                           for t in events(app)), timeout=60)
            seen["events"] = events(app)
            seen["session"] = session
            await pilot.press("q")

    farewell = await serve(parser().parse_args(["--config", config, "--refresh", "0.5"]), drive)
    assert seen["observer"].holder.endswith(f"/{seen['session'].observer.pid}")
    lines = seen["events"]
    assert any(t.startswith("observer started (pid") for t in lines)
    assert any(t.startswith("inject ") and "queued as command #" in t for t in lines)
    assert any(" started by the observer " in t for t in lines)
    assert farewell[-1] == f"the observer (pid {seen['session'].observer.pid}) stopped"
    async with await connect(fresh_dsn) as store:
        assert await store.fetch_lease() is None          # it gave its lease up


async def test_the_puzzle_named_by_flag_runs_where_another_ran_before(xdg, fresh_dsn, medium_puzzle,
                                                                      small_puzzle_dir):
    """A session on P1, then `jstui --puzzle P2` on the same node: P2 is deployed and
    launched (not the P1 the node still holds) and solved."""
    config = local_fleet_file(xdg / "fleet.toml", fresh_dsn, medium_puzzle, xdg / "work")

    async def launch_then_quit(app, session):
        async with app.run_test(size=(160, 48)) as pilot:
            [r] = await session.fleet.launch()
            assert r.ok, r.error
            await until(pilot, lambda: any(w.worker_id for w in app.snapshot.workers),
                        timeout=60)                          # P1's worker reached the pool
            seen["p1_alive"] = any(w.alive for w in app.snapshot.workers)
            await pilot.press("q")

    seen = {}
    await serve(parser().parse_args(["--config", config, "--refresh", "0.5"]), launch_then_quit)

    async def launch_until_solved(app, session):
        async with app.run_test(size=(160, 48)) as pilot:
            [r] = await session.fleet.launch()
            assert r.ok, r.error
            if "still run another puzzle" in r.detail:      # P1's worker was still at it:
                [r] = await session.fleet.relaunch()         # R puts it on P2
                assert r.ok, r.error
            await until(pilot, lambda: app.snapshot.solved, timeout=90)
            seen["puzzle"] = app.snapshot.puzzle
            await pilot.press("q")

    await serve(parser().parse_args(["--config", config, "--puzzle", str(small_puzzle_dir),
                                     "--refresh", "0.5"]), launch_until_solved)
    p1, p2 = load_puzzle(medium_puzzle), load_puzzle(small_puzzle_dir)
    async with await connect(fresh_dsn) as store:
        ids = {p.fingerprint: p.id for p in await store.fetch_puzzles()}
        workers = await store.fetch_workers()
        assert [w.puzzle_id for w in workers][-1] == ids[p2.fingerprint]
        assert await store.has_exact(ids[p2.fingerprint])
    held = sorted(p.name for p in (xdg / "work" / "puzzles").iterdir())
    assert held == [f"{p2.fingerprint}.npz"] and p1.fingerprint not in " ".join(held)
    assert seen["puzzle"].startswith("puzzle (N=6)")
