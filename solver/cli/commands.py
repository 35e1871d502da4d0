"""`python -m solver solve | verify | inspect | pack`: the solver's own commands."""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

from solver.puzzle.answer import AnswerError, answer_sha256, answer_string, from_permutation, parse_permutation
from solver.puzzle.files import PuzzleError, load_puzzle, save_npz

EXIT_OK, EXIT_NOT_FOUND, EXIT_BAD_INPUT = 0, 1, 2


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "solve", help="recover pairing and order of a puzzle",
        description="Search until the arrangement reproduces pred (and the SHA-256 matches, "
        "when a target is known). Exit 0 solved, 1 time limit reached, 2 bad input.")
    p.add_argument("puzzle", metavar="DIR", type=Path, help="puzzle directory or compact .npz")
    p.add_argument("--expect-sha256", metavar="HEX", help="target answer hash (default: DIR/answer.sha256 if present)")
    p.add_argument("--time-limit", type=float, metavar="S", help="give up after S seconds (default: no limit)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--rows", type=int, metavar="R", help="rows the search works on when the puzzle has more "
                   "than 1,024 (default: 384 for the fast path, 768 after); smaller puzzles use all rows")
    p.add_argument("--start", metavar="PERM", help='resume from an answer "i,j,..." (or @FILE)')
    p.add_argument("--json", action="store_true", help="last stdout line: one JSON object with the result")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.set_defaults(func=cmd_solve)

    p = subparsers.add_parser("verify", help="MSE and SHA-256 of a given answer",
                              description="Exit 0 when the answer reproduces pred (and matches "
                              "--expect-sha256 if given), 1 when it does not, 2 when it is invalid.")
    p.add_argument("puzzle", metavar="DIR", type=Path)
    p.add_argument("--permutation", required=True, metavar="PERM", help='"i,j,..." or @FILE')
    p.add_argument("--expect-sha256", metavar="HEX")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_verify)

    p = subparsers.add_parser("inspect", help="classes, shapes and structural pairing margins")
    p.add_argument("puzzle", metavar="DIR", type=Path)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_inspect)

    p = subparsers.add_parser(
        "remix", help="a solved puzzle with its pieces renumbered and new rows drawn through it",
        description="Write a copy of a solved puzzle with the piece ids shuffled and new rows drawn "
        "column by column like the old ones, pred computed by the network in float32; answer.txt and "
        "answer.sha256 hold the new answer. A solver that learned the ids, rows or hash fails here. "
        "Needs torch to write the .pth files.")
    p.add_argument("puzzle", metavar="DIR", type=Path)
    p.add_argument("out", metavar="OUT", type=Path, help="an empty or new directory")
    p.add_argument("--answer", required=True, metavar="PERM", help='the answer "i,j,..." (or @FILE)')
    p.add_argument("--rows", type=int, default=10000, help="rows to draw (default 10000)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_remix)

    p = subparsers.add_parser("pack", help="write the compact .npz of a puzzle (loads without torch)")
    p.add_argument("puzzle", metavar="DIR", type=Path)
    p.add_argument("out", metavar="OUT.npz", type=Path)
    p.set_defaults(func=cmd_pack)


def _error(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return EXIT_BAD_INPUT


def _read_perm(text: str) -> list[int]:
    if text.startswith("@"):
        path = Path(text[1:])
        if not path.is_file():
            raise AnswerError(f"{path}: no such file")
        text = path.read_text()
    return parse_permutation(text)


def _load(args):
    return load_puzzle(args.puzzle, target_sha256=getattr(args, "expect_sha256", None))


class _ProgressLines:
    """Periodic progress lines on stderr (stdout stays clean for the answer and JSON)."""

    def __init__(self, every: float = 1.0):
        self.every, self.last = every, -1e9

    def __call__(self, info: dict) -> None:
        if info["seconds"] - self.last < self.every:
            return
        self.last = info["seconds"]
        print(f"[{info['seconds']:7.1f}s] {info['stage']:4} step {info['step']:>6}  mse {info['mse']:.3e}  "
              f"best {info['best_mse']:.3e}  T {_temperature(info)}  "
              f"{info['evals_per_s']:.0f} evals/s", file=sys.stderr, flush=True)


def _temperature(info: dict) -> str:
    return "-" if info.get("temperature") is None else f"{info['temperature']:.3g}"


def cmd_solve(args) -> int:
    from solver.search.search import solve

    loading = time.perf_counter()
    try:
        puzzle = _load(args)
        load_seconds = time.perf_counter() - loading
        start = _read_perm(args.start) if args.start else None
        if start is not None:
            from_permutation(puzzle, start)
    except (PuzzleError, AnswerError) as exc:
        return _error(str(exc))
    if not args.quiet:
        print(f"puzzle {puzzle.source}: {puzzle.n_blocks} blocks, d={puzzle.dim} h={puzzle.hidden} "
              f"o={puzzle.out_dim}, {puzzle.n_rows} rows"
              + (f", target {puzzle.target_sha256[:16]}..." if puzzle.target_sha256 else ""), file=sys.stderr)
    result = solve(puzzle, start=start, seed=args.seed, time_limit=args.time_limit, rows=args.rows,
                   on_progress=None if args.quiet else _ProgressLines())
    print(answer_string(result.permutation))
    print(f"sha256 {result.sha256}" + ("" if result.hash_matches is None
                                        else ("  (matches target)" if result.hash_matches else "  (target NOT matched)")))
    rows = ", ".join(f"{count} on {r} rows" for r, count in sorted(result.evaluation_rows.items()))
    print(f"mse {result.mse:.6g}  relative {result.relative_mse:.3g}  load {load_seconds:.2f} s  "
          f"search {result.seconds:.2f} s ({result.stage} path)  {result.evaluations} exact evaluations "
          f"({rows})  {result.ranked} ranked")
    print(result.verdict)
    if args.json:
        print(json.dumps({
            "solved": result.solved, "sha256": result.sha256, "permutation": result.permutation,
            "mse": result.mse, "relative_mse": result.relative_mse, "seconds": result.seconds,
            "load_seconds": load_seconds, "stage": result.stage,
            "evaluations": result.evaluations,
            "evaluation_rows": {str(r): c for r, c in sorted(result.evaluation_rows.items())},
            "ranked": result.ranked, "hash_matches": result.hash_matches, "verdict": result.verdict,
        }))
    return EXIT_OK if result.solved else EXIT_NOT_FOUND


def cmd_verify(args) -> int:
    from solver.search.verdict import verdict

    try:
        puzzle = _load(args)
        perm = _read_perm(args.permutation)
        inp, out = from_permutation(puzzle, perm)
    except (PuzzleError, AnswerError) as exc:
        return _error(str(exc))
    v = verdict(puzzle, inp, out)
    sha = answer_sha256(perm)
    matches = None if puzzle.target_sha256 is None else sha == puzzle.target_sha256
    ok = v.exact and matches is not False
    if args.json:
        print(json.dumps({"exact": v.exact, "mse": v.mse, "sha256": sha, "hash_matches": matches,
                          "verdict": v.text}))
    else:
        print(f"mse {v.mse:.6g}")
        print(f"sha256 {sha}" + ("" if matches is None else ("  (matches target)" if matches else "  (target NOT matched)")))
        print(v.text)
    return EXIT_OK if ok else EXIT_NOT_FOUND


def cmd_inspect(args) -> int:
    from solver.search.pairing import structural_pairing

    try:
        puzzle = _load(args)
    except PuzzleError as exc:
        return _error(str(exc))
    t0 = time.perf_counter()
    pairing = structural_pairing(puzzle)
    norms = np.linalg.norm(puzzle.out_w.reshape(puzzle.n_blocks, -1), axis=1)
    info = {
        "source": puzzle.source, "fingerprint": puzzle.fingerprint,
        "blocks": puzzle.n_blocks, "dim": puzzle.dim, "hidden": puzzle.hidden,
        "out_dim": puzzle.out_dim, "rows": puzzle.n_rows, "target_sha256": puzzle.target_sha256,
        "inp_pieces": puzzle.inp_ids.tolist(), "out_pieces": puzzle.out_ids.tolist(),
        "last_piece": puzzle.last_id,
        "structural_pairs": [
            {"inp": int(puzzle.inp_ids[i]), "out": int(puzzle.out_ids[j]), "margin": round(float(pairing.margin[i]), 3)}
            for i, j in enumerate(pairing.out_of_inp)],
        "confident_pairs": int(pairing.confident.sum()),
        "pred_variance": float(np.var(puzzle.pred)),
        "mse_pred_true": float(np.mean((puzzle.pred - puzzle.true) ** 2)),
    }
    if args.json:
        print(json.dumps(info))
        return EXIT_OK
    print(f"{puzzle.source}: {puzzle.n_blocks} blocks, d={puzzle.dim}, h={puzzle.hidden}, o={puzzle.out_dim}, "
          f"{puzzle.n_rows} rows")
    print(f"  inp pieces {puzzle.inp_w.shape[1:]} x{puzzle.n_blocks}, out pieces {puzzle.out_w.shape[1:]} "
          f"x{puzzle.n_blocks}, last piece_{puzzle.last_id} {puzzle.last_w.shape}")
    print(f"  fingerprint {puzzle.fingerprint[:16]}...  target {puzzle.target_sha256 or 'none'}")
    print(f"  pred variance {info['pred_variance']:.4g}, MSE(pred, true) {info['mse_pred_true']:.4g}")
    print(f"  structural pairing: {info['confident_pairs']}/{puzzle.n_blocks} pairs with margin >= 3 spreads "
          f"({time.perf_counter() - t0:.2f} s)")
    order = np.argsort(pairing.margin)
    print("  weakest pairs (inp -> out: margin):")
    for i in order[: min(8, puzzle.n_blocks)]:
        print(f"    {puzzle.inp_ids[i]:>4} -> {puzzle.out_ids[pairing.out_of_inp[i]]:<4} {pairing.margin[i]:8.2f}"
              f"   |W_out| {norms[pairing.out_of_inp[i]]:.3g}")
    return EXIT_OK


def cmd_remix(args) -> int:
    from solver.generate.remix import write_remix
    from solver.search.verdict import verdict

    try:
        puzzle = load_puzzle(args.puzzle)
        answer = _read_perm(args.answer)
        inp, out = from_permutation(puzzle, answer)
    except (PuzzleError, AnswerError) as exc:
        return _error(str(exc))
    if not verdict(puzzle, inp, out).exact:
        return _error(f"{args.answer[:40]}: not the answer of {args.puzzle} (it does not reproduce pred)")
    if args.rows < 8:
        return _error(f"--rows: at least 8, got {args.rows}")
    if args.out.exists() and any(args.out.iterdir()):
        return _error(f"{args.out}: not empty")
    try:
        summary = write_remix(puzzle, answer, args.out, args.rows, args.seed)
    except ModuleNotFoundError as exc:
        if exc.name != "torch":
            raise
        return _error("remix needs torch to write .pth files (pip install 'jstui[torch]')")
    print(f"wrote {args.out}: {args.rows} rows, answer sha256 {summary['answer_sha256']}")
    return EXIT_OK


def cmd_pack(args) -> int:
    try:
        puzzle = load_puzzle(args.puzzle)
    except PuzzleError as exc:
        return _error(str(exc))
    save_npz(puzzle, args.out)
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes, fingerprint {puzzle.fingerprint[:16]}...)")
    return EXIT_OK
