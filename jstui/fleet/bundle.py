"""What deploy sends to a node: the `solver` package, the node agent and the configured
puzzle as a compact .npz named by its fingerprint (puzzles/FINGERPRINT.npz), each with
its content hash (paths relative to the work directory). A worker is launched on the
puzzle file of the configured puzzle's fingerprint, so the puzzle deployed and the
puzzle run are always the configured one, whatever ran on the node before."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import platformdirs

AGENT_REL = "lib/jstui_agent.py"
AGENT_RECORDS_REL = "lib/agent_records.py"   # the agent's records, beside it
PUZZLES_DIR = "puzzles"
# `fleet bootstrap`'s venv; the marker is written last, once its pip install worked.
VENV_REL = "venv"
VENV_PYTHON_REL = f"{VENV_REL}/bin/python"
VENV_MARKER_REL = f"{VENV_REL}/jstui-bootstrap.json"


@dataclass(frozen=True)
class BundleFile:
    rel: str          # path under the node's work directory
    path: Path        # the file on this machine
    sha256: str


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def solver_files() -> list[BundleFile]:
    import solver

    root = Path(solver.__file__).resolve().parent
    files = []
    for path in sorted(root.rglob("*")):
        if (path.is_file() and "__pycache__" not in path.parts
                and path.suffix not in (".pyc", ".part")):
            rel = "lib/solver/" + path.relative_to(root).as_posix()
            files.append(BundleFile(rel, path, file_sha256(path)))
    return files


def agent_files() -> list[BundleFile]:
    """The node agent: its script and its records module, deployed side by side."""
    here = Path(__file__).resolve().parent
    return [BundleFile(rel, here / name, file_sha256(here / name))
            for rel, name in ((AGENT_REL, "agent.py"), (AGENT_RECORDS_REL, "agent_records.py"))]


def puzzle_npz(puzzle_path: str | Path, cache_dir: Path | None = None) -> tuple[Path, str]:
    """(the compact .npz of a puzzle directory, cached by fingerprint, or the .npz
    itself; the puzzle's fingerprint)."""
    from solver.puzzle.files import load_puzzle, save_npz

    source = Path(puzzle_path).expanduser()
    puzzle = load_puzzle(source)  # PuzzleError names the file
    if source.is_file() and source.suffix == ".npz":
        return source, puzzle.fingerprint
    cache = cache_dir or Path(platformdirs.user_cache_dir("jstui")) / "puzzles"
    cache.mkdir(parents=True, exist_ok=True)
    target = cache / f"{puzzle.fingerprint}.npz"
    if not target.is_file():
        save_npz(puzzle, target)  # atomic: other packers may write it at the same time
    return target, puzzle.fingerprint


@dataclass(frozen=True)
class Bundle:
    files: tuple[BundleFile, ...]
    puzzle_rel: str | None       # where the configured puzzle lies under a work directory

    @property
    def puzzle_name(self) -> str | None:
        return Path(self.puzzle_rel).name if self.puzzle_rel else None


def puzzle_rel(fingerprint: str) -> str:
    return f"{PUZZLES_DIR}/{fingerprint}.npz"


def build_bundle(puzzle_path: str | Path | None) -> Bundle:
    files = [*solver_files(), *agent_files()]
    rel = None
    if puzzle_path is not None:
        npz, fingerprint = puzzle_npz(puzzle_path)
        rel = puzzle_rel(fingerprint)
        files.append(BundleFile(rel, npz, file_sha256(npz)))
    return Bundle(tuple(files), rel)
