"""`jstui`: the control center; `jstui status` prints the same picture once, for scripts.

With no fleet file and no flags it starts the local fleet on the embedded pool.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import warnings
from pathlib import Path


EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="jstui",
        description="Terminal control center for the dropped-network fleet: live nodes, "
                    "workers, MSE, agreement zones and keyboard actions.",
        epilog="Without --config and without a fleet file in the XDG config dir, jstui "
               "starts this machine's local fleet on the embedded PostgreSQL. "
               "Keys: press ? inside the app.")
    add_view_flags(p)
    p.add_argument("--read-only", action="store_true",
                   help="watch only: every action that changes the fleet or pool is refused")
    p.add_argument("--refresh", metavar="S", type=float, default=5.0,
                   help="seconds between re-queries when no change notice arrives (default 5)")
    p.add_argument("--workers", type=int, default=None,
                   help="local fleet only: workers to start (default: one per core)")
    p.add_argument("--keep-running", action="store_true",
                   help="local fleet only: leave the workers running when jstui quits")
    sub = p.add_subparsers(dest="command")
    st = sub.add_parser("status", help="print pool and fleet status once and exit "
                        "(exit 1 if the pool cannot be read)")
    # `jstui status --config F` and `jstui --config F status` both work: the copies here
    # leave the top level's values alone unless given after `status`.
    add_view_flags(st, default=argparse.SUPPRESS)
    st.add_argument("--json", action="store_true", help="machine-readable output")
    st.add_argument("--deadline", metavar="S", type=float, default=5.0,
                    help="seconds to wait for each node's answer (default 5)")
    return p


def add_view_flags(p: argparse.ArgumentParser, default=None) -> None:
    """What to look at: the fleet file, the pool and the puzzle."""
    p.add_argument("--config", metavar="F", default=default, help="fleet file (TOML); "
                   "default: $JSTUI_CONFIG or the XDG config dir's jstui/fleet.toml")
    p.add_argument("--dsn", default=default, help="pool DSN (default: $JSTUI_DSN, the "
                   "fleet file, or the embedded PostgreSQL)")
    p.add_argument("--puzzle", metavar="DIR", default=default,
                   help="puzzle directory or .npz: the one the workers get and the screen "
                   "shows (default: the fleet file's [puzzle] path)")
    p.add_argument("--pool-only", action="store_true", default=default or False,
                   help="no fleet: show the pool at --dsn and the workers it knows of")


async def open_fleet(args, make_puzzle: bool = True) -> tuple[object | None, str | None, bool]:
    """(fleet, dsn, is_local_default) from the flags, the fleet file or the local default.
    MAKE_PUZZLE: the local default generates its puzzle if it is not there yet."""
    from jstui.config import find_config, load_config, with_overrides

    if args.pool_only:
        dsn = args.dsn or os.environ.get("JSTUI_DSN")
        if not dsn:
            raise UsageError("--pool-only needs --dsn or JSTUI_DSN")
        return None, dsn, False
    path = find_config(args.config)
    from jstui.fleet import Fleet

    if path is not None:
        cfg = with_overrides(load_config(path), dsn=args.dsn, puzzle=args.puzzle)
        return Fleet.from_config(cfg), cfg.dsn, False
    from jstui.fleet.local import DEFAULT_PUZZLE, default_puzzle_path

    print("jstui: no fleet file; starting the local fleet on the embedded pool…",
          file=sys.stderr)
    if make_puzzle and args.puzzle is None and not default_puzzle_path().is_dir():
        print(f"jstui: generating the first-run puzzle once ({DEFAULT_PUZZLE['blocks']} blocks, "
              f"kind '{DEFAULT_PUZZLE['kind']}': the fleet needs minutes for it; about 30 s)…",
              file=sys.stderr)
    fleet = await Fleet.local_default(puzzle=args.puzzle, dsn=args.dsn, workers=args.workers,
                                      make_puzzle=make_puzzle)
    return fleet, fleet.config.dsn, True


async def shown_puzzle(args, fleet):
    """The puzzle the screen shows, identified now, so that a wrong path is one line and
    exit 2 before anything starts: --puzzle, else the fleet's; None: the pool's newest."""
    from jstui.puzzles import identify

    path = fleet.config.puzzle if fleet is not None else args.puzzle
    if path is None:
        return None
    return await asyncio.to_thread(identify, str(Path(path).expanduser().resolve()))


class UsageError(Exception):
    pass


async def start_local_workers(fleet) -> list[str]:
    """Deploy and launch on the local node; returns one line per problem."""
    from jstui.data import describe

    problems = []
    for step in (fleet.deploy, fleet.launch):
        for r in await step():
            if not r.ok:
                problems.append(f"{step.__name__} {r.node}: {describe(r)}")
    return problems


def run_app(args) -> int:
    from jstui.app import ControlCenter
    from jstui.data import LiveControls, LiveSource

    async def session() -> int:
        # One event loop for setup, the app and shutdown: the fleet's connections and
        # child processes belong to the loop that made them.
        fleet, dsn, local = await open_fleet(args)
        puzzle = await shown_puzzle(args, fleet)
        problems = await start_local_workers(fleet) if local and not args.read_only else []
        observer = await start_observer(fleet) if local and not args.read_only else None
        for line in problems:
            print(f"jstui: {line}", file=sys.stderr)
        source = LiveSource(dsn, fleet, puzzle=puzzle, refresh=args.refresh)
        for line in problems:
            source.book.local("error", line, source.clock())
        controls = LiveControls(source, fleet)   # read-only: the app refuses what changes

        app = ControlCenter(source, controls, read_only=args.read_only)
        try:
            await app.run_async()
        finally:
            if observer is not None:
                await stop_observer(observer)
            if fleet is not None:
                await finish(fleet, stop=local and not args.keep_running and not args.read_only)
        return EXIT_OK

    return asyncio.run(session())


async def start_observer(fleet):
    """The local fleet's observer (`solver observe`): it turns the knobs and runs the
    inject / surgery commands the UI queues. A child of jstui: it stops when jstui does."""
    from jstui.fleet.local import data_dir

    log_path = data_dir() / "observer.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "solver.tools.cli", "observe", "--dsn", fleet.config.dsn,
            "--puzzle", fleet.config.puzzle, "--interval", "5",
            stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=asyncio.subprocess.STDOUT)


async def stop_observer(proc) -> None:
    if proc.returncode is None:
        proc.terminate()
        try:
            await asyncio.wait_for(proc.wait(), 5.0)
        except asyncio.TimeoutError:
            proc.kill()
            await proc.wait()


async def finish(fleet, stop: bool) -> None:
    if stop:
        print("jstui: stopping the local workers (--keep-running leaves them)", file=sys.stderr)
        await fleet.stop()
    await fleet.close()


def run_status(args) -> int:
    from jstui.data import LiveSource

    async def once():
        fleet, dsn, _ = await open_fleet(args, make_puzzle=False)
        try:
            source = LiveSource(dsn, fleet, puzzle=await shown_puzzle(args, fleet))
            try:
                snap = await source.read_once(fleet_deadline=args.deadline)
            finally:
                await source.close()
        finally:
            if fleet is not None:
                await fleet.close()
        return snap, snap.pool_error and f"pool {snap.pool_error}"

    snap, error = asyncio.run(once())
    if args.json:
        print(json.dumps(status_dict(snap, error), indent=2))
    else:
        print(status_text(snap, error))
    return EXIT_FAIL if error or snap is None or snap.pool_error else EXIT_OK


def status_dict(snap, error: str | None) -> dict:
    from dataclasses import asdict

    if snap is None:
        return {"error": error}
    d = asdict(snap)
    d.pop("events", None)
    d["error"] = error
    return d


def status_text(snap, error: str | None) -> str:
    from jstui.data import fmt_age, fmt_mse, fmt_rate

    if snap is None:
        return f"jstui: {error}"
    lines = [f"jstui: pool {snap.pool_error}"] if snap.pool_error else []
    others = [f"#{c.id} {c.label}" for c in snap.puzzles if c.id != snap.puzzle_id]
    lines += [
        f"puzzle   {snap.puzzle or '-'}" + (f" ({snap.puzzle_why})" if snap.puzzle_why else ""),
        *([f"         also in the pool: {', '.join(others)} (--puzzle DIR shows another)"]
          if others else []),
        f"target   {snap.target_sha256 or '-'}",
        f"answer   {'FOUND' if snap.solved else 'not yet'}",
        f"best     {fmt_mse(snap.best_mse)} ({fmt_age(snap.best_age)} ago), "
        f"{snap.pool_rows:,} solutions in the pool",
    ]
    lines.append("nodes")
    for n in snap.nodes:   # the reason last: a long one never shifts the figures
        lines.append(f"  {n.name:<14} {n.state:<10} {n.workers_running}/{n.workers_expected} "
                     f"workers  {fmt_rate(n.moves_per_s):>5} moves/s  {n.reason}".rstrip())
    lines.append("workers")
    for w in snap.workers:
        lines.append(f"  {w.node:<14} {str(w.pid or '-'):>7} {w.status:<9} "
                     f"best {fmt_mse(w.best_mse):<10} age {fmt_age(w.age)}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    # A warning printed while the app draws would scribble over the screen; this one
    # (pgserver's import on a machine without XDG_RUNTIME_DIR) is harmless.
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR")
    import solver.pool  # noqa: F401  (import-time output, if any, before the screen)
    from jstui.config import ConfigError
    from jstui.shell import until_reader_stops
    from solver.pool.embedded import EmbeddedError
    from solver.puzzle import PuzzleError

    try:
        if not args.refresh > 0:
            raise UsageError(f"--refresh: {args.refresh:g} is not a positive number of seconds")
        if args.command == "status":
            return until_reader_stops(lambda: run_status(args))
        return run_app(args)
    except (ConfigError, UsageError, PuzzleError) as exc:
        print(f"jstui: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except EmbeddedError as exc:
        print(f"jstui: the embedded PostgreSQL did not start: {exc}", file=sys.stderr)
        return EXIT_FAIL
    except KeyboardInterrupt:
        return EXIT_FAIL


if __name__ == "__main__":
    sys.exit(main())
