"""Seeds, local search and annealing that recover pairing and order together.

The search works on a row subsample in float32: first-order estimates (one backward pass)
rank every move in a window, the best few are evaluated exactly from cached prefix states,
and improvements are applied. Local optima are escaped by annealing over perturbations
(iterated local search with a Metropolis test on log-MSE, cooling and reheats). A candidate
whose subsample MSE is at float32 rounding level is confirmed on all rows in float64.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from solver import engine, moves as mv
from solver.answer import answer_sha256, from_permutation, to_permutation
from solver.pairing import CONFIDENT_MARGIN, structural_pairing

# A move must lower the subsample MSE by this factor: batched and single float32 passes
# round differently (~1e-7 relative), and a smaller bar lets the search cycle on noise.
IMPROVEMENT = 1 - 1e-5
# Rows of the solver's own exactness check (`verify` uses all rows).
VERDICT_ROWS = 2048
# Held-out rows on which the best arrangement is judged.
VALIDATION_ROWS = 1024

SEED_METHODS = ("structural", "norm", "jacobian", "insertion", "greedy", "loo", "random")


@dataclass
class SolveResult:
    solved: bool
    permutation: list[int]
    mse: float
    sha256: str
    seconds: float
    evaluations: int
    ranked: int = 0
    verdict: str = ""
    relative_mse: float = float("nan")
    hash_matches: bool | None = None
    steps: int = 0
    best_history: list = field(default_factory=list)


@dataclass
class Verdict:
    exact: bool
    mse: float
    floor: float
    neighbour_mse: float
    text: str


# ---------------------------------------------------------------- evaluation context

class Evaluator:
    """Exact subsample losses from cached prefixes, plus first-order move ranking."""

    def __init__(self, puzzle, rows: np.ndarray, rank_rows: int):
        self.puzzle = puzzle
        self.evaluations = 0
        self.ranked = 0
        self.use_rows(rows, rank_rows)

    def use_rows(self, rows: np.ndarray, rank_rows: int):
        self.m = engine.prepare(self.puzzle, rows=rows, dtype=np.float32)
        self.m_rank = engine.prepare(self.puzzle, rows=rows[:rank_rows], dtype=np.float32)

    def set(self, inp_seq, out_seq, S=None):
        self.inp, self.out = inp_seq.copy(), out_seq.copy()
        self.S = engine.states(self.m, self.inp, self.out) if S is None else S
        self.loss = engine.loss(self.m, self.S[-1])
        self.evaluations += 1
        return self.loss

    def evaluate(self, candidates):
        """Exact subsample MSE of each candidate (new_inp, new_out, (first, stop))."""
        m, n = self.m, len(self.inp)
        pending: dict[int, list] = {}
        for idx, (inp, out, (first, stop)) in enumerate(candidates):
            x = engine.run_blocks(m, inp, out, self.S[first], start=first, stop=stop)
            pending.setdefault(stop, []).append((idx, x))
        losses = np.empty(len(candidates))
        batch_idx, batch = [], None
        for k in range(min(pending), n + 1):
            if k in pending:
                new_idx = [i for i, _ in pending[k]]
                new_x = np.stack([x for _, x in pending[k]])
                batch_idx += new_idx
                batch = new_x if batch is None else np.concatenate([batch, new_x])
            if k == n:
                break
            rows = batch.reshape(-1, batch.shape[-1])
            rows = rows + engine.block(m, self.inp[k], self.out[k], rows)
            batch = rows.reshape(batch.shape)
        losses[batch_idx] = engine.loss_many(m, batch)
        self.evaluations += len(candidates)
        return losses

    def rank(self, window: int, pairing_moves: bool, with_cycles: bool):
        m = self.m_rank
        S = engine.states(m, self.inp, self.out)
        V = engine.output_sensitivity(m, self.inp, self.out, S)
        residual = (engine.output(m, S[-1]) - m.pred).T.reshape(-1)  # output-major, like D
        D = engine.placement_effects(m, S, V, self.inp, self.out, window=window)
        E = engine.out_swap_effects(m, S, V, self.inp, self.out, window=window) if pairing_moves else None
        est, ranked = mv.rank_moves(D, residual, E, window, with_cycles=with_cycles)
        self.ranked += len(ranked)
        return est, ranked


# ---------------------------------------------------------------- seeds

def update_sizes(m, out_of_inp) -> np.ndarray:
    """Norm of each block's update on the model's input rows."""
    return np.array([np.linalg.norm(engine.block(m, i, out_of_inp[i], m.x)) for i in range(len(out_of_inp))])


def norm_order(puzzle, out_of_inp, rows=256) -> np.ndarray:
    """Blocks sorted by the size of their update on the data (grows with depth when trained)."""
    m = engine.prepare(puzzle, rows=rows, dtype=np.float32)
    return np.argsort(update_sizes(m, out_of_inp), kind="stable")


def weight_norm_order(puzzle, out_of_inp) -> np.ndarray:
    norms = np.linalg.norm(puzzle.out_w.reshape(puzzle.n_blocks, -1), axis=1)[out_of_inp]
    return np.argsort(norms, kind="stable")


def jacobian_order(puzzle, out_of_inp, rows=256) -> np.ndarray:
    """Order by the block's Jacobian gain on the data: a depth signal that norms can miss."""
    m = engine.prepare(puzzle, rows=rows, dtype=np.float32)
    gains = []
    for i in range(puzzle.n_blocks):
        j = out_of_inp[i]
        active = (m.x @ m.w1[i] + m.b1[i]) > 0
        # mean over rows of ||W_out diag(active) W_inp||_F, via the average active pattern
        share = active.mean(axis=0)
        gains.append(np.linalg.norm((m.w2[j].T * share) @ m.w1[i].T))
    return np.argsort(gains, kind="stable")


