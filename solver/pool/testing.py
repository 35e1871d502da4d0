"""Every store, for the tests of the pool's contract (optuna.testing's way): a test asks for
a kind and gets a fresh, empty store of it, so a new store is one line here. And what a
test must do that the contract does not offer: age a worker's heartbeat, or its last
history sample, without waiting for the time to pass."""
from __future__ import annotations

from datetime import timedelta

from .base import Store

STORE_KINDS = ("memory", "postgres")


async def open_store(kind: str, dsn: str | None = None) -> Store:
    """A fresh store of KIND ("memory"; "postgres" at DSN, a new empty database)."""
    if kind == "memory":
        from .memory import MemoryStore

        return MemoryStore()
    if kind == "postgres":
        if not dsn:
            raise ValueError("a postgres store needs the DSN of an empty database")
        from .store import connect

        return await connect(dsn)
    raise ValueError(f"no store of kind {kind!r}; kinds: {', '.join(STORE_KINDS)}")


async def silence(store: Store, worker_id: int, seconds: float) -> None:
    """Make a worker's last heartbeat SECONDS older than it is."""
    from .memory import MemoryStore

    if isinstance(store, MemoryStore):
        store.workers[worker_id]["heartbeat"] -= timedelta(seconds=seconds)
    else:
        await store._pool.execute("UPDATE workers SET heartbeat = heartbeat - make_interval("
                                  "secs => $2) WHERE id = $1", worker_id, float(seconds))


async def age_sample(store: Store, worker_id: int, seconds: float) -> None:
    """Make a worker's last history sample SECONDS older (the next change after it is
    then past the sampling grain)."""
    from .memory import MemoryStore

    if isinstance(store, MemoryStore):
        store._sampled_at[worker_id] -= seconds
    else:
        await store._pool.execute("UPDATE workers SET sampled_at = sampled_at - make_interval("
                                  "secs => $2) WHERE id = $1", worker_id, float(seconds))
