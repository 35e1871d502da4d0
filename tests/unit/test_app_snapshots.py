"""Snapshot tests of the main screen on a fixed recorded state (no clock, no blink)."""
from __future__ import annotations

from pathlib import Path

from tests.unit.snapshot_apps.recorded_state import recorded_app

APP = Path(__file__).parent / "snapshot_apps" / "recorded_state.py"


async def settle(pilot) -> None:
    """Until the recorded state is on screen (its eight workers), and still."""
    from jstui.widgets import WorkersTable
    from tests.helpers import until

    await until(pilot, lambda: pilot.app.query_one(WorkersTable).row_count == 8)
    await pilot.wait_for_scheduled_animations()


def test_main_screen_80x24(snap_compare):
    assert snap_compare(APP, terminal_size=(80, 24), run_before=settle)


def test_main_screen_160x48(snap_compare):
    assert snap_compare(APP, terminal_size=(160, 48), run_before=settle)


def test_the_chart_appears_at_140x40(snap_compare):
    """The smallest terminal with the chart of the pool best on the main screen."""
    assert snap_compare(APP, terminal_size=(140, 40), run_before=settle)


def test_large_chart_160x48(snap_compare):
    assert snap_compare(recorded_app(), terminal_size=(160, 48), press=["c"], run_before=settle)


def test_answer_banner_160x48(snap_compare):
    """The banner when the answer lands while the screen watches."""
    assert snap_compare(recorded_app(landing=True), terminal_size=(160, 48), run_before=settle)


def test_help_screen_80x24(snap_compare):
    assert snap_compare(recorded_app(), terminal_size=(80, 24), press=["question_mark"],
                        run_before=settle)


def test_main_screen_100x30(snap_compare):
    """A mid-size terminal: no band of blank rows (the event log takes what the workers
    leave), and the footer's keys all fit, quit included."""
    assert snap_compare(APP, terminal_size=(100, 30), run_before=settle)


async def test_at_100x30_the_footer_fits_and_the_events_fill_the_rest():
    from textual.widgets import Footer

    from tests.unit.snapshot_apps.recorded_state import recorded_app

    app = recorded_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        footer = app.query_one(Footer)
        shown = [b.key for _, b, enabled, _ in app.screen.active_bindings.values() if b.show]
        assert "q" in shown and footer.region.bottom == 30
        events = app.query_one("#events")
        assert events.region.bottom == footer.region.y       # no blank band above the footer
        assert events.region.height >= 4
