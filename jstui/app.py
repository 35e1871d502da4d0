"""The Textual control center: renders snapshots from a source, sends commands to controls.

Pattern of memray's TUI reporter: a reader task posts one message per snapshot; the app
assigns one reactive attribute and every widget renders from it inside a batch update.
The actions that change things are jstui.operations; every key is jstui.actions.
"""
from __future__ import annotations

import asyncio
import time
from typing import Callable

from textual import on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Container, Horizontal, Vertical
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import DataTable, Footer, Input

from jstui.actions import ACTIONS
from jstui.operations import Operations
from jstui.snapshot import EMPTY, Controls, Snapshot, SnapshotSource, newly_solved
from jstui.widgets.chart import BestChart
from jstui.widgets.columns import SORTS, filter_workers, sort_workers
from jstui.widgets.events import EventLog
from jstui.widgets.header import AnswerBanner, StatusHeader
from jstui.widgets.modals import ChoiceScreen
from jstui.widgets.screens import ChartScreen, HelpScreen, LogTailScreen
from jstui.widgets.sparks import BestSparkline
from jstui.widgets.tables import NodesTable, WorkersTable
from jstui.widgets.trends import WorkerTrends
from jstui.widgets.zones import ZonesBar

# From this size on, the main screen draws the pool best against time, with each
# worker's trend beside it; below it, a one-line sparkline.
CHART_FROM = (140, 40)


class SnapshotReady(Message):
    def __init__(self, snapshot: Snapshot) -> None:
        super().__init__()
        self.snapshot = snapshot


