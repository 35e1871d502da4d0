"""`jstui replay`: which pool and puzzle, the run loaded once, then the screen or the
cast export. Errors the user can cause are one sentence (UsageError, exit 2)."""
from __future__ import annotations

import asyncio
import sys
import time

from jstui.session import EXIT_OK, UsageError

DEFAULT_SIZE = (120, 36)


def parse_size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise UsageError(f"--size: {text!r} is not COLSxROWS (e.g. 120x36)") from None
    if width < 40 or height < 12:
        raise UsageError(f"--size: {text} is too small (40x12 at least)")
    return width, height


async def open_run(args):
    """(store, run) of the puzzle asked for (--puzzle, else the pool's most recently
    active one) in the pool at --dsn (else $JSTUI_DSN, else the embedded pool)."""
    from jstui.puzzles import identify, label_of
    from jstui.replay.run import ReplayError, load_run
    from solver.pool import PoolError, connect
    from solver.pool.locate import NO_DSN, resolve_dsn
    from solver.pool.locate import redact

    dsn = resolve_dsn(args.dsn, embedded="running")
    if not dsn:
        raise UsageError(NO_DSN)
    configured = await asyncio.to_thread(identify, args.puzzle) if args.puzzle else None
    try:
        store = await connect(dsn, max_size=2, timeout=5.0)
    except PoolError as exc:
        raise UsageError(str(exc)) from None
    try:
        rows = await store.fetch_puzzles()
        if configured is not None:
            row = next((r for r in rows if r.fingerprint == configured.fingerprint), None)
            if row is None:
                raise ReplayError(f"--puzzle {args.puzzle}: not in the pool at {redact(dsn)} "
                                  "(no worker ever registered it)")
        else:
            current = await store.current_puzzle_id()
            row = next((r for r in rows if r.id == current), None)
            if row is None:
                raise ReplayError(f"the pool at {redact(dsn)} holds no puzzle: nothing to replay")
        return store, await load_run(store, row.id, label_of(row, configured))
    except BaseException:
        await store.close()
        raise


async def replay(args) -> str | None:
    from jstui.replay.app import ReplayApp
    from jstui.replay.cast import export_cast, open_export
    from jstui.replay.source import ReplaySource

    out = None
    if args.export:
        try:
            out = open_export(args.export)   # before the long part
        except OSError as exc:
            raise UsageError(str(exc)) from None
    opened = time.perf_counter()
    store, run = await open_run(args)
    try:
        source = ReplaySource(store, run, speed=args.speed)
        if out is None:
            await ReplayApp(source).run_async()
            return None
        with out:
            frames, step = await export_cast(source, out, parse_size(args.size))
        return (f"{args.export}: {frames} frames, {step:g} s of the run each, one a second "
                f"(loaded in {time.perf_counter() - opened:.2f} s); play it with "
                f"`asciinema play {args.export}`")
    finally:
        await store.close()


def run_replay(args) -> int:
    from jstui.replay.run import ReplayError

    if not args.speed > 0:
        raise UsageError(f"--speed: {args.speed:g} is not a positive number")
    if args.export:
        parse_size(args.size)
    try:
        line = asyncio.run(replay(args))
    except ReplayError as exc:
        raise UsageError(str(exc)) from None
    if line:
        print(f"jstui: {line}", file=sys.stderr)
    return EXIT_OK
