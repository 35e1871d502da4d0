"""The Textual control center: renders snapshots from a source, sends commands to controls.

Pattern of memray's TUI reporter: a reader task posts one message per snapshot; the app
assigns one reactive attribute and every widget renders from it inside a batch update.
"""
from __future__ import annotations

import asyncio
import time
from typing import Awaitable, Callable

from textual import on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Container, Vertical
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import DataTable, Footer, Input

from jstui.data import (
    EMPTY, Controls, Snapshot, SnapshotSource, filter_workers, newly_solved, sort_workers,
    uncertain_positions,
)
from jstui.widgets import (
    AnswerBanner, BestSparkline, EventLog, NodesTable, StatusHeader, WorkersTable, ZonesBar,
)
from jstui.widgets.modals import AskScreen, ChoiceScreen, ConfirmScreen
from jstui.widgets.screens import ChartScreen, HelpScreen, LogTailScreen

SEED_KINDS = [
    ("structural", "pair by trace, order by update norm"),
    ("jacobian", "order from the Jacobian of the output"),
    ("loo", "order from leave-one-out reports"),
    ("norm", "order by out-weight norm"),
    ("greedy", "greedy insertion on a data sample"),
    ("random", "random arrangements (diversity)"),
]

# (key, action, description): one list feeds the bindings, the help screen and the palette.
ACTIONS = [
    ("r", "relaunch_node", "relaunch", "relaunch the selected node's workers"),
    ("R", "relaunch_all", "relaunch all", "relaunch all nodes"),
    ("k", "stop_worker", "stop", "stop the selected worker"),
    ("i", "inject", "inject", "inject seeds into the pool (choose the kind)"),
    ("s", "surgery", "surgery", "break-point surgery on the pool best"),
    ("d", "deploy", "deploy", "deploy the code to every node"),
    ("a", "toggle_auto_relaunch", "auto", "toggle auto-relaunch of finished workers"),
    ("o", "knobs", "knobs", "change the observer knobs"),
    ("l", "tail_log", "log", "tail the selected worker's log"),
    ("c", "chart", "chart", "large MSE chart"),
    ("p", "switch_puzzle", "puzzle", "switch the puzzle on screen (the pool may hold several)"),
    ("slash", "filter", "filter", "filter workers"),
    ("t", "cycle_sort", "sort", "sort workers by the next column"),
    ("question_mark", "help", "help", "this help"),
    ("q", "quit", "quit", "quit"),
]
CHANGING = {"relaunch_node", "relaunch_all", "stop_worker", "inject", "surgery", "deploy",
            "toggle_auto_relaunch", "knobs"}
SORTS = ["node", "best", "mse", "rate", "status", "age", "step"]
FOOTER_KEYS = {"r", "R", "k", "i", "s", "d", "a", "o", "l", "c", "p", "slash", "question_mark",
               "q"}
KEY_LABEL = {"slash": "/", "question_mark": "?"}


class SnapshotReady(Message):
    def __init__(self, snapshot: Snapshot) -> None:
        super().__init__()
        self.snapshot = snapshot


