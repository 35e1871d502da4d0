"""What one start of jstui (or of `python -m jstui.fleet`) works on, resolved once: the
fleet (the fleet file's, or this machine alone), the pool's DSN and the puzzle, from the
flags, the environment and the defaults. `resolve` is the only place that reads them;
everything after it reads the frozen Plan.

The puzzle, by where it comes from (the first that names one wins):
- `--puzzle DIR`: this session's puzzle;
- the fleet file's `[puzzle] path`: the fleet's puzzle;
- no fleet file: the first-run default, generated once (or the last one generated).
Whichever it is, it is the one deployed, launched, observed (inject, surgery) and shown.
`p` on the screen only switches what the screen shows.

The DSN: `--dsn`, else `$JSTUI_DSN`, else the fleet file's `[pool] dsn`, else (no fleet
file) this machine's embedded PostgreSQL.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Literal

from jstui.config import FleetConfig, find_config, load_config
from solver.pool import embedded
from solver.pool.locate import DSN_ENV, EMBEDDED, embedded_dsn, pick_dsn, resolve_dsn

# What resolve may do about the embedded pool: only use it if it runs; start it for the
# session; or start it for one read (the caller stops it again: `jstui status`).
PoolStart = Literal["running", "start", "read"]


class PlanError(Exception):
    """Flags that cannot make a plan (exit 2); one sentence."""


@dataclass(frozen=True)
class Plan:
    fleet: FleetConfig | None   # None: a pool-only view
    dsn: str | None
    dsn_from: str               # where the DSN came from, in words
    puzzle: str | None          # the puzzle's absolute path (directory or .npz)
    puzzle_from: str            # where the puzzle came from, in words
    local: bool                 # no fleet file: this machine alone on the embedded pool
    config_path: Path | None = None
    pool_started: bool = False  # resolve started the embedded pool

    @property
    def embedded(self) -> bool:
        """The pool is this machine's embedded PostgreSQL."""
        state = embedded.status()
        return bool(self.dsn) and state.running and state.dsn == self.dsn


async def resolve(*, config: str | None = None, dsn: str | None = None,
                  puzzle: str | None = None, workers: int | None = None,
                  pool_only: bool = False, pool: PoolStart = "running",
                  make_puzzle: bool = False,
                  say: Callable[[str], None] | None = None) -> Plan:
    """The Plan from the flags. POOL: whether the embedded pool may be started (no fleet
    file only); MAKE_PUZZLE: generate the first-run puzzle if it is not there. SAY: a
    line for the operator while something slow happens."""
    say = say or (lambda line: None)
    puzzle_path = _absolute(puzzle)
    if pool_only:
        if not (dsn_value := resolve_dsn(dsn)):
            raise PlanError(f"--pool-only needs --dsn or {DSN_ENV}")
        return Plan(None, dsn_value, _dsn_from(dsn), puzzle_path,
                    "--puzzle" if puzzle_path else "", False)
    path = find_config(config)
    if path is not None:
        cfg = load_config(path)
        dsn_value = await _fleet_dsn(dsn, cfg.dsn, pool)
        chosen = puzzle_path or cfg.puzzle
        why = "--puzzle" if puzzle_path else (f"{path.name} [puzzle]" if cfg.puzzle else "")
        return Plan(replace(cfg, dsn=dsn_value, puzzle=chosen), dsn_value,
                    _dsn_from(dsn, file=cfg.dsn), chosen, why, False, path)
    return await _local_plan(dsn, puzzle_path, workers, pool, make_puzzle, say)


async def _local_plan(dsn, puzzle_path, workers, pool: PoolStart, make_puzzle: bool,
                      say) -> Plan:
    from jstui.fleet.local import DEFAULT_PUZZLE, default_puzzle_dir, default_puzzle_path, local_node

    state = embedded.status()
    was_running = state.running
    if pool == "read" and not (state.data_dir / "PG_VERSION").is_file():
        pool = "running"   # nothing was ever stored here: nothing to read either
    if not resolve_dsn(dsn) and pool != "running" and not was_running:
        say("starting the embedded PostgreSQL…")
    dsn_value = await asyncio.to_thread(
        resolve_dsn, dsn, embedded="running" if pool == "running" else "start")
    started = not was_running and embedded.status().running and dsn_value == embedded.status().dsn
    why = "--puzzle" if puzzle_path else ""
    if puzzle_path is None and make_puzzle:
        if not default_puzzle_path().is_dir():
            say(f"generating the first-run puzzle once ({DEFAULT_PUZZLE['blocks']} blocks, kind "
                f"'{DEFAULT_PUZZLE['kind']}'; about 40 s)…")
        puzzle_path, why = str(await asyncio.to_thread(default_puzzle_dir)), "the first-run default"
    elif puzzle_path is None and default_puzzle_path().is_dir():
        puzzle_path, why = str(default_puzzle_path()), "the first-run default"
    cfg = FleetConfig(dsn=dsn_value, nodes=(local_node(workers),), puzzle=puzzle_path)
    return Plan(cfg, dsn_value, _dsn_from(dsn) if resolve_dsn(dsn) else "the embedded pool",
                puzzle_path, why, True, None, started)


async def _fleet_dsn(flag: str | None, file: str | None, pool: PoolStart) -> str | None:
    """A fleet file's DSN after the flags. The word "embedded" names this machine's
    embedded server (its TCP address when it listens there, for the other nodes): found
    running, or started where the plan may start it; the word stays while it is down,
    so that whoever needs the pool says why it is not there."""
    chosen = pick_dsn(flag, file)
    if chosen != EMBEDDED:
        return chosen
    found = await asyncio.to_thread(embedded_dsn, pool != "running", tcp=True)
    return found or EMBEDDED


def _absolute(puzzle: str | None) -> str | None:
    return str(Path(puzzle).expanduser().resolve()) if puzzle else None


def _dsn_from(flag: str | None, file: str | None = None) -> str:
    import os

    if flag:
        return "--dsn"
    if os.environ.get(DSN_ENV):
        return f"${DSN_ENV}"
    return "the fleet file's [pool] dsn" if file else "none"


async def open_fleet(config: str | None, *, dsn: str | None = None, puzzle: str | None = None,
                     workers: int | None = None, start_pool: bool = False,
                     make_puzzle: bool = False):
    """(Fleet, is_local_default) for the fleet commands (`python -m jstui.fleet`): the
    Plan's fleet. START_POOL: the embedded PostgreSQL may be started (no fleet file, or
    `[pool] dsn = "embedded"`); MAKE_PUZZLE: the first-run puzzle may be generated."""
    from jstui.fleet.fleet import Fleet

    plan = await resolve(config=config, dsn=dsn, puzzle=puzzle, workers=workers,
                         pool="start" if start_pool else "running", make_puzzle=make_puzzle)
    return Fleet.from_config(plan.fleet), plan.local
