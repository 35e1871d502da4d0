"""The live control center: the dashboard (jstui.screen) fed by a snapshot source, the
operator's actions (jstui.operator) carried out by a backend (jstui.backend). Every key is
a record of jstui.actions: the bindings, the footer, the help and the palette read them.
"""
from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Callable

from textual import work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.widgets import Footer

from jstui.actions import ACTIONS
from jstui.backend import Backend
from jstui.operator import OperatorActions
from jstui.screen.dashboard import Dashboard
from jstui.screen.watching import Watching
from jstui.snapshot import Snapshot, SnapshotSource
from jstui.widgets.modals import ChoiceScreen
from jstui.widgets.screens import HelpScreen, LogTailScreen

CSS = Path(__file__).parent / "jstui.tcss"


class RecordedState(Backend):
    """No fleet, no pool: a recorded state's lines stay on its screen."""

    def __init__(self, app) -> None:
        self.app = app

    def record(self, kind: str, text: str) -> None:
        from jstui.widgets.events import EventLog

        self.app.query_one(EventLog).note(kind, text, self.app.clock())


class ControlCenter(Watching, OperatorActions, App):
    CSS_PATH = CSS
    TITLE = "jstui"
    BINDINGS = [Binding(a.key, a.name, a.label, show=a.in_footer, key_display=a.key_label)
                for a in ACTIONS if not a.looks]

    def __init__(self, source: SnapshotSource, backend: Backend | None = None,
                 read_only: bool = False, clock: Callable[[], float] = time.time,
                 served: str | None = None) -> None:
        super().__init__()
        self.source = source
        self.backend = backend if backend is not None else RecordedState(self)
        self.read_only = read_only or backend is None
        self.served = served   # None in a terminal; "read-only" / "actions" in a browser
        self.clock = clock
        self._tail: LogTailScreen | None = None

    def compose(self) -> ComposeResult:
        yield Dashboard(self.read_only)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.watch_start()

    def solved_before(self, snap: Snapshot) -> None:
        self.notify("the pool held the exact answer for this puzzle already: new workers "
                    "exit at once. For a new search: python -m solver generate DIR --kind "
                    "pairing --seed 2, then jstui --puzzle DIR", timeout=10)

    # ---- keys that look ------------------------------------------------------------
    def action_tail_log(self) -> None:
        worker = self.dashboard.selected_worker()
        if worker is None:
            self.notify("no worker selected", severity="warning")
            return
        if not self.backend.has_fleet:
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
                text = await self.backend.tail(worker)
            except Exception as exc:  # a dead node: say so on the screen, keep trying
                text = f"cannot read the log: {exc}"
            if screen.closed:
                return
            screen.show(text)
            await asyncio.sleep(2.0)

    @work(group="dialogs")
    async def action_switch_puzzle(self) -> None:
        options = self.snapshot.puzzles
        if not self.source.can_choose_puzzle or len(options) < 2:
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

    def get_system_commands(self, screen):
        yield from super().get_system_commands(screen)
        for a in ACTIONS:
            if a.name in ("help", "quit"):
                continue
            note = " (read-only: refused)" if self.read_only and a.changes else ""
            target = self.dashboard if a.looks else self
            yield SystemCommand(a.description.capitalize() + note, f"key {a.key_label}",
                                lambda name=a.name, target=target: target.run_action(name))