def greedy_order(puzzle, out_of_inp, rng, rows=128, start_order=None) -> np.ndarray:
    """Build the order front to back: each step appends the block that, with the rest
    following in the start order, fits pred best."""
    m = engine.prepare(puzzle, rows=rows, dtype=np.float32)
    n = puzzle.n_blocks
    rest = list(start_order if start_order is not None else rng.permutation(n))
    chosen = []
    x = m.x
    while rest:
        best = None
        for cand in rest[: min(len(rest), 12)]:
            tail = [cand] + [b for b in rest if b != cand]
            seq = np.array(tail)
            y = engine.run_blocks(m, seq, out_of_inp[seq], x)
            loss = engine.loss(m, y)
            if best is None or loss < best[0]:
                best = (loss, cand)
        chosen.append(best[1])
        rest.remove(best[1])
        x = x + engine.block(m, best[1], out_of_inp[best[1]], x)
    return np.array(chosen)


def insertion_order(m, blocks, out_of_inp) -> np.ndarray:
    """NEH construction: add blocks one at a time, each where the partial network fits pred
    best. Big blocks first: they set the skeleton the small ones are fitted into."""
    seq: list[int] = []
    for b in blocks:
        arr = np.array(seq, dtype=np.int64)
        losses = engine.insertion_losses(m, arr, out_of_inp[arr], b, out_of_inp[b])
        seq.insert(int(np.argmin(losses)), int(b))
    return np.array(seq, dtype=np.int64)


def rebuild(m, inp_seq, out_seq, count: int, rng, repair: bool = False):
    """Remove ``count`` random blocks and reinsert each at its best position."""
    n = len(inp_seq)
    taken = np.sort(rng.choice(n, size=min(count, n - 1), replace=False))
    keep = np.setdiff1d(np.arange(n), taken)
    inp, out = list(inp_seq[keep]), list(out_seq[keep])
    removed = [(int(inp_seq[t]), int(out_seq[t])) for t in taken]
    if repair and len(removed) > 1:
        outs = [o for _, o in removed]
        outs = [outs[k] for k in rng.permutation(len(outs))]
        removed = [(i, o) for (i, _), o in zip(removed, outs)]
    for k in rng.permutation(len(removed)):
        i, j = removed[k]
        losses = engine.insertion_losses(m, np.array(inp), np.array(out), i, j)
        q = int(np.argmin(losses))
        inp.insert(q, i)
        out.insert(q, j)
    return np.array(inp, dtype=np.int64), np.array(out, dtype=np.int64)


