"""A jstui session: what starts with the screen and what stops with it, said on exit; and
`jstui status` and `jstui down`, for scripts.

The session reads one Plan (jstui.plan). With no fleet file, it is this machine's local
fleet on the embedded pool: it launches one worker per core (deploying first). Whatever
the fleet, a session that may act starts the observer beside itself unless one already
holds the pool's lease (jstui.observing); on `q` it says what became of the workers, the
observer and the pool.
"""
from __future__ import annotations

import asyncio
import json
import os
import sys
from dataclasses import asdict

from jstui.observing import ObserverProcess, start_observer, stop_recorded_observer
from jstui.plan import Plan, PlanError, resolve
from jstui.present import fmt_age, fmt_mse, fmt_rate
from solver.pool import embedded
from solver.pool.locate import redact
from solver.pool.words import EventSource

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2
# Set by `jstui serve` for the app processes it runs: "read-only" or "actions".
SERVED_ENV = "JSTUI_SERVED"


class UsageError(PlanError):
    """A flag the user must fix (exit 2)."""


def say(line: str) -> None:
    print(f"jstui: {line}", file=sys.stderr)


class Session:
    """The plan one jstui run works on, its fleet, and what it started."""

    def __init__(self, plan: Plan):
        from jstui.fleet.fleet import Fleet

        self.plan = plan
        self.fleet = Fleet.from_config(plan.fleet) if plan.fleet is not None else None
        self.dsn, self.local = plan.dsn, plan.local
        self.observer: ObserverProcess | None = None
        self.observer_note = ""               # why none was started, when it was not
        self.launched = False                 # this session launched the local workers
        self.keepers: list[asyncio.Task] = []

    @classmethod
    async def open(cls, args, *, start: bool = True) -> "Session":
        """From the flags (one Plan). START: the local default may start the embedded pool
        and generate its puzzle (`status` does neither)."""
        if start and not args.pool_only and not args.config and not os.environ.get("JSTUI_CONFIG"):
            from jstui.config import find_config

            if find_config(None) is None:
                say("no fleet file; starting the local fleet on the embedded pool…")
        plan = await resolve(config=args.config, dsn=args.dsn, puzzle=args.puzzle,
                             workers=getattr(args, "workers", None), pool_only=args.pool_only,
                             pool="start" if start else "running", make_puzzle=start, say=say)
        return cls(plan)

    async def shown_puzzle(self):
        """The puzzle the screen shows, identified now, so that a wrong path is one line
        and exit 2 before anything starts; None: the pool's newest."""
        from jstui.puzzles import identify

        if self.plan.puzzle is None:
            return None
        return await asyncio.to_thread(identify, self.plan.puzzle, self.plan.puzzle_from)

    # ---- what starts with the screen ----------------------------------------------------
    async def start_local(self) -> list[str]:
        """Launch the local workers (deploying first where needed); one line per problem."""
        problems = [f"launch {r.node}: {r.summary}" for r in await self.fleet.launch() if not r.ok]
        self.launched = True
        return problems

    async def start_observer(self) -> str:
        """The observer beside this session, unless one holds the pool's lease; one line
        for the event log."""
        self.observer, self.observer_note = await start_observer(self.plan)
        return self.observer_note

    def keep(self, source) -> None:
        """Tasks that run with the screen: auto-relaunch (when the fleet asks for it)."""
        from jstui.fleet.relauncher import AutoRelaunch

        if self.fleet is not None:
            relauncher = AutoRelaunch(self.fleet)
            self.keepers.append(asyncio.ensure_future(
                relauncher.run(source.note, solved=lambda: source.last.solved)))

    # ---- what stops with it --------------------------------------------------------------
    async def close(self, *, stop_workers: bool, keep_pool: str | None) -> list[str]:
        """Stop what this session started; the lines say what became of each part."""
        for task in self.keepers:
            task.cancel()
        await asyncio.gather(*self.keepers, return_exceptions=True)
        lines, running = [], []
        if self.fleet is not None:
            if self.launched and stop_workers:
                stopped = sum(len(r.workers) for r in await self.fleet.stop())
                lines.append(f"{stopped} local worker(s) stopped (--keep-running leaves them "
                             "running)" if stopped else "no local worker was still running")
            else:
                running = await self._still_running()
                lines += self._left_running(running)
            await self.fleet.close()
        lines += await self._observer_fate(bool(running))
        if self.local:
            if running:
                keep_pool = keep_pool or "its workers go on"
            lines.append(self.pool_fate(keep_pool))
        return lines

    async def _still_running(self) -> list[str]:
        """The workers alive on the fleet's nodes now ("NODE/SLOT")."""
        try:
            status = await self.fleet.status(deadline=3.0)
        except Exception:   # a fleet that cannot answer leaves nothing we can name
            return []
        return [w.name for w in status.workers if w.state.alive]

    def _left_running(self, running: list[str]) -> list[str]:
        if not running:
            return []
        nodes = sorted({name.split("/")[0] for name in running})
        stop = "`jstui down`" if self.local else "`python -m jstui.fleet stop`"
        why = " (--keep-running)" if self.local else ""
        return [f"{len(running)} worker(s) left running{why} on {', '.join(nodes)}; "
                f"{stop} stops them"]

    async def _observer_fate(self, workers_run: bool) -> list[str]:
        proc = self.observer
        if proc is None or not proc.alive:
            return []
        if workers_run:
            return [f"the observer (pid {proc.pid}) stays to serve them; it ends "
                    f"{proc.idle_exit_s:.0f} s after the last one"]
        await proc.stop()
        return [f"the observer (pid {proc.pid}) stopped"]

    def pool_fate(self, keep: str | None) -> str:
        """Stop the embedded pool if this session started it and nothing KEEPs it (the
        reason to leave it running); say which."""
        state = embedded.status()
        if not state.running or self.dsn != state.dsn:
            return f"the pool at {redact(self.dsn or '-')} is not the embedded one: left as it is"
        if not self.plan.pool_started:
            keep = keep or "it was running before this session"
        if keep is None:
            embedded.down()
            return f"embedded pool stopped ({state.data_dir}; --keep-pool leaves it running)"
        return f"embedded pool left running ({keep}): {state.dsn}; `jstui down` stops it"


