"""The first run without a fleet file: a puzzle the fleet works on for minutes (not one
solved before the screen fills), generated once, and said on screen for what it is."""
from __future__ import annotations

import pytest

from jstui.app import ControlCenter
from jstui.live import LiveSource
from jstui.fleet.local import DEFAULT_PUZZLE, QUICK_PUZZLE, default_puzzle_dir
from jstui.puzzles import KIND_NOTES, identify
from jstui.widgets import StatusHeader
from tests.helpers import log_text, until

pytestmark = pytest.mark.timeout(90)


def test_the_first_run_puzzle_is_one_the_fleet_works_on():
    # 'readable' puzzles are solved by one process in about a second: nothing to watch
    assert DEFAULT_PUZZLE["kind"] != "readable" and DEFAULT_PUZZLE["blocks"] >= 48
    assert "minutes" in KIND_NOTES[DEFAULT_PUZZLE["kind"]]


async def test_the_default_puzzle_is_made_once_and_the_screen_says_what_it_is(
        tmp_path, monkeypatch, fresh_dsn):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))   # where platformdirs puts data
    path = default_puzzle_dir(QUICK_PUZZLE)              # the quick spec: same code path
    assert path == tmp_path / "jstui" / "puzzles" / "default-readable-12"
    made = (path / "generate.json").stat().st_mtime_ns
    assert default_puzzle_dir(QUICK_PUZZLE) == path
    assert (path / "generate.json").stat().st_mtime_ns == made          # not made again
    assert "a synthetic 'readable' puzzle" in identify(str(path)).description

    source = LiveSource(fresh_dsn, None, puzzle=str(path), refresh=0.5, min_interval=0.05)
    app = ControlCenter(source, None)
    async with app.run_test(size=(160, 48)) as pilot:
        await until(pilot, lambda: app.snapshot.puzzle == "default-readable-12 (N=12)")
        said = (f"puzzle default-readable-12: 12 blocks, from {path}; a synthetic 'readable' "
                f"puzzle ({KIND_NOTES['readable']})")
        assert "".join(said.split()) in "".join(log_text(app).split())   # the log wraps
        header = str(app.query_one(StatusHeader).render())
        assert "default-readable-12 (N=12) (not in the pool yet" in header
