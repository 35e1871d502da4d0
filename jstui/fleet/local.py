"""The fleet with no fleet file: this machine as one local node, the embedded
PostgreSQL, and a generated default puzzle (or --puzzle DIR)."""
from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

from jstui.config import NodeConfig
from solver.pool.home import data_dir

# The first run's puzzle: one the fleet visibly works on. A 'pairing' puzzle pairs by
# trace, but no weight tells the order, so it comes from the data (one solve process
# needed 432 s for one of these; see the README's figures). Generated once, in about
# 20-30 s on 2 cores (training dominates). QUICK_PUZZLE is solved in about a second:
# for tests and demos (`jstui --puzzle DIR` with one made by `solver generate`).
DEFAULT_PUZZLE = dict(blocks=72, dim=48, hidden=96, rows=10000, seed=0, kind="pairing")
QUICK_PUZZLE = dict(blocks=12, dim=16, hidden=32, rows=2000, seed=0, kind="readable")


def default_puzzle_path(spec: dict = DEFAULT_PUZZLE) -> Path:
    """Named by what it is, so a changed default is a new puzzle, not the old files."""
    return data_dir() / "puzzles" / f"default-{spec['kind']}-{spec['blocks']}"


def default_puzzle_dir(spec: dict = DEFAULT_PUZZLE) -> Path:
    """Generated once (torch needed), reused afterwards."""
    target = default_puzzle_path(spec)
    if not target.is_dir():
        import shutil
        import tempfile

        from solver.generate import generate_puzzle

        target.parent.mkdir(parents=True, exist_ok=True)
        # Made aside and renamed: an interrupted run never leaves half a puzzle behind.
        tmp = Path(tempfile.mkdtemp(prefix=".default-", dir=target.parent))
        try:
            generate_puzzle(tmp / "puzzle", **spec)
            try:
                (tmp / "puzzle").rename(target)
            except OSError:
                if not target.is_dir():  # another jstui made it meanwhile: use theirs
                    raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return target


def local_node(workers: int | None = None) -> NodeConfig:
    return NodeConfig(name=socket.gethostname().split(".")[0] or "local", kind="local",
                      python=sys.executable, python_source="local",
                      workdir=str(data_dir() / "node"),
                      workers=workers if workers is not None else (os.cpu_count() or 1),
                      labels={"role": "local"})
