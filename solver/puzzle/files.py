"""Load a dropped-network puzzle (public directory format or compact .npz) and validate it.

A puzzle directory holds ``piece_0.pth .. piece_{2N}.pth`` and ``historical_data.csv``.
Pieces are classified by weight shape: ``(h, d)`` inp, ``(d, h)`` out, ``(o, d)`` last.
"""
from __future__ import annotations

import hashlib
import json
import re
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from solver.atomic import replacing
from solver.puzzle.pthread import PthError, read_state_dict

DATA_FILE = "historical_data.csv"
TARGET_FILE = "answer.sha256"
MIN_ROWS = 8
_PIECE_RE = re.compile(r"^piece_(\d+)\.pth$")


class PuzzleError(ValueError):
    """Bad puzzle input; the message names the file and the problem."""


@dataclass(frozen=True, eq=False)
class Puzzle:
    inp_w: np.ndarray  # (N, h, d)
    inp_b: np.ndarray  # (N, h)
    out_w: np.ndarray  # (N, d, h)
    out_b: np.ndarray  # (N, d)
    last_w: np.ndarray  # (o, d)
    last_b: np.ndarray  # (o,)
    inp_ids: np.ndarray  # (N,) piece ids, increasing
    out_ids: np.ndarray  # (N,)
    last_id: int
    x: np.ndarray  # (R, d) float32
    pred: np.ndarray  # (R, o) float64
    true: np.ndarray  # (R, o) float64
    source: str = ""
    target_sha256: str | None = None
    fingerprint: str = field(default="")

    @property
    def n_blocks(self) -> int:
        return self.inp_w.shape[0]

    @property
    def dim(self) -> int:
        return self.inp_w.shape[2]

    @property
    def hidden(self) -> int:
        return self.inp_w.shape[1]

    @property
    def out_dim(self) -> int:
        return self.last_w.shape[0]

    @property
    def n_rows(self) -> int:
        return self.x.shape[0]

    @property
    def n_pieces(self) -> int:
        return 2 * self.n_blocks + 1

    @property
    def name(self) -> str:
        """What the puzzle is called: its directory's name (its .npz keeps it)."""
        if not self.source:
            return ""
        path = Path(self.source)
        return path.stem if path.suffix == ".npz" else path.name

    @property
    def pred_var(self) -> float:
        """The variance of pred over all rows: MSEs are judged relative to it."""
        return float(np.var(self.pred)) or 1.0


def load_puzzle(path, target_sha256: str | None = None) -> Puzzle:
    """Load a puzzle directory or compact ``.npz``; raise PuzzleError on bad input."""
    path = Path(path)
    if not path.exists():
        raise PuzzleError(f"{path}: no such file or directory")
    if path.is_dir():
        puzzle = _load_directory(path)
    elif path.suffix == ".npz":
        puzzle = _load_npz(path)
    else:
        raise PuzzleError(f"{path}: expected a puzzle directory or a .npz file")
    if target_sha256:
        puzzle = _with(puzzle, target_sha256=_check_hex(target_sha256, "--expect-sha256"))
    return puzzle


def _with(puzzle: Puzzle, **changes) -> Puzzle:
    fields = {k: getattr(puzzle, k) for k in Puzzle.__dataclass_fields__}
    fields.update(changes)
    return Puzzle(**fields)


def _check_hex(value: str, where: str) -> str:
    value = value.strip().lower()
    if not re.fullmatch(r"[0-9a-f]{64}", value):
        raise PuzzleError(f"{where}: not a SHA-256 hex digest: {value[:80]!r}")
    return value


# ---------------------------------------------------------------- directory format

def _load_directory(folder: Path) -> Puzzle:
    pieces = _read_pieces(folder)
    classes = _classify(folder, pieces)
    d = classes["inp"][0][1]["weight"].shape[1]
    o = classes["last"][0][1]["weight"].shape[0]
    x, pred, true = read_csv(folder / DATA_FILE, d, o)

    def stack(items, key):
        return np.stack([np.asarray(p[key], dtype=np.float32) for _, p in items])

    inp, out = classes["inp"], classes["out"]
    (last_id, last), = classes["last"]
    target = None
    if (folder / TARGET_FILE).is_file():
        target = _check_hex((folder / TARGET_FILE).read_text(), str(folder / TARGET_FILE))
    return _finish(Puzzle(
        inp_w=stack(inp, "weight"), inp_b=stack(inp, "bias"),
        out_w=stack(out, "weight"), out_b=stack(out, "bias"),
        last_w=np.asarray(last["weight"], np.float32), last_b=np.asarray(last["bias"], np.float32),
        inp_ids=np.array([i for i, _ in inp]), out_ids=np.array([i for i, _ in out]),
        last_id=int(last_id), x=x, pred=pred, true=true,
        source=str(folder), target_sha256=target,
    ))


