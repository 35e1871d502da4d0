"""Validation at the door: every solution is checked and its MSE recomputed here.

The receiver never trusts a sender: a permutation must be complete with each class in
its slot, and the stored MSE is the one computed from the puzzle, not the one claimed.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from .errors import SubmissionRefused

# A claimed MSE may differ from ours by float noise (other row order, float32 paths);
# beyond this it is a lie.
CLAIM_RTOL = 1e-4
CLAIM_ATOL = 1e-9


@dataclass(frozen=True)
class Checked:
    permutation: list[int]
    mse: float
    sha256: str
    matches_target: bool
    exact: bool            # the answer, by the one rule (solver.puzzle.answer.is_exact)


def plain_ints(permutation) -> list[int]:
    """Python ints from any sequence of integral values (numpy scalars included)."""
    try:
        values = list(permutation)
    except TypeError:
        raise SubmissionRefused("the permutation is not a sequence of ids") from None
    out = []
    for pos, value in enumerate(values):
        try:
            as_int = int(value)
        except (TypeError, ValueError, OverflowError):
            raise SubmissionRefused(f"position {pos}: {value!r} is not an integer piece id") from None
        if as_int != value:
            raise SubmissionRefused(f"position {pos}: {value!r} is not an integer piece id")
        out.append(as_int)
    return out


def check_shape(puzzle, permutation) -> tuple[list[int], str]:
    """(plain permutation, its SHA-256) if it is a complete answer with each class in its slot."""
    from solver.puzzle.answer import AnswerError, answer_sha256, validate_permutation

    perm = plain_ints(permutation)
    try:
        validate_permutation(puzzle, perm)
    except AnswerError as exc:
        raise SubmissionRefused(str(exc)) from None
    return perm, answer_sha256(perm)


def check_claim(claimed_mse, actual: float) -> None:
    """Refuse a claimed MSE that is not a number or disagrees with ours."""
    if claimed_mse is None:
        return
    try:
        claimed = float(claimed_mse)
    except (TypeError, ValueError):
        raise SubmissionRefused(f"the claimed MSE {claimed_mse!r} is not a number") from None
    if not math.isfinite(claimed):
        raise SubmissionRefused(f"the claimed MSE is {claimed}")
    if abs(claimed - actual) > CLAIM_ATOL + CLAIM_RTOL * abs(actual):
        raise SubmissionRefused(f"the claimed MSE {claimed:.6g} does not match the recomputed {actual:.6g}")


def recompute_mse(puzzle, perm: list[int]) -> float:
    """The MSE on all rows in float64: one full forward pass (the door's main cost)."""
    from solver.puzzle.answer import from_permutation
    from solver.search.engine import mse as engine_mse

    inp_seq, out_seq = from_permutation(puzzle, perm)
    actual = float(engine_mse(puzzle, inp_seq, out_seq))
    if not math.isfinite(actual):
        raise SubmissionRefused(f"the recomputed MSE is {actual}; the puzzle data may be corrupt")
    return actual


def check_submission(puzzle, permutation, claimed_mse=None) -> Checked:
    """The checked solution, or SubmissionRefused with one sentence naming the problem."""
    perm, sha = check_shape(puzzle, permutation)
    if claimed_mse is not None and _not_a_number(claimed_mse):
        check_claim(claimed_mse, 0.0)  # refuses it before a forward pass is spent
    actual = recompute_mse(puzzle, perm)
    check_claim(claimed_mse, actual)
    from solver.puzzle.answer import is_exact

    target = getattr(puzzle, "target_sha256", None)
    exact = is_exact(actual, puzzle.pred_var, sha256=sha, target_sha256=target)
    return Checked(perm, actual, sha, bool(target) and sha == target, exact)


def _not_a_number(value) -> bool:
    try:
        return not math.isfinite(float(value))
    except (TypeError, ValueError):
        return True
