"""A jstui session: what starts with the screen and what stops with it, said on exit; and
`jstui status` and `jstui down`, for scripts.

With no fleet file, the session is this machine's local fleet on the embedded pool: it
launches one worker per core (deploying first), starts the observer, relaunches finished
workers when asked to, and on `q` stops them and says what became of the pool.
"""
from __future__ import annotations

import asyncio
import json
import os
import sys
from dataclasses import asdict
from pathlib import Path

from jstui.fleet.opening import open_fleet
from jstui.widgets.format import fmt_age, fmt_mse, fmt_rate
from solver.pool import embedded
from solver.pool.locate import data_dir, resolve_dsn
from solver.pool.store import redact

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2
# Set by `jstui serve` for the app processes it runs: "read-only" or "actions".
SERVED_ENV = "JSTUI_SERVED"


class UsageError(Exception):
    """A flag the user must fix (exit 2)."""


def say(line: str) -> None:
    print(f"jstui: {line}", file=sys.stderr)


class Session:
    """The fleet and pool one jstui run looks at, and what it started."""

    def __init__(self, fleet, dsn: str | None, local: bool, pool_started: bool = False):
        self.fleet, self.dsn, self.local = fleet, dsn, local
        self.pool_started = pool_started     # the embedded pool was started for this session
        self.observer: asyncio.subprocess.Process | None = None
        self.launched = False                # this session launched the local workers
        self.keepers: list[asyncio.Task] = []

    @classmethod
    async def open(cls, args, *, start: bool = True) -> "Session":
        """From the flags, the fleet file or the local default. START: the local default
        may start the embedded pool and generate its puzzle (`status` does neither)."""
        if args.pool_only:
            dsn = resolve_dsn(args.dsn)
            if not dsn:
                raise UsageError("--pool-only needs --dsn or JSTUI_DSN")
            return cls(None, dsn, False)
        from jstui.config import find_config

        was_running = None
        if start and find_config(args.config) is None:
            announce_local_default(args)
            was_running = embedded.status().running
        fleet, local = await open_fleet(args.config, dsn=args.dsn, puzzle=args.puzzle,
                                        workers=getattr(args, "workers", None),
                                        start_pool=start, make_puzzle=start)
        started = was_running is False and fleet.config.dsn == embedded.status().dsn
        return cls(fleet, fleet.config.dsn, local, pool_started=started)

    async def shown_puzzle(self, args):
        """The puzzle the screen shows, identified now, so that a wrong path is one line
        and exit 2 before anything starts: --puzzle, else the fleet's; None: the newest."""
        from jstui.puzzles import identify

        path = self.fleet.config.puzzle if self.fleet is not None else args.puzzle
        if path is None:
            return None
        return await asyncio.to_thread(identify, str(Path(path).expanduser().resolve()))

    # ---- the local fleet ---------------------------------------------------------------
    async def start_local(self) -> list[str]:
        """Launch the local workers (deploying first where needed) and the observer; one
        line per problem."""
        problems = [f"launch {r.node}: {r.summary}" for r in await self.fleet.launch() if not r.ok]
        self.launched = True
        self.observer = await start_observer(self.fleet.config)
        return problems

    def keep(self, source) -> None:
        """Tasks that run with the screen: auto-relaunch (when the fleet asks for it)."""
        from jstui.fleet.relauncher import AutoRelaunch

        if self.fleet is not None:
            relauncher = AutoRelaunch(self.fleet)
            self.keepers.append(asyncio.ensure_future(
                relauncher.run(source.note, solved=lambda: source.last.solved)))

    async def close(self, *, stop_workers: bool, keep_pool: str | None) -> list[str]:
        """Stop what this session started; the lines say what became of each part."""
        for task in self.keepers:
            task.cancel()
        await asyncio.gather(*self.keepers, return_exceptions=True)
        lines = []
        if self.observer is not None:
            await stop_process(self.observer)
        if self.fleet is not None:
            if self.launched and stop_workers:
                stopped = sum(len(r.workers) for r in await self.fleet.stop())
                lines.append(f"{stopped} local worker(s) stopped (--keep-running leaves them "
                             "running)" if stopped else "no local worker was still running")
            elif self.launched:
                lines.append("local workers left running (--keep-running); `jstui down` stops "
                             "them and the pool")
            await self.fleet.close()
        if self.local:
            if self.launched and not stop_workers:
                keep_pool = keep_pool or "its workers go on"
            lines.append(self.pool_fate(keep_pool))
        return lines

    def pool_fate(self, keep: str | None) -> str:
        """Stop the embedded pool if this session started it and nothing KEEPs it (the
        reason to leave it running); say which."""
        state = embedded.status()
        if not state.running or self.dsn != state.dsn:
            return f"the pool at {redact(self.dsn or '-')} is not the embedded one: left as it is"
        if not self.pool_started:
            keep = keep or "it was running before this session"
        if keep is None:
            embedded.down()
            return f"embedded pool stopped ({state.data_dir}; --keep-pool leaves it running)"
        return f"embedded pool left running ({keep}): {state.dsn}; `jstui down` stops it"


