"""Which puzzle the control center shows: the configured one, found in the pool by its
fingerprint, or the one the operator switched to; never silently the pool's newest.

A pool may hold several puzzles (an old run, a test, the public one). The fleet file's
`[puzzle] path` (or `--puzzle`) names the one the fleet works on, so that one is shown.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

# What each kind of synthetic puzzle (solver.generate) asks of the fleet, in a few words.
KIND_NOTES = {
    "readable": "pairs by trace, order by weight norms: solved in seconds",
    "pairing": "pairs by trace, order from the data alone: minutes of fleet work",
    "weak": "a third of the pairs and the order from the data: long fleet work",
    "hard": "pairing and order both from the data: very long fleet work",
}


@dataclass(frozen=True)
class ConfiguredPuzzle:
    """The puzzle named in the fleet file or by --puzzle, identified on this machine."""

    path: str
    name: str                  # the directory's (or .npz file's) name
    fingerprint: str
    n_blocks: int
    kind: str | None = None    # a synthetic puzzle's generator kind (generate.json)
    source: str = ""           # where it was configured: "--puzzle", "fleet.toml [puzzle]"

    @property
    def description(self) -> str:
        """One line on what the puzzle is, for the event log."""
        what = f"puzzle {self.name}: {self.n_blocks} blocks, from {self.path}"
        if self.kind:
            what += f"; a synthetic '{self.kind}' puzzle ({KIND_NOTES.get(self.kind, 'generated')})"
        return what


@dataclass(frozen=True)
class PuzzleChoice:
    """One puzzle of the pool, as the switch dialog lists it."""

    id: int
    label: str
    fingerprint: str
    is_configured: bool        # the fleet file's (or --puzzle's)


@dataclass(frozen=True)
class Shown:
    """The puzzle on screen: its pool id (None: not in the pool yet) and why it is shown."""

    id: int | None
    label: str
    why: str                   # "the configured puzzle", "chosen", "most recently active"
    is_configured: bool        # or none is configured: inject and surgery may act on it


def identify(path: str, source: str = "") -> ConfiguredPuzzle:
    """Load the puzzle at PATH to learn its fingerprint (blocking; PuzzleError names
    the file). A directory written by `solver generate` also tells its kind. SOURCE:
    where it was configured (jstui.plan), said in the header."""
    from solver.puzzle.files import load_puzzle

    p = Path(path).expanduser()
    puzzle = load_puzzle(p)
    kind = None
    try:
        if p.is_dir():
            kind = json.loads((p / "generate.json").read_text())["parameters"]["kind"]
    except (OSError, ValueError, KeyError, TypeError):
        pass  # not a generated puzzle, or an unreadable note: the name says enough
    name = p.name if p.is_dir() else p.stem
    return ConfiguredPuzzle(str(p), name, puzzle.fingerprint, puzzle.n_blocks, kind, source)


def label_of(row, configured: ConfiguredPuzzle | None) -> str:
    """`name (N=48)`: the configured name for the configured puzzle, else the pool's
    name for it, else the start of its fingerprint."""
    if configured is not None and row.fingerprint == configured.fingerprint:
        name = configured.name
    else:
        name = row.name or row.fingerprint[:8]
    return f"{name} (N={row.n_blocks})"


def choices(rows: Sequence, configured: ConfiguredPuzzle | None) -> tuple[PuzzleChoice, ...]:
    fp = configured.fingerprint if configured is not None else None
    return tuple(PuzzleChoice(r.id, label_of(r, configured), r.fingerprint, r.fingerprint == fp)
                 for r in rows)


def choose(rows: Sequence, configured: ConfiguredPuzzle | None, chosen_id: int | None,
           newest_id: int | None) -> Shown:
    """The puzzle to show. The operator's choice first, then the configured puzzle (by
    fingerprint, even when the pool holds newer ones), and only without either the
    pool's most recently active one."""
    by_id = {r.id: r for r in rows}
    fp = configured.fingerprint if configured is not None else None
    row = by_id.get(chosen_id)
    if row is not None and configured is None:
        return Shown(row.id, label_of(row, None), "chosen", True)
    if row is not None and row.fingerprint != fp:
        return Shown(row.id, label_of(row, configured), f"chosen; configured: {configured.name}",
                     False)
    if configured is not None:
        row = next((r for r in rows if r.fingerprint == fp), None)
        if row is None:
            return Shown(None, f"{configured.name} (N={configured.n_blocks})",
                         "not in the pool yet: no worker has registered it", True)
        why = f"the configured puzzle, from {configured.source}" if configured.source \
            else "the configured puzzle"
        return Shown(row.id, label_of(row, configured), why, True)
    if newest_id in by_id:
        return Shown(newest_id, label_of(by_id[newest_id], None),
                     "the pool's most recently active; none configured", True)
    return Shown(None, "", "the pool holds no puzzle yet", True)
