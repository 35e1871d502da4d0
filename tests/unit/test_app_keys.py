"""Keys, filter, sort, palette and input parsing of the app on a recorded state."""
from __future__ import annotations

from dataclasses import replace

import pytest

from jstui.actions import ACTIONS, parse_knobs, parse_positions
from jstui.app import ControlCenter
from jstui.backend import Backend
from jstui.snapshot import FixedSource
from jstui.widgets import WorkersTable
from tests.unit.snapshot_apps.recorded_state import T0, recorded_app, recorded_snapshot
from tests.helpers import on_screen, until


def test_parse_positions_and_knobs():
    assert parse_positions("uncertain") is None
    assert parse_positions("") is None
    assert parse_positions("3, 7-9,3") == [3, 7, 8, 9]
    with pytest.raises(ValueError, match="'x' is not a number"):
        parse_positions("2,x")
    with pytest.raises(ValueError, match="start at 1"):
        parse_positions("0")
    assert parse_knobs("restart_share=0.3 perturb_width=8") == {"restart_share": 0.3,
                                                                 "perturb_width": 8.0}
    with pytest.raises(ValueError, match="'width' is not name=number"):
        parse_knobs("width")


async def settled(app, pilot):
    await until(pilot, lambda: app.query_one(WorkersTable).row_count == 8)


async def test_filter_and_sort_update_rows_in_place():
    app = recorded_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settled(app, pilot)
        await pilot.press("slash", *"borealis")
        assert app.query_one(WorkersTable).row_count == 2
        await pilot.press("enter")
        assert app.focused is app.query_one(WorkersTable)
        await pilot.press("escape")
        assert app.query_one(WorkersTable).row_count == 8
        await pilot.press("t", "t")                    # the next columns: state, best MSE
        table = app.query_one(WorkersTable)
        assert app.dashboard.sort_by == "best"
        assert [r.key.value for r in table.ordered_rows][0] == "atlas:41211"
        # a newer snapshot with the same workers changes cells, not rows
        before = table.ordered_rows[0].key
        newer = replace(recorded_snapshot(), taken_at=T0 + 5)
        app.source.push(newer)
        await until(pilot, lambda: app.snapshot.taken_at == newer.taken_at)
        assert table.ordered_rows[0].key == before and table.row_count == 8


async def test_help_lists_every_key_and_the_palette_has_every_action():
    app = recorded_app()
    async with app.run_test(size=(120, 50)) as pilot:
        await settled(app, pilot)
        await pilot.press("question_mark")
        assert type(app.screen).__name__ == "HelpScreen"
        assert app.screen.keys == [(a.key_label, a.description) for a in ACTIONS]
        await pilot.press("escape")
        titles = [c.title for c in app.get_system_commands(app.screen)]
        for a in ACTIONS:
            if a.name not in ("help", "quit"):
                assert any(t.startswith(a.description.capitalize()) for t in titles), a
        await pilot.press("c")
        assert type(app.screen).__name__ == "ChartScreen"


class Recorder(Backend):
    """A backend that records what the app asks of it."""

    has_fleet = True

    def __init__(self) -> None:
        self.calls: list[tuple] = []
        self.recorded: list[tuple[str, str]] = []   # lines for the event book

    def record(self, kind: str, text: str) -> None:
        self.recorded.append((kind, text))


def _recording(name):
    async def call(self, *args):
        self.calls.append((name, *args))
        return f"{name}: done"
    return call


for _name in ("relaunch", "stop_worker", "inject", "surgery", "deploy", "set_auto_relaunch",
              "set_knobs", "tail"):
    setattr(Recorder, _name, _recording(_name))


def recording_app() -> tuple[ControlCenter, Recorder]:
    backend = Recorder()
    return ControlCenter(FixedSource(recorded_snapshot()), backend, clock=lambda: T0), backend


async def test_capital_r_asks_then_relaunches_every_node():
    app, controls = recording_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settled(app, pilot)
        await pilot.press("R")
        await on_screen(pilot, "ConfirmScreen")
        await pilot.press("n")
        await on_screen(pilot, "Screen")
        assert controls.calls == []
        await pilot.press("R")
        await on_screen(pilot, "ConfirmScreen")
        await pilot.press("y")
        await until(pilot, lambda: controls.calls == [("relaunch", None)])


