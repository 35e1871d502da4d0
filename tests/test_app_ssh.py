"""A dead node and a mute one (accepts TCP, never speaks SSH) never freeze the screen."""
from __future__ import annotations

import socket
import time

import pytest

from jstui.app import ControlCenter
from jstui.config import parse_config
from jstui.data import LiveControls, LiveSource
from jstui.fleet import Fleet
from tests.test_app_pool import seed_pool, until

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
    store, _, _ = await seed_pool(fresh_dsn, small_puzzle_dir)
    mute = {**sshd_fleet.node("alpha"), "name": "mute", "port": mute_port,
            "connect_timeout": 20.0}
    nodes = [sshd_fleet.node("alpha"), sshd_fleet.node("delta"), mute]
    cfg = parse_config({"pool": {"dsn": fresh_dsn}, "node": nodes})
    async with Fleet(cfg) as fleet:
        [deployed] = await fleet.deploy("alpha")
        assert deployed.ok, deployed.error
        source = LiveSource(fresh_dsn, fleet, refresh=0.5, min_interval=0.1)
        app = ControlCenter(source, LiveControls(source, fleet))
        async with app.run_test(size=(160, 48)) as pilot:
            started = time.monotonic()
            # the pool's worker and alpha's facts arrive while mute is still hanging
            await until(pilot, lambda: app.snapshot.pool_rows == 1 and any(
                n.name == "alpha" and n.up and n.load is not None for n in app.snapshot.nodes),
                timeout=15)
            assert time.monotonic() - started < 8     # mute alone would take 20 s
            states = {n.name: n for n in app.snapshot.nodes}
            assert not states["delta"].up and states["delta"].reason
            assert not states["mute"].up and states["mute"].reason == "connecting"
            assert [w.node for w in app.snapshot.workers] == ["nodeA"]
            # keys answer at once although mute has not answered yet
            t = time.monotonic()
            await pilot.press("question_mark")
            assert type(app.screen).__name__ == "HelpScreen"
            await pilot.press("escape")
            assert time.monotonic() - t < 2.0
    await store.close()