def loo_order(puzzle, inp_seq, out_seq, rows=256):
    """Move the block whose removal lowers the MSE most to its best other position."""
    m = engine.prepare(puzzle, rows=rows, dtype=np.float32)
    S = engine.states(m, inp_seq, out_seq)
    n = len(inp_seq)
    base = engine.loss(m, S[-1])
    k = int(np.argmin(engine.leave_one_out(m, inp_seq, out_seq, S)))
    best = (base, inp_seq, out_seq)
    for b in range(n):
        if b == k:
            continue
        inp, out, _ = mv.apply(("insert", k, b), inp_seq, out_seq)
        loss = engine.loss(m, engine.run_blocks(m, inp, out, m.x))
        if loss < best[0]:
            best = (loss, inp, out)
    return best[1], best[2]


def make_seed(puzzle, method: str, rng: np.random.Generator, base=None) -> list[int]:
    """A start permutation made by ``method`` (see SEED_METHODS)."""
    pairing = structural_pairing(puzzle).out_of_inp
    n = puzzle.n_blocks
    if method == "structural":
        order = weight_norm_order(puzzle, pairing)
    elif method == "norm":
        order = norm_order(puzzle, pairing)
    elif method == "jacobian":
        order = jacobian_order(puzzle, pairing)
    elif method == "insertion":
        m = engine.prepare(puzzle, rows=128, dtype=np.float32)
        order = insertion_order(m, np.argsort(-update_sizes(m, pairing)), pairing)
    elif method == "greedy":
        order = greedy_order(puzzle, pairing, rng, start_order=norm_order(puzzle, pairing))
    elif method == "random":
        order = rng.permutation(n)
        pairing = rng.permutation(n)
    elif method == "loo":
        if base is None:
            order = norm_order(puzzle, pairing)
            inp, out = order, pairing[order]
        else:
            inp, out = from_permutation(puzzle, base)
        inp, out = loo_order(puzzle, inp, out)
        return to_permutation(puzzle, inp, out)
    else:
        raise ValueError(f"unknown seed method {method!r} (choose from {', '.join(SEED_METHODS)})")
    return to_permutation(puzzle, order, pairing[order])


def perturb(puzzle, perm, width: int, rng: np.random.Generator, n_moves: int | None = None) -> list[int]:
    """Random local moves around an elite: ``n_moves`` moves (default ``width``) of span <= width."""
    inp, out = from_permutation(puzzle, perm)
    for _ in range(n_moves if n_moves is not None else max(1, width)):
        inp, out, _ = mv.apply(mv.random_move(rng, len(inp), max(2, width)), inp, out)
    return to_permutation(puzzle, inp, out)


# ---------------------------------------------------------------- verdict

