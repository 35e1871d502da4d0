"""The replay screen: the dashboard the live control center shows (jstui.screen), fed a
ReplaySource, with the replay's own keys and timeline. It composes the dashboard; it has
no fleet and no backend, so it has no keys that act: a key that would is refused."""
from __future__ import annotations

from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import Footer, Input

from jstui.actions import ACTIONS, LOOKING
from jstui.app import CSS
from jstui.present import fmt_mse
from jstui.replay.timeline import Timeline
from jstui.screen.dashboard import Dashboard
from jstui.screen.watching import Watching
from jstui.snapshot import Snapshot
from jstui.widgets.modals import AskScreen
from jstui.widgets.screens import HelpScreen

REPLAY_ACTIONS = {"step", "play_pause", "speed", "goto_mse"}
# The live screen's keys that act: here each says why it does nothing.
ACTING = tuple(a for a in ACTIONS if a.changes)


class ReplayApp(Watching, App):
    TITLE = "jstui replay"
    CSS_PATH = CSS
    # Priority: the tables would take the arrows and space for their cursors.
    BINDINGS = [
        Binding("left", "step(-1)", "back", key_display="←", priority=True),
        Binding("right", "step(1)", "forward", key_display="→", priority=True),
        Binding("space", "play_pause", "play/pause", priority=True),
        Binding("left_square_bracket", "speed(-1)", "slower", key_display="["),
        Binding("right_square_bracket", "speed(1)", "faster", key_display="]"),
        Binding("g", "goto_mse", "go to MSE"),
        Binding("question_mark", "help", "help", key_display="?"),
        Binding("q", "quit", "quit"),
    ] + [Binding(a.key, f"refuse('{a.name}')", a.label, show=False) for a in ACTING]

    def __init__(self, source, **kwargs) -> None:
        super().__init__()
        self.source = source
        self.clock = kwargs.get("clock")

    def compose(self) -> ComposeResult:
        yield Timeline(id="timeline")
        yield Dashboard(read_only=True)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.watch_start()

    def check_action(self, action: str, parameters) -> bool | None:
        # Typing in the filter or a dialog: its keys are text, not replay steps.
        if action in REPLAY_ACTIONS and isinstance(self.focused, Input):
            return False
        return True

    def watch_snapshot(self, snap: Snapshot) -> None:
        # (back in time: the event log redraws itself in the order of the run)
        super().watch_snapshot(snap)
        if self.query(Timeline):
            self.query_one(Timeline).show(self.source)

    def action_refuse(self, name: str) -> None:
        what = next(a.description for a in ACTING if a.name == name)
        self.notify(f"read-only: a replay cannot {what}", severity="error", markup=False)

    def action_help(self) -> None:
        keys = [("←/→", "step back / forward"), ("space", "play / pause"),
                ("[ / ]", "slower / faster"), ("g", "go to the moment the best reached an MSE")]
        keys += [(a.key_label, a.description) for a in LOOKING]
        keys += [("?", "this help"), ("q", "quit")]
        self.push_screen(HelpScreen(keys, read_only=True))

    def action_step(self, direction: int) -> None:
        self.source.step(direction)

    def action_play_pause(self) -> None:
        self.source.toggle()

    def action_speed(self, direction: int) -> None:
        self.source.change_speed(direction)

    @work(group="dialogs")
    async def action_goto_mse(self) -> None:
        answer = await self.push_screen_wait(AskScreen(
            "Go to the moment the pool best first reached which MSE?", placeholder="e.g. 1e-4"))
        if not answer:
            return
        try:
            mse = float(answer)
        except ValueError:
            self.notify(f"{answer!r} is not an MSE", severity="error", markup=False)
            return
        if self.source.jump_to_mse(mse) is None:
            best = self.source.run.best[-1]
            self.notify(f"the pool best never reached {mse:g} in this run (its best: "
                        f"{fmt_mse(float(best))})", severity="warning")
