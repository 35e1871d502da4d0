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
    cancelled: bool = False

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
            rows: int | None = DEFAULT_ROWS, time_limit: float | None = None,
            should_stop=lambda: False, max_moves: int | None = None) -> SurgeryResult:
    """Best-improvement descent over the window's moves until none improves (or time runs
    out, or SHOULD_STOP says so, or MAX_MOVES were made)."""
    from solver.search import engine, moves as mv
    from solver.puzzle.answer import from_permutation, to_permutation

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
            if (time_limit is not None and time.perf_counter() - t0 > time_limit) or should_stop():
                break
        if best[1] is None:
            break
        loss, move, (inp, out) = best
        S = engine.states(m, inp, out)
        result.moves.append(move)
        if (time_limit is not None and time.perf_counter() - t0 > time_limit) or \
                (max_moves is not None and len(result.moves) >= max_moves):
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


def plan_pieces(first: int, last: int, targets: list[int] | None = None, width: int = MAX_WINDOW,
                overlap: int = 2) -> list[tuple[int, int]]:
    """1-based windows of at most WIDTH blocks that cover FIRST..LAST, each overlapping
    the last by OVERLAP (so a move across a border is tried too); with TARGETS, only the
    windows that hold one of them."""
    step = max(1, width - overlap)
    pieces, a = [], first
    while True:
        b = min(last, a + width - 1)
        if targets is None or any(a <= t <= b for t in targets):
            pieces.append((a, b))
        if b >= last:
            return pieces
        a += step


@dataclass
class Plan:
    """What a surgery on the pool will work through."""
    best: object                      # the pool's best SolutionRow it starts from
    span: tuple[int, int]             # 1-based first, last
    pieces: list[tuple[int, int]]
    locked: set[int]                  # 0-based positions kept in place
    targets: list[int]                # 1-based positions the pieces were chosen for
    why: str


async def plan_surgery(store, puzzle, positions: tuple[int, int] | None, zone_k: int = 20) -> Plan | None:
    """The pool's best and the pieces: POSITIONS, else every uncertain position, else the
    break points, else everything. None when the pool holds no solution."""
    import asyncio

    from .breakpoints import find_breakpoints
    from .zones import zones_of_pool

    puzzle_id = await store.register_puzzle(puzzle)
    best = await store.fetch_best(puzzle_id)
    if best is None:
        return None
    zm = await zones_of_pool(store, puzzle_id, zone_k)
    locked = {p - 1 for p in zm.positions("locked")}
    uncertain = zm.positions("uncertain")
    if positions is not None:
        span, targets, why = positions, list(range(positions[0], positions[1] + 1)), "as asked"
    elif uncertain:
        span, targets, why = (min(uncertain), max(uncertain)), uncertain, f"{len(uncertain)} uncertain positions"
    else:
        bp = await asyncio.to_thread(find_breakpoints, puzzle, best.permutation)
        span = default_window(puzzle.n_blocks, [], list(bp.against), list(bp.removable))
        targets, why = list(range(span[0], span[1] + 1)), "around the break points"
    return Plan(best, span, plan_pieces(*span, targets), locked, targets, why)


async def surgery_on_pool(store, puzzle, positions: tuple[int, int] | None = None, max_cycle: int = 3,
                          zone_k: int = 20, rows: int | None = DEFAULT_ROWS, time_limit: float | None = None,
                          node: str | None = None, command_id: int | None = None, on_progress=None,
                          piece_blocks: int = MAX_WINDOW) -> dict:
    """Operate on the pool's best, piece by piece. Each round scans every open piece for
    its best single move and descends in the piece that gains most: a descent in a piece
    far from the damage would otherwise "compensate" for it and wreck a right prefix.
    Every improvement goes to the pool at once (origin `surgery`, the previous one as
    parent). ON_PROGRESS(dict) is awaited before each piece and every second during one;
    True cancels. Returns a report dict (ranges covered, what each piece tried)."""
    plan = await plan_surgery(store, puzzle, positions, zone_k)
    if plan is None:
        return {"ok": False, "message": "the pool holds no solution to operate on"}
    if piece_blocks != MAX_WINDOW:
        plan.pieces = plan_pieces(*plan.span, plan.targets, width=max(3, piece_blocks))
    first, last = plan.span
    report = {"ok": True, "window": [first, last], "why": plan.why, "pieces": len(plan.pieces),
              "ranges": [], "tried": [], "start_mse": plan.best.mse, "cancelled": False,
              "locked_kept": sorted(p + 1 for p in plan.locked if first - 1 <= p <= last - 1)}
    state = {"perm": plan.best.permutation, "parent": plan.best.id, "mse": plan.best.mse}
    deadline = None if time_limit is None else time.monotonic() + time_limit
    run = _PieceRunner(puzzle, plan, max_cycle, rows, deadline, on_progress, report)
    open_pieces = list(plan.pieces)
    while open_pieces and not run.ended:
        gains = await run.scan(open_pieces, state["perm"])
        if run.ended or not gains or gains[0][0] <= 0:
            break
        _, piece = gains[0]
        open_pieces.remove(piece)
        result = await run.piece(piece, state["perm"], None, "descent")
        if result.improved:
            await _push(store, puzzle, result.permutation, state, node, command_id, report["tried"][-1])
    report["message"] = _summary(report, plan, state)
    return report