class ControlCenter(Operations, App):
    """The main screen: header, nodes, workers, sparkline, zones, event log."""

    CSS_PATH = "jstui.tcss"
    TITLE = "jstui"
    BINDINGS = [
        Binding(a.key, a.name, a.label, show=a.in_footer, key_display=a.key_label)
        for a in ACTIONS
    ] + [Binding("escape", "clear_filter", "clear filter", show=False)]

    snapshot: reactive[Snapshot] = reactive(EMPTY, always_update=True, init=False)

    def __init__(self, source: SnapshotSource, controls: Controls | None = None,
                 read_only: bool = False, clock: Callable[[], float] = time.time,
                 served: str | None = None) -> None:
        super().__init__()
        self.source = source
        self.controls = controls
        self.read_only = read_only or controls is None
        self.served = served   # None in a terminal; "read-only" / "actions" in a browser
        self.clock = clock
        self.worker_filter = ""
        self.sort_by = "node"
        self.previous: Snapshot | None = None
        self.landed_on: int | None = None     # the puzzle whose answer landed on screen
        self.told_solved: set = set()         # puzzles said to be solved already
        self._tail: LogTailScreen | None = None
        self._chart: ChartScreen | None = None

    # ---- layout --------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield AnswerBanner(id="banner")
        yield StatusHeader(id="header")
        with Container(id="body"):
            with Vertical(id="left"):
                yield NodesTable(id="nodes")
                yield WorkersTable(id="workers")
                yield Input(placeholder="filter workers: node, state, pid, runN", id="filter")
                with Horizontal(id="trends-row"):
                    yield BestChart(id="chart")
                    yield WorkerTrends(id="trends")
            with Vertical(id="right"):
                yield BestSparkline(id="spark")
                yield ZonesBar(id="zones")
                yield EventLog(id="events")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one("#banner").display = False
        self.query_one("#filter").display = False
        self.query_one("#nodes").border_title = "nodes"
        self.query_one("#workers").border_title = "workers (sort: node)"
        self.query_one("#events").border_title = "events"
        self.query_one("#trends").border_title = "workers' best MSE"
        self.query_one("#workers").focus()
        self._apply_size(self.size.width, self.size.height)
        self.read_snapshots()

    def on_resize(self, event) -> None:
        self._apply_size(event.size.width, event.size.height)

    def _apply_size(self, width: int, height: int) -> None:
        self.set_class(width >= 140, "-wide")
        chart = width >= CHART_FROM[0] and height >= CHART_FROM[1]
        if chart != self.has_class("-chart"):
            self.set_class(chart, "-chart")
            if chart:
                self._render(self.snapshot)

    # ---- snapshots -----------------------------------------------------------------

    @work(exclusive=True, group="reader")
    async def read_snapshots(self) -> None:
        async for snap in self.source.snapshots():
            self.post_message(SnapshotReady(snap))

    def on_snapshot_ready(self, message: SnapshotReady) -> None:
        if not self.query(WorkersTable):   # the app is closing: its main screen is gone
            return
        self.snapshot = message.snapshot

    def watch_snapshot(self, snap: Snapshot) -> None:
        """The bell and the banner only when the answer lands while this screen watches
        the puzzle; a puzzle solved before (or switched to) says so once, quietly."""
        previous = self.previous
        if newly_solved(previous, snap):
            self.bell()
            self.landed_on = snap.puzzle_id
        elif snap.solved and (snap.puzzle_id, snap.puzzle) not in self.told_solved \
                and (self.landed_on is None or snap.puzzle_id != self.landed_on):
            self.told_solved.add((snap.puzzle_id, snap.puzzle))
            self.notify("the pool held the exact answer for this puzzle already: new workers "
                        "exit at once. For a new search: python -m solver generate DIR --kind "
                        "pairing --seed 2, then jstui --puzzle DIR", timeout=10)
        self.previous = snap
        self._render(snap)

    def _render(self, snap: Snapshot) -> None:
        with self.batch_update():
            self.query_one(AnswerBanner).show(
                snap, landed=self.landed_on is not None and snap.puzzle_id == self.landed_on)
            self.query_one(StatusHeader).show(snap, self.read_only)
            self.query_one(NodesTable).show(snap.nodes)
            visible = self.visible_workers(snap)
            self.query_one(WorkersTable).show(visible)
            if self.has_class("-chart"):
                self.query_one(BestChart).show(snap.best_history, snap.taken_at)
                self.query_one(WorkerTrends).show(tuple(visible))
            else:
                self.query_one(BestSparkline).show(snap.best_history)
            self.query_one(ZonesBar).show(snap.zones)
            self.query_one(EventLog).show(snap.events)
            if self._chart is not None and self._chart.is_attached:
                self._chart.draw(snap)

    def visible_workers(self, snap: Snapshot):
        return sort_workers(filter_workers(snap.workers, self.worker_filter), self.sort_by)

    # ---- selection -----------------------------------------------------------------

    def selected_worker(self):
        key = self.query_one(WorkersTable).selected_key
        return next((w for w in self.snapshot.workers if w.key == key), None)

    def selected_node(self) -> str | None:
        if self.focused is self.query_one(NodesTable):
            return self.query_one(NodesTable).selected_key
        worker = self.selected_worker()
        if worker is not None:
            return worker.node
        return self.query_one(NodesTable).selected_key

    # ---- actions that only look ------------------------------------------------------

    def action_tail_log(self) -> None:
        worker = self.selected_worker()
        if worker is None:
            self.notify("no worker selected", severity="warning")
            return
        if self.controls is None:
            self.notify("no fleet connection: logs cannot be read", severity="error")
            return
        self._tail = LogTailScreen(f"log of worker {worker.pid} on {worker.node}  (escape: back)")
        self.push_screen(self._tail)
        self.follow_log(worker)

    @work(exclusive=True, group="tail")
    async def follow_log(self, worker) -> None:
        """Re-read the tail every 2 s while its screen is up; a slow node only delays it."""
        screen = self._tail
        while screen is not None and not screen.closed:
            try:
                text = await self.controls.tail(worker)
            except Exception as exc:  # a dead node: say so on the screen, keep trying
                text = f"cannot read the log: {exc}"
            if screen.closed:
                return
            screen.show(text)
            await asyncio.sleep(2.0)

    def action_chart(self) -> None:
        self._chart = ChartScreen(self.snapshot)
        self.push_screen(self._chart)

    @work(group="dialogs")
    async def action_switch_puzzle(self) -> None:
        options = self.snapshot.puzzles
        if len(options) < 2:
            self.notify(f"the pool holds {len(options) or 'no'} puzzle{'s' * (len(options) != 1)}:"
                        " nothing to switch to", severity="warning")
            return
        listing = [(f"#{c.id}", f"{c.label}"
                    + ("  (configured)" if c.is_configured else "")
                    + ("  (on screen)" if c.id == self.snapshot.puzzle_id else ""))
                   for c in options]
        picked = await self.push_screen_wait(ChoiceScreen("Show which puzzle of the pool?",
                                                          listing))
        if picked:
            self.source.choose_puzzle(int(picked[1:]))
            self.notify(f"showing puzzle #{picked[1:]}")

    def action_help(self) -> None:
        keys = [(a.key_label, a.description) for a in ACTIONS]
        self.push_screen(HelpScreen(keys, self.read_only, self.served))

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.display = True
        box.focus()

    @on(Input.Changed, "#filter")
    def filter_changed(self, event: Input.Changed) -> None:
        self.worker_filter = event.value
        self.query_one(WorkersTable).show(self.visible_workers(self.snapshot))

    @on(Input.Submitted, "#filter")
    def filter_done(self, event: Input.Submitted) -> None:
        if not event.value:
            event.input.display = False
        self.query_one(WorkersTable).focus()

    def action_clear_filter(self) -> None:
        box = self.query_one("#filter", Input)
        if box.display:
            box.value = ""
            box.display = False
            self.query_one(WorkersTable).focus()

    def action_cycle_sort(self) -> None:
        self.set_sort(SORTS[(SORTS.index(self.sort_by) + 1) % len(SORTS)])

    @on(DataTable.HeaderSelected, "#workers")
    def header_clicked(self, event: DataTable.HeaderSelected) -> None:
        if event.column_key.value in SORTS:
            self.set_sort(event.column_key.value)

    def set_sort(self, by: str) -> None:
        self.sort_by = by
        table = self.query_one(WorkersTable)
        table.border_title = f"workers (sort: {by})"
        table.show(self.visible_workers(self.snapshot))

    def get_system_commands(self, screen):
        yield from super().get_system_commands(screen)
        for a in ACTIONS:
            if a.name in ("help", "quit"):
                continue
            note = " (read-only: refused)" if self.read_only and a.changes else ""
            yield SystemCommand(a.description.capitalize() + note, f"key {a.key_label}",
                                lambda name=a.name: self.run_action(name))

