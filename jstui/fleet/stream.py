"""A long-running command on a node, talked to line by line (the warm agent that
answers status and tail without a Python start per call)."""
from __future__ import annotations

import asyncio
from typing import Awaitable, Callable


class Stream:
    """Line-by-line requests to a long-running command on a node."""

    def __init__(self, write: Callable[[str], None], readline: Callable[[], Awaitable],
                 drain: Callable[[], Awaitable] | None, close: Callable[[], None],
                 wait_closed: Callable[[], Awaitable]):
        self._write, self._readline, self._drain, self._close = write, readline, drain, close
        self._wait_closed = wait_closed

    async def readline(self, timeout: float | None) -> str:
        line = await asyncio.wait_for(self._readline(), timeout)
        if isinstance(line, bytes):
            line = line.decode(errors="replace")
        if not line:
            raise EOFError("the command ended")
        return line

    async def request(self, line: str, timeout: float | None) -> str:
        self._write(line + "\n")
        if self._drain is not None:
            await self._drain()
        return await self.readline(timeout)

    def close(self) -> None:
        try:
            self._close()
        except Exception:  # already gone
            pass

    async def aclose(self) -> None:
        """Close and wait until the command has ended (no process left behind)."""
        self.close()
        try:
            await asyncio.wait_for(self._wait_closed(), 5)
        except Exception:  # gone already, or the connection with it
            pass
