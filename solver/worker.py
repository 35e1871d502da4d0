"""The fleet worker (python -m solver.worker): anneal in short bursts, share through the pool.

Why a thread: solve() is blocking numpy; it runs in asyncio.to_thread so the event loop
keeps heartbeating, delivering and reading commands while it works (numpy releases the
GIL in its kernels, and solve polls should_stop between moves, so a stop is prompt).

Exit status: 0 runs done or stopped on request (SIGTERM, `stop` command); 3 the pool
holds the exact answer; 2 bad input; 4 results could not be delivered and wait in the
spool file (delivered by the next worker started on this node); 1 an unexpected error.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import math
import os
import signal
import socket
import sys
import threading
import time
from collections import deque
from pathlib import Path

# A fleet runs one worker per core: BLAS threads of their own would fight the others'.
# Set before numpy loads; an operator's own setting wins.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

from solver.pool.knobs import KNOBS
from solver.pool.link import Link, Offline, Outbox, Pending

EXIT_DONE, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_SOLVED, EXIT_SPOOLED = 0, 1, 2, 3, 4

log = logging.getLogger("solver.worker")


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m solver.worker", description=__doc__.splitlines()[0])
    ap.add_argument("--dsn", default=os.environ.get("JSTUI_DSN"), help="pool DSN (default $JSTUI_DSN)")
    ap.add_argument("--puzzle", required=True, type=Path, help="puzzle dir or compact .npz")
    ap.add_argument("--node", default=socket.gethostname(), help="this machine's name in the pool")
    runs = ap.add_mutually_exclusive_group()
    runs.add_argument("--runs", type=int, default=1, help="runs before exiting (default 1)")
    runs.add_argument("--forever", action="store_true", help="run until stopped or solved")
    ap.add_argument("--seed", type=int, default=None, help="random seed (default: from pid and time)")
    ap.add_argument("--log-file", type=Path, help="append the log here too (directories are created)")
    ap.add_argument("--heartbeat", type=float, default=2.0, help="seconds between heartbeats")
    ap.add_argument("--grace", type=float, default=15.0, help="heartbeat age after which a worker is lost")
    ap.add_argument("--history-every", type=float, default=10.0,
                    help="seconds between points of the MSE history (taken at heartbeats)")
    ap.add_argument("--run-seconds", type=float, help="override the run_seconds knob")
    ap.add_argument("--burst-seconds", type=float, help="override the burst_seconds knob")
    ap.add_argument("--spool-dir", type=Path, help="where undelivered results wait at exit")
    ap.add_argument("--push-interval", type=float, default=5.0,
                    help="at most one improvement pushed per this many seconds (0: every one)")
    ap.add_argument("--max-backoff", type=float, default=10.0,
                    help="longest wait between reconnection attempts (seconds)")
    ap.add_argument("--flush-timeout", type=float, default=15.0,
                    help="seconds to keep trying to deliver at exit before spooling")
    args = ap.parse_args(argv)
    if args.runs < 1:
        ap.error("--runs must be at least 1")
    if args.heartbeat <= 0 or args.grace <= args.heartbeat:
        ap.error("--heartbeat must be positive and --grace longer than it")
    return args


def setup_logging(node: str, log_file: Path | None) -> None:
    """Timestamped UTC lines, flushed per record, to stderr and the log file."""
    fmt = logging.Formatter(f"%(asctime)s.%(msecs)03dZ {node} pid={os.getpid()} %(levelname)s %(message)s",
                            "%Y-%m-%dT%H:%M:%S")
    fmt.converter = time.gmtime
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_file is not None:
        log_file = log_file.expanduser().absolute()
        log_file.parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_file, mode="a", encoding="utf-8"))
    root = logging.getLogger()
    for h in handlers:
        h.setFormatter(fmt)
        root.addHandler(h)
    root.setLevel(logging.INFO)
    # asyncpg's pool logs a traceback per failed reconnect; ours says it in one line.
    logging.getLogger("asyncpg").setLevel(logging.ERROR)


def default_spool_dir() -> Path:
    # A node may have only numpy, scipy and asyncpg: platformdirs is optional here.
    try:
        import platformdirs
    except ImportError:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "jstui"
    else:
        base = Path(platformdirs.user_data_dir("jstui"))
    return base / "spool"


class Worker:
    def __init__(self, args, puzzle):
        self.args, self.puzzle, self.node = args, puzzle, args.node
        self.link = Link(args.dsn, on_connect=self._on_connect, max_backoff=args.max_backoff)
        self.outbox = Outbox()
        self.outbox_ready = asyncio.Event()
        self.history: deque[tuple] = deque(maxlen=20_000)
        self.stop = threading.Event()          # SIGTERM or a stop command: end everything
        self.end_run = threading.Event()       # new_run command or exact answer: end this run
        self.stop_reason = ""
        self.closing = False                   # ends the exchange task
        self.solved_in_pool = False
        self.solved_here = False
        self.worker_id: int | None = None
        self.puzzle_id: int | None = None
        self.knobs = {k: knob.default for k, knob in KNOBS.items()}
        self.config_version = 0
        self.progress: dict = {}
        self.parents: list[int] = []           # the elite this run's lineage started from
        self.latest: tuple | None = None       # newest improvement not yet queued
        self.pushed: dict[str, None] = {}      # hashes of what was sent, oldest first
        self.last_queued = 0.0
        self.next_history = 0.0
        self.status = "running"
        self.run = 0
        self.steps_done = 0
        self.best_mse = math.inf
        seed = args.seed if args.seed is not None else (os.getpid() * 7919 + int(time.time())) % 2**31
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self.spool_dir = (args.spool_dir or default_spool_dir()).expanduser().absolute()

    # ---- pool side -------------------------------------------------------------------
    async def _on_connect(self, store) -> None:
        self.puzzle_id = await store.register_puzzle(self.puzzle)
        if self.worker_id is None:
            self.worker_id = await store.register_worker(self.puzzle_id, self.node, os.getpid())
            log.info("registered as worker %d for puzzle %d (%s)", self.worker_id, self.puzzle_id,
                     self.puzzle.fingerprint[:12])
        self.take_config(await store.fetch_config())

    def take_config(self, config) -> None:
        self.knobs.update({k: c.value for k, c in config.items() if k in KNOBS})
        self.config_version = max((c.version for c in config.values()), default=0)

    def knob(self, key: str) -> float:
        override = {"run_seconds": self.args.run_seconds, "burst_seconds": self.args.burst_seconds}.get(key)
        return override if override is not None else self.knobs[key]

    async def _submit(self, store, item: Pending):
        return await store.submit(self.puzzle, item.permutation, item.mse, origin=item.origin,
                                  node=self.node, worker_id=self.worker_id, parents=item.parents)

    async def deliver(self) -> None:
        for item, result in await self.outbox.deliver(self.link, self._submit):
            if result.new:
                log.info("pushed solution #%d mse %.6g sha %s (%s)", result.id, result.mse, result.sha256[:16],
                         item.origin)
            else:  # found here too, but another worker (or an earlier run) stored it first
                log.info("found solution #%d again (mse %.6g sha %s): it was in the pool already", result.id,
                         result.mse, result.sha256[:16])
            if result.mse < self.best_mse:
                self.best_mse = result.mse
            if result.matches_target:
                self.solved_in_pool = True

    async def _beat(self, store) -> None:
        p = self.progress
        await store.heartbeat(self.worker_id, status=self.status, run=self.run,
                              step=self.steps_done + int(p.get("step", 0)), temperature=p.get("temperature"),
                              current_mse=p.get("mse"), best_mse=_finite(self.best_mse),
                              moves_per_s=p.get("evals_per_s"), config_version=self.config_version)
        points = list(self.history)
        await store.record_history(self.worker_id, points)
        for _ in points:
            self.history.popleft()
        await store.mark_lost(self.args.grace)
        self.take_config(await store.fetch_config())
        if await store.has_exact(self.puzzle_id) and not self.solved_in_pool:
            log.info("the pool holds the exact answer: stopping")
            self.solved_in_pool = True
            self.end_run.set()
        command = await store.claim_command(f"worker:{self.worker_id}", ["stop", "new_run"],
                                            [f"worker:{self.worker_id}", f"node:{self.node}"])
        if command is not None:
            log.info("command #%d: %s %s", command.id, command.kind, command.args or "")
            if command.kind == "stop":
                self.request_stop(f"stop command #{command.id}")
            else:
                self.end_run.set()
            await store.finish_command(command.id, True, {"worker": self.worker_id})

    async def exchange_forever(self) -> None:
        """Deliver what was found as soon as it is found; heartbeat every few seconds."""
        next_beat = 0.0
        while not self.closing:
            # Not wait_for: before 3.12 it can swallow a cancellation; we end by a flag.
            wake = next_beat
            if self.latest is not None:
                wake = min(wake, self.last_queued + self.args.push_interval)
            waiter = asyncio.ensure_future(self.outbox_ready.wait())
            await asyncio.wait({waiter}, timeout=max(0.0, wake - time.monotonic()))
            waiter.cancel()
            self.outbox_ready.clear()
            if self.latest is not None and time.monotonic() - self.last_queued >= self.args.push_interval:
                self.queue_latest()
            if self.closing:
                break
            try:
                await self.deliver()
                if time.monotonic() >= next_beat:
                    if time.monotonic() >= self.next_history:
                        p = self.progress
                        self.history.append((self.run, self.steps_done + int(p.get("step", 0)),
                                             p.get("mse"), _finite(self.best_mse)))
                        self.next_history = time.monotonic() + self.args.history_every
                    next_beat = time.monotonic() + self.args.heartbeat
                    await self.link.call(self._beat)
            except Offline:
                next_beat = time.monotonic() + min(self.args.heartbeat, 1.0)
            except Exception:
                log.exception("pool exchange failed; will retry")
                next_beat = time.monotonic() + self.args.heartbeat

    async def pool_call(self, fn):
        try:
            return await self.link.call(fn)
        except Offline:
            return None

    # ---- search side -----------------------------------------------------------------
    def request_stop(self, reason: str) -> None:
        if not self.stop.is_set():
            log.info("stopping: %s", reason)
            self.stop_reason = reason
            self.stop.set()

    def found(self, perm: list[int], subsample_mse: float, parents: list[int]) -> None:
        """Called in the loop thread for each improvement the solver reports.

        The door recomputes the MSE on all rows, which costs a full forward pass per
        submission; so improvements are queued at most every --push-interval seconds,
        the newest (best) one winning. The last one of every burst is always queued.
        """
        self.latest = (list(perm), subsample_mse, list(parents))
        if time.monotonic() - self.last_queued >= self.args.push_interval:
            self.queue_latest()

    def queue_latest(self) -> None:
        if self.latest is None:
            return
        perm, subsample_mse, parents = self.latest
        self.latest = None
        self.last_queued = time.monotonic()
        self.push(perm, parents, f"subsample mse {subsample_mse:.6g}")

    def push(self, perm: list[int], parents: list[int], what: str) -> None:
        """Send a solution to the pool once: one this worker sent before is not sent again
        (the door would only say it is there already)."""
        from solver.answer import answer_sha256

        sha = answer_sha256(perm)
        if sha in self.pushed:
            return
        log.info("queued run %d %s sha %s", self.run, what, sha[:16])
        self.pushed[sha] = None
        while len(self.pushed) > 1000:   # the oldest go first: a dict keeps insertion order
            del self.pushed[next(iter(self.pushed))]
        # The solver's MSE is on a float32 row subsample; the door computes the real one.
        self.outbox.add(Pending(list(perm), None, "anneal", list(parents)))
        self.outbox_ready.set()

    async def choose_start(self):
        """An elite from the pool perturbed by the configured width, or a fresh seed."""
        from solver.seeds import SEED_METHODS, make_seed, perturb

        if self.rng.random() >= self.knob("restart_share") and self.link.online:
            k = int(self.knob("elite_pool"))
            elites = await self.pool_call(lambda s: s.fetch_top(k, self.puzzle_id)) or []
            if elites:
                weights = 1.0 / np.arange(1, len(elites) + 1)
                elite = elites[int(self.rng.choice(len(elites), p=weights / weights.sum()))]
                width = int(round(self.knob("perturb_width")))
                start = perturb(self.puzzle, elite.permutation, width, self.rng) if width > 0 \
                    else elite.permutation
                how = (f"elite #{elite.id} (mse {elite.mse:.6g}, worker {elite.worker_id}, node {elite.node}) "
                       f"perturbed by width {width}")
                return start, [elite.id], how
        method = str(self.rng.choice(SEED_METHODS))
        start = await asyncio.to_thread(make_seed, self.puzzle, method, self.rng)
        return start, [], f"seed:{method}"

    def _should_stop(self) -> bool:
        return self.stop.is_set() or self.end_run.is_set()

    def _on_progress(self, info: dict) -> None:
        self.progress = info

    async def one_run(self) -> None:
        from solver.search import Settings, solve

        loop = asyncio.get_running_loop()
        start, self.parents, how = await self.choose_start()
        log.info("run %d starts from %s", self.run, how)
        run_end = time.monotonic() + self.knob("run_seconds")
        current, run_best, burst = start, (math.inf, None), 0
        while not self._should_stop() and time.monotonic() < run_end:
            burst += 1
            first = [True]

            def on_improve(perm, loss, parents=list(self.parents)):
                if first[0]:  # the start itself: already known
                    first[0] = False
                    return
                loop.call_soon_threadsafe(self.found, perm, loss, parents)

            r = await asyncio.to_thread(
                solve, self.puzzle, start=current, seed=int(self.rng.integers(2**31)),
                time_limit=max(0.1, min(self.knob("burst_seconds"), run_end - time.monotonic())),
                on_progress=self._on_progress, on_improve=on_improve, should_stop=self._should_stop,
                temperature=Settings.t0 * self.knob("temp_scale"))
            self.queue_latest()  # the burst's last improvement goes out now
            self.steps_done += r.steps
            self.progress = {**self.progress, "step": 0}
            if r.mse < run_best[0]:
                run_best = (r.mse, r.permutation)
            current = r.permutation
            if r.solved:
                log.info("solved: mse %.3g sha %s (%s)", r.mse, r.sha256[:16], r.verdict)
                self.solved_here = True
                break
            current = await self.cross_pollinate(current, run_best[0])
        if run_best[1] is not None:
            # Finish the run with its best, unless it went out already as an improvement.
            self.push(run_best[1], self.parents, f"best of the run, subsample mse {run_best[0]:.6g}")
            log.info("run %d finished: best mse %.6g after %d bursts", self.run, run_best[0], burst)
        self.end_run.clear()

    async def cross_pollinate(self, current, run_best_mse: float):
        """Adopt another worker's better elite as the next burst's start (half the time)."""
        best = await self.pool_call(lambda s: s.fetch_best(self.puzzle_id))
        if best is None or best.worker_id == self.worker_id or best.mse >= run_best_mse * (1 - 1e-6):
            return current
        if self.rng.random() < 0.5:
            return current
        log.info("adopting elite #%d (mse %.6g) from worker %s on %s", best.id, best.mse, best.worker_id, best.node)
        self.parents = [best.id]
        return best.permutation

    async def main(self) -> int:
        loop = asyncio.get_running_loop()
        for sig, name in ((signal.SIGTERM, "SIGTERM"), (signal.SIGINT, "SIGINT")):
            loop.add_signal_handler(sig, self.request_stop, name)
        taken = self.outbox.load_spools(sorted(self.spool_dir.glob(f"{self._spool_prefix()}*")))
        if taken:
            log.info("took over %d undelivered results from the spool", taken)
        log.info("worker starting: puzzle %s, seed %d, %s", self.puzzle.source or self.args.puzzle, self.seed,
                 "forever" if self.args.forever else f"{self.args.runs} runs")
        await self.link.ensure()  # connect and register now if the pool is up
        exchange = asyncio.create_task(self.exchange_forever())
        try:
            while not self.stop.is_set() and not self.solved_in_pool and not self.solved_here:
                if not self.args.forever and self.run >= self.args.runs:
                    break
                self.run += 1
                await self.one_run()
        finally:
            self.closing = True
            self.outbox_ready.set()
            await exchange
        if self.solved_in_pool or self.solved_here:
            self.status, code, reason = "solved", EXIT_SOLVED, "the pool holds the exact answer"
        elif self.stop.is_set():
            self.status, code, reason = "stopped", EXIT_DONE, self.stop_reason
        else:
            # "done": the word `fleet status` and the screen use for a worker whose runs are done
            self.status, code, reason = "done", EXIT_DONE, f"{self.run} runs done"
        return await self.shut_down(code, reason)

    async def shut_down(self, code: int, reason: str) -> int:
        deadline = time.monotonic() + self.args.flush_timeout
        while True:
            await self.deliver()
            if not self.outbox or time.monotonic() >= deadline:
                break
            await asyncio.sleep(0.2)
        if self.outbox:
            path = self.spool_dir / f"{self._spool_prefix()}{os.getpid()}.jsonl"
            self.outbox.spool(path)
            log.error("pool unreachable: %d results wait in %s for the next worker on this node",
                      len(self.outbox), path)
            code, reason = EXIT_SPOOLED, f"{reason}; {len(self.outbox)} results spooled to {path}"
        if self.worker_id is not None:
            try:
                await self.link.call(lambda s: s.finish_worker(self.worker_id, self.status, reason,
                                                               _finite(self.best_mse)))
            except Offline:
                pass
        await self.link.close()
        log.info("worker exits with %d (%s): %s", code, self.status, reason)
        return code

    def _spool_prefix(self) -> str:
        return f"{self.node}-{self.puzzle.fingerprint[:16]}-"


def _finite(value):
    return value if value is not None and math.isfinite(value) else None


def main(argv=None) -> int:
    import faulthandler

    args = parse_args(argv)
    setup_logging(args.node, args.log_file)
    faulthandler.register(signal.SIGUSR1)  # `kill -USR1 PID` dumps every thread's stack
    if not args.dsn:
        log.error("no pool database: pass --dsn or set JSTUI_DSN")
        return EXIT_BAD_INPUT
    from solver.puzzle import PuzzleError, load_puzzle

    try:
        puzzle = load_puzzle(args.puzzle.expanduser().absolute())
    except PuzzleError as exc:
        log.error("%s", exc)
        return EXIT_BAD_INPUT
    try:
        return asyncio.run(Worker(args, puzzle).main())
    except Exception:
        log.exception("worker failed")
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
