"""A dead node and a mute one (accepts TCP, never speaks SSH) never freeze the screen."""
from __future__ import annotations

import socket

import pytest

from jstui.app import ControlCenter
from jstui.config import parse_config
from jstui.backend import LiveBackend
from jstui.live import LiveSource
from jstui.fleet import Fleet
from jstui.widgets import NodesTable
from tests.helpers import log_text, until
from tests.helpers import seed_screen_pool

pytestmark = pytest.mark.timeout(90)


@pytest.fixture
def mute_port():
    """A TCP listener that accepts and then says nothing: a hung machine."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    yield server.getsockname()[1]
    server.close()


async def test_dead_and_mute_nodes_do_not_hold_up_the_screen(sshd_fleet, fresh_dsn,
                                                             small_puzzle_dir, mute_port):
    store, _, _ = await seed_screen_pool(fresh_dsn, small_puzzle_dir)
    mute = {**sshd_fleet.node("alpha"), "name": "mute", "port": mute_port,
            "connect_timeout": 20.0}
    nodes = [sshd_fleet.node("alpha"), sshd_fleet.node("delta"), mute]
    cfg = parse_config({"pool": {"dsn": fresh_dsn}, "node": nodes})
    async with Fleet(cfg) as fleet:
        [deployed] = await fleet.deploy("alpha")
        assert deployed.ok, deployed.error
        source = LiveSource(fresh_dsn, fleet, refresh=0.5, min_interval=0.1, record=True)
        app = ControlCenter(source, LiveBackend(source, fleet))
        async with app.run_test(size=(160, 48)) as pilot:
            # the pool's worker and alpha's facts arrive while mute is still hanging
            await until(pilot, lambda: app.snapshot.solutions == 1 and any(
                n.name == "alpha" and n.up and n.load is not None for n in app.snapshot.nodes),
                timeout=15)
            # mute alone would take 20 s (its connect timeout): it is still connecting
            states = {n.name: n for n in app.snapshot.nodes}
            assert states["delta"].state == "down" and states["delta"].reason
            # the whole reason is in the event log, once, naming the port
            port = sshd_fleet.daemons["delta"].port
            line = f"node delta down: 127.0.0.1:{port}: connection refused"
            await until(pilot, lambda: line in " ".join(log_text(app).split()))
            await pilot.pause(1.5)                  # more refreshes: still said once
            assert " ".join(log_text(app).split()).count(line) == 1
            assert states["mute"].state == "connecting"
            assert [w.node for w in app.snapshot.workers] == ["nodeA"]
            # keys answer although mute has not answered yet: no wait for it
            await pilot.press("question_mark")
            await until(pilot, lambda: type(app.screen).__name__ == "HelpScreen")
            await pilot.press("escape")
            await until(pilot, lambda: type(app.screen).__name__ == "Screen")
            assert {n.name: n.state for n in app.snapshot.nodes}["mute"] == "connecting"
    await store.close()


def sleeper(node, cfg, puzzle=""):
    return [node.python, "-c", "import time; print('up', flush=True); time.sleep(300)"]


async def test_r_restores_the_configured_worker_count(sshd_fleet, fresh_dsn):
    """alpha is configured for 2 workers but runs 1 (launch -n 1): r starts both."""
    cfg = sshd_fleet.config(["alpha"], dsn=fresh_dsn, workers={"stop_grace": 1.0})
    assert cfg.node("alpha").workers == 2
    async with Fleet(cfg, worker_argv=sleeper) as fleet:
        try:
            assert all(r.ok for r in await fleet.deploy())
            [launched] = await fleet.launch("alpha", n=1)
            assert launched.workers == ("alpha/0",)
            source = LiveSource(fresh_dsn, fleet, refresh=0.5, min_interval=0.1)
            app = ControlCenter(source, LiveBackend(source, fleet))
            async with app.run_test(size=(160, 48)) as pilot:
                await until(pilot, lambda: any(n.name == "alpha" and n.up and n.workers_running == 1
                                               for n in app.snapshot.nodes), timeout=20)
                app.query_one(NodesTable).focus()
                await pilot.press("r")
                await until(pilot, lambda: type(app.screen).__name__ == "ConfirmScreen")
                assert "its 2 configured workers start" in str(
                    app.screen.query_one(".question").render())
                await pilot.press("y")
                await until(pilot, lambda: "relaunch alpha: alpha: 2 started (configured: 2)"
                            in " ".join(log_text(app).split()), timeout=30)   # lines wrap
                await until(pilot, lambda: app.snapshot.nodes[0].workers_running == 2, timeout=20)
            running = [w.name for w in (await fleet.status()).workers if w.state.alive]
            assert sorted(running) == ["alpha/0", "alpha/1"]
        finally:
            await fleet.stop()