def verdict(puzzle, inp_seq, out_seq, rows: int | None = None) -> Verdict:
    """Is this the network that produced pred? Judged against float32 rounding and neighbours.

    ``rows`` limits the check to the first rows: a wrong network cannot match a few
    thousand rows to rounding level by chance, and a full float64 pass of the public
    size costs about a second.
    """
    m64 = engine.prepare(puzzle, rows=rows, dtype=np.float64)
    m32 = engine.prepare(puzzle, rows=rows, dtype=np.float32)
    pred = m64.pred
    S64 = engine.states(m64, inp_seq, out_seq)
    y64 = engine.output(m64, S64[-1])
    y32 = engine.output(m32, engine.run_blocks(m32, inp_seq, out_seq, m32.x)).astype(np.float64)
    mse = float(np.mean((y64 - pred) ** 2))
    floor = float(np.mean((y32 - y64) ** 2)) + float(np.mean((pred - pred.astype(np.float32)) ** 2))
    scale = float(np.var(pred)) or 1.0
    # nearest neighbours: swaps near the output are the cheapest to evaluate exactly
    n = len(inp_seq)
    neighbour = math.inf
    for a in range(max(0, n - 4), n - 1):
        inp, out, (first, _) = mv.apply(("swap", a, a + 1), inp_seq, out_seq)
        neighbour = min(neighbour, engine.loss(m64, engine.run_blocks(m64, inp, out, S64[first], start=first)))
        if n > 1:
            inp, out, (first, _) = mv.apply(("pair", a, a + 1), inp_seq, out_seq)
            neighbour = min(neighbour, engine.loss(m64, engine.run_blocks(m64, inp, out, S64[first], start=first)))
    threshold = max(100.0 * floor, 1e-13 * scale)
    exact = mse <= threshold and (not math.isfinite(neighbour) or neighbour > 10 * mse)
    gap = neighbour / mse if mse > 0 else math.inf
    on = "" if m64.n_rows == puzzle.n_rows else f" on {m64.n_rows} of {puzzle.n_rows} rows"
    if exact:
        text = (f"exact: MSE {mse:.3g}{on} is at float32 rounding level ({floor:.2g}); "
                f"nearest tested neighbour {neighbour:.3g} ({gap:.1e}x worse)")
    else:
        text = f"not exact: MSE {mse:.3g}{on} vs float32 rounding level {floor:.2g} (relative {mse / scale:.2g})"
    return Verdict(exact, mse, floor, neighbour, text)


# ---------------------------------------------------------------- the search

class _Stop(Exception):
    pass


@dataclass
class Settings:
    rows: int = 256  # rows for exact subsample evaluation
    rank_rows: int = 128  # rows for first-order ranking
    top_k: int = 24  # exact evaluations per ranked batch
    window: int = 48  # max position distance of ranked moves
    t0: float = 0.08  # initial temperature on log-MSE
    cooling: float = 0.97
    perturb_moves: int = 3
    perturb_width: int = 6
    reheat_after: int = 60  # kicks without a new best


