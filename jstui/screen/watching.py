"""How an app that shows the dashboard watches its source: a reader task posts one
message per snapshot (memray's pattern), the app assigns one reactive attribute, and the
dashboard renders it inside a batch update. The bell rings when the answer lands while
the screen watches that puzzle; a puzzle already solved is said once, quietly."""
from __future__ import annotations

from textual import work
from textual.message import Message
from textual.reactive import reactive

from jstui.screen.dashboard import Dashboard
from jstui.snapshot import EMPTY, Snapshot, newly_solved


class SnapshotReady(Message):
    def __init__(self, snapshot: Snapshot) -> None:
        super().__init__()
        self.snapshot = snapshot


class Watching:
    """A mixin of an App with a `source` (jstui.snapshot.SnapshotSource) and a Dashboard."""

    snapshot: reactive[Snapshot] = reactive(EMPTY, always_update=True, init=False)

    def watch_start(self) -> None:
        self.previous: Snapshot | None = None
        self.landed_on: int | None = None     # the puzzle whose answer landed on screen
        self.told_solved: set = set()         # puzzles said to be solved already
        self.read_snapshots()

    @property
    def dashboard(self) -> Dashboard:
        return self.query_one(Dashboard)

    def on_resize(self, event) -> None:
        if self.query(Dashboard):
            self.dashboard.fit(event.size.width, event.size.height)

    @work(exclusive=True, group="reader")
    async def read_snapshots(self) -> None:
        async for snap in self.source.snapshots():
            self.post_message(SnapshotReady(snap))

    def on_snapshot_ready(self, message: SnapshotReady) -> None:
        if not self.query(Dashboard):   # the app is closing: its main screen is gone
            return
        self.snapshot = message.snapshot

    def watch_snapshot(self, snap: Snapshot) -> None:
        if newly_solved(self.previous, snap):
            self.bell()
            self.landed_on = snap.puzzle_id
        elif snap.solved and (snap.puzzle_id, snap.puzzle) not in self.told_solved \
                and (self.landed_on is None or snap.puzzle_id != self.landed_on):
            self.told_solved.add((snap.puzzle_id, snap.puzzle))
            self.solved_before(snap)
        self.previous = snap
        self.dashboard.show(snap, landed=self.landed_on is not None
                            and snap.puzzle_id == self.landed_on)

    def solved_before(self, snap: Snapshot) -> None:
        """A puzzle whose answer was in before the screen watched it (a hook)."""
