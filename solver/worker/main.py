"""python -m solver.worker: the command line, the log, and the run loop and the pool exchange
wired together (see solver.worker for the exit status)."""
from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import socket
import sys
import time
from pathlib import Path
from typing import Awaitable, Callable

import numpy as np

from solver.pool.home import data_dir
from solver.pool.locate import DSN_ENV, NO_DSN, resolve_dsn
from solver.pool.lifecycle import WorkerState
from solver.pool.words import ExitCode
from solver.worker.exchange import PoolExchange
from solver.worker.loop import Outcome, RunLoop, RunSettings

log = logging.getLogger("solver.worker")


class _Parser(argparse.ArgumentParser):
    """A wrong command line is one sentence (where to look next included), not a page
    of usage: the worker is started by the fleet, and its log is read in a table."""

    def error(self, message: str):
        self.exit(ExitCode.BAD_INPUT, f"{self.prog}: error: {message} "
                                  f"(`{self.prog} --help` lists the options)\n")


def parse_args(argv=None) -> argparse.Namespace:
    ap = _Parser(prog="python -m solver.worker",
                 description="A fleet worker: search in bursts, share through the pool.")
    ap.add_argument("--dsn", help=f"pool DSN (default ${DSN_ENV}; the fleet passes it there, "
                    "never on the command line)")
    ap.add_argument("--puzzle", required=True, type=Path, help="puzzle dir or compact .npz")
    ap.add_argument("--node", default=socket.gethostname(), help="this machine's name in the pool")
    runs = ap.add_mutually_exclusive_group()
    runs.add_argument("--runs", type=int, default=1, help="runs before exiting (default 1)")
    runs.add_argument("--forever", action="store_true", help="run until stopped or solved")
    ap.add_argument("--seed", type=int, default=None, help="random seed (default: from pid and time)")
    ap.add_argument("--log-file", type=Path, help="append the log here too (directories are created)")
    ap.add_argument("--heartbeat", type=float, default=2.0, help="seconds between heartbeats")
    ap.add_argument("--history-every", type=float, default=10.0,
                    help="seconds between points of the MSE history (taken at heartbeats)")
    ap.add_argument("--run-seconds", type=float, help="override the run_seconds knob")
    ap.add_argument("--burst-seconds", type=float, help="override the burst_seconds knob")
    ap.add_argument("--spool-dir", type=Path, help="where undelivered results wait at exit "
                    "(default: the data dir's spool)")
    ap.add_argument("--push-interval", type=float, default=5.0,
                    help="at most one improvement pushed per this many seconds (0: every one)")
    ap.add_argument("--max-backoff", type=float, default=10.0,
                    help="longest wait between reconnection attempts (seconds)")
    ap.add_argument("--flush-timeout", type=float, default=15.0,
                    help="seconds to keep trying to deliver at exit before spooling")
    args = ap.parse_args(argv)
    if args.runs < 1:
        ap.error("--runs must be at least 1")
    if args.heartbeat <= 0:
        ap.error("--heartbeat must be positive")
    args.dsn = resolve_dsn(args.dsn)
    return args


def setup_logging(node: str, log_file: Path | None) -> None:
    """Timestamped UTC lines, flushed per record, to stderr and the log file."""
    fmt = logging.Formatter(f"%(asctime)s.%(msecs)03dZ {node} pid={os.getpid()} %(levelname)s "
                            "%(message)s", "%Y-%m-%dT%H:%M:%S")
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


async def run_worker(args: argparse.Namespace, puzzle, *,
                     open_store: Callable[[], Awaitable] | None = None,
                     search: Callable | None = None,
                     on_start: Callable[[RunLoop], None] | None = None) -> int:
    """One worker until its runs are done, it is stopped, or the answer is in; its exit
    status. OPEN_STORE and SEARCH replace PostgreSQL and solve() in tests; ON_START gets
    the run loop (signal handlers go there)."""
    seed = args.seed if args.seed is not None else (os.getpid() * 7919 + int(time.time())) % 2**31
    pool = PoolExchange(args.dsn, puzzle, args.node, heartbeat=args.heartbeat,
                        history_every=args.history_every, max_backoff=args.max_backoff,
                        open_store=open_store)
    settings = RunSettings(runs=None if args.forever else args.runs, run_seconds=args.run_seconds,
                           burst_seconds=args.burst_seconds, push_interval=args.push_interval)
    loop = RunLoop(puzzle, settings, pool, np.random.default_rng(seed), search=search)
    if on_start is not None:
        on_start(loop)
    spool_dir = (args.spool_dir or data_dir() / "spool").expanduser().absolute()
    pool.take_spools(spool_dir)
    log.info("worker starting: puzzle %s, seed %d, %s", puzzle.source or args.puzzle, seed,
             "forever" if args.forever else f"{args.runs} runs")
    await pool.connection.ensure()  # connect and register now if the pool is up
    exchanging = asyncio.create_task(pool.exchange_forever(loop))
    try:
        outcome = await loop.run_all()
    except Exception as exc:  # our bug: say so in the pool too, and still deliver
        log.exception("worker failed")
        outcome = Outcome(WorkerState.CRASHED, ExitCode.FAILED,
                          f"unexpected error: {type(exc).__name__}: {exc}"[:300])
    finally:
        pool.closing = True
        pool.ready.set()
        await exchanging
    return await pool.shut_down(loop, outcome, args.flush_timeout, spool_dir)


def main(argv=None) -> int:
    import faulthandler

    args = parse_args(argv)
    setup_logging(args.node, args.log_file)
    faulthandler.register(signal.SIGUSR1)  # `kill -USR1 PID` dumps every thread's stack
    if not args.dsn:
        log.error("%s", NO_DSN)
        return ExitCode.BAD_INPUT
    from solver.puzzle.files import PuzzleError, load_puzzle

    try:
        puzzle = load_puzzle(args.puzzle.expanduser().absolute())
    except PuzzleError as exc:
        log.error("%s", exc)
        return ExitCode.BAD_INPUT

    def on_start(loop: RunLoop) -> None:
        events = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            events.add_signal_handler(sig, loop.request_stop, sig.name)

    async def run_and_leave() -> int:
        code = await run_worker(args, puzzle, on_start=on_start)
        # Leaving already, with the outcome in the pool: a stop that arrives now must not
        # turn the exit status into a kill (closing the loop would restore the default).
        events = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            events.remove_signal_handler(sig)
            signal.signal(sig, signal.SIG_IGN)
        return code

    try:
        return asyncio.run(run_and_leave())
    except Exception:
        log.exception("worker failed")
        return ExitCode.FAILED
