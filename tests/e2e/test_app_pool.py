"""Pilot tests of the control center against a real embedded PostgreSQL pool."""
from __future__ import annotations

import asyncio
import sys

import pytest

from jstui.app import ControlCenter
from jstui.backend import LiveBackend
from jstui.live import LiveSource
from jstui.widgets import AnswerBanner, StatusHeader, WorkersTable
from tests.helpers import answer_of, log_text, on_screen, toast_text, until
from solver.pool import connect
from solver.search.seeds import SEEDS
from tests.helpers import seed_screen_pool

pytestmark = pytest.mark.timeout(60)


def live_app(dsn, read_only=False):
    source = LiveSource(dsn, None, refresh=0.5, min_interval=0.05, record=not read_only)
    return ControlCenter(source, LiveBackend(source, None), read_only=read_only), source


async def test_tables_fill_from_the_pool(fresh_dsn, small_puzzle_dir):
    store, _, wid = await seed_screen_pool(fresh_dsn, small_puzzle_dir)
    app, _ = live_app(fresh_dsn)
    async with app.run_test(size=(160, 48)) as pilot:
        await until(pilot, lambda: app.query_one(WorkersTable).row_count == 1)
        assert app.snapshot.solutions == 1
        assert app.snapshot.workers[0].node == "nodeA"
        assert app.snapshot.workers[0].state == "running"
        assert [n.name for n in app.snapshot.nodes] == ["nodeA"]
        assert app.snapshot.zones is not None and len(app.snapshot.zones.shares) == 6
        header = app.query_one(StatusHeader).render()
        assert "best MSE" in str(header)
        assert "relative" in str(header)   # the worker registered var(pred) with the puzzle
        # a new heartbeat arrives by NOTIFY and updates the row in place
        await store.heartbeat(wid, run=2, step=5000, best_mse=0.04,
                              progress={"mse": 0.045, "evals_per_s": 1600.0})
        await until(pilot, lambda: app.snapshot.workers[0].run == 2)
        assert app.query_one(WorkersTable).row_count == 1
    await store.close()


async def test_injection_goes_to_the_pool_and_the_event_log(fresh_dsn, small_puzzle_dir):
    store, _, _ = await seed_screen_pool(fresh_dsn, small_puzzle_dir)
    app, _ = live_app(fresh_dsn)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.snapshot.solutions == 1)
        await pilot.press("i")
        await on_screen(pilot, "ChoiceScreen")
        await pilot.press("down", "enter")          # the second kind of the seed registry
        kind = list(SEEDS)[1]
        await until(pilot, lambda: f"inject {kind}" in log_text(app))
        commands = await store.fetch_commands()
        assert [(c.kind, c.args) for c in commands] == [("inject", {"kind": kind, "count": 1})]
    await store.close()


async def test_stop_asks_first_surgery_takes_positions_knobs_change(fresh_dsn, small_puzzle_dir):
    store, _, wid = await seed_screen_pool(fresh_dsn, small_puzzle_dir)
    app, _ = live_app(fresh_dsn)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.query_one(WorkersTable).row_count == 1)
        await pilot.press("k")
        await on_screen(pilot, "ConfirmScreen")
        await pilot.press("n")
        await on_screen(pilot, "Screen")
        assert await store.fetch_commands() == []
        await pilot.press("k")
        await on_screen(pilot, "ConfirmScreen")
        await pilot.press("y")
        await until(pilot, lambda: "stop requested" in log_text(app))
        await pilot.press("s")
        await on_screen(pilot, "AskScreen")
        await pilot.press("ctrl+a", "ctrl+k", *"2,4-5", "enter")
        await until(pilot, lambda: "surgery on 3 position(s)" in log_text(app))
        cmds = {c.kind: c for c in await store.fetch_commands()}
        assert cmds["stop"].target == f"worker:{wid}"
        assert cmds["surgery"].args == {"positions": [2, 4, 5]}
        await pilot.press("o")                      # observer knobs, prefilled
        await on_screen(pilot, "AskScreen")
        await pilot.press("ctrl+a", "ctrl+k", *"restart_share=0.5", "enter")
        await until(pilot, lambda: "knobs: restart_share=0.5" in log_text(app))
        assert (await store.fetch_config())["restart_share"].value == 0.5
        await until(pilot, lambda: ("restart_share", 0.5) in app.snapshot.knobs)
    await store.close()


