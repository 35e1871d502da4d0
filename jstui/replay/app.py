"""The replay screen: the live control center fed a ReplaySource, with the replay's keys
and its timeline. Read-only: there is no fleet behind a replay."""
from __future__ import annotations

from pathlib import Path

from textual import work
from textual.binding import Binding
from textual.widgets import Input

from jstui.app import ControlCenter
from jstui.replay.timeline import Timeline
from jstui.snapshot import Snapshot
from jstui.widgets.format import fmt_mse
from jstui.widgets.modals import AskScreen

REPLAY_ACTIONS = {"step", "play_pause", "speed", "goto_mse"}


class ReplayApp(ControlCenter):
    TITLE = "jstui replay"
    CSS_PATH = Path(__file__).parent.parent / "jstui.tcss"   # relative paths: to this module
    # Priority: the tables would take the arrows and space for their cursors.
    BINDINGS = [
        Binding("left", "step(-1)", "back", key_display="←", priority=True),
        Binding("right", "step(1)", "forward", key_display="→", priority=True),
        Binding("space", "play_pause", "play/pause", priority=True),
        Binding("left_square_bracket", "speed(-1)", "slower", key_display="["),
        Binding("right_square_bracket", "speed(1)", "faster", key_display="]"),
        Binding("g", "goto_mse", "go to MSE"),
    ]

    def __init__(self, source, **kwargs) -> None:
        super().__init__(source, None, read_only=True, **kwargs)

    def on_mount(self) -> None:
        self.mount(Timeline(id="timeline"), before=self.query_one("#body"))

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
            self.notify(f"{answer!r} is not an MSE", severity="error")
            return
        if self.source.jump_to_mse(mse) is None:
            best = self.source.run.best[-1]
            self.notify(f"the pool best never reached {mse:g} in this run (its best: "
                        f"{fmt_mse(float(best))})", severity="warning")
