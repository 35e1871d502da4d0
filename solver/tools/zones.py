"""Agreement zones: per block position, the share of the top-K solutions that agree
with the best there, classified locked / mixed / uncertain."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

# The one zones rule: `solver zones`, surgery and the control center all use it.
LOCKED_AT = 0.9        # share >= 0.9: locked (surgery keeps these positions)
UNCERTAIN_BELOW = 0.5  # share < 0.5: uncertain (the default target of surgery)
MIN_EVIDENCE = 5       # with fewer solutions than this nothing counts as locked
LOCKED, MIXED, UNCERTAIN = "locked", "mixed", "uncertain"


@dataclass(frozen=True)
class ZoneMap:
    shares: tuple[float, ...]   # per block position (index 0 = block 1)
    zones: tuple[str, ...]
    k: int                      # how many solutions voted (the best included)
    best_id: int | None = None

    @property
    def judged(self) -> bool:
        """Enough solutions voted to call anything locked (one agrees with itself)."""
        return self.k >= MIN_EVIDENCE

    def positions(self, zone: str) -> list[int]:
        """1-based block positions in ZONE."""
        return [i for i, z in enumerate(self.zones, start=1) if z == zone]

    def runs(self) -> list[tuple[int, int, str]]:
        """Consecutive positions in one zone, as (first, last, zone), 1-based."""
        runs: list[tuple[int, int, str]] = []
        for i, z in enumerate(self.zones, start=1):
            if runs and runs[-1][2] == z:
                runs[-1] = (runs[-1][0], i, z)
            else:
                runs.append((i, i, z))
        return runs


def blocks(permutation: Sequence[int]) -> list[tuple[int, int]]:
    """The (inp, out) piece ids at each block position of a public permutation."""
    n = (len(permutation) - 1) // 2
    return [(int(permutation[2 * i]), int(permutation[2 * i + 1])) for i in range(n)]


def classify(share: float, k: int) -> str:
    if share >= LOCKED_AT and k >= MIN_EVIDENCE:
        return LOCKED
    if share < UNCERTAIN_BELOW:
        return UNCERTAIN
    return MIXED


def zone_map(best: Sequence[int], top: Sequence[Sequence[int]], best_id: int | None = None) -> ZoneMap:
    """Zones of BEST against TOP (the top-K permutations, the best usually among them)."""
    mine = blocks(best)
    others = [blocks(t) for t in top if len(t) == len(best)]
    if not others:
        shares = tuple(1.0 for _ in mine)
    else:
        shares = tuple(sum(o[i] == mine[i] for o in others) / len(others) for i in range(len(mine)))
    k = len(others)
    return ZoneMap(shares, tuple(classify(s, k) for s in shares), k, best_id)


async def zones_of_pool(store, puzzle_id: int | None, k: int = 20) -> ZoneMap | None:
    top = await store.fetch_top(k, puzzle_id)
    if not top:
        return None
    return zone_map(top[0].permutation, [s.permutation for s in top], top[0].id)


def describe(zm: ZoneMap) -> str:
    lines = [f"zones of solution #{zm.best_id} against the top {zm.k} "
             f"(locked: share >= {LOCKED_AT} with >= {MIN_EVIDENCE} solutions; uncertain: share < {UNCERTAIN_BELOW})"]
    for first, last, zone in zm.runs():
        span = f"{first}" if first == last else f"{first}-{last}"
        shares = " ".join(f"{s:.2f}" for s in zm.shares[first - 1:last])
        lines.append(f"  blocks {span:>7}  {zone:<9} {shares}")
    return "\n".join(lines)
