"""The search: a fast path that tries first, then iterated local search, until the
arrangement reproduces pred (and the hash matches, when a target is known).

Fast path: pair by trace, order by the out norms (both from the weights, no data), and
descend (solver.search.descent) on a few hundred rows. Trained nets like the public one end
exact here in well under a second. Full search: kick the current arrangement (a shuffled
window, blocks taken out and put back where they fit, re-pairings while pairs are in
doubt), descend, and keep the result by a Metropolis test on log-MSE; the best is judged
on held-out rows, so a search on a few hundred rows cannot fool itself.
"""
from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field

import numpy as np

from solver.search import engine, repair
from solver.puzzle.answer import (EXACT_RELATIVE, answer_sha256, from_permutation, is_exact,
                                  to_permutation)
from solver.search.descent import Descent, DescentPlan
from solver.search.evaluator import Evaluator, Held
from solver.search.pairing import settle_pairs, structural_pairing
from solver.search.reorder import Reorder, ReorderPlan
from solver.search.seeds import SEEDS
from solver.search.verdict import VERDICT_ROWS, far_verdict, verdict

# Puzzles with at most this many rows are searched on all of them (the public one has 342);
# larger ones on a random subsample, with held-out rows to judge the best.
ALL_ROWS_UP_TO = 1024
# Up to this many blocks every order (at most 5,040) is tried: cheaper than any search.
ALL_ORDERS_UP_TO = 7
# A float32 MSE at the exact level (relative to the variance of pred) may be the answer:
# the float64 verdict decides, by the one rule.
EXACT_LEVEL = EXACT_RELATIVE


@dataclass
class SearchSettings:
    fast_rows: int = 384  # rows of the fast path on a large puzzle
    rows: int = 512  # rows of the full search on a large puzzle
    validation_rows: int = 1024  # held-out rows that judge the best
    t0: float = 0.05  # start temperature of the reorder's anneals, on log-MSE (a worker knob scales it)


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


# Seeds tried in turn between reorder rounds of a search that began from the weights
# (solver.seeds.SEEDS; the fast path has tried structural and l1).
SEED_ROUNDS = ("norm", "jacobian", "insertion", "greedy", "random")


class _Stop(Exception):
    pass


