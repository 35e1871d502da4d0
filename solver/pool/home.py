"""jstui's data directory on this machine: the embedded server, the local node, spools,
puzzles, the observer's log. A node may have only numpy, scipy and asyncpg, so
platformdirs is optional here."""
from __future__ import annotations

import os
from pathlib import Path


def data_dir() -> Path:
    try:
        import platformdirs
    except ImportError:
        base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
        return Path(base) / "jstui"
    return Path(platformdirs.user_data_dir("jstui"))
