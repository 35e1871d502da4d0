"""The worker's side of the pool: registration, one round trip per heartbeat, deliveries
that survive the database going away, and the spool file at exit.

What the run loop finds waits in the outbox until it is delivered; while the database is
down the loop goes on (starting from fresh seeds) and the link retries with backoff.
"""
from __future__ import annotations

import asyncio
import logging
import os
import time
from collections import deque
from pathlib import Path
from typing import Awaitable, Callable

from solver.pool.knobs import KNOBS, config_version
from solver.pool.link import Link, Offline, Outbox, Pending
from solver.pool.rows import Beat
from solver.pool.words import ExitCode
from solver.worker.loop import Outcome, RunLoop

log = logging.getLogger("solver.worker")


class PoolExchange:
    def __init__(self, dsn: str | None, puzzle, node: str, *, heartbeat: float = 2.0,
                 history_every: float = 10.0, max_backoff: float = 10.0,
                 open_store: Callable[[], Awaitable] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.puzzle, self.node, self.clock = puzzle, node, clock
        self.heartbeat, self.history_every = heartbeat, history_every
        self.connection = Link(dsn, on_connect=self._on_connect, max_backoff=max_backoff,
                         open_store=open_store)
        self.outbox = Outbox()
        self.history: deque[tuple] = deque(maxlen=20_000)   # kept while offline
        self.worker_id: int | None = None
        self.puzzle_id: int | None = None
        self.knobs = {k: knob.default for k, knob in KNOBS.items()}
        self.config_version = 0
        self.closing = False                   # ends the exchange
        self._ready: asyncio.Event | None = None

    @property
    def online(self) -> bool:
        return self.connection.online

    @property
    def ready(self) -> asyncio.Event:
        if self._ready is None:                # made inside the running loop
            self._ready = asyncio.Event()
        return self._ready

    # ---- what the run loop asks -------------------------------------------------------
    def knob(self, key: str) -> float:
        return self.knobs[key]

    async def elites(self, k: int) -> list:
        return await self._call(lambda s: s.fetch_top(k, self.puzzle_id)) or []

    async def best(self):
        return await self._call(lambda s: s.fetch_best(self.puzzle_id))

    def push(self, item: Pending) -> None:
        self.outbox.add(item)
        self.ready.set()

    async def _call(self, fn):
        try:
            return await self.connection.call(fn)
        except Offline:
            return None

    # ---- the pool's side --------------------------------------------------------------
    async def _on_connect(self, store) -> None:
        self.puzzle_id = await store.register_puzzle(self.puzzle, name=self.puzzle.name or None)
        if self.worker_id is None:
            self.worker_id = await store.register_worker(self.puzzle_id, self.node, os.getpid())
            log.info("registered as worker %d for puzzle %d (%s)", self.worker_id,
                     self.puzzle_id, self.puzzle.fingerprint[:12])
        config = await store.fetch_config()
        self._take_knobs({k: c.value for k, c in config.items()}, config_version(config))

    def _take_knobs(self, values: dict[str, float], version: int) -> None:
        self.knobs.update({k: v for k, v in values.items() if k in KNOBS})
        self.config_version = version

    async def _submit(self, store, item: Pending):
        return await store.submit(self.puzzle, item.permutation, item.mse, origin=item.origin,
                                  node=self.node, worker_id=self.worker_id, parents=item.parents,
                                  run=item.run, method=item.method)

    async def deliver(self, loop: RunLoop) -> None:
        for item, result in await self.outbox.deliver(self.connection, self._submit):
            if result.new:
                log.info("pushed solution #%d mse %.6g sha %s (%s)", result.id, result.mse,
                         result.sha256[:16], item.origin)
            else:  # found here too, but another worker (or an earlier run) stored it first
                log.info("found solution #%d again (mse %.6g sha %s): it was in the pool "
                         "already", result.id, result.mse, result.sha256[:16])
            loop.delivered(result.mse, result.exact)

    async def beat(self, store, loop: RunLoop) -> None:
        """One round trip: say where the loop stands, hand over the history points, take
        the knobs if they changed, learn whether the answer is in, take a command."""
        points = list(self.history)
        reply = await store.beat(self.worker_id, Beat(**loop.report(),
                                                      config_version=self.config_version), points)
        for _ in points:
            self.history.popleft()
        if reply.config is not None:
            self._take_knobs(reply.config, reply.config_version)
        if reply.exact:
            loop.pool_solved()
        command = reply.command
        if command is not None:
            log.info("command #%d: %s %s", command.id, command.kind, command.args or "")
            if command.kind == "stop":
                loop.request_stop(f"stop command #{command.id}")
            else:
                loop.new_run()
            await store.finish_command(command.id, True, {"worker": self.worker_id})

    async def exchange_forever(self, loop: RunLoop) -> None:
        """Deliver what was found as soon as it is found; heartbeat every few seconds."""
        next_beat = next_history = 0.0
        while not self.closing:
            # Not wait_for: before 3.12 it can swallow a cancellation; we end by a flag.
            waiter = asyncio.ensure_future(self.ready.wait())
            await asyncio.wait({waiter}, timeout=max(0.0, next_beat - self.clock()))
            waiter.cancel()
            self.ready.clear()
            if self.closing:
                break
            try:
                await self.deliver(loop)
                now = self.clock()
                if now >= next_beat:
                    if now >= next_history:
                        self.history.append(loop.history_point())
                        next_history = now + self.history_every
                    next_beat = now + self.heartbeat
                    await self.connection.call(lambda s: self.beat(s, loop))
            except Offline:
                next_beat = self.clock() + min(self.heartbeat, 1.0)
            except Exception:
                log.exception("pool exchange failed; will retry")
                next_beat = self.clock() + self.heartbeat

    # ---- the end ---------------------------------------------------------------------
    def spool_prefix(self) -> str:
        return f"{self.node}-{self.puzzle.fingerprint[:16]}-"

    def take_spools(self, spool_dir: Path) -> int:
        taken = self.outbox.load_spools(sorted(spool_dir.glob(f"{self.spool_prefix()}*")))
        if taken:
            log.info("took over %d undelivered results from the spool", taken)
        return taken

    async def shut_down(self, loop: RunLoop, outcome: Outcome, flush_timeout: float,
                        spool_dir: Path) -> int:
        """Deliver what waits (for up to FLUSH_TIMEOUT), spool the rest, say how it ended."""
        deadline = self.clock() + flush_timeout
        while True:
            await self.deliver(loop)
            if not self.outbox or self.clock() >= deadline:
                break
            await asyncio.sleep(0.2)
        code, reason = outcome.code, outcome.reason
        if self.outbox:
            path = spool_dir / f"{self.spool_prefix()}{os.getpid()}.jsonl"
            self.outbox.spool(path)
            log.error("pool unreachable: %d results wait in %s for the next worker on this node",
                      len(self.outbox), path)
            code, reason = ExitCode.SPOOLED, f"{reason}; {len(self.outbox)} results spooled to {path}"
        if self.worker_id is not None:
            best = loop.report()["best_mse"]
            await self._call(lambda s: s.finish_worker(self.worker_id, outcome.state, reason, best))
        await self.connection.close()
        log.info("worker exits with %d (%s): %s", code, outcome.state.value, reason)
        return code
