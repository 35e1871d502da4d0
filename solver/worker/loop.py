"""The worker's run loop: where each run starts, the search bursts, what to push and when.

No I/O of its own: the pool is reached through the PoolSide it is given (the worker's
link, or a test's) and the search is SEARCH (solver.search.solve). So the decisions are
tested in-process, in milliseconds, on the in-memory pool.

Why a thread: solve() is blocking numpy; it runs in asyncio.to_thread so the event loop
keeps heartbeating and delivering while it works (numpy releases the GIL in its kernels,
and solve polls should_stop between moves, so a stop is prompt).
"""
from __future__ import annotations

import asyncio
import logging
import math
import threading
import time
from dataclasses import dataclass
from typing import Callable, Protocol

import numpy as np

from solver.pool.link import Pending
from solver.pool.lifecycle import WorkerState
from solver.pool.words import ExitCode

log = logging.getLogger("solver.worker")


@dataclass(frozen=True)
class RunSettings:
    runs: int | None = 1                 # None: until stopped or solved
    run_seconds: float | None = None     # overrides of the pool's knobs (None: the knob)
    burst_seconds: float | None = None
    push_interval: float = 5.0           # at most one improvement pushed per this (0: each)


@dataclass(frozen=True)
class Outcome:
    state: WorkerState                   # what the pool is told at exit
    code: int                            # the process's exit status
    reason: str


@dataclass(frozen=True)
class Found:
    """An improvement found in a burst, held until the push interval allows it."""
    permutation: list[int]
    what: str                            # how it is said in the log
    parents: list[int]
    run: int
    method: str | None


@dataclass(frozen=True)
class Start:
    """Where a run starts, and its lineage."""
    permutation: list[int]
    parents: list[int]
    method: str                          # its kind, stored as lineage: seed:KIND, elite, crossover
    label: str                           # short, in the worker's progress: "elite #12"
    said: str                            # the sentence for the log
    loose: tuple = ()                    # crossover: 1-based positions where the parents differ


class PoolSide(Protocol):
    """What the run loop needs of the pool (solver.worker.exchange.PoolExchange is one)."""

    online: bool
    worker_id: int | None

    def knob(self, key: str) -> float: ...
    async def elites(self, k: int) -> list: ...
    async def best(self): ...
    def push(self, item: Pending) -> None: ...