async def test_read_only_refuses_every_action(fresh_dsn, small_puzzle_dir):
    store, _, _ = await seed_screen_pool(fresh_dsn, small_puzzle_dir)
    app, _ = live_app(fresh_dsn, read_only=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.query_one(WorkersTable).row_count == 1)
        for key in ("r", "R", "k", "i", "s", "d", "a", "o"):
            await pilot.press(key)
        await until(pilot, lambda: toast_text(app).count("read-only") == 8)
        assert "read-only" not in log_text(app)          # refusals are not events of the run
        assert type(app.screen).__name__ == "Screen"        # no dialog opened
        assert await store.fetch_commands() == []
    await store.close()


async def test_banner_and_bell_when_the_answer_lands(fresh_dsn, small_puzzle_dir):
    store, puzzle, wid = await seed_screen_pool(fresh_dsn, small_puzzle_dir)
    app, _ = live_app(fresh_dsn)
    bells = []
    async with app.run_test(size=(80, 24)) as pilot:
        app.bell = lambda: bells.append(1)
        await until(pilot, lambda: app.snapshot.solutions == 1)
        assert not app.query_one(AnswerBanner).display
        result = await store.submit(puzzle, answer_of(small_puzzle_dir), origin="test")
        assert result.matches_target
        await until(pilot, lambda: app.query_one(AnswerBanner).display)
        assert app.snapshot.solved and bells == [1]
        assert "EXACT ANSWER FOUND" in str(app.query_one(AnswerBanner).render())
        for _ in range(2):                          # later refreshes do not ring again
            seen = app.snapshot.taken_at
            await until(pilot, lambda: app.snapshot.taken_at > seen)
        assert bells == [1]
    await store.close()


async def start_server(data_dir) -> str:
    """embedded.up in a child process: pgserver caches servers per process, so a second
    `up` in this process after `down` would hand back the stopped one."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c",
        "import sys; from solver.pool import embedded; print(embedded.up(sys.argv[1]).dsn)",
        str(data_dir), stdout=asyncio.subprocess.PIPE)
    out, _ = await proc.communicate()
    assert proc.returncode == 0
    return out.decode().strip()


async def test_a_database_restart_is_survived(tmp_path, small_puzzle_dir):
    from solver.pool import embedded

    data_dir = tmp_path / "pgdata"
    dsn = await start_server(data_dir)
    try:
        store, puzzle, _ = await seed_screen_pool(dsn, small_puzzle_dir)
        await store.close()
        app, source = live_app(dsn)
        async with app.run_test(size=(120, 40)) as pilot:
            await until(pilot, lambda: app.snapshot.solutions == 1)
            await asyncio.to_thread(embedded.down, data_dir)
            await until(pilot, lambda: app.snapshot.pool_error is not None, timeout=15)
            assert "unreachable" in app.snapshot.pool_error
            assert app.snapshot.solutions == 1               # the last state stays shown
            assert await start_server(data_dir) == dsn
            store = await connect(dsn)
            await store.submit(puzzle, answer_of(small_puzzle_dir), origin="test")
            await store.close()
            await until(pilot, lambda: app.snapshot.pool_error is None
                        and app.snapshot.solutions == 2, timeout=20)
            assert app.snapshot.solved
    finally:
        await asyncio.to_thread(embedded.down, data_dir)


async def test_s_during_a_surgery_shows_its_progress_and_cancels_it(fresh_dsn, small_puzzle_dir):
    store, _, _ = await seed_screen_pool(fresh_dsn, small_puzzle_dir)
    cid = await store.enqueue_command("surgery", {})
    await store.claim_command("observer", ["surgery"])
    await store.command_progress(cid, {"piece": 2, "pieces": 3,
                                       "message": "piece 2/3: blocks 13-26 of 1-40 (scan)"})
    app, _ = live_app(fresh_dsn)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.query_one(WorkersTable).row_count == 1)
        await pilot.press("s")
        await on_screen(pilot, "ConfirmScreen")
        assert "blocks 13-26 of 1-40" in app.screen.question
        await pilot.press("y")
        await until(pilot, lambda: f"command #{cid}: cancel requested" in log_text(app))
        assert (await store.fetch_command(cid)).cancel_requested
        assert await store.command_progress(cid, {"piece": 3}) is True   # the surgery will stop
        await pilot.press("s")                      # none running now: positions are asked
        await on_screen(pilot, "AskScreen")
    await store.close()
