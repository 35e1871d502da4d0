"""Full screens: help (every key), the large chart, a worker's log tail."""
from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.containers import Horizontal
from textual.widgets import Footer, RichLog, Static

from jstui.snapshot import Snapshot
from jstui.widgets.chart import BestChart
from jstui.widgets.trends import WorkerTrends


class HelpScreen(Screen):
    """`?`: every key of the main screen and what it does."""

    BINDINGS = [Binding("escape,q,question_mark", "app.pop_screen", "close")]

    def __init__(self, keys: list[tuple[str, str]], read_only: bool,
                 served: str | None = None) -> None:
        super().__init__()
        self.keys, self.read_only, self.served = keys, read_only, served

    def compose(self) -> ComposeResult:
        table = Table(title="jstui keys", expand=False, show_edge=False)
        table.add_column("key", style="bold cyan")
        table.add_column("action")
        for key, what in self.keys:
            table.add_row(key, what)
        table.add_row("ctrl+p", "command palette: every action by name")
        note = Text("\nread-only: every action that changes the fleet or the pool is refused."
                    if self.read_only else "\nactions that kill or restart work ask first.",
                    style="dim")
        if self.served:
            note.append("\nin a browser (jstui serve): sessions are read-only unless the server "
                        "was started with --allow-actions; the address carries its access token.",
                        style="dim")
        yield Static(table)
        yield Static(note)
        yield Footer()


class ChartScreen(Screen):
    """`c`: the pool best against time on the whole screen, each worker's trend beside it."""

    BINDINGS = [Binding("escape,q,c", "app.pop_screen", "close")]

    def __init__(self, snapshot: Snapshot) -> None:
        super().__init__()
        self.snapshot = snapshot

    def compose(self) -> ComposeResult:
        with Horizontal(id="chart-row"):
            yield BestChart(id="big-chart")
            yield WorkerTrends(id="big-trends")
        yield Footer()

    def on_mount(self) -> None:
        self.draw(self.snapshot)

    def draw(self, snap: Snapshot) -> None:
        self.snapshot = snap
        self.query_one(BestChart).show(snap.best_history, snap.taken_at)
        self.query_one(WorkerTrends).show(snap.workers)


class LogTailScreen(Screen):
    """`l`: the last lines of the selected worker's log, refreshed by the app."""

    BINDINGS = [Binding("escape,q,l", "app.pop_screen", "close")]

    def __init__(self, title: str) -> None:
        super().__init__()
        self.title_text = title
        self.closed = False
        self._text: str | None = None

    def on_unmount(self) -> None:
        self.closed = True

    def compose(self) -> ComposeResult:
        yield Static(Text(self.title_text, style="bold"))
        yield RichLog(max_lines=2000, wrap=False, markup=False)
        yield Footer()

    def on_mount(self) -> None:
        if self._text is not None:
            self.show(self._text)

    def show(self, text: str) -> None:
        """The tail's text; kept for on_mount when it comes before the screen is built
        (a fast answer, or an error, right after the screen is pushed)."""
        self._text = text
        logs = self.query(RichLog)
        if not logs:
            return
        log = logs.first()
        log.clear()
        log.write(text, scroll_end=True)   # a tail: the newest lines in view
