"""The search: a fast path that tries first, then iterated local search, until the
arrangement reproduces pred (and the hash matches, when a target is known).

Fast path: pair by trace, order by the out norms (both from the weights, no data), and
descend (solver.descent) on a few hundred rows. Trained nets like the public one end
exact here in well under a second. Full search: kick the current arrangement (a shuffled
window, blocks taken out and put back where they fit, re-pairings while pairs are in
doubt), descend, and keep the result by a Metropolis test on log-MSE; the best is judged
on held-out rows, so a search on a few hundred rows cannot fool itself.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from solver import engine, moves as mv, repair
from solver.answer import answer_sha256, from_permutation, to_permutation
from solver.descent import Descent, DescentPlan
from solver.evaluator import Evaluator
from solver.pairing import CONFIDENT_MARGIN, structural_pairing
from solver.reorder import Reorder
from solver.seeds import SEEDS
from solver.verdict import VERDICT_ROWS, far_verdict, verdict

# Puzzles with at most this many rows are searched on all of them (the public one has 342);
# larger ones on a random subsample, with held-out rows to judge the best.
ALL_ROWS_UP_TO = 1024
# A float32 MSE this far below the variance of pred is rounding: confirm in float64.
EXACT_LEVEL = 1e-9


@dataclass
class Settings:
    fast_rows: int = 384  # rows of the fast path on a large puzzle
    rows: int = 512  # rows of the full search on a large puzzle
    validation_rows: int = 1024  # held-out rows that judge the best
    t0: float = 0.05  # initial temperature on log-MSE
    cooling: float = 0.97
    reheat_after: int = 40  # kicks without a new best before going back to the best
    kick_width: int = 6


@dataclass
class SolveResult:
    solved: bool
    permutation: list[int]
    mse: float
    sha256: str
    seconds: float
    evaluations: int  # exact evaluations, all of them
    evaluation_rows: dict  # rows per exact evaluation -> how many ran on that many rows
    ranked: int = 0  # first-order estimates
    verdict: str = ""
    relative_mse: float = float("nan")
    hash_matches: bool | None = None
    steps: int = 0
    stage: str = ""  # "fast" or "full": where the answer was found (or the search ended)
    best_history: list = field(default_factory=list)


class _Stop(Exception):
    pass


class Search:
    """One search on one puzzle; its state is what the attributes say."""

    def __init__(self, puzzle, *, seed: int = 0, time_limit: float | None = None,
                 expect_sha256: str | None = None, rows: int | None = None, temperature: float | None = None,
                 on_progress=None, on_improve=None, should_stop=None, settings: Settings | None = None):
        self.started = time.perf_counter()
        self.puzzle = puzzle
        self.settings = settings or Settings()
        if rows:
            self.settings.rows = self.settings.fast_rows = rows
        if temperature is not None:
            self.settings.t0 = temperature
        self.rng = np.random.default_rng(seed)
        self.deadline = None if time_limit is None else self.started + time_limit
        self.target = expect_sha256 or puzzle.target_sha256
        self.on_progress, self.on_improve, self.should_stop = on_progress, on_improve, should_stop
        self.scale = float(np.var(puzzle.pred)) or 1.0
        self.evaluators: list[Evaluator] = []
        self.best: tuple | None = None  # (validated loss, inp, out)
        self.history: list = []
        self.solution: tuple | None = None  # (permutation, Verdict)
        self.stage = "fast"
        self.steps = 0
        self.temp = self.settings.t0
        self._last_progress = 0.0
        self._validation = None
        self._small = None
        self._judges = None
        self._checked: set = set()
        self.current: Evaluator | None = None

    # ---------------------------------------------------------------- rows

    def _evaluator(self, count: int) -> Evaluator:
        """An evaluator on ``count`` rows: all rows of a small puzzle, else a random subsample."""
        n = self.puzzle.n_rows
        rows = None if n <= ALL_ROWS_UP_TO or count >= n else np.sort(self.rng.choice(n, size=count, replace=False))
        ev = Evaluator(engine.prepare(self.puzzle, rows=rows, dtype=np.float32))
        self.evaluators.append(ev)
        return ev

    def _validation_model(self):
        """Held-out rows to judge the best on (the search rows themselves on a small puzzle)."""
        if self._validation is None:
            n, count = self.puzzle.n_rows, self.settings.validation_rows
            rows = None if n <= ALL_ROWS_UP_TO else np.sort(self.rng.choice(n, size=min(count, n), replace=False))
            self._validation = engine.prepare(self.puzzle, rows=rows, dtype=np.float32)
        return self._validation

    # ---------------------------------------------------------------- bookkeeping

    def tick(self):
        """Between steps: stop when told or out of time; report progress now and then."""
        if self.should_stop is not None and self.should_stop():
            raise _Stop
        now = time.perf_counter()
        if self.deadline is not None and now > self.deadline:
            raise _Stop
        if self.on_progress and now - self._last_progress >= 0.5 and self.current is not None:
            self._last_progress = now
            elapsed = now - self.started
            evaluations = sum(self.evaluations_by_rows().values())
            best = self.current.loss if self.best is None else self.best[0]
            self.on_progress({"step": self.steps, "temperature": self.temp, "mse": self.current.loss,
                              "best_mse": best, "evals_per_s": evaluations / max(elapsed, 1e-9),
                              "evaluations": evaluations, "seconds": elapsed, "stage": self.stage})

    def check_exact(self, ev: Evaluator):
        """Stop if ev's arrangement is the answer (the fast path judges nothing else)."""
        self.steps += 1
        if ev.loss < EXACT_LEVEL * self.scale:
            self._check_answer(ev.inp, ev.out)

    def consider(self, ev: Evaluator):
        """Keep ev's arrangement if it is the best seen; stop if it is the answer."""
        self.steps += 1
        loss = ev.loss
        exact = loss < EXACT_LEVEL * self.scale
        if self.best is not None and not exact and loss >= self.best[0] * 1.5:
            return  # far from the best: not worth a validation pass
        m = self._validation_model()
        held = loss if m.n_rows == ev.n_rows and ev.m.x is m.x else \
            engine.loss(m, engine.run_blocks(m, ev.inp, ev.out, m.x))
        if self.best is None or held < self.best[0]:
            self.best = (held, ev.inp.copy(), ev.out.copy())
            self.history.append((time.perf_counter() - self.started, held))
            if self.on_improve:
                self.on_improve(to_permutation(self.puzzle, ev.inp, ev.out), held)
        if exact:
            self._check_answer(ev.inp, ev.out)

    def _check_answer(self, inp, out):
        perm = to_permutation(self.puzzle, inp, out)
        key = tuple(perm)
        if key in self._checked:
            return
        self._checked.add(key)
        v = verdict(self.puzzle, inp, out, rows=VERDICT_ROWS)
        if v.exact and (self.target is None or answer_sha256(perm) == self.target):
            self.solution = (perm, v)
            raise _Stop

    # ---------------------------------------------------------------- stages

    def run(self, start=None, full: bool = True) -> SolveResult:
        """The fast path (unless a start is given), then the full search (unless not full)."""
        try:
            if start is None:
                start = self.fast_path()
                if not full:
                    raise _Stop
            else:
                start = from_permutation(self.puzzle, start)
            self.stage = "full"
            if self.current is None or self.current.n_rows < min(self.puzzle.n_rows, self.settings.rows):
                self.current = self._evaluator(self.settings.rows)
            self.current.set(*start)
            self.consider(self.current)
            if self.pairs_in_doubt():
                self.repair_and_reorder()
            self.reorder()
        except _Stop:
            pass
        return self.result()

    def _descent(self, ev: Evaluator, plan: DescentPlan, on_better=None) -> Descent:
        return Descent(ev, plan, tick=self.tick, on_better=on_better or self.consider)

    def fast_path(self):
        """Seeds from the weights, each descended on a few hundred rows; the first that
        ends exact ends the search. Returns where the full search should start."""
        ev = self._evaluator(self.settings.fast_rows)
        self.current = ev
        floor = EXACT_LEVEL * self.scale
        ended = []
        for name in ("structural", "l1"):
            ev.set(*from_permutation(self.puzzle, SEEDS[name].make(self.puzzle, self.rng)))
            self.check_exact(ev)
            self._descent(ev, DescentPlan(reach=3), on_better=self.check_exact).run(floor)
            ended.append((ev.loss, ev.inp.copy(), ev.out.copy()))
        _, inp, out = min(ended, key=lambda e: e[0])
        return inp, out

    def _uncertain_pairs(self) -> np.ndarray:
        pairing = structural_pairing(self.puzzle)
        return np.flatnonzero(pairing.margin < CONFIDENT_MARGIN)

    def reorder(self, restarts: int | None = None):
        """Relinearised precedence annealing (solver.reorder) until the answer, the end, or
        the given number of chain restarts."""
        Reorder(self.current, self.rng, tick=self.tick, on_better=self.consider).run(
            EXACT_LEVEL * self.scale, restarts=restarts)

    def pairs_in_doubt(self) -> bool:
        """The trace leaves most pairs in doubt (median margin under 2 spreads; trained nets
        sit at 5 and more, the weak and hard kinds under 1)."""
        return self.puzzle.n_blocks > 1 and float(np.median(structural_pairing(self.puzzle).margin)) < 2.0

    def repair_and_reorder(self):
        """Re-pair from the data with the order as it stands (solver.repair), descend, and
        reorder for a while; again from the best, while the pairs keep changing."""
        floor = EXACT_LEVEL * self.scale
        while True:
            self.tick()
            inp, out = self.best[1], self.best[2]
            rank, exact = self._repair_judges()
            fixed, _ = repair.prune_grow(rank, exact, inp, out, tick=self.tick)
            self.current.set(fixed, out)
            self.consider(self.current)
            self._descent(self.current, DescentPlan(reach=3)).run(floor)
            self.consider(self.current)
            self.reorder(restarts=2)
            if np.array_equal(fixed, inp):
                return

    def _repair_judges(self):
        """Projected-MSE judges: ranking and exact rows apart on a large puzzle."""
        if self._judges is None:
            n = self.puzzle.n_rows
            if n <= 2 * ALL_ROWS_UP_TO:
                both = repair.Judge(engine.prepare(self.puzzle, dtype=np.float32))
                self._judges = (both, both)
            else:
                rows = self.rng.permutation(n)
                self._judges = tuple(repair.Judge(engine.prepare(self.puzzle, rows=np.sort(part), dtype=np.float32))
                                     for part in (rows[:1000], rows[1000:4000]))
        return self._judges

    def iterated_search(self):
        """Kick, descend around the kick, accept or not (Metropolis on log-MSE); now and
        then a full descent; reheat from the best after a long while without a new one."""
        s, ev = self.settings, self.current
        n = self.puzzle.n_blocks
        repair = len(self._uncertain_pairs()) > 0
        kinds = ("swap", "insert", "pair") if repair else ("swap", "insert")
        floor = EXACT_LEVEL * self.scale
        self._descent(ev, DescentPlan(kinds=kinds, reach=4)).run(floor)
        self.consider(ev)
        cur = (ev.loss, ev.inp.copy(), ev.out.copy())
        since_best, self.temp, kicks = 0, s.t0, 0
        while True:
            self.tick()
            best_before = self.best[0]
            inp, out = self._kick(cur[1], cur[2], repair, since_best)
            changed = np.flatnonzero((inp != cur[1]) | (out != cur[2]))
            ev.set(inp, out)
            kicks += 1
            # a kick is repaired around where it struck; a full descent now and then
            window = None if kicks % 10 == 0 or not len(changed) else \
                (max(0, changed[0] - 4), min(n, changed[-1] + 5))
            plan = DescentPlan(kinds=kinds, reach=4) if window is None else \
                DescentPlan(kinds=kinds, reach=4, window=window, sweeps=False, confirm=6)
            self._descent(ev, plan).run(floor)
            self.consider(ev)
            delta = math.log(max(ev.loss, 1e-300)) - math.log(max(cur[0], 1e-300))
            if delta <= 0 or self.rng.random() < math.exp(-delta / max(self.temp, 1e-9)):
                cur = (ev.loss, ev.inp.copy(), ev.out.copy())
            since_best = 0 if self.best[0] < best_before else since_best + 1
            self.temp *= s.cooling
            if since_best and since_best % s.reheat_after == 0:
                self.temp = s.t0
                cur = (ev.set(self.best[1], self.best[2]), self.best[1].copy(), self.best[2].copy())

    def _kick(self, inp, out, repair: bool, since_best: int):
        """A random jump out of the current basin: a shuffled window, or blocks taken out
        and put back where they fit best (sometimes re-paired on the way)."""
        n, rng = len(inp), self.rng
        if n > 3 and rng.random() < 0.5:
            count = int(rng.integers(2, 5))
            return self._rebuild(inp, out, count, repair and rng.random() < 0.3)
        # a few random moves inside one window, so the repair can stay local
        kinds = ("swap", "insert", "reverse", "cycle") + (("pair", "pair") if repair else ())
        width = min(n, 2 * self.settings.kick_width)
        lo = int(rng.integers(0, n - width + 1))
        for _ in range(3 if since_best < self.settings.reheat_after else 6):
            move = mv.random_move(rng, width, self.settings.kick_width, kinds)
            inp, out, _ = mv.apply((move[0],) + tuple(lo + k for k in move[1:]), inp, out)
        return inp, out

    def _rebuild(self, inp, out, count: int, repair: bool):
        """Take ``count`` random blocks out and put each back where the network fits best."""
        m = self._small_model()
        n = len(inp)
        taken = np.sort(self.rng.choice(n, size=min(count, n - 1), replace=False))
        keep = np.setdiff1d(np.arange(n), taken)
        new_inp, new_out = list(inp[keep]), list(out[keep])
        removed = [(int(inp[t]), int(out[t])) for t in taken]
        if repair and len(removed) > 1:
            outs = [o for _, o in removed]
            outs = [outs[k] for k in self.rng.permutation(len(outs))]
            removed = [(i, o) for (i, _), o in zip(removed, outs)]
        for k in self.rng.permutation(len(removed)):
            i, j = removed[k]
            losses = engine.insertion_losses(m, np.array(new_inp), np.array(new_out), i, j)
            q = int(np.argmin(losses))
            new_inp.insert(q, i)
            new_out.insert(q, j)
        return np.array(new_inp, dtype=np.int64), np.array(new_out, dtype=np.int64)

    def _small_model(self):
        if self._small is None:
            self._small = engine.prepare(self.puzzle, rows=min(128, self.puzzle.n_rows), dtype=np.float32)
        return self._small

    # ---------------------------------------------------------------- the result

    def evaluations_by_rows(self) -> dict[int, int]:
        """Exact evaluations, screening included, by the number of rows they ran on."""
        by_rows: dict[int, int] = {}
        for ev in self.evaluators:
            for rows, count in ((ev.n_rows, ev.evaluations), (ev.screen_rows, ev.screened)):
                if count:
                    by_rows[rows] = by_rows.get(rows, 0) + count
        return by_rows

    def result(self) -> SolveResult:
        elapsed = time.perf_counter() - self.started
        if self.solution is not None:
            perm, v = self.solution
        else:
            _, inp, out = self.best if self.best is not None else (None, self.current.inp, self.current.out)
            perm = to_permutation(self.puzzle, inp, out)
            if (self.best or (self.current.loss,))[0] < EXACT_LEVEL * self.scale:
                v = verdict(self.puzzle, inp, out, rows=VERDICT_ROWS)
            else:
                v = far_verdict(self.puzzle, inp, out, rows=VERDICT_ROWS)
        sha = answer_sha256(perm)
        solved = v.exact and (self.target is None or sha == self.target)
        by_rows = self.evaluations_by_rows()
        return SolveResult(
            solved=solved, permutation=perm, mse=v.mse, sha256=sha, seconds=elapsed,
            evaluations=sum(by_rows.values()), evaluation_rows=by_rows,
            ranked=sum(ev.ranked for ev in self.evaluators), verdict=v.text,
            relative_mse=v.mse / self.scale, hash_matches=None if self.target is None else sha == self.target,
            steps=self.steps, stage=self.stage, best_history=self.history,
        )


def solve(puzzle, start=None, seed: int = 0, time_limit: float | None = None,
          expect_sha256: str | None = None, rows: int | None = None,
          on_progress=None, on_improve=None, should_stop=None, temperature: float | None = None) -> SolveResult:
    """Search pairing and order until the arrangement reproduces pred (and the hash matches)."""
    search = Search(puzzle, seed=seed, time_limit=time_limit, expect_sha256=expect_sha256, rows=rows,
                    temperature=temperature, on_progress=on_progress, on_improve=on_improve,
                    should_stop=should_stop)
    return search.run(start)
