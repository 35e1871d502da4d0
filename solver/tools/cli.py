"""`python -m solver inject|zones|breakpoints|surgery|observe`: the operator's tools."""
from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from solver.pool.cli import add_dsn_argument, run_with_pool
from solver.pool.lifecycle import SILENT_AFTER_S


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--puzzle", required=True, type=Path, help="puzzle dir or .npz")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    add_dsn_argument(parser)


def register(subparsers) -> None:
    from .inject import KINDS

    p = subparsers.add_parser("inject", help="make seeds by one method and put them in the pool")
    p.add_argument("--kind", required=True, choices=KINDS)
    p.add_argument("path", nargs="?", type=Path, help="with --kind file: a file of permutations, one a line")
    p.add_argument("--count", type=int, default=1, help="how many seeds (random kinds differ)")
    p.add_argument("--seed", type=int, help="random seed")
    _common(p)
    p.set_defaults(func=lambda a: run_with_pool(a, _inject))

    p = subparsers.add_parser("zones", help="per block, the share of the top-K agreeing with the best")
    p.add_argument("--top", type=int, default=20, help="K (default 20)")
    _common(p)
    p.set_defaults(func=lambda a: run_with_pool(a, _zones))

    p = subparsers.add_parser("breakpoints", help="where the best solution's blocks point against each other")
    p.add_argument("--rows", type=int, default=2048, help="rows to use (default 2048)")
    _common(p)
    p.set_defaults(func=lambda a: run_with_pool(a, _breakpoints))

    p = subparsers.add_parser("surgery", help="exhaustive moves in a window of the best solution")
    p.add_argument("--positions", help="block window A-B (1-based; default: uncertain zone or break points)")
    p.add_argument("--max-cycle", type=int, default=3, choices=(2, 3), help="3 adds 3-cycles (default)")
    p.add_argument("--top", type=int, default=20, help="K for the zones that decide what is locked")
    p.add_argument("--time-limit", type=float, help="seconds")
    _common(p)
    p.set_defaults(func=lambda a: run_with_pool(a, _surgery))

    p = subparsers.add_parser("observe", help="watch the fleet, turn the knobs, write observations")
    p.add_argument("--interval", type=float, default=30.0, help="seconds between cycles (default 30)")
    p.add_argument("--cycles", type=int, help="stop after this many cycles (default: forever)")
    p.add_argument("--report-every", type=int, default=5,
                   help="store the pool's statistics every N cycles (the event book gets changes only)")
    p.add_argument("--stagnation", type=float, default=600.0, help="seconds without a new best = stagnation")
    p.add_argument("--silent-after", type=float, default=SILENT_AFTER_S,
                   help=f"seconds without a heartbeat after which a worker is marked lost "
                   f"(default {SILENT_AFTER_S:g}; the observer holding the lease marks them)")
    p.add_argument("--idle-exit", type=float, default=None, metavar="SECONDS",
                   help="end when no worker of the puzzle runs and no command waits for this "
                   "long (default: never)")
    p.add_argument("--node", help="the name this observer goes by in the lease and the "
                   "event book (default: this machine's host name)")
    p.add_argument("--cooldown", type=float, default=300.0,
                   help="seconds after a knob change (or an automatic command) before the next one (default 300)")
    p.add_argument("--auto", action="store_true",
                   help="on stagnation or a monoculture, queue surgeries and polished injections itself")
    p.add_argument("--judge-after", type=float, default=300.0,
                   help="an intervention paid off if the pool's best fell within this many seconds (default 300)")
    p.add_argument("--report", action="store_true",
                   help="print which kinds of intervention paid off on this puzzle, and exit")
    _common(p)
    p.set_defaults(func=lambda a: run_with_pool(a, _observe))


def _print(args, record: dict, text: str) -> None:
    print(json.dumps(record, default=float) if args.json else text)


async def _inject(store, puzzle, args) -> int:
    from .inject import inject

    if args.kind == "file" and args.path is None:
        raise ValueError("inject --kind file needs PATH, a file of permutations (one a line)")
    if args.count < 1:
        raise ValueError("--count must be at least 1")
    report = await inject(store, puzzle, args.kind, args.count, args.path, args.seed)
    text = report["message"] + "".join(f"\n  #{s['id']} mse {s['mse']:.6g} sha {s['sha256'][:16]}"
                                       for s in report["stored"])
    text += "".join(f"\n  refused: {r}" for r in report["refused"])
    _print(args, report, text)
    return 0 if report["ok"] else 1


async def _zones(store, puzzle, args) -> int:
    from .zones import describe, zones_of_pool

    puzzle_id = await store.find_puzzle_id(puzzle)
    zm = await zones_of_pool(store, puzzle_id, args.top) if puzzle_id is not None else None
    if zm is None:
        print("error: the pool holds no solution for this puzzle", file=sys.stderr)
        return 1
    _print(args, {"best_id": zm.best_id, "k": zm.k, "shares": zm.shares, "zones": zm.zones}, describe(zm))
    return 0


async def _breakpoints(store, puzzle, args) -> int:
    from dataclasses import asdict

    from .breakpoints import describe, find_breakpoints

    puzzle_id = await store.find_puzzle_id(puzzle)
    best = await store.fetch_best(puzzle_id) if puzzle_id is not None else None
    if best is None:
        print("error: the pool holds no solution for this puzzle", file=sys.stderr)
        return 1
    bp = await asyncio.to_thread(find_breakpoints, puzzle, best.permutation, args.rows)
    _print(args, {"solution_id": best.id, **asdict(bp)}, f"solution #{best.id}: " + describe(bp))
    return 0


async def _surgery(store, puzzle, args) -> int:
    from .surgery import parse_positions, surgery_on_pool

    window = parse_positions(args.positions, puzzle.n_blocks) if args.positions else None
    shown = set()

    async def on_progress(progress: dict) -> bool:
        key = (progress["piece"], progress.get("step"))
        if key not in shown:                    # one line per piece and step, on stderr
            shown.add(key)
            print(progress["message"], file=sys.stderr, flush=True)
        return False
    report = await surgery_on_pool(store, puzzle, window, args.max_cycle, args.top,
                                   time_limit=args.time_limit, node="surgery", on_progress=on_progress)
    _print(args, report, report["message"])
    return 0 if report["ok"] else 1


async def _observe(store, puzzle, args) -> int:
    import logging
    import signal

    from .observe import Policy
    from .observer import observe

    if args.report:
        from .interventions import describe, report

        rep = await report(store, await store.find_puzzle_id(puzzle))
        _print(args, rep, describe(rep))
        return 0
    if args.judge_after <= 0:
        raise ValueError(f"--judge-after must be positive, got {args.judge_after:g}")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    policy = Policy(interval=args.interval, report_every=args.report_every,
                    silent_after_s=args.silent_after, stagnation_s=args.stagnation,
                    cooldown_s=args.cooldown, auto=args.auto, judge_after_s=args.judge_after,
                    idle_exit_s=args.idle_exit)
    await observe(store, puzzle, policy, cycles=args.cycles, node=args.node, stop=stop)
    return 0
