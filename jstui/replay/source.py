"""The replay as a snapshot source (jstui.snapshot.SnapshotSource): plays a loaded run
at SPEED run-seconds per second, pauses, steps and seeks; the app renders what it yields
exactly as it renders the live reader's snapshots."""
from __future__ import annotations

import asyncio
from typing import AsyncIterator

from jstui.replay.frames import frame_at, needed
from jstui.replay.run import Run
from jstui.snapshot import Snapshot, SnapshotSource

TREND_POINTS = 120   # samples of a worker's best in its trend
SPEEDS = (1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200)


class ReplaySource(SnapshotSource):
    """T is the moment on screen; a step is one second of play (SPEED run-seconds)."""

    def __init__(self, store, run: Run, *, speed: float = 60.0, tick: float = 0.5,
                 playing: bool = True) -> None:
        self.store, self.run = store, run
        self.speed, self.tick, self.playing = float(speed), tick, playing
        self.t = run.start
        self.solutions: dict = {}          # id -> SolutionRow, read as they are shown
        self.placed = False                # frames are placed from outside (the cast export)
        self.moved = asyncio.Event()

    # ---- what the keys do --------------------------------------------------------------
    def seek(self, t: float) -> None:
        self.t = min(self.run.end, max(self.run.start, t))
        self.moved.set()

    def step(self, direction: int) -> None:
        self.playing = False
        self.seek(self.t + direction * self.speed)

    def toggle(self) -> None:
        if not self.playing and self.t >= self.run.end:
            self.t = self.run.start          # play again from the start
        self.playing = not self.playing
        self.moved.set()

    def change_speed(self, direction: int) -> None:
        faster = [s for s in SPEEDS if s > self.speed]
        slower = [s for s in SPEEDS if s < self.speed]
        if direction > 0 and faster:
            self.speed = float(faster[0])
        elif direction < 0 and slower:
            self.speed = float(slower[-1])
        self.moved.set()

    def jump_to_mse(self, mse: float) -> float | None:
        """Seek to when the pool best first reached MSE; None (and no move): never."""
        t = self.run.first_reaching(mse)
        if t is not None:
            self.playing = False
            self.seek(t)
        return t

    def choose_puzzle(self, puzzle_id: int) -> None:
        """A replay shows its one puzzle."""

    # ---- frames -----------------------------------------------------------------------
    async def frame(self, t: float | None = None) -> Snapshot:
        """The screen at T (default: now on screen); reads the few solutions it shows."""
        t = self.t if t is None else t
        for sid in needed(self.run, t):
            if sid not in self.solutions:
                self.solutions[sid] = await self.store.fetch_solution(sid)
        samples = await self.store.fetch_worker_samples_at(self.run.puzzle.id, t, TREND_POINTS)
        return frame_at(self.run, t, self.solutions, samples)

    async def snapshots(self) -> AsyncIterator[Snapshot]:
        if self.placed:   # a frame of its own, arriving late, would overwrite a placed one
            await asyncio.Event().wait()
        while True:
            self.moved.clear()
            yield await self.frame()
            try:
                await asyncio.wait_for(self.moved.wait(), self.tick)
                continue                      # a key moved it: show that at once
            except asyncio.TimeoutError:
                pass
            if self.playing:
                self.t = min(self.run.end, self.t + self.speed * self.tick)
                self.playing = self.t < self.run.end
