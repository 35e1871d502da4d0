"""How commands and files reach a node: over one reused asyncssh connection per node
(keepalive, timeouts, fallback addresses, backoff, a session cap), or on this machine."""
from __future__ import annotations

import asyncio
import os
import secrets
import shlex
import shutil
import time
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Callable, Sequence

from jstui.config import NodeConfig
from jstui.fleet.hostkeys import endpoint, known_hosts_option, refused_host_key
from jstui.fleet.model import NodeHealth, NodeState
from jstui.fleet.stream import Stream

StateListener = Callable[[NodeHealth], None]
BACKOFF_MAX = 60.0


class NodeError(Exception):
    """A node could not do what was asked; the message names the node."""


class NodeDown(NodeError):
    """The node cannot be reached (now); the message says why."""


@dataclass(frozen=True)
class Completed:
    returncode: int
    stdout: str
    stderr: str


class Transport:
    """Commands and files on one node; subclasses say how they get there."""

    def __init__(self, node: NodeConfig, listener: StateListener | None = None):
        self.node = node
        self._listener = listener
        self._sessions = asyncio.Semaphore(node.max_sessions)
        self.health = NodeHealth(node.name)

    def _set_health(self, state: NodeState, reason: str = "", address: str = "") -> None:
        new = NodeHealth(self.node.name, state, reason, address, time.time())
        changed = (new.state, new.reason, new.address) != (
            self.health.state, self.health.reason, self.health.address)
        self.health = new
        if changed and self._listener is not None:
            try:
                self._listener(new)
            except Exception:  # a listener's bug must not break the fleet
                pass

    async def run(self, argv: Sequence[str], timeout: float | None = 30.0,
                  input: str | None = None) -> Completed:
        """Run argv on the node (stdin: `input`, else nothing)."""
        raise NotImplementedError

    async def put(self, local: Path, remote: str) -> None:
        """Copy a file; the remote name appears only once it is complete."""
        await self.put_many([(local, remote)])

    async def put_many(self, files: Sequence[tuple[Path, str]]) -> None:
        """Copy several files (concurrently where the transport can)."""
        raise NotImplementedError

    async def connect(self) -> None:
        """Make sure the node is reachable (raises NodeDown)."""

    async def open_stream(self, argv: Sequence[str]) -> Stream:
        """A long-running command to talk to line by line (stderr discarded)."""
        raise NotImplementedError

    async def close(self) -> None:
        pass


