"""Which fleet a command drives: the fleet file's (--config, $JSTUI_CONFIG, the XDG
config dir), else this machine alone on the embedded pool. `jstui` and
`python -m jstui.fleet` both open it here."""
from __future__ import annotations

import asyncio
from dataclasses import replace

from jstui.config import find_config, load_config, with_overrides
from solver.pool.locate import EMBEDDED, embedded_dsn


async def open_fleet(config: str | None, *, dsn: str | None = None, puzzle: str | None = None,
                     workers: int | None = None, start_pool: bool = False,
                     make_puzzle: bool = False):
    """(Fleet, is_local_default). Without a fleet file, or with `[pool] dsn =
    "embedded"`: START_POOL starts the embedded PostgreSQL if needed. Without a fleet
    file: MAKE_PUZZLE generates the default puzzle if it is not there."""
    from jstui.fleet.fleet import Fleet
    from jstui.fleet.local import local_default_config

    path = find_config(config)
    if path is None:
        cfg = await local_default_config(puzzle=puzzle, dsn=dsn, workers=workers,
                                         start_pool=start_pool, make_puzzle=make_puzzle)
        return Fleet.from_config(cfg), True
    cfg = with_overrides(load_config(path), dsn=dsn, puzzle=puzzle)
    if cfg.dsn == EMBEDDED:   # this machine's embedded server: the word stays while it is down
        found = await asyncio.to_thread(embedded_dsn, start_pool, tcp=True)
        cfg = replace(cfg, dsn=found or EMBEDDED)
    return Fleet.from_config(cfg), False
