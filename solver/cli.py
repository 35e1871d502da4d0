"""``python -m solver``: one command line; each command group registers its own subparsers."""
from __future__ import annotations

import argparse
import importlib
import sys

# Imported lazily by name so `solve` never pays for asyncpg or torch.
COMMAND_MODULES = (
    "solver.commands",
    "solver.generate",
    "solver.pool.cli",
    "solver.tools.cli",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m solver",
        description="Recover the pairing and order of a dropped residual network; "
        "run and feed the shared pool. Exit status: 0 done, 1 not found or time out, 2 bad input.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
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
