"""The live reader: the pool (LISTEN + periodic re-query) and the fleet, read together and
put into snapshots (jstui.assemble). Commands are jstui.backend. What it writes, when its
session may act (RECORD): the session's own events (jstui.book: written once the pool can
be reached, shown meanwhile) and what it sees of the fleet (jstui.recorder: exits,
nodes down and back), both in the refresh that saw them.

One dedicated listening connection; after a database restart both it and the query pool
are opened again with backoff, and meanwhile the last snapshot is shown with the reason.
A slow node never holds up a refresh beyond the fleet's status deadline.
"""
from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from pathlib import Path
from typing import AsyncIterator, Awaitable, Callable

from jstui.assemble import History, PoolState, build_snapshot
from jstui.book import EventBook
from jstui.connection import PoolConnection
from jstui.puzzles import ConfiguredPuzzle, PuzzleChoice, Shown, choices, choose, identify
from jstui.snapshot import Snapshot, SnapshotSource
from solver.pool.base import TABLES
from solver.pool.words import EventKind, EventSource


class LiveSource(SnapshotSource):
    """Yields a snapshot per refresh: on a change notice (at most every MIN_INTERVAL s),
    else every REFRESH s. The pool through CONNECTION (jstui.connection, shared with the
    backend), else one made here for DSN (OPEN_STORE: how to open it, for tests)."""

    def __init__(self, dsn: str | None, fleet=None, *,
                 puzzle: str | ConfiguredPuzzle | None = None, refresh: float = 5.0,
                 min_interval: float = 0.5, zone_k: int = 20, count_every: float = 5.0,
                 open_store: Callable[[], Awaitable] | None = None, clock=time.time,
                 record: bool = False, connection: PoolConnection | None = None) -> None:
        self.dsn, self.fleet = dsn, fleet
        self.connection = connection or PoolConnection(dsn, open_store=open_store)
        self.connection.on_notice = self._on_notice
        self.connection.on_lost = lambda: self.changed.set()
        self.connection.on_connected = self._read_everything
        # The puzzle to show: given, else the fleet's. A path is identified (by
        # fingerprint) on the first read, in a thread: loading a puzzle takes a while.
        if puzzle is None and fleet is not None:
            puzzle = fleet.config.puzzle
        self.configured = puzzle if isinstance(puzzle, ConfiguredPuzzle) else None
        self._puzzle_path = puzzle if isinstance(puzzle, str) else None
        self.chosen_puzzle: int | None = None
        self.FULL_EVERY, self.SLOW_EVERY = max(30.0, refresh), count_every
        self.refresh, self.min_interval, self.zone_k = refresh, min_interval, zone_k
        self.clock = clock
        self.history = History()
        self.book = EventBook()
        self.record = record          # this session may act: it writes its events and exits
        self.recorder = None          # what it sees of the fleet goes to the pool
        if record and fleet is not None:
            from jstui.recorder import FleetRecorder
            self.recorder = FleetRecorder()
        self.changed = asyncio.Event()
        if self.configured is not None:
            self.note(EventKind.OBSERVE, self.configured.description, EventSource.FLEET)
        self.last = Snapshot(taken_at=clock())
        self._last_pool = PoolState()
        self.dirty: set[str] = set(TABLES)
        self._fleet_seen = False
        self._pid: int | None = None
        self._shown: Shown | None = None
        self._puzzles: dict = {}
        self._choices: tuple[PuzzleChoice, ...] = ()
        self._parts: dict = {}
        self._full_at = self._counted_at = -1e9
        self._best_id: int | None = None
        self._best_over_time: tuple[tuple[float, float], ...] = ()

    can_choose_puzzle = True

    @property
    def store(self):
        """The pool's store while connected (None while it is away)."""
        return self.connection.store

    @property
    def silent_after(self) -> float:
        """The fleet file's patience with a silent worker (the pool's rule by default)."""
        from solver.pool.lifecycle import SILENT_AFTER_S

        return self.fleet.config.workers.silent_after if self.fleet is not None else SILENT_AFTER_S

    @property
    def auto_relaunch(self) -> bool:
        """What the fleet's config says now (the backend may have turned it)."""
        return bool(self.fleet is not None and self.fleet.config.workers.auto_relaunch)

    def _on_notice(self, table: str) -> None:
        self.dirty.add(table)
        self.changed.set()

    def _read_everything(self) -> None:
        """(Re)connected: notices may have been missed, so the next refresh reads all."""
        self._full_at = -1e9

    def poke(self) -> None:
        """Refresh now (after an action), within the rate limit."""
        self.changed.set()

    def note(self, kind: str, text: str, source: EventSource = EventSource.OPERATOR) -> None:
        """A line for the event book from this side (an action's outcome, a relaunch):
        written to the pool when this session records, else shown here only."""
        self.book.note(kind, text, self.clock(), source)
        self.poke()

    def choose_puzzle(self, puzzle_id: int) -> None:
        """The operator switched puzzles: read everything of that one at once."""
        self.chosen_puzzle = puzzle_id
        self._full_at = -1e9
        self.poke()

    async def snapshots(self) -> AsyncIterator[Snapshot]:
        try:
            while True:
                snap = await self.read_once()
                self.last = snap
                yield snap
                # the link keeps its own backoff: look again soon, it answers at once
                await self._wait(self.min_interval * 2 if snap.pool_error
                                 else self._next_refresh())
        finally:
            await self.close()

    def _next_refresh(self) -> float:
        """REFRESH, or sooner when a solution count was put off by its rate limit."""
        if "solutions" not in self.dirty:
            return self.refresh
        due = self._counted_at + self.SLOW_EVERY - time.monotonic()
        return min(self.refresh, max(self.min_interval, due))

    async def read_once(self, fleet_deadline: float | None = None) -> Snapshot:
        """One refresh: the pool and the fleet read concurrently. A pool that cannot be
        read leaves its last state on show, with the reason; the fleet view goes on.
        FLEET_DEADLINE: how long to wait for the nodes (a one-shot `status` waits;
        the screen's refreshes do not, see _fleet_status)."""
        started = time.perf_counter()
        fleet_task = asyncio.ensure_future(self._fleet_status(fleet_deadline))
        pool, pool_error = self._last_pool, None
        if not self.connection.available:
            pool_error = "no pool DSN"
        else:
            try:
                pool = self._last_pool = await self.connection.call(self._read_pool)
            except Exception as exc:  # the server is away or restarting: reconnect later
                pool_error = f"unreachable ({_one_line(exc)}); retrying"
        fleet_status = await fleet_task
        if pool_error is None:
            try:
                await self.connection.call(lambda store: self._write_and_read_events(
                    store, pool, fleet_status))
            except Exception as exc:   # written next time; the screen goes on
                pool_error = f"unreachable ({_one_line(exc)}); retrying"
        snap = build_snapshot(pool, fleet_status, self.clock(), history=self.history,
                              events=self.book.snapshot(), auto_relaunch=self.auto_relaunch,
                              pool_error=pool_error, silent_after=self.silent_after)
        return replace(snap, refresh_ms=(time.perf_counter() - started) * 1000)

    async def _write_and_read_events(self, store, pool: PoolState, fleet_status) -> None:
        """This session's events and what it saw of the fleet go to the pool (when it
        records); then the event book's new lines come back, in order."""
        if self.record:
            await self.book.flush(store)
            if self.recorder is not None:
                await self.recorder.record(store, pool.workers, fleet_status)
        if self._pid is not None or self._shown is not None:
            self.book.take(await store.fetch_events(self._pid, after_id=self.book.last_id))

    async def _read_pool(self, store) -> PoolState:
        """Re-read what the change notices named; workers every time (their ages move).

        The solution count (tens of ms on a 100,000-row pool) runs at most every
        SLOW_EVERY seconds and the best-over-time curve once per puzzle (then each new
        best is appended); everything is re-read every FULL_EVERY seconds in case a
        notice was missed.
        """
        now = time.monotonic()
        dirty, self.dirty = self.dirty, set()
        # No notice comes when a puzzle is registered: look again on every full read, and
        # on every read while the configured puzzle is not in the pool yet.
        waiting = self._pid is None and self._puzzle_path is None
        if now - self._full_at >= self.FULL_EVERY or waiting:
            dirty |= TABLES
            self._full_at = now
            await self._choose_puzzle(store)
        if self._pid is None:
            return PoolState(shown=self._shown, puzzles=self._choices)
        values = await self._read_parts(store, dirty, now)
        parts = self._parts
        parts.update(values)
        if "knobs" in values:
            parts["knobs"] = tuple(sorted((k, v.value) for k, v in values["knobs"].items()))
        await self._follow_best(store, parts.get("best"))
        return PoolState(puzzle=self._puzzles.get(self._pid), shown=self._shown,
                         puzzles=self._choices, best=parts.get("best"),
                         top=tuple(parts.get("top", ())), counts=parts.get("counts"),
                         workers=tuple(parts["workers"]), knobs=parts.get("knobs", ()),
                         best_over_time=self._best_over_time, lease=parts.get("lease"),
                         commands=tuple(parts.get("cmds", ())))

    async def _read_parts(self, store, dirty: set[str], now: float) -> dict:
        """The reads a refresh needs, all at once."""
        pid, parts = self._pid, self._parts
        # workers, the lease and the commands every time: their ages move
        reads = {"workers": store.fetch_workers(pid), "lease": store.fetch_lease(),
                 "cmds": store.fetch_commands(30)}
        if "solutions" in dirty or "best" not in parts:
            reads["best"] = store.fetch_best(pid)
            reads["top"] = store.fetch_top(self.zone_k, pid)
            if now - self._counted_at >= self.SLOW_EVERY or "counts" not in parts:
                reads["counts"] = store.counts(pid)
                self._counted_at = now
            else:
                self.dirty.add("solutions")     # count again once the rate limit allows
        if "config" in dirty or "knobs" not in parts:
            reads["knobs"] = store.fetch_config()
        return dict(zip(reads, await asyncio.gather(*reads.values())))

    async def _follow_best(self, store, best) -> None:
        """The pool best over time: the whole curve once per puzzle, then each new best."""
        if best is None or best.id == self._best_id:
            return
        if self._best_id is None:
            curve = await store.fetch_best_over_time(self._pid)
            self._best_over_time = tuple((t.timestamp(), m) for t, m in curve)[-500:]
        elif not self._best_over_time or best.mse < self._best_over_time[-1][1]:
            point = (best.created_at.timestamp(), best.mse)
            self._best_over_time = (self._best_over_time + (point,))[-500:]
        self._best_id = best.id

    async def _choose_puzzle(self, store) -> None:
        from solver.puzzle.files import PuzzleError

        if self._puzzle_path is not None:
            try:
                self.configured = await asyncio.to_thread(identify, self._puzzle_path)
            except PuzzleError as exc:   # shown, and tried again at the next full read
                self._shown = Shown(None, Path(self._puzzle_path).name,
                                    f"cannot read the configured puzzle: {exc}", True)
                self._pid, self._parts = None, {}
                return
            self._puzzle_path = None
            self.note(EventKind.OBSERVE, self.configured.description, EventSource.FLEET)
        rows = await store.fetch_puzzles()
        newest = None
        if self.configured is None and self.chosen_puzzle is None:
            newest = await store.current_puzzle_id()
        shown = choose(rows, self.configured, self.chosen_puzzle, newest)
        self._puzzles = {p.id: p for p in rows}
        self._choices = choices(rows, self.configured)
        if shown.id != self._pid:
            self._pid, self._parts, self._best_id = shown.id, {}, None
            self._best_over_time = ()
            self.book.reset()
        self._shown = shown

    async def _fleet_status(self, deadline: float | None = None):
        if self.fleet is None:
            return None
        try:
            self._fleet_seen, first = True, not self._fleet_seen
            if deadline is not None:
                return await self.fleet.status(deadline=deadline)
            # late nodes come back stale with their last state and are awaited in the
            # background, so a short deadline costs nothing but a refresh of delay
            return await self.fleet.status(deadline=0.3 if first else 1.0)
        except Exception as exc:  # never let the fleet take the pool view down
            self.note(EventKind.ERROR, f"fleet status: {_one_line(exc)}", EventSource.FLEET)
            return None

    async def close(self) -> None:
        """Close the pool connections (the reader's own, when it is used once)."""
        await self.connection.close()

    async def _wait(self, timeout: float) -> None:
        """Until a change notice or the timeout; never faster than min_interval."""
        await asyncio.sleep(self.min_interval)
        try:
            await asyncio.wait_for(self.changed.wait(), max(0.0, timeout - self.min_interval))
        except asyncio.TimeoutError:
            pass
        self.changed.clear()


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:160]
