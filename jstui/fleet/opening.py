"""Which fleet a command drives: the Plan's (jstui.plan: the fleet file's, --config,
$JSTUI_CONFIG, the XDG config dir; else this machine alone on the embedded pool).
`python -m jstui.fleet` opens it here; `jstui` reads its own Plan."""
from __future__ import annotations


async def open_fleet(config: str | None, *, dsn: str | None = None, puzzle: str | None = None,
                     workers: int | None = None, start_pool: bool = False,
                     make_puzzle: bool = False):
    """(Fleet, is_local_default). Without a fleet file, or with `[pool] dsn =
    "embedded"`: START_POOL starts the embedded PostgreSQL if needed. Without a fleet
    file: MAKE_PUZZLE generates the default puzzle if it is not there."""
    from jstui.fleet.fleet import Fleet
    from jstui.plan import resolve

    plan = await resolve(config=config, dsn=dsn, puzzle=puzzle, workers=workers,
                         pool="start" if start_pool else "running", make_puzzle=make_puzzle)
    return Fleet.from_config(plan.fleet), plan.local
