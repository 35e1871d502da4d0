"""Snapshot tests of the main screen on a fixed recorded state (no clock, no blink)."""
from __future__ import annotations

from pathlib import Path

from tests.snapshot_apps.recorded_state import recorded_app

APP = Path(__file__).parent / "snapshot_apps" / "recorded_state.py"


async def settle(pilot) -> None:
    await pilot.pause(0.3)
    await pilot.wait_for_scheduled_animations()


def test_main_screen_80x24(snap_compare):
    assert snap_compare(APP, terminal_size=(80, 24), run_before=settle)


def test_main_screen_160x48(snap_compare):
    assert snap_compare(APP, terminal_size=(160, 48), run_before=settle)


def test_answer_banner_160x48(snap_compare):
    assert snap_compare(recorded_app(solved=True), terminal_size=(160, 48), run_before=settle)


def test_help_screen_80x24(snap_compare):
    assert snap_compare(recorded_app(), terminal_size=(80, 24), press=["question_mark"],
                        run_before=settle)
