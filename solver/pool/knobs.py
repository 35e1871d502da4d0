"""The config knobs the fleet shares: defaults, limits, and what each one steers."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Knob:
    key: str
    default: float
    low: float
    high: float
    meaning: str


KNOBS: dict[str, Knob] = {k.key: k for k in [
    Knob("restart_share", 0.25, 0.0, 1.0,
         "share of runs that start from a fresh seed instead of a pool elite"),
    Knob("crossover_share", 0.3, 0.0, 1.0,
         "share of elite starts that cross two elites (their agreeing positions kept)"),
    # Off by default: a K=2 run on a `hard` N=48 puzzle showed no gain (docs/benchmarks.md,
    # "The fleet as one search").
    Knob("focus_seconds", 0.0, 0.0, 600.0,
         "seconds a crossover child is first searched only where its parents disagree (0: off)"),
    Knob("perturb_width", 6.0, 0.0, 200.0,
         "random local moves applied to an elite before annealing it"),
    Knob("temp_scale", 1.0, 0.01, 100.0,
         "multiplier on the solver's annealing temperatures"),
    Knob("elite_pool", 16.0, 1.0, 1000.0,
         "how many of the best solutions a worker draws its elite start from"),
    Knob("run_seconds", 60.0, 1.0, 86400.0,
         "length of one worker run before it starts afresh"),
    # solve() has a fixed cost per call (set-up, a descent from the start, and a verdict
    # on 2048 rows near the answer), so a burst must be long against it.
    Knob("burst_seconds", 20.0, 0.2, 600.0,
         "length of one solve burst between looks at the pool's best"),
    # Read by the pool itself (schema migration 6), not by the workers.
    Knob("history_grain_s", 60.0, 1.0, 3600.0,
         "seconds between two samples of a worker's row kept for `jstui replay`"),
    Knob("history_keep_days", 30.0, 0.01, 3650.0,
         "days the worker samples are kept for `jstui replay`"),
]}


def check_value(key: str, value: float) -> float:
    """VALUE for KEY as a float within its limits, or ValueError naming the knob."""
    knob = KNOBS.get(key)
    if knob is None:
        raise ValueError(f"unknown config knob {key!r}; known: {', '.join(sorted(KNOBS))}")
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"config knob {key}: {value!r} is not a number") from None
    if not (knob.low <= value <= knob.high):
        raise ValueError(f"config knob {key}: {value} is outside [{knob.low}, {knob.high}]")
    return value


def clamp(key: str, value: float) -> float:
    knob = KNOBS[key]
    return min(knob.high, max(knob.low, float(value)))


def config_version(config) -> int:
    """One number that rises with every change of any knob (each knob counts its own)."""
    return sum(knob.version for knob in config.values())
