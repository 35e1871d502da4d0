"""A pool connection that survives the database going away: backoff, reconnect, outbox.

The worker keeps working while the database is down; whatever it found waits in the
outbox (and, at exit, in a spool file) until it can be delivered. Nothing is dropped
except submissions the door refuses, which are logged there.
"""
from __future__ import annotations

import json
import logging
import os
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Awaitable, Callable

from solver.atomic import replacing

from .base import Store
from .errors import PoolError, SubmissionRefused
from .locate import redact
from .store import connect, is_connection_error

log = logging.getLogger("solver.pool.link")


class Offline(Exception):
    """The database is unreachable right now; try again later."""


@dataclass
class Pending:
    """One solution waiting for delivery."""
    permutation: list[int]
    mse: float | None  # a claim the door checks; None lets the door compute it
    origin: str
    parents: list[int] = field(default_factory=list)
    found_at: float = field(default_factory=time.time)
    run: int | None = None       # lineage: the worker's run and how it started
    method: str | None = None


class Link:
    """Calls into the store; on a connection error, drops it and reconnects with backoff."""

    def __init__(self, dsn: str, *, min_backoff: float = 0.5, max_backoff: float = 10.0,
                 on_connect: Callable[[Store], Awaitable[None]] | None = None,
                 open_store: Callable[[], Awaitable[Store]] | None = None,
                 clock: Callable[[], float] = time.monotonic):
        self.dsn = dsn
        self.clock = clock
        # How to reach the pool: PostgreSQL at DSN, or what OPEN_STORE gives (tests).
        self._open = open_store or (lambda: connect(dsn, max_size=2, timeout=5.0))
        self.store: Store | None = None
        self.min_backoff, self.max_backoff = min_backoff, max_backoff
        self._backoff = 0.0
        self._next_try = 0.0
        self._on_connect = on_connect
        self.outages = 0

    @property
    def online(self) -> bool:
        return self.store is not None

    async def _connect(self) -> Store:
        if self.store is not None:
            return self.store
        if self.clock() < self._next_try:
            raise Offline("waiting to reconnect")
        try:
            store = await self._open()
            self.store = store
            if self._on_connect is not None:
                await self._on_connect(store)
        except Exception as exc:
            if self.store is not None:
                await self.drop()
            if isinstance(exc, PoolError) or is_connection_error(exc):
                self._schedule_retry(exc)
                raise Offline(str(exc)) from None
            raise
        if self._backoff:
            log.info("reconnected to the pool at %s", redact(self.dsn))
        self._backoff = 0.0
        return self.store

    def _schedule_retry(self, exc) -> None:
        self._backoff = min(self.max_backoff, max(self.min_backoff, self._backoff * 2))
        self._next_try = self.clock() + self._backoff
        log.warning("pool unreachable (%s); retrying in %.1f s", str(exc).splitlines()[0][:200], self._backoff)

    async def drop(self) -> None:
        store, self.store = self.store, None
        if store is not None:
            store.abort()

    async def ensure(self) -> bool:
        """Connect now if possible; False while offline."""
        try:
            await self._connect()
        except Offline:
            return False
        return True

    async def call(self, fn: Callable[[Store], Awaitable[Any]]) -> Any:
        """FN(store), or Offline when the database cannot be reached now."""
        store = await self._connect()
        try:
            return await fn(store)
        except Exception as exc:
            if not is_connection_error(exc):
                raise
            self.outages += 1
            await self.drop()
            self._schedule_retry(exc)
            raise Offline(str(exc)) from None

    async def close(self) -> None:
        store, self.store = self.store, None
        if store is not None:
            try:
                await store.close()
            except Exception:
                store.abort()


class Outbox:
    """Solutions found but not yet in the pool, oldest first."""

    def __init__(self):
        self.items: deque[Pending] = deque()
        self.delivered = 0
        self.refused = 0
        self._claimed: list[Path] = []

    def __len__(self) -> int:
        return len(self.items)

    def add(self, item: Pending) -> None:
        self.items.append(item)

    async def deliver(self, link: Link, submit: Callable[[Store, Pending], Awaitable[Any]]
                      ) -> list[tuple[Pending, Any]]:
        """Deliver in order with SUBMIT(store, item) until done or offline; returns what went in."""
        done = []
        while self.items:
            item = self.items[0]
            try:
                result = await link.call(lambda store: submit(store, item))
            except Offline:
                break
            except SubmissionRefused as exc:
                # Our own bug, not the pool's: the refusal is logged there too; keep going.
                log.error("the pool refused a solution: %s", exc)
                self.refused += 1
                self.items.popleft()
                continue
            self.items.popleft()
            self.delivered += 1
            done.append((item, result))
        self.settle()
        return done

    # ---- the spool: the outbox on disk when the process must exit while offline ----
    def spool(self, path: Path) -> None:
        """Written aside under a hidden name, so a worker starting meanwhile, which takes
        over the spool files it finds, never takes half of one."""
        path.parent.mkdir(parents=True, exist_ok=True)
        with replacing(path, "w", durable=True) as f:
            for item in self.items:
                f.write(json.dumps(asdict(item)) + "\n")

    def load_spools(self, paths: list[Path]) -> int:
        """Take over spool files: renamed first so two workers never both load one, and
        deleted only once everything in the outbox is delivered (see settle)."""
        count = 0
        for path in paths:
            owner = _claimer(path)
            if owner is not None and _alive(owner):
                continue
            base = path.name.split(".claimed-")[0]
            claimed = path.with_name(f"{base}.claimed-{os.getpid()}")
            try:
                path.rename(claimed)
            except OSError:
                continue
            for line in claimed.read_text().splitlines():
                if line.strip():
                    self.items.append(Pending(**json.loads(line)))
                    count += 1
            self._claimed.append(claimed)
        return count

    def settle(self) -> None:
        """Forget spool files taken over once the outbox has been delivered."""
        if not self.items:
            for path in self._claimed:
                path.unlink(missing_ok=True)
            self._claimed.clear()


def _claimer(path: Path) -> int | None:
    _, sep, pid = path.name.partition(".claimed-")
    return int(pid) if sep and pid.isdigit() else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
