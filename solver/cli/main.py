"""``python -m solver``: one command line; each command group registers its own subparsers."""
from __future__ import annotations

import argparse
import importlib
import sys

# Imported lazily by name so `solve` never pays for asyncpg or torch: a command named on
# the command line loads only its own module (every module for help or a typo).
COMMAND_MODULES = {
    "solver.cli.commands": ("solve", "verify", "inspect", "pack", "remix"),
    "solver.generate.cli": ("generate",),
    "solver.pool.cli": ("pool",),
    "solver.tools.cli": ("inject", "zones", "breakpoints", "surgery", "observe"),
}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m solver",
        description="Recover the pairing and order of a dropped residual network; "
        "run and feed the shared pool. Exit status: 0 done, 1 not found or time out, 2 bad input.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    wanted = [name for name, commands in COMMAND_MODULES.items() if command in commands] or list(COMMAND_MODULES)
    for name in wanted:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(argv[0] if argv else None)
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
