"""The event log: relaunches, injections, surgery results, observer notes, errors."""
from __future__ import annotations

from rich.text import Text
from textual.widgets import RichLog

from jstui.snapshot import Event
from jstui.widgets.format import fmt_clock

KIND_STYLE = {"error": "bold red", "relaunch": "yellow", "inject": "cyan",
              "surgery": "magenta", "observe": "blue", "answer": "bold green"}


class EventLog(RichLog):
    """Appends only events it has not shown yet (by id)."""

    def __init__(self, **kwargs) -> None:
        super().__init__(max_lines=500, wrap=True, min_width=20, markup=False, **kwargs)
        self.last_id = 0
        self.can_focus = False

    def show(self, events: tuple[Event, ...]) -> None:
        for e in events:
            if e.id > self.last_id:
                self.write(event_line(e))
                self.last_id = e.id

    def note(self, kind: str, text: str, at: float) -> None:
        """A local line (an action's outcome) that never came from the pool."""
        self.write(event_line(Event(0, at, kind, text)))


def event_line(e: Event) -> Text:
    line = Text(f"{fmt_clock(e.at)} ", style="dim")
    line.append(f"{e.kind:<8}", style=KIND_STYLE.get(e.kind, ""))
    line.append(" " + e.text)
    return line
