"""A pool that holds two puzzles: the screen and `jstui status` show the configured one
(not the newest), say which, and the operator can switch between them."""
from __future__ import annotations

import json

import pytest

from jstui.app import ControlCenter
from jstui.backend import LiveBackend
from jstui.live import LiveSource
from jstui.puzzles import choose, identify
from jstui.widgets import StatusHeader

from solver.puzzle.files import load_puzzle
from tests.helpers import jstui
from tests.helpers import answer_of, log_text, near_miss, toast_text, until
from tests.helpers import seed_screen_pool

pytestmark = pytest.mark.timeout(90)


@pytest.fixture(scope="module")
def other_puzzle_dir(tmp_path_factory):
    from tests.fixture_puzzles import _generate

    return _generate(tmp_path_factory.mktemp("other") / "other", blocks=4, seed=7)


async def two_puzzles(dsn, configured_dir, other_dir) -> dict[str, int]:
    """The configured puzzle first, then a newer one with more recent activity."""
    store, _, _ = await seed_screen_pool(dsn, configured_dir)
    other = load_puzzle(other_dir)
    other_id = await store.register_puzzle(other, name=other.name)   # as a worker registers it
    wid = await store.register_worker(other_id, "nodeB", 5151)
    await store.submit(other, near_miss(answer_of(other_dir)), origin="test", node="nodeB",
                       worker_id=wid)
    assert await store.current_puzzle_id() == other_id     # the newest is the other one
    ids = {p.fingerprint: p.id for p in await store.fetch_puzzles()}
    await store.close()
    return {"configured": ids[load_puzzle(configured_dir).fingerprint], "other": other_id}


async def test_the_screen_shows_the_configured_puzzle_and_switches(fresh_dsn, small_puzzle_dir,
                                                                 other_puzzle_dir):
    ids = await two_puzzles(fresh_dsn, small_puzzle_dir, other_puzzle_dir)
    source = LiveSource(fresh_dsn, None, puzzle=str(small_puzzle_dir), refresh=0.5,
                        min_interval=0.05)
    app = ControlCenter(source, LiveBackend(source, None))
    async with app.run_test(size=(160, 48)) as pilot:
        await until(pilot, lambda: app.snapshot.solutions == 1)
        snap = app.snapshot
        assert snap.puzzle_id == ids["configured"] and snap.puzzle == "puzzle (N=6)"
        assert [w.node for w in snap.workers] == ["nodeA"]
        assert snap.zones is not None and len(snap.zones.shares) == 6
        header = str(app.query_one(StatusHeader).render())
        assert "puzzle (N=6) (the configured puzzle)" in header
        assert "blocks" in log_text(app)                   # what the puzzle is, said once

        await pilot.press("p")                             # switch: the pool's puzzles
        await until(pilot, lambda: type(app.screen).__name__ == "ChoiceScreen")
        listed = [text for _, text in app.screen.choices]
        assert listed == ["puzzle (N=6)  (configured)  (on screen)", "other (N=4)"]   # by name
        await pilot.press("down", "enter")                 # the second: the other puzzle
        await until(pilot, lambda: app.snapshot.puzzle_id == ids["other"])
        assert [w.node for w in app.snapshot.workers] == ["nodeB"]
        assert len(app.snapshot.zones.shares) == 4
        header = str(app.query_one(StatusHeader).render())
        assert "other (N=4)" in header and "not the configured puzzle" in header
        await pilot.press("i")                             # the observer works on the other
        await until(pilot, lambda: "inject refused" in toast_text(app))
        assert type(app.screen).__name__ == "Screen"

        await pilot.press("p")
        await until(pilot, lambda: type(app.screen).__name__ == "ChoiceScreen")
        await pilot.press("enter")                         # back to the configured one
        await until(pilot, lambda: app.snapshot.puzzle_id == ids["configured"])
        assert app.snapshot.puzzle_is_configured


def test_status_shows_the_configured_puzzle_in_either_flag_order(fresh_dsn, small_puzzle_dir,
                                                                 other_puzzle_dir, tmp_path):
    import asyncio

    asyncio.run(two_puzzles(fresh_dsn, small_puzzle_dir, other_puzzle_dir))
    fleet = tmp_path / "fleet.toml"
    fleet.write_text(f'[pool]\ndsn = "{fresh_dsn}"\n[puzzle]\npath = "{small_puzzle_dir}"\n')
    for args in (("--config", str(fleet), "status"), ("status", "--config", str(fleet))):
        r = jstui(*args)
        assert r.returncode == 0, r.stderr
        assert "puzzle   puzzle (N=6) (the configured puzzle, from fleet.toml [puzzle])" in r.stdout
        assert "also in the pool: #2 other (N=4)" in r.stdout
        assert "nodeA" in r.stdout and "nodeB" not in r.stdout
    # --puzzle names the one to show, before or after `status`
    for args in (("--pool-only", "--dsn", fresh_dsn, "--puzzle", str(other_puzzle_dir), "status"),
                 ("status", "--pool-only", "--dsn", fresh_dsn, "--puzzle", str(other_puzzle_dir),
                  "--json")):
        r = jstui(*args)
        assert r.returncode == 0, r.stderr
        text = r.stdout if "--json" not in args else json.loads(r.stdout)["puzzle"]
        assert "other (N=4)" in text and "puzzle (N=6) (" not in text
    r = jstui("--pool-only", "--dsn", fresh_dsn, "status", "--puzzle", str(tmp_path / "nope"))
    assert r.returncode == 2
    assert r.stderr.strip() == f"jstui: {tmp_path / 'nope'}: no such file or directory"


def test_choose_never_falls_back_to_the_newest_when_one_is_configured(small_puzzle_dir):
    from datetime import datetime, timezone

    from solver.pool.rows import PuzzleRow

    configured = identify(str(small_puzzle_dir))
    t = datetime(2026, 1, 1, tzinfo=timezone.utc)
    other = PuzzleRow(2, "f" * 64, 4, None, None, t)
    shown = choose([other], configured, None, newest_id=2)
    assert (shown.id, shown.label) == (None, "puzzle (N=6)")
    assert "not in the pool yet" in shown.why
    mine = PuzzleRow(1, configured.fingerprint, 6, None, None, t)
    assert choose([mine, other], configured, None, newest_id=2).id == 1
    assert choose([mine, other], None, None, newest_id=2).id == 2
    assert choose([mine, other], configured, 2, newest_id=2).is_configured is False
