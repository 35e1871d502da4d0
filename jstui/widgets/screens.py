"""Full screens: help (every key), the large MSE chart, a worker's log tail."""
from __future__ import annotations

import math

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, RichLog, Static
from textual_plotext import PlotextPlot

from jstui.data import Snapshot, spans_decades


class HelpScreen(Screen):
    """`?`: every key of the main screen and what it does."""

    BINDINGS = [Binding("escape,q,question_mark", "app.pop_screen", "close")]

    def __init__(self, keys: list[tuple[str, str]], read_only: bool) -> None:
        super().__init__()
        self.keys, self.read_only = keys, read_only

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
        yield Static(table)
        yield Static(note)
        yield Footer()


class ChartScreen(Screen):
    """`c`: the pool best and each worker's best MSE on a large plotext chart."""

    BINDINGS = [Binding("escape,q,c", "app.pop_screen", "close")]

    def __init__(self, snapshot: Snapshot) -> None:
        super().__init__()
        self.snapshot = snapshot

    def compose(self) -> ComposeResult:
        yield PlotextPlot()
        yield Footer()

    def on_mount(self) -> None:
        self.draw(self.snapshot)

    def draw(self, snap: Snapshot) -> None:
        self.snapshot = snap
        plot = self.query_one(PlotextPlot)
        plt = plot.plt
        plt.clear_data()
        everything = list(snap.best_history) + [v for w in snap.workers for v in w.history]
        log = spans_decades(everything)
        tx = (lambda v: math.log10(v) if v > 0 else float("nan")) if log else (lambda v: v)
        plt.title("MSE over refreshes" + (" (log10)" if log else ""))
        for w in snap.workers[:8]:
            if w.history:
                plt.plot([tx(v) for v in w.history], label=f"{w.node}:{w.pid}")
        if snap.best_history:
            plt.plot([tx(v) for v in snap.best_history], label="pool best", marker="braille")
        plot.refresh()


class LogTailScreen(Screen):
    """`l`: the last lines of the selected worker's log, refreshed by the app."""

    BINDINGS = [Binding("escape,q,l", "app.pop_screen", "close")]

    def __init__(self, title: str) -> None:
        super().__init__()
        self.title_text = title
        self.closed = False

    def on_unmount(self) -> None:
        self.closed = True

    def compose(self) -> ComposeResult:
        yield Static(Text(self.title_text, style="bold"))
        yield RichLog(max_lines=2000, wrap=False, markup=False)
        yield Footer()

    def show(self, text: str) -> None:
        log = self.query_one(RichLog)
        log.clear()
        log.write(text, scroll_end=True)   # a tail: the newest lines in view
