"""Auto-relaunch, in one place: the screen's session and `Fleet.watch` both run this.

Workers whose runs are done are started again (crashed and lost ones too, when the fleet
file says relaunch_crashed), at most once per EVERY seconds, and never once the pool
holds the exact answer: new workers would find it and exit at once, in a loop.
"""
from __future__ import annotations

import asyncio
import time
from typing import Callable

from jstui.fleet.model import FleetStatus, NodeResult, WorkerState

EVERY = 10.0


class AutoRelaunch:
    def __init__(self, fleet, every: float = EVERY, clock: Callable[[], float] = time.monotonic):
        self.fleet, self.every, self.clock = fleet, every, clock
        self._last = -1e18

    def wanted(self) -> set[WorkerState]:
        policy = self.fleet.config.workers
        return {WorkerState.DONE} | ({WorkerState.CRASHED, WorkerState.LOST}
                                    if policy.relaunch_crashed else set())

    async def tick(self, status: FleetStatus, solved: bool = False) -> list[NodeResult]:
        """Relaunch what the policy wants now; [] when it is off, too soon, or solved."""
        if not self.fleet.config.workers.auto_relaunch or solved:
            return []
        if self.clock() - self._last < self.every:
            return []
        self._last = self.clock()
        wanted = self.wanted()
        slots = {n.node: [w.slot for w in n.workers if w.state in wanted] for n in status.nodes}
        return await self.fleet.launch_slots({node: s for node, s in slots.items() if s})

    async def run(self, note: Callable[[str, str], None], solved: Callable[[], bool],
                  interval: float = 2.0) -> None:
        """Until cancelled: look at the fleet every INTERVAL s, relaunch, and NOTE(kind,
        text) each node it touched."""
        while True:
            if self.fleet.config.workers.auto_relaunch and not solved():
                try:
                    for r in await self.tick(await self.fleet.status(deadline=2.0), solved()):
                        if r.workers or not r.ok:
                            note("relaunch" if r.ok else "error",
                                 f"auto-relaunch {r.node}: {r.summary}")
                except Exception as exc:  # a bad round must not end the loop
                    note("error", f"auto-relaunch: {exc}")
            await asyncio.sleep(interval)
