"""The dashboard: header, nodes, workers, the pool best, zones and the event log, rendered
from one snapshot. Its keys only look (filter, sort, the large chart); what acts on the
fleet belongs to the app that shows it."""
from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container, Horizontal, Vertical
from textual.widgets import DataTable, Input

from jstui.actions import LOOKING
from jstui.snapshot import EMPTY, Snapshot
from jstui.widgets.chart import BestChart
from jstui.widgets.columns import SORTS, filter_workers, sort_workers
from jstui.widgets.events import EventLog
from jstui.widgets.header import AnswerBanner, StatusHeader
from jstui.widgets.screens import ChartScreen
from jstui.widgets.sparks import BestSparkline
from jstui.widgets.tables import NodesTable, WorkersTable
from jstui.widgets.trends import WorkerTrends
from jstui.widgets.zones import ZonesBar

# From this size on, the dashboard draws the pool best against time, with each worker's
# trend beside it; below it, a one-line sparkline. From WIDE columns, two columns.
CHART_FROM = (140, 40)
WIDE = 140


class Dashboard(Container):
    BINDINGS = [Binding(a.key, a.name, a.label, show=a.in_footer, key_display=a.key_label)
                for a in LOOKING] + [Binding("escape", "clear_filter", "clear filter", show=False)]

    def __init__(self, read_only: bool = False, **kwargs) -> None:
        super().__init__(**kwargs)
        self.read_only = read_only
        self.snapshot: Snapshot = EMPTY
        self.landed = False
        self.worker_filter = ""
        self.sort_by = "node"
        self._chart: ChartScreen | None = None

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

    def on_mount(self) -> None:
        self.query_one("#banner").display = False
        self.query_one("#filter").display = False
        self.query_one("#nodes").border_title = "nodes"
        self.query_one("#workers").border_title = "workers (sort: node)"
        self.query_one("#events").border_title = "events"
        self.query_one("#trends").border_title = "workers' best MSE"
        self.query_one("#workers").focus()
        self.fit(self.app.size.width, self.app.size.height)
        if self.snapshot is not EMPTY:      # one came before the panels were built
            self.show(self.snapshot, self.landed)

    def fit(self, width: int, height: int) -> None:
        """Two columns from WIDE on; the chart from CHART_FROM on."""
        self.set_class(width >= WIDE, "-wide")
        chart = width >= CHART_FROM[0] and height >= CHART_FROM[1]
        if chart != self.has_class("-chart"):
            self.set_class(chart, "-chart")
            if chart:
                self.show(self.snapshot, self.landed)

    # ---- rendering -----------------------------------------------------------------
    def show(self, snap: Snapshot, landed: bool = False) -> None:
        """Every panel from SNAP; LANDED: the answer landed while this screen watched."""
        self.snapshot, self.landed = snap, landed
        if not self.query(AnswerBanner):    # not composed yet: on_mount shows it
            return
        with self.app.batch_update():
            self.query_one(AnswerBanner).show(snap, landed=landed)
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
        if self.app.focused is self.query_one(NodesTable):
            return self.query_one(NodesTable).selected_key
        worker = self.selected_worker()
        if worker is not None:
            return worker.node
        return self.query_one(NodesTable).selected_key

    # ---- the looking keys --------------------------------------------------------------
    def action_chart(self) -> None:
        self._chart = ChartScreen(self.snapshot)
        self.app.push_screen(self._chart)

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