async def test_k_refuses_an_ended_worker_and_the_arrows_work_after_a_no():
    """k on a worker that has already ended asks nothing (a toast says why); after n to a
    stop question, the arrow keys move in the table again at once."""
    app, controls = recording_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settled(app, pilot)
        table = app.query_one(WorkersTable)
        ended = next(i for i, w in enumerate(app.dashboard.visible_workers(app.snapshot)) if not w.alive)
        table.move_cursor(row=ended)
        await pilot.press("k")
        await pilot.pause(0.1)
        assert type(app.screen).__name__ == "Screen" and controls.calls == []
        from tests.helpers import toast_text
        assert "has already ended" in toast_text(app)
        table.move_cursor(row=0)
        await pilot.press("k")
        await on_screen(pilot, "ConfirmScreen")
        await pilot.press("n")
        await on_screen(pilot, "Screen")
        await pilot.press("down")
        assert table.cursor_row == 1 and app.focused is table
        assert controls.calls == []


async def test_the_palette_runs_an_action_and_offers_the_seed_registry():
    from solver.search.seeds import SEEDS

    from textual.command import CommandList

    app, controls = recording_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settled(app, pilot)
        await pilot.press("ctrl+p")
        await on_screen(pilot, "CommandPalette")
        await pilot.press(*"inject seeds")
        # the palette searches in the background: wait for its matches
        await until(pilot, lambda: app.screen.query_one(CommandList).option_count > 0)
        await pilot.press("enter")
        await on_screen(pilot, "ChoiceScreen")
        from textual.widgets import OptionList
        options = app.screen.query_one(OptionList)
        listed = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
        assert [line.split()[0] for line in listed] == list(SEEDS)
        assert all(s.description in line for s, line in zip(SEEDS.values(), listed))
        await pilot.press("down", "enter")          # the second kind of the registry
        await until(pilot, lambda: controls.calls == [("inject", list(SEEDS)[1])])


async def test_read_only_is_shown_and_refuses_without_a_pool():
    app = ControlCenter(FixedSource(recorded_snapshot()), backend=None, read_only=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await settled(app, pilot)
        assert "READ-ONLY" in str(app.query_one("#header").render())
        await pilot.press("R")
        assert type(app.screen).__name__ == "Screen"


async def test_a_long_down_reason_never_pushes_the_figures_out_of_view():

    from jstui.widgets import NodesTable
    from tests.unit.snapshot_apps.recorded_state import T0

    reason = "127.0.0.1:2222: " + "the machine refused the connection again " * 8
    snap = recorded_snapshot()
    snap = replace(snap, nodes=tuple(replace(n, reason=reason) if n.name == "cirrus" else n
                                     for n in snap.nodes))
    for size in ((80, 24), (160, 48)):
        app = ControlCenter(FixedSource(snap), backend=None, clock=lambda: T0)
        async with app.run_test(size=size) as pilot:
            await settled(app, pilot)
            table = app.query_one(NodesTable)
            widths = [c.get_render_width(table) for c in table.ordered_columns]
            # every column but the reason fits in the panel, whatever the reason's length
            assert sum(widths[:-1]) <= table.scrollable_content_region.width, (size, widths)
            why = table.get_cell("cirrus", "why").plain
            assert len(why) <= 60 and why.endswith("again…") and reason.startswith(why[:-1])
            assert table.get_cell("cirrus", "state").plain == "down"


async def test_one_solution_in_the_pool_draws_no_agreement():
    """A single solution agrees with itself at 100 %: no evidence, so neither ▓ nor █."""
    from jstui.widgets import ZonesBar
    from solver.tools.zones import zone_map

    best = list(range(97))
    snap = replace(recorded_snapshot(), zones=zone_map(best, [best]))
    app = ControlCenter(FixedSource(snap), backend=None)
    async with app.run_test(size=(160, 48)) as pilot:
        await settled(app, pilot)
        text = str(app.query_one(ZonesBar).render())
        assert "▓" not in text and "█" not in text and "·" * 48 in text
        assert "1 solution in the pool: agreement is judged from 5 on" in text


async def test_an_answer_found_before_this_session_is_said_without_a_bell():
    app = recorded_app(solved=True)
    bells = []
    app.bell = lambda: bells.append(1)
    async with app.run_test(size=(160, 48)) as pilot:
        await settled(app, pilot)
        from tests.helpers import toast_text
        said = " ".join(toast_text(app).split())
        assert "held the exact answer for this puzzle already" in said
        assert "jstui --puzzle DIR" in said and bells == []
        assert not app.query_one("#banner").display     # no banner: it did not land now


async def test_a_log_tail_that_answers_before_its_screen_is_built_is_shown():
    """The tail's first answer (or its error) may come before the screen has composed."""
    from textual.widgets import RichLog

    from jstui.widgets.screens import LogTailScreen

    app = recorded_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settled(app, pilot)
        screen = LogTailScreen("log of worker 1 on here")
        app.push_screen(screen)
        screen.show("cannot read the log: node here is down")
        await until(pilot, lambda: screen.query(RichLog) and screen.query_one(RichLog).lines)
        assert "node here is down" in screen.query_one(RichLog).lines[0].text