def _read_pieces(folder: Path) -> dict[int, dict[str, np.ndarray]]:
    ids = {}
    for entry in folder.iterdir():
        match = _PIECE_RE.match(entry.name)
        if match:
            ids[int(match.group(1))] = entry
    if not ids:
        raise PuzzleError(f"{folder}: no piece_*.pth files")
    expected = set(range(len(ids)))
    missing = sorted(expected - ids.keys())
    extra = sorted(ids.keys() - expected)
    if missing or extra:
        raise PuzzleError(
            f"{folder}: piece ids must run 0..{len(ids) - 1} without gaps; "
            f"missing {_few(missing)}, unexpected {_few(extra)}"
        )
    if len(ids) % 2 == 0:
        raise PuzzleError(f"{folder}: {len(ids)} pieces; a puzzle has 2N+1 (N blocks and one last layer)")
    pieces = {}
    for pid in sorted(ids):
        file = ids[pid]
        try:
            state = read_state_dict(file)
        except PthError as exc:
            raise PuzzleError(f"{file}: {exc}") from None
        for key in ("weight", "bias"):
            if key not in state:
                raise PuzzleError(f"{file}: no '{key}' entry (found {sorted(state)})")
        w, b = np.asarray(state["weight"]), np.asarray(state["bias"])
        if w.ndim != 2 or b.ndim != 1 or b.shape[0] != w.shape[0]:
            raise PuzzleError(f"{file}: weight {w.shape} and bias {b.shape} are not a linear layer")
        if not (np.isfinite(w).all() and np.isfinite(b).all()):
            raise PuzzleError(f"{file}: weights contain NaN or inf")
        pieces[pid] = {"weight": w, "bias": b}
    return pieces


def _few(values, limit=8) -> str:
    if not values:
        return "none"
    shown = ", ".join(map(str, values[:limit]))
    return shown + (f" (+{len(values) - limit} more)" if len(values) > limit else "")


def _classify(folder: Path, pieces) -> dict[str, list]:
    """Split pieces into inp/out/last by shape, choosing the reading that fits most pieces."""
    shapes = Counter(p["weight"].shape for p in pieces.values())
    best = None
    for (h, d) in shapes:
        if h == d or shapes.get((d, h), 0) == 0:
            continue
        lasts = [s for s in shapes if s[1] == d and s != (h, d)]
        for last_shape in lasts or [None]:
            fit = shapes[(h, d)] + shapes[(d, h)] + (shapes[last_shape] if last_shape else 0)
            key = (fit, shapes[(h, d)] == shapes[(d, h)], -(shapes[last_shape] if last_shape else 99))
            if best is None or key > best[0]:
                best = (key, (h, d), last_shape)
    if best is None:
        square = [s for s in shapes if s[0] == s[1]]
        if square:
            raise PuzzleError(f"{folder}: pieces of shape {square[0]} cannot be told apart "
                              "(inp and out layers have the same shape)")
        raise PuzzleError(f"{folder}: no two groups of pieces with transposed shapes (h,d) and (d,h); "
                          f"shapes found: {dict(shapes)}")
    _, (h, d), last_shape = best
    classes = {"inp": [], "out": [], "last": []}
    for pid, piece in sorted(pieces.items()):
        shape = piece["weight"].shape
        if shape == (h, d):
            classes["inp"].append((pid, piece))
        elif shape == (d, h):
            classes["out"].append((pid, piece))
        elif shape == last_shape:
            classes["last"].append((pid, piece))
        else:
            raise PuzzleError(f"{folder}/piece_{pid}.pth: weight shape {shape} fits no class "
                              f"(inp {(h, d)}, out {(d, h)}, last (o, {d}))")
    n_inp, n_out = len(classes["inp"]), len(classes["out"])
    if n_inp != n_out:
        raise PuzzleError(f"{folder}: counts do not pair up: {n_inp} inp pieces {(h, d)} "
                          f"and {n_out} out pieces {(d, h)}")
    if len(classes["last"]) != 1:
        found = [f"piece_{pid}.pth" for pid, _ in classes["last"]]
        what = "no last layer" if not found else f"more than one last layer: {', '.join(found)}"
        raise PuzzleError(f"{folder}: {what}")
    return classes