def solve(puzzle, start=None, seed: int = 0, time_limit: float | None = None,
          expect_sha256: str | None = None, rows: int | None = None,
          on_progress=None, on_improve=None, should_stop=None,
          settings: Settings | None = None, temperature: float | None = None,
          perturb_width: int | None = None) -> SolveResult:
    """Search pairing and order until the arrangement reproduces pred (and the hash matches)."""
    t_start = time.perf_counter()
    s = settings or Settings()
    if rows:
        s.rows = rows
    if temperature is not None:
        s.t0 = temperature
    if perturb_width is not None:
        s.perturb_width = perturb_width
    target = expect_sha256 or puzzle.target_sha256
    rng = np.random.default_rng(seed)
    n = puzzle.n_blocks
    n_rows = min(puzzle.n_rows, s.rows)
    row_idx = np.sort(rng.choice(puzzle.n_rows, size=n_rows, replace=False)) if puzzle.n_rows > n_rows \
        else np.arange(puzzle.n_rows)
    ev = Evaluator(puzzle, row_idx, min(s.rank_rows, n_rows))
    screen = Evaluator(puzzle, row_idx[: max(16, n_rows // 4)], min(s.rank_rows, n_rows))
    rest = np.setdiff1d(np.arange(puzzle.n_rows), row_idx)
    validation = engine.prepare(puzzle, rows=np.sort(rest[:VALIDATION_ROWS]) if len(rest) >= 64 else row_idx,
                                dtype=np.float32)

    def resample_rows():
        """New search rows (at a reheat): the search must not settle into one subsample."""
        idx = np.sort(rng.choice(puzzle.n_rows, size=n_rows, replace=False))
        ev.use_rows(idx, min(s.rank_rows, n_rows))
        screen.use_rows(idx[: max(16, n_rows // 4)], min(s.rank_rows, n_rows))
        state["screened"] = None

    window = min(s.window, n - 1) if n > 1 else 1
    if n > 64:
        window = min(window, 16)
    scale = float(np.var(ev.m.pred)) or 1.0
    exact_level = 1e-9 * scale  # subsample float32 MSE below this: confirm on all rows
    pairing = structural_pairing(puzzle)
    # inp pieces whose structural pair is in doubt (small margin): re-paired exhaustively,
    # and pairing moves are ranked only while there are any. Kicks re-pair at random
    # anyway, so a confident but wrong pair can still be undone.
    uncertain_pairs = np.flatnonzero(pairing.margin < CONFIDENT_MARGIN)
    if len(uncertain_pairs) > 24:
        uncertain_pairs = np.argsort(pairing.margin)[:24]
    pair_moves = len(uncertain_pairs) > 0
    deadline = None if time_limit is None else t_start + time_limit
    state = {"best": None, "last_progress": 0.0, "steps": 0, "history": [], "temp": s.t0, "kicks": 0,
             "screened": None, "best_search": math.inf}
    solved_with: list = []

    def check_stop():
        if should_stop is not None and should_stop():
            raise _Stop
        if deadline is not None and time.perf_counter() > deadline:
            raise _Stop

    def progress(force=False):
        now = time.perf_counter()
        if on_progress and (force or now - state["last_progress"] >= 0.5):
            state["last_progress"] = now
            elapsed = now - t_start
            on_progress({"step": state["steps"], "temperature": state["temp"], "mse": ev.loss,
                         "best_mse": state["best"][0], "moves_per_s": ev.evaluations / max(elapsed, 1e-9),
                         "evaluations": ev.evaluations, "seconds": elapsed})

    def consider_best(loss, inp, out):
        # the best is judged on held-out rows: a search on a few hundred rows can fit
        # them better than the data (seen: subsample MSE half the full one)
        if state["best"] is not None and loss >= state["best_search"] * 1.5:
            return
        held = engine.loss(validation, engine.run_blocks(validation, inp, out, validation.x))
        state["best_search"] = min(state["best_search"], loss)
        if state["best"] is None or held < state["best"][0]:
            state["best"] = (held, inp.copy(), out.copy())
            state["history"].append((time.perf_counter() - t_start, held))
            if on_improve:
                on_improve(to_permutation(puzzle, inp, out), held)
            if loss < exact_level:
                v = verdict(puzzle, inp, out, rows=VERDICT_ROWS)
                perm = to_permutation(puzzle, inp, out)
                if v.exact and (target is None or answer_sha256(perm) == target):
                    solved_with.append((perm, v))
                    raise _Stop

    def try_batch(batch, combine=False):
        """Evaluate moves exactly and apply the best if it improves (with ``combine``, all
        improving moves whose spans do not overlap, when that is better still)."""
        cands = [mv.apply(move, ev.inp, ev.out) for move in batch]
        state["steps"] += len(batch)
        screened = len(batch) > 16
        if screened:
            # screen on a quarter of the rows (pred is exact, so a right move shows on
            # any rows); only the promising few are evaluated on the search rows
            if state["screened"] is not ev.S:
                screen.set(ev.inp, ev.out)
                state["screened"] = ev.S
            first_look = screen.evaluate(cands)
            state["last_batch"] = (batch, first_look)
            keep = [i for i in np.argsort(first_look)[:12] if first_look[i] < screen.loss * IMPROVEMENT]
            batch, cands = [batch[i] for i in keep], [cands[i] for i in keep]
            if not keep:
                progress()
                return False
        losses = ev.evaluate(cands)
        if not screened:
            state["last_batch"] = (batch, losses)
        order = np.argsort(losses)
        if losses[order[0]] >= ev.loss * IMPROVEMENT:
            progress()
            return False
        inp, out, _ = cands[order[0]]
        chosen = ev.loss
        if combine:
            taken, merged = [], (ev.inp, ev.out)
            for idx in order:
                if losses[idx] >= ev.loss * IMPROVEMENT:
                    break
                first, stop = cands[idx][2]
                if all(stop <= f or first >= t for f, t in taken):
                    taken.append((first, stop))
                    merged = mv.apply(batch[idx], *merged)[:2]
            if len(taken) > 1:
                chosen = ev.set(*merged)
        if not (combine and len(taken) > 1 and chosen < losses[order[0]]):
            ev.set(inp, out)
        consider_best(ev.loss, ev.inp, ev.out)
        return True

    def adjacent_moves():
        kinds = ("swap", "pair") if pair_moves else ("swap",)
        return [(kind, a, a + 1) for kind in kinds for a in range(n - 1)]

    def uncertain_pair_swaps():
        at = np.flatnonzero(np.isin(ev.inp, uncertain_pairs))
        return [("pair", int(a), int(b)) for x, a in enumerate(at) for b in at[x + 1:]]

    def local_moves(count=32):
        """The best-estimated adjacent swaps and re-pairings (a window-1 ranking is cheap)."""
        _, ranked = ev.rank(1, pair_moves, with_cycles=False)
        return [m for m in ranked if m[0] == "pair" or abs(m[2] - m[1]) == 1][:count]

    def descend(reach):
        """Cheap local moves first (they keep a good seed on course), then ranked moves
        within ``reach``, each confirmed exactly; near the answer, the whole adjacent
        neighbourhood and pairs of adjacent swaps."""
        while True:
            check_stop()
            # a large error is the mark of wrong pairs (a mispaired block is garbage
            # wherever it sits): re-pair before reordering around it
            if ev.loss > 1e-2 * scale and len(uncertain_pairs) > 1 \
                    and try_batch(uncertain_pair_swaps(), combine=True):
                continue
            if try_batch(local_moves(), combine=True):
                continue
            _, ranked = ev.rank(reach, pair_moves, with_cycles=True)
            depth = s.top_k * 4
            if any(try_batch(ranked[pos:pos + s.top_k])
                   for pos in range(0, min(depth, len(ranked)), s.top_k)):
                continue
            # re-pairing among the pairs the structure does not settle, exhaustively:
            # wrong pairs form cycles that linear estimates rank poorly
            if len(uncertain_pairs) > 1 and try_batch(uncertain_pair_swaps(), combine=True):
                continue
            if try_batch(adjacent_moves(), combine=True):
                continue
            if ev.loss < 1e-2 * scale and end_game():
                continue
            if reach < window:
                return  # after a local kick, a local repair is enough
            # every short move exactly: where the linear ranking misleads (strongly damped
            # nets, rugged landscapes), the exact neighbourhood still leads somewhere
            near = [(kind, a, b) for a in range(n) for b in range(max(0, a - 4), min(n, a + 5))
                    for kind in ("swap", "insert") if (b > a + 1 if kind == "swap" else abs(b - a) > 1)]
            if not any(try_batch(near[pos:pos + 128], combine=True) for pos in range(0, len(near), 128)):
                return

    def end_game():
        """Compensating errors leave every single swap uphill, and linear estimates rank
        such pairs poorly: try pairs of adjacent swaps exactly, those whose single swaps
        are least uphill first (the adjacent batch just evaluated gives those costs)."""
        uphill = {mvv[1]: loss for mvv, loss in zip(*state["last_batch"]) if mvv[0] == "swap"}
        doubles = sorted((("double", a, b) for a in range(n - 1) for b in range(a + 2, n - 1)),
                         key=lambda d: uphill[d[1]] + uphill[d[2]])[:4096]
        return any(try_batch(doubles[pos:pos + 128]) for pos in range(0, len(doubles), 128))

    # ---- start
    try:
        if start is not None:
            inp, out = from_permutation(puzzle, start)
            ev.set(inp, out)
        else:
            seeds = []
            p = pairing.out_of_inp
            for order in (weight_norm_order(puzzle, p), norm_order(puzzle, p),
                          jacobian_order(puzzle, p)):
                for o in (order, order[::-1]):
                    seeds.append((o, p[o]))
            # each seed gets a cheap adjacent-move descent; the best basin goes on. Seeds
            # are tried in order of trust (|W_out| first: in trained nets it grows with
            # depth most reliably), skipping those far worse than the best start
            losses = [ev.set(i, o) for i, o in seeds]
            settled = []

            def settle(inp, out):
                ev.set(inp, out)
                consider_best(ev.loss, ev.inp, ev.out)
                for _ in range(max(8, n // 2)):
                    check_stop()
                    if not try_batch(local_moves(), combine=True):
                        break
                settled.append((ev.loss, ev.inp.copy(), ev.out.copy()))

            for idx in [i for i in range(len(seeds)) if losses[i] <= 20 * min(losses)][:3]:
                if settled and settled[-1][0] < 1e-2 * scale:
                    break  # one seed is close: the end game beats more seeds
                settle(*seeds[idx])
            close = min(t[0] for t in settled) < 1e-2 * scale
            if n <= 96 and not close:  # NEH costs ~N^3/6 block passes: not for large N
                sizes = update_sizes(ev.m_rank, p)
                order = insertion_order(ev.m_rank, np.argsort(-sizes), p)
                settle(order, p[order])
            _, inp, out = min(settled, key=lambda t: t[0])
            ev.set(inp, out)
        consider_best(ev.loss, ev.inp, ev.out)
        progress(force=True)
        descend(window)
        # ---- anneal over local optima
        cur = (ev.loss, ev.inp.copy(), ev.out.copy())
        since_best = 0
        temp = s.t0
        while True:
            check_stop()
            width = s.perturb_width
            if n > 3 and rng.random() < 0.5:
                # destroy and rebuild (iterated greedy): take blocks out, put each back
                # where it fits best; sometimes re-pair them on the way
                inp, out = rebuild(ev.m, cur[1], cur[2], int(rng.integers(2, s.perturb_moves + 3)),
                                   rng, repair=rng.random() < (0.3 if pair_moves else 0.05))
                reach = window
            else:
                inp, out = cur[1], cur[2]
                for _ in range(s.perturb_moves if since_best < s.reheat_after else s.perturb_moves * 2):
                    inp, out, _ = mv.apply(mv.random_move(rng, n, width, allow_pair=True), inp, out)
                # a local kick gets a local repair; a full-reach pass now and then
                reach = window if state["kicks"] % 10 == 0 else min(window, 2 * width + 2)
            ev.set(inp, out)
            descend(reach)
            state["kicks"] += 1
            best_before = state["best"][0]
            consider_best(ev.loss, ev.inp, ev.out)
            delta = math.log(max(ev.loss, 1e-300)) - math.log(max(cur[0], 1e-300))
            if delta <= 0 or rng.random() < math.exp(-delta / max(temp, 1e-9)):
                cur = (ev.loss, ev.inp.copy(), ev.out.copy())
            since_best = 0 if state["best"][0] < best_before else since_best + 1
            temp *= s.cooling
            if since_best and since_best % s.reheat_after == 0:
                temp = s.t0  # reheat, and go back to the best, seen through new rows
                if puzzle.n_rows > n_rows:
                    resample_rows()
                    state["best_search"] = math.inf
                cur = (ev.set(state["best"][1], state["best"][2]), state["best"][1], state["best"][2])
            state["temp"] = temp
            progress()
    except _Stop:
        pass
    elapsed = time.perf_counter() - t_start
    if solved_with:
        perm, v = solved_with[0]
        solved = True
    else:
        best_loss, inp, out = state["best"]
        perm = to_permutation(puzzle, inp, out)
        if best_loss < exact_level:
            v = verdict(puzzle, inp, out, rows=VERDICT_ROWS)
        else:  # far from exact: the float64 MSE is all there is to say
            full = engine.mse(puzzle, inp, out, rows=VERDICT_ROWS)
            on = "" if puzzle.n_rows <= VERDICT_ROWS else f" on {VERDICT_ROWS} of {puzzle.n_rows} rows"
            v = Verdict(False, full, float("nan"), float("nan"),
                        f"not exact: MSE {full:.3g}{on} (relative {full / (float(np.var(puzzle.pred)) or 1.0):.2g})")
        solved = v.exact and (target is None or answer_sha256(perm) == target)
    sha = answer_sha256(perm)
    return SolveResult(
        solved=solved, permutation=perm, mse=v.mse, sha256=sha, seconds=elapsed,
        evaluations=ev.evaluations, ranked=ev.ranked, verdict=v.text,
        relative_mse=v.mse / (float(np.var(puzzle.pred)) or 1.0),
        hash_matches=None if target is None else sha == target,
        steps=state["steps"], best_history=state["history"],
    )
