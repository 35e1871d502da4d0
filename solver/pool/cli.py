"""`python -m solver pool up|down|status|best`: the embedded server and the pool's best."""
from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from . import embedded
from .errors import PoolError
from .locate import NO_DSN, resolve_dsn


def add_dsn_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dsn", help="PostgreSQL DSN (default: $JSTUI_DSN, else the running embedded pool)")
    parser.add_argument("--data-dir", type=Path, help="embedded server data dir (for finding its DSN)")


def register(subparsers) -> None:
    pool = subparsers.add_parser("pool", help="the shared pool database")
    sub = pool.add_subparsers(dest="pool_command", required=True)

    up = sub.add_parser("up", help="start (or reuse) the embedded PostgreSQL and print its DSN")
    up.add_argument("--data-dir", type=Path, help=f"data dir (default {embedded.default_data_dir()})")
    up.add_argument("--listen", metavar="ADDR",
                    help="also listen on TCP at ADDR (0.0.0.0: all interfaces) for other machines, by password")
    up.add_argument("--port", type=int, default=5432, help="TCP port with --listen (default 5432)")
    up.set_defaults(func=cmd_up)

    down = sub.add_parser("down", help="stop the embedded PostgreSQL")
    down.add_argument("--data-dir", type=Path)
    down.set_defaults(func=cmd_down)

    status = sub.add_parser("status", help="server state, schema version and pool counts")
    add_dsn_argument(status)
    status.set_defaults(func=cmd_status)

    best = sub.add_parser("best", help="print the best stored answer for a puzzle")
    best.add_argument("--puzzle", required=True, type=Path, help="puzzle dir or .npz")
    best.add_argument("--json", action="store_true", help="machine-readable output")
    add_dsn_argument(best)
    best.set_defaults(func=cmd_best)


def cmd_up(args) -> int:
    if not 0 < args.port < 65536:
        print(f"error: --port {args.port} is not a TCP port", file=sys.stderr)
        return 2
    try:
        state = embedded.up(args.data_dir, args.listen, args.port)
    except embedded.EmbeddedError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"pool running (pid {state.pid}) in {state.data_dir}", file=sys.stderr)
    remote = embedded.tcp_dsn(state) if state.listen else None
    if remote:
        print(f"this machine only: {state.dsn}", file=sys.stderr)
        print(remote)
    else:
        print(state.dsn)
    return 0


def cmd_down(args) -> int:
    try:
        stopped = embedded.down(args.data_dir)
    except embedded.EmbeddedError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    data_dir = args.data_dir or embedded.default_data_dir()
    print(f"pool stopped ({data_dir})" if stopped else f"no pool running in {data_dir}")
    return 0


def cmd_status(args) -> int:
    state = embedded.status(args.data_dir)
    if not args.dsn:
        print(f"embedded: {'running, pid %d' % state.pid if state.running else 'not running'} ({state.data_dir})")
    dsn = resolve_dsn(args.dsn, embedded="running", pgdata=args.data_dir)
    if not dsn:
        return 1
    try:
        return asyncio.run(_status(dsn))
    except PoolError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


async def _status(dsn: str) -> int:
    from .locate import redact
    from .store import connect

    async with await connect(dsn, max_size=1) as store:
        print(f"dsn: {redact(dsn)}")
        print(f"schema: version {await store.schema_version()}")
        for puzzle in await store.fetch_puzzles():
            c = await store.counts(puzzle.id)
            best = "-" if c.best_mse is None else f"{c.best_mse:.6g}"
            print(f"puzzle {puzzle.id} {puzzle.fingerprint[:12]}: {c.solutions} solutions "
                  f"({c.exact} exact), best MSE {best}, {c.workers_alive} workers alive, "
                  f"{c.workers_lost} lost, {c.refusals} refused")
    return 0


def cmd_best(args) -> int:
    return run_with_pool(args, _best)


def run_with_pool(args, action) -> int:
    """Load --puzzle, connect to the pool, run ACTION(store, puzzle, args): the one way
    the pool's and the tools' commands map user errors to a line and an exit status."""
    from solver.puzzle.files import PuzzleError, load_puzzle

    try:
        puzzle = load_puzzle(args.puzzle)
    except PuzzleError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    dsn = resolve_dsn(args.dsn, embedded="running", pgdata=args.data_dir)
    if not dsn:
        print(f"error: {NO_DSN}", file=sys.stderr)
        return 2

    async def main() -> int:
        from .store import connect

        async with await connect(dsn) as store:
            return await action(store, puzzle, args)

    try:
        return asyncio.run(main())
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except PoolError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0


async def _best(store, puzzle, args) -> int:
    from solver.puzzle.answer import answer_string

    puzzle_id = await store.find_puzzle_id(puzzle)
    best = await store.fetch_best(puzzle_id) if puzzle_id is not None else None
    if best is None:
        print(f"error: the pool holds no solution for {puzzle.source or 'this puzzle'}", file=sys.stderr)
        return 1
    record = {"permutation": answer_string(best.permutation), "mse": best.mse, "sha256": best.sha256,
              "matches_target": best.matches_target, "origin": best.origin, "node": best.node,
              "worker_id": best.worker_id, "solution_id": best.id, "found_at": best.created_at.isoformat()}
    if args.json:
        print(json.dumps(record))
    else:
        for key, value in record.items():
            print(f"{key}: {value}")
    return 0
