"""Where the pool is: the DSN, resolved in one place (the flag, $JSTUI_DSN, the fleet
file, the word "embedded", the embedded server), and the DSN's words said safely.

The embedded server is imported only when it is the answer (a node has only numpy,
scipy and asyncpg).
"""
from __future__ import annotations

import os
from pathlib import Path

from typing import Literal

DSN_ENV = "JSTUI_DSN"
EMBEDDED = "embedded"   # as a DSN (`[pool] dsn = "embedded"`): this machine's embedded server
EMBEDDED_DOWN = ('the embedded pool (dsn "embedded") is not running: launch starts it, or '
                 '`python -m solver pool up` (with --listen 0.0.0.0 for other machines)')
NO_DSN = ("no pool database: pass --dsn, set JSTUI_DSN, or start the embedded one with "
          "`python -m solver pool up`")


def pick_dsn(flag: str | None, file: str | None = None) -> str | None:
    """The DSN asked for: the --dsn FLAG, else $JSTUI_DSN, else the fleet FILE's; it may
    be the word "embedded"."""
    return flag or os.environ.get(DSN_ENV) or file or None


def resolve_dsn(flag: str | None, *, file: str | None = None,
                embedded: Literal["no", "running", "start"] = "no",
                pgdata: Path | None = None) -> str | None:
    """The DSN to use: the --dsn FLAG, else $JSTUI_DSN, else the fleet FILE's, else the
    embedded server in PGDATA (if running, or started when EMBEDDED is "start"). The
    word "embedded" in any of them names that server too (over TCP when it listens
    there, for the fleet's other machines), found running or started likewise."""
    dsn = pick_dsn(flag, file)
    if dsn == EMBEDDED:
        return embedded_dsn(embedded == "start", pgdata, tcp=True)
    if dsn or embedded == "no":
        return dsn
    return embedded_dsn(embedded == "start", pgdata)


def embedded_dsn(start: bool, pgdata: Path | None = None, tcp: bool = False) -> str | None:
    """The embedded server's DSN (START: started if it is not running; else None when it
    is not). TCP: its TCP DSN, password included, when it listens there (`pool up
    --listen`); otherwise, and by default, its unix socket (this machine only)."""
    from solver.pool import embedded as server

    state = server.up(pgdata) if start else server.status(pgdata)
    if not state.running:
        return None
    return (server.tcp_dsn(state) if tcp else None) or state.dsn


def on_unix_socket(dsn: str) -> bool:
    """The DSN reaches its server over a unix socket: from this machine only."""
    from urllib.parse import parse_qs, urlsplit

    parts = urlsplit(dsn)
    host = parse_qs(parts.query).get("host", [parts.hostname or ""])[0]
    return not host or host.startswith("/")


def redact(dsn: str) -> str:
    """DSN without its password, for messages."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(dsn)
    if parts.password:
        netloc = parts.netloc.replace(":" + parts.password + "@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return dsn
