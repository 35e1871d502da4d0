"""The observer: reads fleet statistics, tells a healthy pool from a stagnant one and from a
monoculture, turns the config knobs within their limits, writes observations with
reasons, runs queued tools, and (with auto) chooses injections and surgeries itself.
Every intervention is logged and judged by the pool's best (solver.tools.interventions)."""
from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import asdict, dataclass
from itertools import combinations

from solver.pool.base import TOOL_COMMANDS
from solver.pool.knobs import KNOBS, clamp
from solver.pool.states import SILENT_AFTER_S

log = logging.getLogger("solver.observe")

# Thresholds, stated (the observation messages repeat them).
STAGNATION_S = 600.0        # best MSE unchanged this long: stagnation
MONOCULTURE_BELOW = 0.05    # mean share of differing block positions among the top-K
RELAX = 0.2                 # share of the way back to a knob's default per healthy cycle
COOLDOWN_S = 300.0          # after a change, let the fleet react this long before the next


@dataclass(frozen=True)
class FleetStats:
    pool_size: int
    best_mse: float | None
    best_age_s: float | None       # seconds since the pool's best last improved
    workers_alive: int
    workers_lost: int
    diversity: float | None        # mean share of block positions where two top-K solutions differ
    top_k: int
    solved: bool = False           # the pool holds the exact answer


def diversity(perms: list[list[int]]) -> float | None:
    """Mean over pairs of the share of block positions holding different (inp, out) pairs."""
    from .zones import blocks

    if len(perms) < 2:
        return None
    arrangements = [blocks(p) for p in perms]
    n = len(arrangements[0])
    shares = [sum(x != y for x, y in zip(a, b)) / n for a, b in combinations(arrangements, 2)]
    return sum(shares) / len(shares)


def decide(stats: FleetStats, knobs: dict[str, float], stagnation_s: float = STAGNATION_S,
           monoculture_below: float = MONOCULTURE_BELOW, since_change_s: float | None = None,
           cooldown_s: float = COOLDOWN_S) -> tuple[str, dict[str, float], list[str]]:
    """(kind, knob changes, reasons) for one observation; pure, so it is tested alone.

    Kinds: idle (empty pool), solved (the exact answer is in: nothing else is judged),
    starting (no improvement seen yet), monoculture (the top-K nearly all alike, whether
    or not the best still falls), stagnation (diverse, but the best has not fallen for
    STAGNATION_S), healthy (the best fell within STAGNATION_S and the top-K differ).
    No change while no worker is alive (nobody would feel it) or within COOLDOWN_S of
    the last change (the fleet needs time to react to it)."""
    if stats.pool_size == 0:
        return "idle", {}, ["the pool is empty"]
    if stats.solved:
        return "solved", {}, ["the pool holds the exact answer"]
    kind, target, reasons = _verdict(stats, knobs, stagnation_s, monoculture_below)
    if stats.workers_alive == 0:
        reasons.append("no worker is alive: knobs left alone")
        target = {}
    elif since_change_s is not None and since_change_s < cooldown_s and kind not in ("healthy", "starting"):
        reasons.append(f"knobs held: last change {since_change_s:.0f} s ago (cooldown {cooldown_s:.0f} s)")
        target = {}
    changes = {}
    for key, value in target.items():
        value = clamp(key, value)
        if key == "perturb_width":
            value = float(round(value))
        if abs(value - knobs[key]) > 1e-9:
            changes[key] = value
    if changes:
        reasons.append("set " + ", ".join(f"{k} {knobs[k]:g} -> {v:g}" for k, v in changes.items()))
    return kind, changes, reasons


def _verdict(stats: FleetStats, knobs: dict[str, float], stagnation_s: float,
             monoculture_below: float) -> tuple[str, dict[str, float], list[str]]:
    """(kind, knob targets, reasons) of an unsolved, non-empty pool."""
    if stats.best_age_s is None:
        return "starting", {}, ["no improvement of the best seen yet"]
    fell = stats.best_age_s <= stagnation_s
    when = f"best MSE last fell {stats.best_age_s:.0f} s ago ({'within' if fell else 'over'} {stagnation_s:.0f} s)"
    mono = stats.diversity is not None and stats.top_k >= 3 and stats.diversity < monoculture_below
    if mono:
        return "monoculture", {"restart_share": knobs["restart_share"] + 0.15,
                               "perturb_width": knobs["perturb_width"] * 1.5}, [
            f"top {stats.top_k} differ at only {stats.diversity:.1%} of positions "
            f"(< {monoculture_below:.0%})", when]
    if not fell:
        return "stagnation", {"perturb_width": knobs["perturb_width"] * 1.25,
                              "restart_share": knobs["restart_share"] + 0.05}, [when]
    spread = "" if stats.diversity is None else f"; top {stats.top_k} differ at {stats.diversity:.0%} of positions"
    return "healthy", {key: knobs[key] + RELAX * (KNOBS[key].default - knobs[key])
                       for key in ("restart_share", "perturb_width")}, [when + spread]


async def gather_stats(store, puzzle_id: int | None, k: int = 20) -> FleetStats:
    counts = await store.counts(puzzle_id)
    top = await store.fetch_top(k, puzzle_id)
    curve = await store.fetch_best_over_time(puzzle_id)
    age = None
    if curve:
        last = curve[-1][0]
        age = max(0.0, time.time() - last.timestamp())
    return FleetStats(counts.solutions, counts.best_mse, age, counts.workers_alive, counts.workers_lost,
                      diversity([s.permutation for s in top]), len(top),
                      solved=puzzle_id is not None and await store.has_exact(puzzle_id))


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


@dataclass
class Policy:
    """How the observer judges and acts (the CLI's flags)."""
    interval: float = 30.0
    report_every: int = 5
    grace_s: float = SILENT_AFTER_S
    stagnation_s: float = STAGNATION_S
    cooldown_s: float = COOLDOWN_S
    auto: bool = False              # choose injections and surgeries itself
    judge_after_s: float = 300.0    # an intervention paid if the best fell within this


async def observe(store, puzzle, interval: float = 30.0, cycles: int | None = None, report_every: int = 5,
                  grace_s: float = SILENT_AFTER_S, stagnation_s: float = STAGNATION_S, node: str = "observer",
                  stop: asyncio.Event | None = None, cooldown_s: float = COOLDOWN_S,
                  auto: bool = False, judge_after_s: float = 300.0) -> int:
    """The observer loop; returns the number of cycles run."""
    from .interventions import Observer

    policy = Policy(interval, report_every, grace_s, stagnation_s, cooldown_s, auto, judge_after_s)
    observer = Observer(store, puzzle, policy, node)
    await observer.start()
    cycle = 0
    while not (stop and stop.is_set()):
        cycle += 1
        await observer.cycle(cycle)
        if cycles is not None and cycle >= cycles:
            break
        try:
            await asyncio.wait_for((stop or asyncio.Event()).wait(), interval)
        except asyncio.TimeoutError:
            pass
    return cycle


def _jsonable(value):
    import json

    return json.loads(json.dumps(value, default=float))