class LocalTransport(Transport):
    """This machine: the same commands, run as subprocesses."""

    def __init__(self, node: NodeConfig, listener: StateListener | None = None):
        super().__init__(node, listener)
        self._set_health(NodeState.UP, address="localhost")

    async def run(self, argv: Sequence[str], timeout: float | None = 30.0,
                  input: str | None = None) -> Completed:
        async with self._sessions:
            try:
                proc = await asyncio.create_subprocess_exec(
                    *argv, stdin=asyncio.subprocess.DEVNULL if input is None
                    else asyncio.subprocess.PIPE,
                    stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
            except FileNotFoundError:
                return Completed(127, "", f"{argv[0]}: No such file or directory")
            except PermissionError:
                return Completed(126, "", f"{argv[0]}: Permission denied")
            try:
                out, err = await asyncio.wait_for(
                    proc.communicate(None if input is None else input.encode()), timeout)
            except asyncio.TimeoutError:
                proc.kill()
                await proc.wait()
                raise NodeError(f"node {self.node.name}: {argv[0]} timed out "
                                f"after {timeout:.0f} s") from None
            except asyncio.CancelledError:
                if proc.returncode is None:
                    proc.kill()
                await proc.wait()  # reap it: no process or transport left behind
                raise
            return Completed(proc.returncode, out.decode(errors="replace"),
                             err.decode(errors="replace"))

    async def open_stream(self, argv: Sequence[str]) -> Stream:
        proc = await asyncio.create_subprocess_exec(
            *argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL)

        def close() -> None:
            proc.stdin.close()
            if proc.returncode is None:
                proc.kill()
        return Stream(lambda text: proc.stdin.write(text.encode()), proc.stdout.readline,
                      proc.stdin.drain, close, proc.wait)

    async def put_many(self, files: Sequence[tuple[Path, str]]) -> None:
        def copy() -> None:
            for local, remote in files:
                tmp = part_name(remote)
                try:
                    shutil.copyfile(local, tmp)
                    os.replace(tmp, remote)
                finally:
                    if os.path.exists(tmp):
                        os.unlink(tmp)
        await asyncio.to_thread(copy)


class SSHTransport(Transport):
    """One asyncssh connection per node, opened on first use and reused."""

    def __init__(self, node: NodeConfig, listener: StateListener | None = None):
        super().__init__(node, listener)
        self._conn = None
        self._lock = asyncio.Lock()
        self._failures = 0
        self._retry_at = 0.0

    def _connected(self) -> bool:
        return self._conn is not None and not self._conn.is_closed()

    async def connect(self) -> None:
        await self._connection()

    async def _connection(self):
        if self._connected():
            return self._conn
        async with self._lock:
            if self._connected():
                return self._conn
            now = time.monotonic()
            if now < self._retry_at:
                raise NodeDown(f"node {self.node.name} is down: {self.health.reason} "
                               f"(next try in {self._retry_at - now:.0f} s)")
            self._set_health(NodeState.CONNECTING)
            errors = [problem] if (problem := self._local_problem()) else []
            for address in self.node.addresses if not errors else ():
                try:
                    self._conn = await self._open(address)
                except Exception as e:  # every failure is a reason to try the next one
                    errors.append(self._failure(e, address))
                    continue
                self._failures = 0
                self._retry_at = 0.0
                self._set_health(NodeState.UP, address=address)
                return self._conn
            self._failures += 1
            self._retry_at = time.monotonic() + min(BACKOFF_MAX, 2.0 ** (self._failures - 1))
            reason = "; ".join(errors)
            self._set_health(NodeState.DOWN, reason)
            raise NodeDown(f"node {self.node.name} is down: {reason}")

    def _local_problem(self) -> str | None:
        """A file on this machine that the connection needs and lacks: the same at every
        address, so it is said once, naming the file."""
        key = self.node.key_file
        if key and not os.path.isfile(key):
            return f"key_file {key}: no such file on this machine"
        return None

    def _failure(self, e: BaseException, address: str) -> str:
        """Why connecting to ADDRESS failed, naming the address and port."""
        import asyncssh

        if isinstance(e, asyncssh.HostKeyNotVerifiable):
            return refused_host_key(self.node, address)
        if isinstance(e, asyncssh.KeyImportError):   # e.g. a key with a passphrase
            return f"key_file {self.node.key_file}: {e}"
        return f"{endpoint(address, self.node.port)}: {describe_error(e)}"

    async def _open(self, address: str):
        import asyncssh

        node = self.node
        transport = self

        class Client(asyncssh.SSHClient):
            def connection_lost(self, exc):
                # Keepalive failures and resets land here: the next call reconnects.
                if transport._conn is not None and transport._conn is self._conn_ref:
                    transport._conn = None
                    transport._set_health(NodeState.DOWN, "connection lost: "
                                          + (describe_error(exc) if exc else "closed"))

            def connection_made(self, conn):
                self._conn_ref = conn

        options = dict(port=node.port, known_hosts=known_hosts_option(node),
                       connect_timeout=node.connect_timeout,
                       keepalive_interval=node.keepalive, keepalive_count_max=3,
                       client_factory=Client)
        if node.user:
            options["username"] = node.user
        if node.key_file:
            options["client_keys"] = [node.key_file]
        # connect_timeout covers the whole handshake; wait_for is the belt to its braces.
        return await asyncio.wait_for(asyncssh.connect(address, **options),
                                      node.connect_timeout + 1)

    async def run(self, argv: Sequence[str], timeout: float | None = 30.0,
                  input: str | None = None) -> Completed:
        import asyncssh

        command = shlex.join(argv)
        for attempt in (1, 2):
            conn = await self._connection()
            try:
                async with self._sessions:
                    result = await conn.run(command, check=False, timeout=timeout,
                                            input=input)
            except asyncssh.TimeoutError:
                raise NodeError(f"node {self.node.name}: {argv[0]} timed out "
                                f"after {timeout:.0f} s") from None
            except (asyncssh.ConnectionLost, asyncssh.DisconnectError, OSError) as e:
                self._drop(e)
                if attempt == 2:
                    raise NodeDown(f"node {self.node.name}: {describe_error(e)}") from None
                continue
            except asyncssh.ChannelOpenError as e:
                raise NodeError(f"node {self.node.name}: cannot open a session: "
                                f"{e.reason}") from None
            code = result.exit_status
            if code is None:  # killed by a signal on the node
                code = 128 + 9
            return Completed(code, _text(result.stdout), _text(result.stderr))
        raise AssertionError("unreachable")

    async def open_stream(self, argv: Sequence[str]) -> Stream:
        import asyncssh

        conn = await self._connection()
        try:
            proc = await conn.create_process(shlex.join(argv), stderr=asyncssh.DEVNULL)
        except asyncssh.ChannelOpenError as e:
            raise NodeError(f"node {self.node.name}: cannot open a session: {e.reason}") from None

        def close() -> None:
            proc.stdin.write_eof()
            proc.close()
        return Stream(proc.stdin.write, proc.stdout.readline, None, close, proc.wait_closed)

    def _drop(self, e: BaseException) -> None:
        if self._conn is not None:
            self._conn.abort()
        self._conn = None
        self._set_health(NodeState.DOWN, f"connection lost: {describe_error(e)}")

    async def put_many(self, files: Sequence[tuple[Path, str]]) -> None:
        import asyncssh

        conn = await self._connection()
        async with self._sessions:
            try:
                sftp = await conn.start_sftp_client()
            except (asyncssh.ChannelOpenError, asyncssh.SFTPError):
                sftp = None  # no SFTP subsystem on this node: stream through `cat`
            if sftp is None:
                for local, remote in files:
                    await self._put_by_cat(conn, local, remote)
                return
            try:
                # One SFTP session, requests in flight together: round trips overlap.
                await asyncio.gather(*(self._put_sftp(sftp, local, remote)
                                       for local, remote in files))
            finally:
                sftp.exit()
                await sftp.wait_closed()

    @staticmethod
    async def _put_sftp(sftp, local: Path, remote: str) -> None:
        import asyncssh

        tmp = part_name(remote)
        try:
            await sftp.put(str(local), tmp)
            try:
                await sftp.posix_rename(tmp, remote)
            except asyncssh.SFTPError:  # servers without the openssh extension
                if await sftp.exists(remote):
                    await sftp.remove(remote)
                await sftp.rename(tmp, remote)
        except Exception:
            try:
                await sftp.remove(tmp)   # none of ours left behind (if it is there)
            except asyncssh.SFTPError:
                pass
            raise

    async def _put_by_cat(self, conn, local: Path, remote: str) -> None:
        tmp = part_name(remote)
        data = await asyncio.to_thread(Path(local).read_bytes)
        tmp, target = shlex.quote(tmp), shlex.quote(remote)
        command = f"cat > {tmp} && mv -f {tmp} {target} || {{ rm -f {tmp}; exit 1; }}"
        r = await conn.run(command, input=data, encoding=None, check=False)
        if r.exit_status != 0:
            raise NodeError(f"node {self.node.name}: cannot write {remote}: "
                            f"{_text(r.stderr).strip()}")

    async def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            try:
                await asyncio.wait_for(self._conn.wait_closed(), 2)
            except (asyncio.TimeoutError, Exception):
                pass
            self._conn = None


def part_name(remote: str) -> str:
    """Where a copy is written before it is renamed to REMOTE: a hidden name no other
    copy uses (two deploys to one node at once must not write into one file)."""
    path = PurePosixPath(remote)
    return str(path.with_name(f".{path.name}.{secrets.token_hex(6)}.part"))


def make_transport(node: NodeConfig, listener: StateListener | None = None) -> Transport:
    return LocalTransport(node, listener) if node.kind == "local" else SSHTransport(node, listener)


def _text(value) -> str:
    if value is None:
        return ""
    return value.decode(errors="replace") if isinstance(value, bytes) else value


def describe_error(e: BaseException) -> str:
    """One line a person can act on."""
    import asyncssh

    if isinstance(e, asyncssh.PermissionDenied):
        return f"permission denied: {e.reason}"
    if isinstance(e, asyncssh.DisconnectError):
        return e.reason or type(e).__name__
    if isinstance(e, (asyncio.TimeoutError, TimeoutError)):
        return "connection timed out"
    if isinstance(e, ConnectionRefusedError):
        return "connection refused"
    if isinstance(e, OSError) and e.strerror:
        return f"{e.filename}: {e.strerror}" if e.filename else e.strerror
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__
