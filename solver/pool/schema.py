"""The pool's schema, owned by the code: versioned migrations applied at connect.

Migrations run inside one transaction under an advisory lock, so concurrent workers
starting together serialise here and none can meet a column it does not know.
"""
from __future__ import annotations

from .migrations import MIGRATIONS

# A fixed key for pg_advisory_xact_lock: "jstui" in ASCII.
MIGRATION_LOCK = 0x6A73747569
LATEST = MIGRATIONS[-1][0]
NOTIFY_CHANNEL = "jstui_pool"


async def schema_version(conn) -> int:
    """The version the database is at (0 for an empty database)."""
    exists = await conn.fetchval("SELECT to_regclass('schema_version') IS NOT NULL")
    if not exists:
        return 0
    return await conn.fetchval("SELECT coalesce(max(version), 0) FROM schema_version")


async def migrate(conn, up_to: int = LATEST) -> list[int]:
    """Apply the missing migrations up to UP_TO; returns the versions applied."""
    from .errors import PoolError

    applied: list[int] = []
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK)
        await conn.execute("""CREATE TABLE IF NOT EXISTS schema_version (
            version int PRIMARY KEY, description text NOT NULL,
            applied_at timestamptz NOT NULL DEFAULT now())""")
        current = await schema_version(conn)
        if current > LATEST:
            raise PoolError(f"the database is at schema version {current}, newer than this "
                            f"code knows ({LATEST}); upgrade jstui on this node")
        for version, description, sql in MIGRATIONS:
            if current < version <= up_to:
                await conn.execute(sql)
                await conn.execute("INSERT INTO schema_version (version, description) VALUES ($1, $2)",
                                   version, description)
                applied.append(version)
    return applied