class ControlCenter(App):
    """The main screen: header, nodes, workers, sparkline, zones, event log."""

    CSS_PATH = "jstui.tcss"
    TITLE = "jstui"
    BINDINGS = [
        Binding(key, action, label, show=key in FOOTER_KEYS, key_display=KEY_LABEL.get(key))
        for key, action, label, _ in ACTIONS
    ] + [Binding("escape", "clear_filter", "clear filter", show=False)]

    snapshot: reactive[Snapshot] = reactive(EMPTY, always_update=True, init=False)

    def __init__(self, source: SnapshotSource, controls: Controls | None = None,
                 read_only: bool = False, clock: Callable[[], float] = time.time) -> None:
        super().__init__()
        self.source = source
        self.controls = controls
        self.read_only = read_only or controls is None
        self.clock = clock
        self.worker_filter = ""
        self.sort_by = "node"
        self.previous: Snapshot | None = None
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
                yield Input(placeholder="filter workers: node, status, pid, runN", id="filter")
            with Vertical(id="right"):
                yield BestSparkline(id="spark")
                yield ZonesBar(id="zones")
                yield EventLog(id="events")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#banner").display = False
        self.query_one("#filter").display = False
        self.query_one("#nodes").border_title = "nodes"
        self.query_one("#workers").border_title = "workers (sort: node)"
        self.query_one("#events").border_title = "events"
        self.query_one("#workers").focus()
        self._apply_width(self.size.width)
        self.read_snapshots()

    def on_resize(self, event) -> None:
        self._apply_width(event.size.width)

    def _apply_width(self, width: int) -> None:
        self.set_class(width >= 140, "-wide")

    # ---- snapshots -----------------------------------------------------------------

    @work(exclusive=True, group="reader")
    async def read_snapshots(self) -> None:
        async for snap in self.source.snapshots():
            self.post_message(SnapshotReady(snap))

    def on_snapshot_ready(self, message: SnapshotReady) -> None:
        self.snapshot = message.snapshot

    def watch_snapshot(self, snap: Snapshot) -> None:
        if newly_solved(self.previous, snap) and self.previous is None:
            # Solved in an earlier session: no bell, but workers would exit at once, every
            # time; say how to give them something to do.
            self.query_one(EventLog).note(
                "answer", "the pool held the exact answer for this puzzle before this session: "
                "workers exit at once. For a new search: python -m solver generate DIR --kind "
                "pairing --seed 2, then jstui --puzzle DIR", snap.taken_at)
        elif newly_solved(self.previous, snap):
            self.bell()
            self.query_one(EventLog).note("answer", "the pool holds the target hash", snap.taken_at)
        self.previous = snap
        self._render(snap)

    def _render(self, snap: Snapshot) -> None:
        with self.batch_update():
            self.query_one(AnswerBanner).show(snap)
            self.query_one(StatusHeader).show(snap, self.read_only)
            self.query_one(NodesTable).show(snap.nodes)
            self.query_one(WorkersTable).show(self.visible_workers(snap))
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

    # ---- actions -------------------------------------------------------------------

    def refuse_if_read_only(self, what: str, needs_fleet: bool = False) -> bool:
        reason = None
        if self.read_only:
            reason = f"read-only: {what} refused"
        elif needs_fleet and not getattr(self.controls, "has_fleet", True):
            reason = f"no fleet: {what} needs a fleet file or the local fleet"
        return self.refuse(reason)

    def refuse_off_configured_puzzle(self, what: str) -> bool:
        """Inject and surgery go to the observer, which works on the configured puzzle:
        not while another one is on screen, where their effect would not be seen."""
        if self.snapshot.puzzle_is_configured:
            return False
        return self.refuse(f"{what} refused: the screen shows {self.snapshot.puzzle}, not the "
                           "configured puzzle the observer works on (p switches back)")

    def refuse(self, reason: str | None) -> bool:
        """Say why an action is refused (a toast and the event log); False: no reason."""
        if not reason:
            return False
        self.notify(reason, severity="error")
        self.query_one(EventLog).note("error", reason, self.clock())
        return True

    @work(group="actions")
    async def perform(self, what: str, call: Callable[[], Awaitable[str | None]],
                      kind: str) -> None:
        """Run one command; its outcome (or its error, in one sentence) goes to the log."""
        log = self.query_one(EventLog)
        try:
            outcome = await call()
        except Exception as exc:  # the command failed: say so, keep the UI alive
            log.note("error", f"{what} failed: {exc}", self.clock())
            self.notify(f"{what} failed: {exc}", severity="error")
            return
        log.note(kind, outcome or f"{what}: done", self.clock())

    async def confirm_then_perform(self, question: str, what: str,
                                   call: Callable[[], Awaitable[str | None]], kind: str) -> None:
        """Anything that kills or restarts work: ask first (from inside a dialog worker)."""
        if await self.push_screen_wait(ConfirmScreen(question)):
            self.perform(what, call, kind)

    @work(group="dialogs")
    async def action_relaunch_node(self) -> None:
        if self.refuse_if_read_only("relaunch", needs_fleet=True):
            return
        node = self.selected_node()
        if node is None:
            self.notify("no node selected", severity="warning")
            return
        view = next((n for n in self.snapshot.nodes if n.name == node), None)
        count = f"its {view.workers_expected} configured" if view is not None else "its configured"
        await self.confirm_then_perform(
            f"Relaunch node {node}? Its running workers are stopped, then {count} workers "
            f"start.{self.solved_note()}",
            f"relaunch {node}", lambda: self.controls.relaunch(node), "relaunch")

    def solved_note(self) -> str:
        """Said before a relaunch: new workers would find the answer in and exit at once."""
        return (" The pool holds the exact answer already: new workers exit at once."
                if self.snapshot.solved else "")

    @work(group="dialogs")
    async def action_relaunch_all(self) -> None:
        if self.refuse_if_read_only("relaunch", needs_fleet=True):
            return
        await self.confirm_then_perform(
            "Relaunch ALL nodes? Every running worker is stopped, then each node starts "
            f"its configured workers.{self.solved_note()}",
            "relaunch all", lambda: self.controls.relaunch(None), "relaunch")

    @work(group="dialogs")
    async def action_stop_worker(self) -> None:
        if self.refuse_if_read_only("stop"):
            return
        worker = self.selected_worker()
        if worker is None:
            self.notify("no worker selected", severity="warning")
            return
        await self.confirm_then_perform(
            f"Stop worker {worker.pid} on {worker.node}? Its best result stays in the pool.",
            f"stop {worker.node}:{worker.pid}", lambda: self.controls.stop_worker(worker),
            "relaunch")

    @work(group="dialogs")
    async def action_inject(self) -> None:
        if self.refuse_if_read_only("inject") or self.refuse_off_configured_puzzle("inject"):
            return
        kind = await self.push_screen_wait(ChoiceScreen("Inject which kind of seeds?", SEED_KINDS))
        if kind:
            self.perform(f"inject {kind}", lambda: self.controls.inject(kind), "inject")

    @work(group="dialogs")
    async def action_surgery(self) -> None:
        if self.refuse_if_read_only("surgery") or self.refuse_off_configured_puzzle("surgery"):
            return
        uncertain = uncertain_positions(self.snapshot.zones)
        answer = await self.push_screen_wait(AskScreen(
            "Surgery on the pool best: positions (e.g. 3,7-9) or 'uncertain' "
            f"({len(uncertain)} positions now)", default="uncertain"))
        if answer is None:
            return
        try:
            positions = parse_positions(answer)
        except ValueError as exc:
            self.notify(str(exc), severity="error")
            return
        self.perform("surgery", lambda: self.controls.surgery(positions), "surgery")

    @work(group="dialogs")
    async def action_deploy(self) -> None:
        if self.refuse_if_read_only("deploy", needs_fleet=True):
            return
        await self.confirm_then_perform(
            "Deploy the code to every node? Running workers keep the old code until relaunched.",
            "deploy", lambda: self.controls.deploy(), "relaunch")

    def action_toggle_auto_relaunch(self) -> None:
        if self.refuse_if_read_only("auto-relaunch", needs_fleet=True):
            return
        on_now = not self.snapshot.auto_relaunch
        self.perform(f"auto-relaunch {'on' if on_now else 'off'}",
                     lambda: self.controls.set_auto_relaunch(on_now), "relaunch")

    @work(group="dialogs")
    async def action_knobs(self) -> None:
        if self.refuse_if_read_only("observer knobs"):
            return
        current = " ".join(f"{k}={v:g}" for k, v in self.snapshot.knobs)
        answer = await self.push_screen_wait(AskScreen(
            "Observer knobs (name=value, space separated)", default=current))
        if not answer:
            return
        try:
            knobs = parse_knobs(answer)
        except ValueError as exc:
            self.notify(str(exc), severity="error")
            return
        self.perform("knobs", lambda: self.controls.set_knobs(knobs), "observe")

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
        listing = [(f"#{c.id}", f"{c.label}  {c.fingerprint[:12]}"
                    + ("  (configured)" if c.is_configured else "")
                    + ("  (on screen)" if c.id == self.snapshot.puzzle_id else ""))
                   for c in options]
        picked = await self.push_screen_wait(ChoiceScreen("Show which puzzle of the pool?",
                                                          listing))
        if picked:
            self.source.choose_puzzle(int(picked[1:]))
            self.query_one(EventLog).note("observe", f"showing puzzle #{picked[1:]}", self.clock())

    def action_help(self) -> None:
        keys = [(KEY_LABEL.get(k, k), d) for k, _, _, d in ACTIONS]
        self.push_screen(HelpScreen(keys, self.read_only))

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
        for key, action, _, desc in ACTIONS:
            if action in ("help", "quit"):
                continue
            note = " (read-only: refused)" if self.read_only and action in CHANGING else ""
            yield SystemCommand(desc.capitalize() + note, f"key {KEY_LABEL.get(key, key)}",
                                lambda a=action: self.run_action(a))


def parse_positions(text: str) -> list[int] | None:
    """'3,7-9' -> sorted 1-based positions; 'uncertain' (or nothing) -> None, which lets
    the surgery tool pick its window from the uncertain zone and the break points."""
    text = text.strip().lower()
    if text in ("", "uncertain"):
        return None
    out: set[int] = set()
    for part in text.replace(" ", "").split(","):
        try:
            if "-" in part:
                a, b = (int(x) for x in part.split("-", 1))
                out.update(range(a, b + 1))
            else:
                out.add(int(part))
        except ValueError:
            raise ValueError(f"positions: {part!r} is not a number or a range like 7-9") from None
    if not out or min(out) < 1:
        raise ValueError("positions start at 1")
    return sorted(out)


def parse_knobs(text: str) -> dict[str, float]:
    knobs = {}
    for part in text.split():
        name, sep, value = part.partition("=")
        try:
            if not sep or not name:
                raise ValueError
            knobs[name] = float(value)
        except ValueError:
            raise ValueError(f"knobs: {part!r} is not name=number") from None
    return knobs