class Pusher:
    """Each solution once, improvements at most every INTERVAL seconds, newest winning.

    The door recomputes the MSE on all rows, a full forward pass per submission: so an
    improvement is held while another went out less than INTERVAL ago, and the newest
    held one goes out when the interval is over (or at the end of the burst).
    """

    def __init__(self, send: Callable[[Pending], None], interval: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.send, self.interval, self.clock = send, interval, clock
        self.held: Found | None = None
        self.last_sent = -math.inf
        self.sent: dict[str, None] = {}        # hashes sent, oldest first (bounded)
        self._timer: asyncio.TimerHandle | None = None

    def found(self, perm, mse: float, parents: list[int], run: int, method: str | None = None) -> None:
        self.held = Found(list(perm), f"subsample mse {mse:.6g}", list(parents), run, method)
        wait = self.last_sent + self.interval - self.clock()
        if wait <= 0:
            self.release()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(wait, self.release)

    def release(self) -> None:
        """Send what is held now (the end of a burst, or its interval is over)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self.held is not None:
            held, self.held = self.held, None
            self.last_sent = self.clock()
            self.once(held.permutation, held.parents, held.what, held.run, held.method)

    def once(self, perm, parents: list[int], what: str, run: int, method: str | None = None) -> bool:
        """Send PERM unless this worker sent it before (the door would only say it is
        there already); True when sent."""
        from solver.puzzle.answer import answer_sha256

        sha = answer_sha256(perm)
        if sha in self.sent:
            return False
        log.info("queued run %d %s sha %s", run, what, sha[:16])
        self.sent[sha] = None
        while len(self.sent) > 1000:
            del self.sent[next(iter(self.sent))]
        # The solver's MSE is on a float32 row subsample; the door computes the real one.
        self.send(Pending(list(perm), None, "anneal", list(parents), run=run, method=method))
        return True


class RunLoop:
    """Runs until its runs are done, it is stopped, or the answer is in."""

    def __init__(self, puzzle, settings: RunSettings, pool: PoolSide, rng: np.random.Generator,
                 search: Callable | None = None, clock: Callable[[], float] = time.monotonic):
        self.puzzle, self.settings, self.pool, self.rng = puzzle, settings, pool, rng
        self.clock = clock
        self.search = search
        self.stop = threading.Event()          # SIGTERM or a stop command: end everything
        self.end_run = threading.Event()       # new_run command or exact answer: end this run
        self.stop_reason = ""
        # The pool holds the answer (ends the work); this worker found or delivered it
        # (then it ends SOLVED, else DONE: the answer came from another).
        self.solved_in_pool = self.solved_here = False
        self.run = self.steps_done = 0
        self.best_mse = math.inf
        self.progress: dict = {}
        self.parents: list[int] = []           # the elite(s) this run's lineage started from
        self.start = ""                        # how this run started: "seed:norm", "elite #12"
        self.method = ""                       # its kind, stored as lineage: seed:norm, elite,
                                               # crossover, adopted
        self.pusher = Pusher(pool.push, settings.push_interval, clock)

    # ---- what the pool side tells the loop --------------------------------------------
    def request_stop(self, reason: str) -> None:
        if not self.stop.is_set():
            log.info("stopping: %s", reason)
            self.stop_reason = reason
            self.stop.set()

    def new_run(self) -> None:
        self.end_run.set()

    def pool_solved(self) -> None:
        if not self.solved_in_pool:
            log.info("the pool holds the exact answer: stopping")
            self.solved_in_pool = True
            self.end_run.set()

    def delivered(self, mse: float, exact: bool) -> None:
        self.best_mse = min(self.best_mse, mse)
        if exact:
            self.solved_in_pool = self.solved_here = True

    # ---- what the loop tells the pool side -------------------------------------------
    def report(self) -> dict:
        """Its figures for a heartbeat: the solver's progress as the solver said it."""
        p = self.progress
        progress = {k: v for k, v in p.items() if k not in ("step", "best_mse")}
        return dict(run=self.run, step=self.steps_done + int(p.get("step", 0)),
                    best_mse=_finite(self.best_mse), progress={**progress, "start": self.start})

    def history_point(self) -> tuple:
        p = self.progress
        return (self.run, self.steps_done + int(p.get("step", 0)), p.get("mse"),
                _finite(self.best_mse))

    def knob(self, key: str) -> float:
        override = {"run_seconds": self.settings.run_seconds,
                    "burst_seconds": self.settings.burst_seconds}.get(key)
        return override if override is not None else self.pool.knob(key)

    # ---- the loop ----------------------------------------------------------------------
    def _should_stop(self) -> bool:
        return self.stop.is_set() or self.end_run.is_set()

    async def run_all(self) -> Outcome:
        runs = self.settings.runs
        while not (self.stop.is_set() or self.solved_in_pool or self.solved_here):
            if runs is not None and self.run >= runs:
                break
            self.run += 1
            await self.one_run()
        if self.solved_here:
            return Outcome(WorkerState.SOLVED, ExitCode.SOLVED, "it found the exact answer")
        if self.solved_in_pool:
            return Outcome(WorkerState.DONE, ExitCode.SOLVED,
                           "the pool holds the exact answer (found by another)")
        if self.stop.is_set():
            return Outcome(WorkerState.STOPPED, ExitCode.DONE, self.stop_reason)
        return Outcome(WorkerState.DONE, ExitCode.DONE, f"{self.run} runs done")

    async def one_run(self) -> None:
        begin = await self.choose_start()
        start, self.parents, self.start, self.method = (begin.permutation, begin.parents,
                                                        begin.label, begin.method)
        log.info("run %d starts from %s", self.run, begin.said)
        run_end = self.clock() + self.knob("run_seconds")
        if begin.loose and self.knob("focus_seconds") > 0:
            start = await self.focus(start, begin.loose)
        current, burst = start, 0
        run_best_mse, run_best = math.inf, None   # the run's best arrangement and its MSE
        while not self._should_stop() and self.clock() < run_end:
            burst += 1
            r = await self.burst(current, run_end)
            self.pusher.release()               # the burst's last improvement goes out now
            self.steps_done += r.steps
            self.progress = {**self.progress, "step": 0}
            if r.mse < run_best_mse:
                run_best_mse, run_best = r.mse, r.permutation
            current = r.permutation
            if r.solved:
                log.info("solved: mse %.3g sha %s (%s)", r.mse, r.sha256[:16], r.verdict)
                self.solved_here = True
                break
            current = await self.cross_pollinate(current, run_best_mse)
        if run_best is not None:
            # Finish the run with its best, unless it went out already as an improvement.
            self.pusher.once(run_best, self.parents,
                             f"best of the run, subsample mse {run_best_mse:.6g}", self.run, self.method)
            log.info("run %d finished: best mse %.6g after %d bursts", self.run, run_best_mse, burst)
        self.end_run.clear()

    async def burst(self, current, run_end: float):
        """One solve() call in a thread; improvements come back through the event loop."""
        from solver.search.search import SearchSettings, solve

        loop = asyncio.get_running_loop()
        first, parents, run, method = [True], list(self.parents), self.run, self.method

        def on_improve(perm, loss):
            if first[0]:  # the start itself: already known
                first[0] = False
                return
            loop.call_soon_threadsafe(self.pusher.found, perm, loss, parents, run, method)

        def on_progress(info: dict) -> None:
            self.progress = info

        return await asyncio.to_thread(
            self.search or solve, self.puzzle, start=current, seed=int(self.rng.integers(2**31)),
            time_limit=max(0.1, min(self.knob("burst_seconds"), run_end - self.clock())),
            on_progress=on_progress, on_improve=on_improve, should_stop=self._should_stop,
            temperature=SearchSettings.t0 * self.knob("temp_scale"))

    async def choose_start(self) -> Start:
        """With probability restart_share (or offline) a fresh seed
        by a random method; else, with probability crossover_share, the crossover of two
        elites (their agreeing positions kept); else an elite perturbed by the width."""
        from solver.search.seeds import SEED_METHODS, make_seed

        if self.rng.random() >= self.knob("restart_share") and self.pool.online:
            elites = await self.pool.elites(int(self.knob("elite_pool")))
            if len(elites) >= 2 and self.rng.random() < self.knob("crossover_share"):
                return self._crossover(elites)
            if elites:
                return self._perturbed(elites)
        method = str(self.rng.choice(SEED_METHODS))
        start = await asyncio.to_thread(make_seed, self.puzzle, method, self.rng)
        return Start(start, [], f"seed:{method}", f"seed:{method}", f"seed:{method}")

    def _draw(self, elites: list, k: int) -> list:
        """K distinct elites, weighted to the best (1/rank)."""
        weights = 1.0 / np.arange(1, len(elites) + 1)
        picks = self.rng.choice(len(elites), size=k, replace=False, p=weights / weights.sum())
        return [elites[int(i)] for i in picks]

    def _perturbed(self, elites: list) -> Start:
        from solver.search.seeds import perturb

        (elite,) = self._draw(elites, 1)
        width = int(round(self.knob("perturb_width")))
        start = perturb(self.puzzle, elite.permutation, width, self.rng) if width > 0 \
            else elite.permutation
        return Start(start, [elite.id], "elite", f"elite #{elite.id}",
                     f"elite #{elite.id} (mse {elite.mse:.6g}, worker {elite.worker_id}, node "
                     f"{elite.node}) perturbed by width {width}")

    def _crossover(self, elites: list) -> Start:
        from solver.search.crossover import crossover

        a, b = self._draw(elites, 2)
        child, loose = crossover(self.puzzle, a.permutation, b.permutation)
        return Start(child, [a.id, b.id], "crossover", f"crossover of #{a.id} and #{b.id}",
                     f"crossover of #{a.id} and #{b.id} (they differ at {len(loose)} of "
                     f"{self.puzzle.n_blocks} positions)", tuple(loose))

    async def focus(self, child, loose) -> list[int]:
        """Search the child only where its parents disagree (their agreed positions kept),
        for up to focus_seconds, before the usual bursts."""
        from solver.search.crossover import focus

        t0 = self.clock()
        perm, before, after, made = await asyncio.to_thread(
            focus, self.puzzle, child, loose, self.knob("focus_seconds"), self._should_stop)
        log.info("focused on %d loose positions: %d moves, mse %.6g -> %.6g in %.1f s",
                 len(loose), made, before, after, self.clock() - t0)
        return perm

    async def cross_pollinate(self, current, run_best_mse: float):
        """Adopt another worker's better elite as the next burst's start (half the time)."""
        best = await self.pool.best()
        if best is None or best.worker_id == self.pool.worker_id \
                or best.mse >= run_best_mse * (1 - 1e-6) or self.rng.random() < 0.5:
            return current
        log.info("adopting elite #%d (mse %.6g) from worker %s on %s", best.id, best.mse,
                 best.worker_id, best.node)
        self.parents, self.method = [best.id], "adopted"
        return best.permutation


def _finite(value):
    return value if value is not None and math.isfinite(value) else None