def announce_local_default(args) -> None:
    from jstui.fleet.local import DEFAULT_PUZZLE, default_puzzle_path

    say("no fleet file; starting the local fleet on the embedded pool…")
    if args.puzzle is None and not default_puzzle_path().is_dir():
        say(f"generating the first-run puzzle once ({DEFAULT_PUZZLE['blocks']} blocks, "
            f"kind '{DEFAULT_PUZZLE['kind']}': the fleet needs minutes for it; about 30 s)…")


async def start_observer(cfg):
    """The local fleet's observer (`solver observe`): it turns the knobs, marks silent
    workers lost and runs the inject / surgery commands the UI queues. A child of jstui:
    it stops when jstui does."""
    log_path = data_dir() / "observer.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "solver", "observe", "--dsn", cfg.dsn,
            "--puzzle", cfg.puzzle, "--interval", "5",
            stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=asyncio.subprocess.STDOUT)


async def stop_process(proc) -> None:
    if proc.returncode is None:
        proc.terminate()
        try:
            await asyncio.wait_for(proc.wait(), 5.0)
        except asyncio.TimeoutError:
            proc.kill()
            await proc.wait()


def run_app(args) -> int:
    for line in asyncio.run(serve(args)):
        say(line)
    return EXIT_OK


async def serve(args, drive=None) -> list[str]:
    """Open the session, show the screen until it quits, close the session; the lines say
    what became of the workers and the pool. DRIVE(app, session) replaces running the
    app in the terminal (tests drive it with Textual's pilot)."""
    from jstui.app import ControlCenter
    from jstui.controls import LiveControls
    from jstui.live import LiveSource

    # One event loop for setup, the app and shutdown: the fleet's connections and
    # child processes belong to the loop that made them.
    session = await Session.open(args)
    puzzle = await session.shown_puzzle(args)
    problems = await session.start_local() if session.local and not args.read_only else []
    for line in problems:
        say(line)
    source = LiveSource(session.dsn, session.fleet, puzzle=puzzle, refresh=args.refresh)
    for line in problems:
        source.note("error", line)
    if not args.read_only:
        session.keep(source)
    app = ControlCenter(source, LiveControls(source, session.fleet), read_only=args.read_only,
                        served=os.environ.get(SERVED_ENV))
    try:
        await (app.run_async() if drive is None else drive(app, session))
    finally:
        keep = "--keep-pool" if args.keep_pool else "--read-only" if args.read_only else None
        farewell = await session.close(stop_workers=not args.keep_running, keep_pool=keep)
    return farewell


def run_down(args) -> int:
    """`jstui down`: the local workers (left by --keep-running) and the embedded pool."""
    async def main() -> list[str]:
        fleet, local = await open_fleet(None, start_pool=False)
        try:
            stopped = [w for r in await fleet.stop() for w in r.workers]
        finally:
            await fleet.close()
        return [f"{len(stopped)} local worker(s) stopped" if stopped else "no local worker running"]

    lines = asyncio.run(main())
    state = embedded.status()
    lines.append(f"embedded pool stopped ({state.data_dir})" if embedded.down()
                 else f"no embedded pool running ({state.data_dir})")
    for line in lines:
        print(line)
    return EXIT_OK


def run_status(args) -> int:
    from jstui.live import LiveSource

    async def once():
        session = await Session.open(args, start=False)
        try:
            source = LiveSource(session.dsn, session.fleet, puzzle=await session.shown_puzzle(args))
            try:
                return await source.read_once(fleet_deadline=args.deadline)
            finally:
                await source.close()
        finally:
            if session.fleet is not None:
                await session.fleet.close()

    snap = asyncio.run(once())
    error = snap.pool_error and f"pool {snap.pool_error}"
    print(json.dumps(status_dict(snap, error), indent=2) if args.json else status_text(snap))
    return EXIT_FAIL if error else EXIT_OK


def status_dict(snap, error: str | None) -> dict:
    d = asdict(snap)
    d.pop("events", None)
    d["error"] = error
    return d


def status_text(snap) -> str:
    lines = [f"jstui: pool {snap.pool_error}"] if snap.pool_error else []
    others = [f"#{c.id} {c.label}" for c in snap.puzzles if c.id != snap.puzzle_id]
    lines += [
        f"puzzle   {snap.puzzle or '-'}" + (f" ({snap.puzzle_why})" if snap.puzzle_why else ""),
        *([f"         also in the pool: {', '.join(others)} (--puzzle DIR shows another)"]
          if others else []),
        f"target   {snap.target_sha256 or '-'}",
        f"answer   {'FOUND' if snap.solved else 'not yet'}",
        f"best     {fmt_mse(snap.best_mse)} ({fmt_age(snap.best_age)} ago), "
        f"{snap.solutions:,} solutions in the pool",
    ]
    lines.append("nodes")
    for n in snap.nodes:   # the reason last: a long one never shifts the figures
        lines.append(f"  {n.name:<14} {n.state:<10} {n.workers_running}/{n.workers_expected} "
                     f"workers  {fmt_rate(n.evals_per_s):>5} evals/s  {n.reason}".rstrip())
    lines.append("workers")
    for w in snap.workers:
        lines.append(f"  {w.node:<14} {str(w.pid or '-'):>7} {w.state.value:<9} "
                     f"best {fmt_mse(w.best_mse):<10} age {fmt_age(w.age)}")
    return "\n".join(lines)
