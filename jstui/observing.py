"""The observer beside a jstui session: `python -m solver observe` on this machine (which
holds the puzzle's files), started for any fleet the session drives unless another
observer holds the pool's lease. It runs detached, so that it goes on serving workers
left running when the screen closes (marking the silent ones lost, running queued
commands), and ends by itself IDLE_EXIT_S after the last of them.
"""
from __future__ import annotations

import asyncio
import os
import signal
import sys
from dataclasses import dataclass

from solver.pool.base import LEASE_TTL_S
from solver.pool.home import data_dir
from solver.pool.locate import DSN_ENV

IDLE_EXIT_S = 300.0
INTERVAL_S = 5.0


def pid_file():
    return data_dir() / "observer.pid"


@dataclass
class ObserverProcess:
    pid: int
    idle_exit_s: float
    proc: asyncio.subprocess.Process | None = None

    @property
    def returncode(self) -> int | None:
        return self.proc.returncode if self.proc is not None else (None if self.alive else 0)

    @property
    def alive(self) -> bool:
        if self.proc is not None:
            return self.proc.returncode is None
        return _alive(self.pid)

    async def stop(self, grace: float = 10.0) -> None:
        """SIGTERM (it gives its lease up and says so), SIGKILL after GRACE seconds."""
        if self.proc is None:
            _terminate(self.pid)
            return
        if self.proc.returncode is None:
            self.proc.terminate()
            try:
                await asyncio.wait_for(self.proc.wait(), grace)
            except asyncio.TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        _forget(self.pid)


async def current_lease(dsn: str):
    """Who holds the pool's lease now (a LeaseRow, or None); None too if the pool cannot
    be read, in which case the observer started next finds out for itself."""
    from solver.pool import connect

    try:
        store = await connect(dsn, max_size=1, timeout=5)
    except Exception:
        return None
    try:
        return await store.fetch_lease()
    finally:
        await store.close()


async def start_observer(plan, idle_exit_s: float = IDLE_EXIT_S) -> tuple[ObserverProcess | None, str]:
    """(the observer started, or None; one line saying which and why)."""
    if plan.puzzle is None or not plan.dsn:
        missing = "no puzzle is configured" if plan.puzzle is None else "no pool is configured"
        return None, (f"no observer: {missing}, so inject and surgery cannot run and nothing "
                      "marks silent workers lost")
    lease = await current_lease(plan.dsn)
    if lease is not None and lease.live(LEASE_TTL_S):
        return None, (f"the observer {lease.holder} already acts on the pool (its lease was "
                      f"renewed {lease.beat_age_s:.0f} s ago): it runs inject and surgery")
    log_path = data_dir() / "observer.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "solver", "observe", "--puzzle", plan.puzzle,
            "--interval", f"{INTERVAL_S:g}", "--idle-exit", f"{idle_exit_s:g}",
            stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=asyncio.subprocess.STDOUT,
            start_new_session=True, env={**os.environ, DSN_ENV: plan.dsn,
                                         "PYTHONUNBUFFERED": "1"})
    pid_file().write_text(f"{proc.pid}\n")
    return ObserverProcess(proc.pid, idle_exit_s, proc), (
        f"observer started (pid {proc.pid}): it runs inject and surgery, marks silent workers "
        f"lost and turns the knobs; its log: {log_path}")


def stop_recorded_observer() -> str | None:
    """`jstui down`: stop the observer a session left running on this machine."""
    try:
        pid = int(pid_file().read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    if not _alive(pid):
        _forget(pid)
        return None
    _terminate(pid)
    return f"the observer (pid {pid}) stopped"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    try:   # a zombie child of ours is dead
        done, _ = os.waitpid(pid, os.WNOHANG)
        return done == 0
    except ChildProcessError:
        return True


def _terminate(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    _forget(pid)


def _forget(pid: int) -> None:
    try:
        if pid_file().read_text().split()[0] == str(pid):
            pid_file().unlink()
    except (OSError, IndexError):
        pass
