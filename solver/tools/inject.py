"""Seeds into the pool: make arrangements by one method and submit them with their origin."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from solver.search.seeds import SEED_METHODS

KINDS = SEED_METHODS + ("file",)  # a seed method of the registry, or answers read from a file


def read_permutations(path: Path) -> list[list[int]]:
    """One answer per line ("3,17,...,96"); blank lines and # comments skipped."""
    from solver.puzzle.answer import AnswerError, parse_permutation

    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise ValueError(f"{path}: cannot read ({exc.strerror})") from None
    perms = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        try:
            perms.append(parse_permutation(line))
        except AnswerError as exc:
            raise ValueError(f"{path}:{number}: {exc}") from None
    if not perms:
        raise ValueError(f"{path}: no permutation in the file")
    return perms


def make_seeds(puzzle, kind: str, count: int, rng: np.random.Generator, base=None) -> list[list[int]]:
    """COUNT seeds by KIND (deterministic kinds give the same seed each time)."""
    from solver.search.seeds import make_seed

    if kind not in KINDS or kind == "file":
        raise ValueError(f"unknown seed kind {kind!r} (choose from {', '.join(KINDS)})")
    return [make_seed(puzzle, kind, rng, base=base) for _ in range(count)]


async def inject(store, puzzle, kind: str, count: int = 1, path: Path | None = None,
                 seed: int | None = None, node: str | None = None, command_id: int | None = None,
                 polish: float = 0.0) -> dict:
    """Make and submit seeds; refused ones are counted, not fatal. Returns a report dict.
    POLISH > 0: each seed is also searched from for that many seconds (solver.search.search) and
    the result submitted with the seed as parent: a raw seed rarely joins the elites of a
    pool that has searched for a while, a polished one can."""
    import asyncio

    from solver.pool import SubmissionRefused

    puzzle_id = await store.register_puzzle(puzzle)
    if kind == "file":
        if path is None:
            raise ValueError("inject --kind file needs the PATH of a file of permutations")
        perms, origin = read_permutations(path), "injected"
    else:
        best = await store.fetch_best(puzzle_id) if kind == "loo" else None
        rng = np.random.default_rng(seed)
        perms = await asyncio.to_thread(make_seeds, puzzle, kind, count, rng,
                                        best.permutation if best else None)
        origin = f"seed:{kind}"
    stored, refused = [], []
    lineage = dict(node=node, method=f"inject:{kind}", command_id=command_id)
    for perm in perms:
        try:
            got = await store.submit(puzzle, perm, origin=origin, **lineage)
            stored.append({"id": got.id, "mse": got.mse, "sha256": got.sha256, "new": got.new})
            if polish > 0:
                polished = await _polish(puzzle, perm, polish, seed)
                again = await store.submit(puzzle, polished, origin="polished", parents=[got.id], **lineage)
                stored.append({"id": again.id, "mse": again.mse, "sha256": again.sha256, "new": again.new})
        except SubmissionRefused as exc:
            refused.append(str(exc))
    message = f"inject {kind}: {sum(s['new'] for s in stored)} new, " \
              f"{sum(not s['new'] for s in stored)} already in the pool, {len(refused)} refused"
    return {"ok": not refused, "message": message, "stored": stored, "refused": refused}


async def _polish(puzzle, perm, seconds: float, seed: int | None) -> list[int]:
    """The best arrangement a search from PERM finds in SECONDS."""
    import asyncio

    from solver.search.search import solve

    result = await asyncio.to_thread(solve, puzzle, start=perm, seed=seed or 0, time_limit=seconds)
    return result.permutation
