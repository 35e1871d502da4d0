"""The event log: relaunches, injections, surgery results, observer notes, errors."""
from __future__ import annotations

from rich.text import Text
from textual.widgets import RichLog

from jstui.snapshot import Event
from jstui.present import EVENT_STYLE, fmt_clock



class EventLog(RichLog):
    """The event book in time order: new events at the end are appended; an event that
    belongs earlier (stored late, or a replay seeking back) redraws the log in order."""

    def __init__(self, **kwargs) -> None:
        super().__init__(max_lines=500, wrap=True, min_width=20, markup=False, **kwargs)
        self.shown: tuple[tuple[int, float], ...] = ()
        self.local: list[Event] = []
        self.can_focus = False

    def show(self, events: tuple[Event, ...]) -> None:
        events = tuple(sorted((*events, *self.local), key=lambda e: (e.at, e.id)))
        keys = tuple((e.id, e.at) for e in events)
        if keys[:len(self.shown)] == self.shown:
            fresh = events[len(self.shown):]
        else:
            self.clear()
            fresh = events
        for e in fresh:
            self.write(event_line(e))
        self.shown = keys

    def note(self, kind: str, text: str, at: float) -> None:
        """A line of this screen only (no pool to write to: a recorded state)."""
        self.local.append(Event(-1_000_000 - len(self.local), at, kind, text))
        self.show(())


def event_line(e: Event) -> Text:
    line = Text(f"{fmt_clock(e.at)} ", style="dim")
    line.append(f"{e.kind:<8}", style=EVENT_STYLE.get(e.kind, ""))
    line.append(" " + e.text)
    return line
