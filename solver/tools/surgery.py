"""Targeted exhaustive search in a window of block positions: every swap, insertion,
out-piece exchange and 3-cycle inside it, locked positions kept, best move first."""
from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field

import numpy as np

DEFAULT_ROWS = 1024
MAX_WINDOW = 14


@dataclass
class SurgeryResult:
    permutation: list[int]
    start_mse: float          # on the rows used
    mse: float                # on the rows used
    moves: list[tuple] = field(default_factory=list)   # applied, 0-based positions
    evaluations: int = 0
    seconds: float = 0.0

    @property
    def improved(self) -> bool:
        return bool(self.moves)


def window_moves(lo: int, hi: int, locked: set[int], max_cycle: int = 3) -> list[tuple]:
    """All moves inside positions lo..hi (0-based, inclusive) that leave LOCKED blocks in place."""
    free = [p for p in range(lo, hi + 1) if p not in locked]
    moves: list[tuple] = []
    for a, b in itertools.combinations(free, 2):
        moves.append(("swap", a, b))
        moves.append(("pair", a, b))
    for a in range(lo, hi + 1):
        for b in range(lo, hi + 1):
            # an insertion shifts every block between a and b
            if a != b and abs(a - b) > 1 and not locked & set(range(min(a, b), max(a, b) + 1)):
                moves.append(("insert", a, b))
    if max_cycle >= 3:
        for a, b, c in itertools.combinations(free, 3):
            moves.append(("cycle", a, b, c))
            moves.append(("cycle", a, c, b))
    return moves


def surgery(puzzle, permutation, lo: int, hi: int, locked=(), max_cycle: int = 3,
            rows: int | None = DEFAULT_ROWS, time_limit: float | None = None) -> SurgeryResult:
    """Best-improvement descent over the window's moves until none improves (or time runs out)."""
    from solver import engine, moves as mv
    from solver.answer import from_permutation, to_permutation

    t0 = time.perf_counter()
    inp, out = from_permutation(puzzle, permutation)
    n = len(inp)
    lo, hi = max(0, lo), min(n - 1, hi)
    rows = None if rows is None or rows >= puzzle.n_rows else rows
    m = engine.prepare(puzzle, rows=rows, dtype=np.float64)
    S = engine.states(m, inp, out)
    loss = start = engine.loss(m, S[-1])
    candidates = window_moves(lo, hi, set(locked), max_cycle)
    result = SurgeryResult(list(permutation), start, start)
    while candidates:
        best = (loss, None, None)
        for move in candidates:
            new_inp, new_out, (first, _) = mv.apply(move, inp, out)
            value = engine.loss(m, engine.run_blocks(m, new_inp, new_out, S[first], start=first))
            result.evaluations += 1
            if value < best[0] * (1 - 1e-12):
                best = (value, move, (new_inp, new_out))
            if time_limit is not None and time.perf_counter() - t0 > time_limit:
                break
        if best[1] is None:
            break
        loss, move, (inp, out) = best
        S = engine.states(m, inp, out)
        result.moves.append(move)
        if time_limit is not None and time.perf_counter() - t0 > time_limit:
            break
    result.permutation = to_permutation(puzzle, inp, out)
    result.mse = loss
    result.seconds = time.perf_counter() - t0
    return result


def default_window(n_blocks: int, uncertain: list[int], against: list[int], removable: list[int]) -> tuple[int, int]:
    """1-based (first, last): the uncertain zone, else around break points, else everything."""
    def around(points, pad):
        lo, hi = max(1, min(points) - pad), min(n_blocks, max(points) + pad)
        if hi - lo + 1 > MAX_WINDOW:  # too wide: centre on the first point
            lo = max(1, points[0] - MAX_WINDOW // 2)
            hi = min(n_blocks, lo + MAX_WINDOW - 1)
        return lo, hi
    if uncertain:
        return around(uncertain, 1)
    marks = sorted(set(against) | set(k + 1 for k in against) | set(removable[:2]))
    if marks:
        return around(marks, 2)
    return (1, n_blocks) if n_blocks <= MAX_WINDOW else (n_blocks - MAX_WINDOW + 1, n_blocks)


def parse_positions(text: str, n_blocks: int) -> tuple[int, int]:
    """'a-b' or 'a' (1-based block positions) -> (first, last); ValueError names the problem."""
    try:
        parts = [int(p) for p in text.split("-")]
    except ValueError:
        raise ValueError(f"--positions {text!r}: expected A-B with block numbers") from None
    if len(parts) == 1:
        parts = parts * 2
    if len(parts) != 2 or not 1 <= parts[0] <= parts[1] <= n_blocks:
        raise ValueError(f"--positions {text!r}: expected A-B with 1 <= A <= B <= {n_blocks}")
    return parts[0], parts[1]


async def surgery_on_pool(store, puzzle, positions: tuple[int, int] | None = None, max_cycle: int = 3,
                          zone_k: int = 20, rows: int | None = DEFAULT_ROWS, time_limit: float | None = None,
                          node: str | None = None) -> dict:
    """Operate on the pool's best; push an improvement (origin `surgery`). Returns a report dict."""
    import asyncio

    from .breakpoints import find_breakpoints
    from .zones import zones_of_pool

    puzzle_id = await store.register_puzzle(puzzle)
    best = await store.fetch_best(puzzle_id)
    if best is None:
        return {"ok": False, "message": "the pool holds no solution to operate on"}
    zm = await zones_of_pool(store, puzzle_id, zone_k)
    if positions is None:
        bp = await asyncio.to_thread(find_breakpoints, puzzle, best.permutation)
        positions = default_window(puzzle.n_blocks, zm.positions("uncertain"), list(bp.against), list(bp.removable))
    first, last = positions
    locked = {p - 1 for p in zm.positions("locked")}
    result = await asyncio.to_thread(surgery, puzzle, best.permutation, first - 1, last - 1, locked,
                                     max_cycle, rows, time_limit)
    report = {"ok": True, "window": [first, last], "locked_kept": sorted(p + 1 for p in locked
                                                                           if first - 1 <= p <= last - 1),
              "evaluations": result.evaluations, "moves": [list(m) for m in result.moves],
              "seconds": round(result.seconds, 3), "start_mse": best.mse}
    if not result.improved:
        report["message"] = f"no move in blocks {first}-{last} improves solution #{best.id}"
        return report
    pushed = await store.submit(puzzle, result.permutation, origin="surgery", node=node, parents=[best.id])
    report.update(solution_id=pushed.id, mse=pushed.mse, sha256=pushed.sha256, new=pushed.new,
                  improved=pushed.mse < best.mse)
    report["message"] = (f"surgery on blocks {first}-{last}: {len(result.moves)} moves, "
                         f"MSE {best.mse:.6g} -> {pushed.mse:.6g} (solution #{pushed.id})")
    return report
