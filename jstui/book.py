"""The event book as one session sees it: the pool's events (solver.pool's event book,
read in (at, id) order) and the session's own, written to the pool as soon as it can
be reached and shown meanwhile, so that none is lost while the pool is away."""
from __future__ import annotations

from dataclasses import dataclass

from jstui.snapshot import Event
from solver.pool.words import EventKind, EventSource


@dataclass(frozen=True)
class Pending:
    """One event of this session, not stored yet."""
    number: int
    at: float
    kind: EventKind
    source: EventSource
    text: str


class EventBook:
    def __init__(self, keep: int = 300) -> None:
        self.keep = keep
        self.rows: dict[int, Event] = {}      # the pool's, by id
        self.last_id = 0                      # the newest pool id read
        self.pending: list[Pending] = []
        self._numbers = 0

    def reset(self) -> None:
        """Another puzzle on screen: its events are read again from the start."""
        self.rows, self.last_id = {}, 0

    def note(self, kind, text: str, at: float, source=EventSource.OPERATOR) -> None:
        self._numbers += 1
        self.pending.append(Pending(self._numbers, at, EventKind(kind), EventSource(source), text))

    async def flush(self, store, puzzle_id: int | None = None) -> None:
        """Write the pending events, oldest first; one that fails waits for the next try."""
        while self.pending:
            p = self.pending[0]
            await store.add_event(p.kind, p.text, source=p.source, puzzle_id=puzzle_id, at=p.at)
            self.pending.pop(0)

    def take(self, rows) -> None:
        """The pool's event rows (EventRow), as fetch_events hands them out."""
        for r in rows:
            self.rows[r.id] = Event(r.id, r.at.timestamp(), r.kind.value, r.line)
            self.last_id = max(self.last_id, r.id)
        if len(self.rows) > self.keep:
            for old in sorted(self.rows, key=lambda i: (self.rows[i].at, i))[:-self.keep]:
                del self.rows[old]

    def snapshot(self) -> tuple[Event, ...]:
        """The events to show, in time order; the unstored ones have negative ids."""
        mine = [Event(-p.number, p.at, p.kind.value, p.text) for p in self.pending]
        return tuple(sorted([*self.rows.values(), *mine], key=lambda e: (e.at, e.id)))