def run_app(args) -> int:
    for line in asyncio.run(serve(args)):
        say(line)
    return EXIT_OK


async def serve(args, drive=None) -> list[str]:
    """Open the session, show the screen until it quits, close the session; the lines say
    what became of the workers and the pool. DRIVE(app, session) replaces running the
    app in the terminal (tests drive it with Textual's pilot)."""
    from jstui.app import ControlCenter
    from jstui.backend import LiveBackend
    from jstui.connection import PoolConnection
    from jstui.live import LiveSource

    # One event loop for setup, the app and shutdown: the fleet's connections and
    # child processes belong to the loop that made them.
    session = await Session.open(args)
    puzzle = await session.shown_puzzle()
    acting = not args.read_only
    problems = await session.start_local() if session.local and acting else []
    for line in problems:
        say(line)
    # One way to the pool, shared by the reader and the backend.
    connection = PoolConnection(session.dsn)
    source = LiveSource(session.dsn, session.fleet, puzzle=puzzle, refresh=args.refresh,
                        record=acting, connection=connection)
    for line in problems:
        source.note("error", line, EventSource.FLEET)
    if acting and session.fleet is not None:
        source.note("observe", await session.start_observer(), EventSource.FLEET)
    if acting:
        session.keep(source)
    app = ControlCenter(source, LiveBackend(source, session.fleet), read_only=args.read_only,
                        served=os.environ.get(SERVED_ENV))
    try:
        await (app.run_async() if drive is None else drive(app, session))
    finally:
        keep = "--keep-pool" if args.keep_pool else "--read-only" if args.read_only else None
        await source.close()
        farewell = await session.close(stop_workers=not args.keep_running, keep_pool=keep)
    return farewell


def run_down(args) -> int:
    """`jstui down`: the local workers (left by --keep-running), the observer serving
    them, and the embedded pool."""
    async def main() -> list[str]:
        session = Session(await resolve(pool="running"))
        try:
            stopped = [w for r in await session.fleet.stop() for w in r.workers]
        finally:
            await session.fleet.close()
        return [f"{len(stopped)} local worker(s) stopped" if stopped else "no local worker running"]

    lines = asyncio.run(main())
    observer = stop_recorded_observer()
    if observer:
        lines.append(observer)
    state = embedded.status()
    lines.append(f"embedded pool stopped ({state.data_dir})" if embedded.down()
                 else f"no embedded pool running ({state.data_dir})")
    for line in lines:
        print(line)
    return EXIT_OK


def run_status(args) -> int:
    """`jstui status`: the picture once. A stopped embedded pool is started for the read
    and stopped again: what it holds is the answer, whether or not it runs."""
    from jstui.live import LiveSource

    async def once():
        plan = await resolve(config=args.config, dsn=args.dsn, puzzle=args.puzzle,
                             pool_only=args.pool_only, pool="read")
        session = Session(plan)
        try:
            source = LiveSource(session.dsn, session.fleet, puzzle=await session.shown_puzzle())
            try:
                return await source.read_once(fleet_deadline=args.deadline)
            finally:
                await source.close()
        finally:
            if session.fleet is not None:
                await session.fleet.close()
            if plan.pool_started:
                await asyncio.to_thread(embedded.down)

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
    answer = "unknown (the pool cannot be read)" if snap.pool_error else \
        "FOUND" if snap.solved else "not yet"
    lines += [
        f"puzzle   {snap.puzzle or '-'}" + (f" ({snap.puzzle_why})" if snap.puzzle_why else ""),
        *([f"         also in the pool: {', '.join(others)} (--puzzle DIR shows another)"]
          if others else []),
        f"target   {snap.target_sha256 or '-'}",
        f"answer   {answer}",
        f"best     {fmt_mse(snap.best_mse)} ({fmt_age(snap.best_age)} ago), "
        f"{snap.solutions:,} solutions in the pool",
        f"observer {snap.observer.line if snap.observer is not None else 'none holds the lease'}",
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
