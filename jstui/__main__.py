"""`jstui`: the control center's command line. What each command does is jstui.session.

With no fleet file and no flags it starts the local fleet on the embedded pool.
"""
from __future__ import annotations

import argparse
import sys
import warnings

from jstui.session import EXIT_FAIL, EXIT_USAGE, UsageError


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
                   help="local fleet only: leave the workers (and the pool) running on quit")
    p.add_argument("--keep-pool", action="store_true",
                   help="local fleet only: leave the embedded pool running on quit (by "
                   "default it stops if this session started it and no worker is left)")
    sub = p.add_subparsers(dest="command")
    st = sub.add_parser("status", help="print pool and fleet status once and exit "
                        "(exit 1 if the pool cannot be read)")
    # `jstui status --config F` and `jstui --config F status` both work: the copies here
    # leave the top level's values alone unless given after `status`.
    add_view_flags(st, default=argparse.SUPPRESS)
    st.add_argument("--json", action="store_true", help="machine-readable output")
    st.add_argument("--deadline", metavar="S", type=float, default=5.0,
                    help="seconds to wait for each node's answer (default 5)")
    sub.add_parser("down", help="stop the local workers and the embedded pool (what "
                   "--keep-running and --keep-pool left running)")
    add_serve_parser(sub)
    add_replay_parser(sub)
    return p


def add_replay_parser(sub) -> None:
    rp = sub.add_parser("replay", help="play back a past run from the pool: the screen as "
                        "it was at each moment (keys: left/right step, space pause, [ ] "
                        "speed, g go to an MSE)")
    rp.add_argument("--dsn", default=argparse.SUPPRESS, help="pool DSN (default: $JSTUI_DSN, "
                    "else the running embedded PostgreSQL)")
    rp.add_argument("--puzzle", metavar="DIR", default=argparse.SUPPRESS, help="the puzzle "
                    "(directory or .npz) whose run to replay (default: the pool's most "
                    "recently active)")
    rp.add_argument("--speed", type=float, default=60.0,
                    help="seconds of the run per second of replay (default 60)")
    rp.add_argument("--export", metavar="FILE.cast", default=None,
                    help="write the replay as an asciinema cast (v2) instead of showing it")
    rp.add_argument("--size", default="120x36",
                    help="--export only: the terminal size of the cast, COLSxROWS")


def add_serve_parser(sub) -> None:
    sv = sub.add_parser("serve", help="the same control center in a browser, behind a "
                        "random access token; read-only unless --allow-actions")
    add_view_flags(sv, default=argparse.SUPPRESS)
    sv.add_argument("--host", default="127.0.0.1",
                    help="address to listen on (default 127.0.0.1: this machine only)")
    sv.add_argument("--port", type=int, default=8080, help="TCP port (default 8080)")
    sv.add_argument("--allow-actions", action="store_true",
                    help="let browser sessions act on the fleet and the pool (default: "
                    "read-only); closing a tab then leaves the workers and the pool running")


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


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    # A warning printed while the app draws would scribble over the screen; this one
    # (pgserver's import on a machine without XDG_RUNTIME_DIR) is harmless.
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR")
    import solver.pool  # noqa: F401  (import-time output, if any, before the screen)
    from jstui import session
    from jstui.config import ConfigError
    from jstui.plan import PlanError
    from jstui.shell import until_reader_stops
    from solver.pool.embedded import EmbeddedError
    from solver.puzzle.files import PuzzleError

    try:
        if not args.refresh > 0:
            raise UsageError(f"--refresh: {args.refresh:g} is not a positive number of seconds")
        if args.workers is not None and args.workers < 1:
            raise UsageError(f"--workers: {args.workers} is not a number of workers (1 or more)")
        if args.command == "status":
            return until_reader_stops(lambda: session.run_status(args))
        if args.command == "down":
            return session.run_down(args)
        if args.command == "replay":
            from jstui.replay.cli import run_replay

            return run_replay(args)
        if args.command == "serve":
            from jstui.serve import run_serve

            return run_serve(args)
        return session.run_app(args)
    except (ConfigError, UsageError, PlanError, PuzzleError) as exc:
        print(f"jstui: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except EmbeddedError as exc:
        print(f"jstui: the embedded PostgreSQL did not start: {exc}", file=sys.stderr)
        return EXIT_FAIL
    except KeyboardInterrupt:
        return EXIT_FAIL


if __name__ == "__main__":
    sys.exit(main())
