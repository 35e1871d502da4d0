"""What deploy sends to a node: the `solver` package, the node agent and the puzzle as
a compact .npz, each with its content hash (paths relative to the work directory)."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import platformdirs

AGENT_REL = "lib/jstui_agent.py"
PUZZLE_REL = "puzzle.npz"
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


def agent_file() -> BundleFile:
    path = Path(__file__).resolve().parent / "agent.py"
    return BundleFile(AGENT_REL, path, file_sha256(path))


def puzzle_npz(puzzle_path: str | Path, cache_dir: Path | None = None) -> Path:
    """The compact .npz of a puzzle directory (cached by fingerprint) or the .npz itself."""
    from solver.puzzle.files import load_puzzle, save_npz

    source = Path(puzzle_path).expanduser()
    if source.is_file() and source.suffix == ".npz":
        return source
    puzzle = load_puzzle(source)  # PuzzleError names the file
    cache = cache_dir or Path(platformdirs.user_cache_dir("jstui")) / "puzzles"
    cache.mkdir(parents=True, exist_ok=True)
    target = cache / f"{puzzle.fingerprint}.npz"
    if not target.is_file():
        save_npz(puzzle, target)  # atomic: other packers may write it at the same time
    return target


def build_bundle(puzzle_path: str | Path | None) -> list[BundleFile]:
    files = [*solver_files(), agent_file()]
    if puzzle_path is not None:
        npz = puzzle_npz(puzzle_path)
        files.append(BundleFile(PUZZLE_REL, npz, file_sha256(npz)))
    return files
