"""The observer: reads fleet statistics, detects stagnation and monoculture, turns the
config knobs within their limits, writes observations with reasons, runs queued tools."""
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

    No change while no worker is alive (nobody would feel it) or within COOLDOWN_S of
    the last change (the fleet needs time to react to it)."""
    reasons: list[str] = []
    target: dict[str, float] = {}
    if stats.pool_size == 0:
        return "idle", {}, ["the pool is empty"]
    mono = stats.diversity is not None and stats.top_k >= 3 and stats.diversity < monoculture_below
    stagnant = stats.best_age_s is not None and stats.best_age_s > stagnation_s
    if mono:
        kind = "monoculture"
        reasons.append(f"top {stats.top_k} differ at only {stats.diversity:.1%} of positions "
                       f"(< {monoculture_below:.0%})")
        target["restart_share"] = knobs["restart_share"] + 0.15
        target["perturb_width"] = knobs["perturb_width"] * 1.5
    elif stagnant:
        kind = "stagnation"
        reasons.append(f"best MSE unchanged for {stats.best_age_s:.0f} s (> {stagnation_s:.0f} s)")
        target["perturb_width"] = knobs["perturb_width"] * 1.25
        target["restart_share"] = knobs["restart_share"] + 0.05
    else:
        kind = "healthy"
        reasons.append("improving and diverse" if stats.best_age_s is not None else "no history yet")
        for key in ("restart_share", "perturb_width"):
            target[key] = knobs[key] + RELAX * (KNOBS[key].default - knobs[key])
    if stats.workers_alive == 0:
        reasons.append("no worker is alive: knobs left alone")
        target = {}
    elif since_change_s is not None and since_change_s < cooldown_s and kind != "healthy":
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


async def gather_stats(store, puzzle_id: int | None, k: int = 20) -> FleetStats:
    counts = await store.counts(puzzle_id)
    top = await store.fetch_top(k, puzzle_id)
    curve = await store.fetch_best_over_time(puzzle_id)
    age = None
    if curve:
        last = curve[-1][0]
        age = max(0.0, time.time() - last.timestamp())
    return FleetStats(counts.solutions, counts.best_mse, age, counts.workers_alive, counts.workers_lost,
                      diversity([s.permutation for s in top]), len(top))


async def run_tool_command(store, puzzle, command, node: str | None = None) -> tuple[bool, dict]:
    """Run one queued tool command; returns (ok, result)."""
    from .breakpoints import find_breakpoints
    from .inject import inject
    from .surgery import surgery_on_pool
    from .zones import zones_of_pool

    args = command.args or {}
    puzzle_id = await store.register_puzzle(puzzle)
    if command.kind == "inject":
        kind = args.get("kind", "random")
        report = await inject(store, puzzle, kind, int(args.get("count", 1)), node=node)
        return report["ok"], report
    if command.kind == "surgery":
        positions = args.get("positions")
        window = (min(positions), max(positions)) if positions else None
        report = await surgery_on_pool(store, puzzle, window, int(args.get("max_cycle", 3)), node=node,
                                       time_limit=float(args.get("time_limit", 120)))
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


async def observe(store, puzzle, interval: float = 30.0, cycles: int | None = None, report_every: int = 5,
                  grace_s: float = SILENT_AFTER_S, stagnation_s: float = STAGNATION_S, node: str = "observer",
                  stop: asyncio.Event | None = None, cooldown_s: float = COOLDOWN_S) -> int:
    """The observer loop; returns the number of cycles run."""
    puzzle_id = await store.register_puzzle(puzzle)
    cycle = 0
    last_change: float | None = None
    while not (stop and stop.is_set()):
        cycle += 1
        lost = await store.mark_lost(grace_s)
        stats = await gather_stats(store, puzzle_id)
        knobs = {k: c.value for k, c in (await store.fetch_config()).items()}
        since = None if last_change is None else time.monotonic() - last_change
        kind, changes, reasons = decide(stats, knobs, stagnation_s, since_change_s=since, cooldown_s=cooldown_s)
        if lost:
            reasons.append(f"marked {lost} silent worker(s) lost (no heartbeat for {grace_s:g} s)")
        for key, value in changes.items():
            await store.set_config(key, value, by="observer")
        if changes and kind != "healthy":
            last_change = time.monotonic()
        if changes or lost or cycle == 1 or cycle % report_every == 0:
            message = f"{kind}: " + "; ".join(reasons)
            await store.add_observation(puzzle_id, kind, message, stats=asdict(stats), changes=changes)
            log.info("%s", message)
        while (command := await store.claim_command(node, TOOL_COMMANDS)) is not None:
            try:
                ok, result = await run_tool_command(store, puzzle, command, node)
            except (ValueError, OSError) as exc:
                ok, result = False, {"message": str(exc)}
            await store.finish_command(command.id, ok, _jsonable(result))
            await store.add_observation(puzzle_id, "command",
                                        f"{command.kind} #{command.id}: {result.get('message', 'done')}")
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