def expected_columns(d: int, o: int) -> list[str]:
    cols = [f"measurement_{i}" for i in range(d)]
    if o == 1:
        return cols + ["pred", "true"]
    return cols + [f"pred_{i}" for i in range(o)] + [f"true_{i}" for i in range(o)]


def read_csv(file: Path, d: int, o: int):
    """Read measurements, pred and true; refuse anything that is not exactly the format."""
    if not file.is_file():
        raise PuzzleError(f"{file}: missing (the data file of the puzzle)")
    with open(file, newline="") as fh:
        header = fh.readline().strip().split(",")
        cols = expected_columns(d, o)
        if header != cols:
            raise PuzzleError(
                f"{file} line 1: header has {len(header)} columns "
                f"({', '.join(header[:3])}, ...); expected {len(cols)}: "
                f"{cols[0]} .. {cols[d - 1]}, then {', '.join(cols[d:])}"
            )
        try:
            table = np.loadtxt(fh, delimiter=",", dtype=np.float64, ndmin=2)
        except ValueError:
            table = None
    if table is None or table.shape[1] != len(cols):
        _explain_bad_row(file, len(cols))
    if table.shape[0] < MIN_ROWS:
        raise PuzzleError(f"{file}: only {table.shape[0]} data rows; at least {MIN_ROWS} are needed")
    bad = np.argwhere(~np.isfinite(table))
    if bad.size:
        r, c = bad[0]
        raise PuzzleError(f"{file} line {r + 2}, column {cols[c]}: {table[r, c]} is not a finite number")
    return table[:, :d].astype(np.float32), table[:, d:d + o].copy(), table[:, d + o:].copy()


def _explain_bad_row(file: Path, n_cols: int):
    with open(file) as fh:
        fh.readline()
        for line_no, line in enumerate(fh, start=2):
            if not line.strip():
                continue
            cells = line.rstrip("\r\n").split(",")
            if len(cells) != n_cols:
                raise PuzzleError(f"{file} line {line_no}: {len(cells)} columns, expected {n_cols}")
            for col, cell in enumerate(cells):
                try:
                    float(cell)
                except ValueError:
                    raise PuzzleError(f"{file} line {line_no}, column {col + 1}: "
                                      f"{cell[:40]!r} is not a number") from None
    raise PuzzleError(f"{file}: unreadable data")


# ---------------------------------------------------------------- compact .npz

_ARRAYS = ("inp_w", "inp_b", "out_w", "out_b", "last_w", "last_b", "inp_ids", "out_ids", "x", "pred", "true")


def save_npz(puzzle: Puzzle, path) -> Path:
    """Write the puzzle as one compact file that loads without torch."""
    path = Path(path)
    meta = {"last_id": puzzle.last_id, "source": puzzle.source,
            "target_sha256": puzzle.target_sha256, "fingerprint": puzzle.fingerprint, "format": 1}
    # A temporary name of its own: packers sharing one cache may write one puzzle at once.
    with replacing(path) as f:
        np.savez_compressed(f, meta=np.array(json.dumps(meta)),
                            **{k: getattr(puzzle, k) for k in _ARRAYS})
    return path


def _load_npz(path: Path) -> Puzzle:
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in _ARRAYS}
            meta = json.loads(str(data["meta"]))
    except KeyError as exc:
        raise PuzzleError(f"{path}: not a puzzle file (missing {exc})") from None
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise PuzzleError(f"{path}: unreadable .npz ({exc})") from None
    puzzle = _finish(Puzzle(**arrays, last_id=int(meta["last_id"]), source=meta.get("source", str(path)),
                            target_sha256=meta.get("target_sha256")))
    if meta.get("fingerprint") and meta["fingerprint"] != puzzle.fingerprint:
        raise PuzzleError(f"{path}: content does not match its recorded fingerprint (file damaged?)")
    return puzzle


def _finish(puzzle: Puzzle) -> Puzzle:
    return _with(puzzle, fingerprint=compute_fingerprint(puzzle))


def compute_fingerprint(puzzle: Puzzle) -> str:
    """SHA-256 over piece ids, weights and data: the same for a directory and its .npz."""
    h = hashlib.sha256()
    for name in _ARRAYS:
        arr = np.ascontiguousarray(getattr(puzzle, name))
        kind = np.int64 if arr.dtype.kind in "iu" else (np.float32 if name not in ("pred", "true") else np.float64)
        h.update(name.encode())
        h.update(str(arr.shape).encode())
        h.update(arr.astype(kind).astype(np.dtype(kind).newbyteorder("<")).tobytes())
    h.update(str(puzzle.last_id).encode())
    return h.hexdigest()