class _PieceRunner:
    """Runs surgery on pieces in a thread, with progress, cancel and the time limit."""

    def __init__(self, puzzle, plan: Plan, max_cycle, rows, deadline, on_progress, report: dict):
        self.puzzle, self.plan, self.max_cycle, self.rows = puzzle, plan, max_cycle, rows
        self.deadline, self.on_progress, self.report = deadline, on_progress, report
        self.ended = False

    async def scan(self, pieces, perm) -> list[tuple[float, tuple[int, int]]]:
        """(relative gain of its best single move, piece), best first."""
        gains = []
        for piece in pieces:
            result = await self.piece(piece, perm, 1, "scan")
            if self.ended:
                break
            if [piece[0], piece[1]] not in self.report["ranges"]:
                self.report["ranges"].append([piece[0], piece[1]])
            gains.append((1 - result.mse / result.start_mse if result.start_mse > 0 else 0.0, piece))
        return sorted(gains, key=lambda g: -g[0])

    async def piece(self, piece, perm, max_moves, what: str) -> SurgeryResult:
        (a, b), n = piece, len(self.plan.pieces)
        i = self.plan.pieces.index(piece) + 1
        first, last = self.plan.span
        progress = {"piece": i, "pieces": n, "blocks": [a, b], "of": [first, last], "step": what,
                    "message": f"piece {i}/{n}: blocks {a}-{b} of {first}-{last} ({what})"}
        left = None if self.deadline is None else self.deadline - time.monotonic()
        if left is not None and left <= 0:
            self.ended = True
        elif self.on_progress and await self.on_progress(progress):
            self.ended = self.report["cancelled"] = True
        if self.ended:
            return SurgeryResult(list(perm), 0.0, 0.0)
        result = await _run_piece(self.puzzle, perm, a, b, self.plan.locked, self.max_cycle, self.rows,
                                  left, progress, self.on_progress, max_moves)
        self.report["tried"].append({"blocks": [a, b], "step": what, "evaluations": result.evaluations,
                                     "moves": [list(m) for m in result.moves],
                                     "seconds": round(result.seconds, 3)})
        if result.cancelled:
            self.ended = self.report["cancelled"] = True
        return result


async def _run_piece(puzzle, perm, a: int, b: int, locked, max_cycle, rows, time_limit, progress, on_progress,
                     max_moves=None):
    """One piece in a thread; ON_PROGRESS is asked every second whether to cancel."""
    import asyncio
    import threading

    stop = threading.Event()
    task = asyncio.ensure_future(asyncio.to_thread(surgery, puzzle, perm, a - 1, b - 1, locked, max_cycle,
                                                   rows, time_limit, stop.is_set, max_moves))
    while not task.done():
        await asyncio.wait({task}, timeout=1.0)
        if not task.done() and on_progress and await on_progress(progress):
            stop.set()
    result = task.result()
    result.cancelled = stop.is_set()
    return result


async def _push(store, puzzle, perm, state: dict, node, command_id, tried: dict) -> None:
    pushed = await store.submit(puzzle, perm, origin="surgery", node=node, parents=[state["parent"]],
                                method="surgery", command_id=command_id)
    tried.update(solution_id=pushed.id, mse=pushed.mse)
    if pushed.mse < state["mse"]:
        state.update(perm=perm, parent=pushed.id, mse=pushed.mse)


def _summary(report: dict, plan: Plan, state: dict) -> str:
    first, last = plan.span
    covered = ", ".join(f"{a}-{b}" for a, b in report["ranges"]) or "nothing"
    ended = " (cancelled)" if report["cancelled"] else (
        "" if len(report["ranges"]) == len(plan.pieces) else " (time limit reached)")
    report["complete"] = len(report["ranges"]) == len(plan.pieces)
    tried = sum(t["evaluations"] for t in report["tried"])
    if state["parent"] == plan.best.id:
        return (f"surgery on blocks {first}-{last} ({plan.why}): covered {covered}{ended}; "
                f"{tried} arrangements tried, none improves solution #{plan.best.id}")
    report.update(solution_id=state["parent"], mse=state["mse"], improved=True, new=True)
    return (f"surgery on blocks {first}-{last} ({plan.why}): covered {covered}{ended}; {tried} tried, "
            f"MSE {plan.best.mse:.6g} -> {state['mse']:.6g} (solution #{state['parent']})")
