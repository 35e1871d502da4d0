"""Pilot tests with real local workers (solver.worker) started by the fleet layer."""
from __future__ import annotations

import sys

import pytest

from jstui.app import ControlCenter
from jstui.config import parse_config
from jstui.backend import LiveBackend
from jstui.live import LiveSource
from jstui.fleet import Fleet
from jstui.widgets import NodesTable
from tests.helpers import log_text, on_screen, until

pytestmark = pytest.mark.timeout(120)


def local_fleet_config(tmp_path, dsn, puzzle_dir):
    return parse_config({
        "pool": {"dsn": dsn},
        "puzzle": {"path": str(puzzle_dir)},
        "workers": {"stop_grace": 1.0,
                    "extra_args": ["--heartbeat", "0.5", "--flush-timeout", "5"]},
        "node": [{"name": "here", "kind": "local", "python": sys.executable,
                  "workdir": str(tmp_path / "work"), "workers": 1, "nice": 0}],
    })


async def test_relaunch_asks_then_happens_and_the_log_tails(tmp_path, fresh_dsn,
                                                            small_puzzle_dir):
    async with Fleet(local_fleet_config(tmp_path, fresh_dsn, small_puzzle_dir)) as fleet:
        assert all(r.ok for r in await fleet.deploy())
        assert all(r.ok for r in await fleet.launch())
        source = LiveSource(fresh_dsn, fleet, refresh=0.5, min_interval=0.1)
        app = ControlCenter(source, LiveBackend(source, fleet))
        try:
            async with app.run_test(size=(160, 48)) as pilot:
                # the real worker registers in the pool and the fleet sees its process
                await until(pilot, lambda: any(w.key.startswith("w") and w.fleet_name
                                               for w in app.snapshot.workers), timeout=40)
                assert [n.name for n in app.snapshot.nodes] == ["here"]
                assert app.snapshot.nodes[0].up
                first = {w.pid for w in app.snapshot.workers}

                app.query_one(NodesTable).focus()
                await pilot.press("r")
                await on_screen(pilot, "ConfirmScreen")
                await pilot.press("y")
                await until(pilot, lambda: "relaunch here:" in log_text(app), timeout=30)
                await until(pilot, lambda: any(w.pid not in first and w.fleet_name
                                               for w in app.snapshot.workers), timeout=40)

                app.query_one("#workers").focus()
                await pilot.press("l")
                await until(pilot, lambda: type(app.screen).__name__ == "LogTailScreen")
                from textual.widgets import RichLog
                await until(pilot, lambda: len(app.screen.query_one(RichLog).lines) > 0,
                            timeout=10)
                await pilot.press("escape")
                await on_screen(pilot, "Screen")

                await pilot.press("d")                      # deploy asks, then reports
                await on_screen(pilot, "ConfirmScreen")
                await pilot.press("y")
                await until(pilot, lambda: "deploy: here:" in log_text(app), timeout=20)
                await pilot.press("a")                      # auto-relaunch on
                await until(pilot, lambda: app.snapshot.auto_relaunch, timeout=10)
                assert fleet.config.workers.auto_relaunch
        finally:
            await fleet.stop()