class Search:
    """One search on one puzzle; its state is what the attributes say."""

    def __init__(self, puzzle, *, seed: int = 0, time_limit: float | None = None,
                 expect_sha256: str | None = None, rows: int | None = None, temperature: float | None = None,
                 on_progress=None, on_improve=None, should_stop=None, settings: SearchSettings | None = None):
        self.started = time.perf_counter()
        self.puzzle = puzzle
        self.settings = settings or SearchSettings()
        if rows:
            self.settings.rows = self.settings.fast_rows = rows
        if temperature is not None:
            self.settings.t0 = temperature
        self.rng = np.random.default_rng(seed)
        self.deadline = None if time_limit is None else self.started + time_limit
        self.target = expect_sha256 or puzzle.target_sha256
        self.on_progress, self.on_improve, self.should_stop = on_progress, on_improve, should_stop
        self.scale = float(np.var(puzzle.pred)) or 1.0
        self.floor = EXACT_LEVEL * self.scale  # an MSE under this is rounding: a candidate answer
        self.evaluators: list[Evaluator] = []
        self.best: Held | None = None  # its loss is the validated one
        self.history: list = []
        self.solution: tuple | None = None  # (permutation, Verdict)
        self.stage = "fast"
        self.steps = 0
        self.reorderer: Reorder | None = None
        self._seed_rounds = 0
        self.given_start = False  # a start handed in (an elite): the search stays around it
        self._last_progress = 0.0
        self._validation = None
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
            best = self.current.loss if self.best is None else self.best.loss
            temperature = self.reorderer.temp if self.reorderer else None
            self.on_progress({"step": self.steps, "temperature": temperature, "mse": self.current.loss,
                              "best_mse": best, "evals_per_s": evaluations / max(elapsed, 1e-9),
                              "evaluations": evaluations, "seconds": elapsed, "stage": self.stage})

    def check_exact(self, ev: Evaluator):
        """Stop if ev's arrangement is the answer (the fast path judges nothing else)."""
        self.steps += 1
        if ev.loss < self.floor:
            self._check_answer(ev.inp, ev.out)

    def consider(self, ev: Evaluator):
        """Keep ev's arrangement if it is the best seen; stop if it is the answer."""
        self.steps += 1
        loss = ev.loss
        exact = loss < self.floor
        if self.best is not None and not exact and loss >= self.best.loss * 1.5:
            return  # far from the best: not worth a validation pass
        m = self._validation_model()
        held = loss if m.n_rows == ev.n_rows and ev.m.x is m.x else \
            engine.loss(m, engine.run_blocks(m, ev.inp, ev.out, m.x))
        if self.best is None or held < self.best.loss:
            self.best = Held(held, ev.inp.copy(), ev.out.copy())
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
        if self._is_answer(perm, v):
            self.solution = (perm, v)
            raise _Stop

    def _is_answer(self, perm, v) -> bool:
        return is_exact(v.mse, self.scale, sha256=answer_sha256(perm), target_sha256=self.target) \
            if self.target else v.exact

    # ---------------------------------------------------------------- stages

    def run(self, start=None, full: bool = True) -> SolveResult:
        """The fast path (unless a start is given), then the full search (unless not full)."""
        try:
            if start is None:
                start = self.fast_path()
                if not full:
                    raise _Stop
            else:
                start = self.settled(*from_permutation(self.puzzle, start))
                self.given_start = True
            self.stage = "full"
            if self.current is None or self.current.n_rows < min(self.puzzle.n_rows, self.settings.rows):
                self.current = self._evaluator(self.settings.rows)
            self.current.set(*start)
            self.consider(self.current)
            if self.puzzle.n_blocks <= ALL_ORDERS_UP_TO:
                self.all_orders()
            if self.pairs_in_doubt():
                self.repair_and_reorder()
            self.reorder()
        except _Stop:
            pass
        return self.result()

    def settled(self, inp, out):
        """A given start with its pairs put right where the weights are sure: every pair
        when the trace settles most of them, else only the confident ones."""
        pairing = structural_pairing(self.puzzle)
        trusted = np.ones(len(inp), dtype=bool) if not self.pairs_in_doubt() else pairing.confident
        return inp, settle_pairs(pairing, inp, out, trusted)

    def _descent(self, ev: Evaluator, plan: DescentPlan, on_better=None) -> Descent:
        return Descent(ev, plan, tick=self.tick, on_better=on_better or self.consider)

    def fast_path(self):
        """Seeds from the weights, each descended on a few hundred rows; the first that
        ends exact ends the search. Returns where the full search should start."""
        ev = self._evaluator(self.settings.fast_rows)
        self.current = ev
        ended = []
        for name in ("structural", "l1"):
            ev.set(*from_permutation(self.puzzle, SEEDS[name].make(self.puzzle, self.rng)))
            self.check_exact(ev)
            self._descent(ev, DescentPlan(reach=3), on_better=self.check_exact).run(self.floor)
            ended.append((ev.loss, ev.inp.copy(), ev.out.copy()))
        _, inp, out = min(ended, key=lambda e: e[0])
        return inp, out

    def all_orders(self):
        """Every order of the current pairs, in batches that share nothing but the rows."""
        ev = self.current
        inp, out = ev.inp.copy(), ev.out.copy()
        n, best = len(inp), (ev.loss, np.arange(len(inp)))
        orders = itertools.permutations(range(n))
        while batch := [np.array(o) for o in itertools.islice(orders, 256)]:
            self.tick()
            losses = ev.candidates([(inp[o], out[o], (0, n)) for o in batch])
            k = int(np.argmin(losses))
            if losses[k] < best[0]:
                best = (float(losses[k]), batch[k])
        ev.set(inp[best[1]], out[best[1]])
        self.consider(ev)

    def reorder(self, restarts: int | None = None):
        """Relinearised precedence annealing (solver.search.reorder) in rounds of a few chains,
        each round's best polished by exact descent, until the answer, the end, or the
        given number of chain restarts. Between rounds of an open-ended search that began
        from the weights, one more seed from the registry is descended: on small or briefly
        trained nets the model's moves can miss what a seed and a descent find at once. A
        search from a given start (a worker's elite) stays around it."""
        done = 0
        while restarts is None or done < restarts:
            self.tick()
            chains = 3 if restarts is None else min(3, restarts - done)
            self.reorderer = Reorder(self.current, self.rng, ReorderPlan(t0=self.settings.t0),
                                     tick=self.tick, on_better=self.consider)
            self.reorderer.run(self.floor, restarts=chains)
            done += chains
            self.current.set(self.best.inp, self.best.out)
            self._descent(self.current, DescentPlan(reach=max(4, self.puzzle.n_blocks // 4))).run(self.floor)
            self.consider(self.current)
            if restarts is None and not self.given_start:
                self.seed_round()

    def seed_round(self):
        """The next seed method in turn, descended; the search goes on from the best."""
        name = SEED_ROUNDS[self._seed_rounds % len(SEED_ROUNDS)]
        self._seed_rounds += 1
        self.current.set(*from_permutation(self.puzzle, SEEDS[name].make(self.puzzle, self.rng)))
        self._descent(self.current, DescentPlan(reach=4)).run(self.floor)
        self.consider(self.current)
        self.current.set(self.best.inp, self.best.out)

    def pairs_in_doubt(self) -> bool:
        """The trace leaves most pairs in doubt (median margin under 2 spreads; trained nets
        sit at 5 and more, the weak and hard kinds under 1)."""
        return self.puzzle.n_blocks > 1 and float(np.median(structural_pairing(self.puzzle).margin)) < 2.0

    def repair_and_reorder(self):
        """Re-pair from the data (solver.search.repair), descend, and reorder for a while; again
        from the best, while the pairs keep changing. The first round re-pairs along the
        |W_out| order (the structural seed's): prune and grow need the outs roughly in
        place, and a descent on wrong pairs may have scattered them."""
        inp, out = from_permutation(self.puzzle, SEEDS["structural"].make(self.puzzle, self.rng))
        while True:
            self.tick()
            rank, exact = self._repair_judges()
            fixed, _ = repair.prune_grow(rank, exact, inp, out, tick=self.tick)
            self.current.set(fixed, out)
            self.consider(self.current)
            self._descent(self.current, DescentPlan(reach=3)).run(self.floor)
            self.consider(self.current)
            self.reorder(restarts=2)
            if np.array_equal(fixed, inp):
                return
            inp, out = self.best.inp, self.best.out

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
            if (self.best or (self.current.loss,))[0] < self.floor:
                v = verdict(self.puzzle, inp, out, rows=VERDICT_ROWS)
            else:
                v = far_verdict(self.puzzle, inp, out, rows=VERDICT_ROWS)
        sha = answer_sha256(perm)
        solved = self._is_answer(perm, v)
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
