"""The observer's judgement: from the pool's statistics, tell a healthy pool from a
stagnant one and from a monoculture, and say which knobs to turn and why (pure, so it
is tested alone). The observer that acts on it is solver.tools.observer."""
from __future__ import annotations

import time
from dataclasses import dataclass
from itertools import combinations

from solver.pool.knobs import KNOBS, clamp
from solver.pool.lifecycle import SILENT_AFTER_S

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


async def gather_stats(store, puzzle_id: int | None, k: int = 20,
                       now: float | None = None) -> FleetStats:
    """The statistics of one puzzle's pool at NOW (epoch seconds; default the clock's)."""
    counts = await store.counts(puzzle_id)
    top = await store.fetch_top(k, puzzle_id)
    curve = await store.fetch_best_over_time(puzzle_id)
    age = None
    if curve:
        last = curve[-1][0]
        age = max(0.0, (time.time() if now is None else now) - last.timestamp())
    return FleetStats(counts.solutions, counts.best_mse, age, counts.workers_alive, counts.workers_lost,
                      diversity([s.permutation for s in top]), len(top),
                      solved=puzzle_id is not None and await store.has_exact(puzzle_id))


@dataclass
class Policy:
    """How the observer judges and acts (the CLI's flags)."""
    interval: float = 30.0          # seconds between two judgements of the pool
    report_every: int = 5           # (kept for the CLI; an observation is written on change)
    silent_after_s: float = SILENT_AFTER_S   # a running worker silent this long is lost
    stagnation_s: float = STAGNATION_S
    cooldown_s: float = COOLDOWN_S
    auto: bool = False              # choose injections and surgeries itself
    judge_after_s: float = 300.0    # an intervention paid if the best fell within this
    # With no running worker and no pending command for this long, the observer ends
    # (None: never). jstui's observers outlive the screen while the fleet works.
    idle_exit_s: float | None = None
