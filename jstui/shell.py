"""How jstui's commands behave in a shell pipeline: a reader that stops early (`| head`)
ends the output quietly, and what is printed keeps one line per row (`| grep`)."""
from __future__ import annotations

import os
import sys
from typing import Callable

from rich.console import Console

# Wide enough that no table row of ours wraps; tables are only as wide as their cells.
PIPE_WIDTH = 1000


def until_reader_stops(run: Callable[[], int]) -> int:
    """RUN's exit status; 0 when the reader of stdout went away first (`| head -n 1`
    has what it asked for: not an error, and no traceback)."""
    try:
        code = run()
        sys.stdout.flush()   # inside the try: a full pipe fails here, not at exit
        return code
    except BrokenPipeError:
        # Python flushes stdout again at exit and would complain: send that to nowhere.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return 0


class _Console(Console):
    """Rich's console, but a reader gone away is not an error: Rich would exit 1."""

    def on_broken_pipe(self) -> None:
        self.quiet = True
        raise BrokenPipeError   # until_reader_stops: exit 0


def stdout_console() -> Console:
    """A console for tables: the terminal's width, or when piped (and COLUMNS is unset)
    wide enough that rows never wrap."""
    if sys.stdout.isatty() or os.environ.get("COLUMNS"):
        return _Console()
    return _Console(width=PIPE_WIDTH)
