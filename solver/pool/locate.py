"""Where things are: the pool's DSN and the data directory, resolved in one place.

A node may have only numpy, scipy and asyncpg, so platformdirs is optional here and the
embedded server is imported only when it is the answer.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

DSN_ENV = "JSTUI_DSN"
NO_DSN = ("no pool database: pass --dsn, set JSTUI_DSN, or start the embedded one with "
          "`python -m solver pool up`")


def data_dir() -> Path:
    """jstui's data directory: the embedded server, the local node, spools, puzzles."""
    try:
        import platformdirs
    except ImportError:
        base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
        return Path(base) / "jstui"
    return Path(platformdirs.user_data_dir("jstui"))


def resolve_dsn(flag: str | None, *, file: str | None = None,
                embedded: Literal["no", "running", "start"] = "no",
                pgdata: Path | None = None) -> str | None:
    """The DSN to use: the --dsn FLAG, else $JSTUI_DSN, else the fleet FILE's, else the
    embedded server in PGDATA (if running, or started when EMBEDDED is "start")."""
    dsn = flag or os.environ.get(DSN_ENV) or file
    if dsn or embedded == "no":
        return dsn or None
    from solver.pool import embedded as server

    state = server.up(pgdata) if embedded == "start" else server.status(pgdata)
    return state.dsn


def redact(dsn: str) -> str:
    """DSN without its password, for messages."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(dsn)
    if parts.password:
        netloc = parts.netloc.replace(":" + parts.password + "@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return dsn
