"""The control center's one way to the pool: a store behind solver.pool.link.Link (the one
reconnect policy: drop on a connection error, back off, try again) and one listener for
change notices. A session makes it once and hands it to the reader (jstui.live) and to
the backend that carries out the operator's actions (jstui.backend)."""
from __future__ import annotations

import asyncio
import time
from typing import Awaitable, Callable

from solver.pool.link import Link, Offline

# Faster than a worker's: a screen should come back soon after the pool does.
MIN_BACKOFF_S, MAX_BACKOFF_S = 0.5, 4.0


class PoolConnection:
    def __init__(self, dsn: str | None, *, open_store: Callable[[], Awaitable] | None = None,
                 on_notice: Callable[[str], None] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.dsn = dsn
        self.available = bool(dsn) or open_store is not None
        if open_store is None and dsn:
            from solver.pool import connect

            open_store = lambda: connect(dsn, max_size=3, timeout=5.0)  # noqa: E731
        self.on_notice = on_notice or (lambda table: None)
        self.on_lost: Callable[[], None] = lambda: None   # the listener's server went away
        self.on_connected: Callable[[], None] = lambda: None   # (re)connected: notices may
        # have been missed meanwhile
        self.link = Link(dsn or "", min_backoff=MIN_BACKOFF_S, max_backoff=MAX_BACKOFF_S,
                         on_connect=self._listen, open_store=open_store, clock=clock) \
            if self.available else None
        self._listener = None

    @property
    def store(self):
        """The store while connected, else None (the backend says the pool is away)."""
        return self.link.store if self.link is not None else None

    async def _listen(self, store) -> None:
        self._listener = await store.listen(self.on_notice)
        self._listener.add_termination_listener(lambda _c: self.on_lost())
        self.on_connected()

    async def call(self, fn):
        """FN(store) through the link: Offline while the pool cannot be reached (the link
        then retries on its own schedule)."""
        if self.link is None:
            raise Offline("no pool DSN")
        if self._listener is not None and self._listener.is_closed():
            await self.reset()       # the server went away under the listener
        try:
            return await self.link.call(fn)
        except Offline:
            raise
        except Exception:
            # Not a connection error the link knows, but the screen must outlive a server
            # restart whatever the driver calls it: open both connections again next time.
            await self.reset()
            raise

    async def reset(self) -> None:
        """Drop both connections: the next call opens them again."""
        listener, self._listener = self._listener, None
        if listener is not None:
            try:
                await asyncio.wait_for(listener.close(), 2.0)
            except Exception:  # already gone with the server
                pass
        if self.link is not None and self.link.store is not None:
            await self.link.drop()

    async def close(self) -> None:
        await self.reset()
        if self.link is not None:
            await self.link.close()
