"""The observer that acts: at most one per pool, by a lease held in the pool. The holder
marks silent workers lost, judges the pool and turns the knobs (solver.tools.observe),
runs the queued tool commands (inject, surgery, zones, breakpoints) of its puzzle, logs
every intervention to be judged later (solver.tools.interventions), and writes what it
does to the event book. Another observer started meanwhile stands by and takes over when
the holder stops renewing its lease.
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import time
from dataclasses import asdict

from solver.pool.base import LEASE_TTL_S, TOOL_COMMANDS
from solver.pool.words import EventKind, EventSource

from .observe import Policy, decide, gather_stats

log = logging.getLogger("solver.observe")

# Seed methods the observer injects in turn (polished, so they can join the elites);
# made from the data or from the pool's best, unlike the workers' usual norm seeds.
AUTO_SEEDS = ("jacobian", "loo", "insertion", "greedy")
AUTO_POLISH_S = 20.0
# How often the lease is renewed (or, standing by, tried); well inside its time to live.
LEASE_EVERY_S = LEASE_TTL_S / 4


class Observer:
    """One observer's judgement, actions and commands on one puzzle (no lease here)."""

    def __init__(self, store, puzzle, policy: Policy, node: str = "observer",
                 clock=time.time, monotonic=time.monotonic):
        self.store, self.puzzle, self.policy, self.node = store, puzzle, policy, node
        self.clock, self.monotonic = clock, monotonic
        self.puzzle_id: int | None = None
        self.last_change: float | None = None    # monotonic time of the last knob widening
        self.last_action: float | None = None    # ... and of the last automatic command
        self.actions = 0
        self.last_kind = ""

    async def start(self) -> None:
        self.puzzle_id = await self.store.register_puzzle(self.puzzle)

    async def event(self, kind: EventKind, text: str, **where) -> None:
        await self.store.add_event(kind, text, source=EventSource.OBSERVER,
                                   puzzle_id=self.puzzle_id, node=self.node, **where)

    async def cycle(self, number: int) -> str:
        """One look at the pool: mark the silent lost, judge, adjust, act; returns the kind.
        The judgement goes to the event book when it changes, not at every look."""
        p, store = self.policy, self.store
        lost = await store.mark_lost(p.silent_after_s)
        await self.judge_due()
        stats = await gather_stats(store, self.puzzle_id, now=self.clock())
        knobs = {k: c.value for k, c in (await store.fetch_config()).items()}
        since = None if self.last_change is None else self.monotonic() - self.last_change
        kind, changes, reasons = decide(stats, knobs, p.stagnation_s, since_change_s=since,
                                        cooldown_s=p.cooldown_s)
        if lost:
            reasons.append(f"marked {lost} silent worker(s) lost (no heartbeat for "
                           f"{p.silent_after_s:g} s)")
        if changes:
            await self.set_knobs(kind, changes, stats)
        action = await self.maybe_act(kind, stats)
        if action:
            reasons.append(action)
        message = f"{kind}: " + "; ".join(reasons)
        if changes or lost or action or kind != self.last_kind:
            await self.event(EventKind.KNOBS if changes else EventKind.OBSERVE, message)
            log.info("%s", message)
        if changes or lost or action or kind != self.last_kind \
                or number % max(1, p.report_every) == 0:
            await store.add_observation(self.puzzle_id, kind, message, stats=asdict(stats),
                                        changes=changes)
        self.last_kind = kind
        return kind

    async def set_knobs(self, kind: str, changes: dict, stats) -> None:
        for key, value in changes.items():
            await self.store.set_config(key, value, by="observer")
        if kind not in ("healthy", "starting"):
            self.last_change = self.monotonic()
        await self.store.add_intervention(self.puzzle_id, "knobs", dict(changes), reason=kind,
                                          window_s=self.policy.judge_after_s, best_before=stats.best_mse)

    async def maybe_act(self, kind: str, stats) -> str | None:
        """With auto: on stagnation or a monoculture, queue a surgery on the positions
        where the elites disagree or a polished injection, one per cooldown."""
        p = self.policy
        if not p.auto or kind not in ("stagnation", "monoculture") or stats.workers_alive == 0:
            return None
        if self.last_action is not None and self.monotonic() - self.last_action < p.cooldown_s:
            return None
        self.last_action, self.actions = self.monotonic(), self.actions + 1
        # A monoculture needs new material; a stagnant but diverse pool, work where it disagrees.
        if kind == "stagnation" and self.actions % 2 == 1:
            command, args = "surgery", {"max_cycle": 3, "time_limit": max(30.0, p.judge_after_s / 2)}
        else:
            seed = AUTO_SEEDS[(self.actions // 2) % len(AUTO_SEEDS)]
            command, args = "inject", {"kind": seed, "count": 1, "polish": AUTO_POLISH_S}
        args.update(by="observer", reason=kind)
        cid = await self.store.enqueue_command(command, args, puzzle_id=self.puzzle_id)
        return f"queued {command} #{cid} ({args.get('kind', 'uncertain positions')})"

    async def run_commands(self, claimer: str) -> int:
        """Run the tool commands queued for this puzzle (or for none), oldest first."""
        store, ran = self.store, 0
        while (command := await store.claim_command(claimer, TOOL_COMMANDS,
                                                     puzzle_id=self.puzzle_id)) is not None:
            ran += 1
            await self.event(EventKind(command.kind) if command.kind in ("inject", "surgery")
                             else EventKind.ACTION,
                             f"{command.kind} #{command.id} started by the observer {claimer}",
                             command_id=command.id)
            best = await store.fetch_best(self.puzzle_id)
            if command.kind in ("inject", "surgery"):
                detail = {k: v for k, v in (command.args or {}).items() if k not in ("by", "reason")}
                await store.add_intervention(
                    self.puzzle_id, command.kind, detail, reason=(command.args or {}).get("reason", "operator"),
                    window_s=self.policy.judge_after_s, best_before=best.mse if best else None,
                    command_id=command.id)
            try:
                ok, result = await run_tool_command(store, self.puzzle, command, self.node)
            except (ValueError, OSError) as exc:
                ok, result = False, {"message": str(exc)}
            await store.finish_command(command.id, ok, _jsonable(result))
        return ran

    async def judge_due(self) -> int:
        """Judge the interventions whose window is over: the best the pool reached by its end."""
        due = [i for i in await self.store.fetch_interventions(self.puzzle_id)
               if i.judged_at is None and i.at.timestamp() + i.window_s <= self.clock()]
        if not due:
            return 0
        records = await self.store.fetch_records(self.puzzle_id)
        for i in due:
            end = i.at.timestamp() + i.window_s
            reached = [r.mse for r in records if r.created_at.timestamp() <= end]
            await self.store.judge_intervention(i.id, min(reached) if reached else None)
        return len(due)

    async def busy(self) -> bool:
        """Work for an observer: a running worker of its puzzle, or a command waiting."""
        counts = await self.store.counts(self.puzzle_id)
        return counts.workers_alive > 0 or counts.commands_pending > 0


async def run_tool_command(store, puzzle, command, node: str | None = None) -> tuple[bool, dict]:
    """Run one queued tool command; returns (ok, result). A surgery reports its progress
    with the command and stops when the command is cancelled."""
    from .breakpoints import find_breakpoints
    from .inject import inject
    from .surgery import MAX_WINDOW, surgery_on_pool
    from .zones import zones_of_pool

    args = command.args or {}
    puzzle_id = await store.register_puzzle(puzzle)
    if command.kind == "inject":
        kind = args.get("kind", "random")
        report = await inject(store, puzzle, kind, int(args.get("count", 1)), node=node,
                              command_id=command.id, polish=float(args.get("polish", 0)))
        return report["ok"], report
    if command.kind == "surgery":
        positions = args.get("positions")
        window = (min(positions), max(positions)) if positions else None

        async def on_progress(progress: dict) -> bool:
            return await store.command_progress(command.id, progress)
        report = await surgery_on_pool(store, puzzle, window, int(args.get("max_cycle", 3)), node=node,
                                       time_limit=float(args.get("time_limit", 600)),
                                       piece_blocks=int(args.get("piece_blocks", MAX_WINDOW)),
                                       command_id=command.id, on_progress=on_progress)
        return report["ok"], report
    if command.kind == "zones":
        zm = await zones_of_pool(store, puzzle_id, int(args.get("top", 20)))
        return zm is not None, {"shares": list(zm.shares), "zones": list(zm.zones)} if zm else {}
    if command.kind == "breakpoints":
        best = await store.fetch_best(puzzle_id)
        if best is None:
            return False, {"message": "the pool holds no solution"}
        bp = await asyncio.to_thread(find_breakpoints, puzzle, best.permutation)
        return True, asdict(bp)
    return False, {"message": f"unknown tool command {command.kind!r}"}


def _jsonable(value):
    return json.loads(json.dumps(value, default=float))


class Lease:
    """This observer's hold on the pool's lease, renewed in the background so that a
    long command (a surgery) does not let it lapse."""

    def __init__(self, store, node: str, pid: int, puzzle_id: int | None,
                 ttl_s: float = LEASE_TTL_S, every_s: float = LEASE_EVERY_S):
        self.store, self.node, self.pid, self.puzzle_id = store, node, pid, puzzle_id
        self.ttl_s, self.every_s = ttl_s, every_s
        self.row = None
        self.changed = asyncio.Event()

    @property
    def holder(self) -> str:
        return f"{self.node}/{self.pid}"

    @property
    def held(self) -> bool:
        return self.row is not None and (self.row.node, self.row.pid) == (self.node, self.pid)

    async def renew(self) -> bool:
        was = self.held
        try:
            self.row = await self.store.acquire_lease(self.node, self.pid, self.puzzle_id, self.ttl_s)
        except Exception as exc:   # the pool is away: we cannot know; act as if not held
            log.warning("cannot renew the lease: %s", exc)
            self.row = None
        if self.held != was:
            self.changed.set()
        return self.held

    async def keep(self) -> None:
        while True:
            await self.renew()
            await asyncio.sleep(self.every_s)

    async def release(self) -> None:
        try:
            await self.store.release_lease(self.node, self.pid)
        except Exception:   # the pool is away: the lease lapses by itself
            pass


async def observe(store, puzzle, policy: Policy | None = None, *, cycles: int | None = None,
                  node: str | None = None, pid: int | None = None,
                  stop: asyncio.Event | None = None, lease_every_s: float = LEASE_EVERY_S,
                  clock=time.time, monotonic=time.monotonic) -> int:
    """The observer's loop: hold the lease (or stand by until it is free), judge the pool
    every policy.interval seconds, run queued commands as soon as they come, and end when
    told, after CYCLES judgements, or when idle for policy.idle_exit_s. Returns the
    number of judgements made."""
    policy = policy or Policy()
    node = node or socket.gethostname().split(".")[0] or "observer"
    observer = Observer(store, puzzle, policy, node, clock=clock, monotonic=monotonic)
    await observer.start()
    lease = Lease(store, node, os.getpid() if pid is None else pid, observer.puzzle_id,
                  every_s=lease_every_s)
    wake = asyncio.Event()
    listener = await store.listen(lambda table: wake.set() if table == "commands" else None)
    await lease.renew()
    keeper = asyncio.ensure_future(lease.keep())
    stop = stop or asyncio.Event()
    try:
        return await _loop(observer, lease, policy, cycles, stop, wake, monotonic)
    finally:
        keeper.cancel()
        await asyncio.gather(keeper, return_exceptions=True)
        await listener.close()
        if lease.held:
            await observer.event(EventKind.OBSERVE, f"the observer {lease.holder} stops")
        await lease.release()


async def _loop(observer: Observer, lease: Lease, policy: Policy, cycles: int | None,
                stop: asyncio.Event, wake: asyncio.Event, monotonic) -> int:
    number, next_look, idle_since, announced = 0, monotonic(), monotonic(), None
    while not stop.is_set():
        if not lease.held:
            holder = lease.row.holder if lease.row is not None else "nobody (the pool is away)"
            if announced != holder:
                log.info("standing by: the lease is held by %s", holder)
                announced = holder
            lease.changed.clear()
            await _wait(stop, lease.changed, lease.every_s)
            continue
        if announced != lease.holder:
            announced = lease.holder
            log.info("holding the lease: acting on the pool (puzzle #%s)", observer.puzzle_id)
            await observer.event(EventKind.OBSERVE, f"the observer {lease.holder} acts on the "
                                 f"pool (it holds the lease)")
        if monotonic() >= next_look:
            number += 1
            await observer.cycle(number)
            next_look = monotonic() + policy.interval
        wake.clear()
        ran = await observer.run_commands(lease.holder)
        if cycles is not None and number >= cycles:
            break
        if ran or await observer.busy():
            idle_since = monotonic()
        elif policy.idle_exit_s is not None and monotonic() - idle_since > policy.idle_exit_s:
            log.info("no running worker and no command for %.0f s: the observer ends",
                     policy.idle_exit_s)
            break
        await _wait(stop, wake, max(0.05, min(lease.every_s, next_look - monotonic())))
    return number


async def _wait(stop: asyncio.Event, wake: asyncio.Event, timeout: float) -> None:
    """Until STOP or WAKE is set, or TIMEOUT seconds."""
    waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(wake.wait())]
    try:
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waiters:
            w.cancel()
