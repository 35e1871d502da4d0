"""The live reader (jstui.live) on both stores: what a refresh reads, that a change notice
alone brings the next snapshot (polling off), and what it shows when the pool is away."""
from __future__ import annotations

import asyncio

import pytest

from jstui.live import LiveSource
from solver.pool import MemoryStore, PoolError, connect

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(params=["memory", "postgres"])
def open_store(request):
    """open_store() -> the same fresh store on every call (a reader reconnects)."""
    if request.param == "memory":
        store = MemoryStore()

        async def memory():
            store.closed = False
            return store
        return memory
    dsn = request.getfixturevalue("fresh_dsn")
    return lambda: connect(dsn, max_size=2)


async def seeded(open_store, puzzle, answer):
    store = await open_store()
    pid = await store.register_puzzle(puzzle)
    wid = await store.register_worker(pid, "nodeA", 4242)
    await store.heartbeat(wid, run=1, step=10, best_mse=0.5, progress={"evals_per_s": 80.0})
    near = list(answer)
    near[0:2], near[2:4] = near[2:4], near[0:2]
    await store.submit(puzzle, near, origin="test", node="nodeA", worker_id=wid)
    return store, wid


async def next_snapshot(snapshots, condition, timeout: float = 10.0):
    """The first snapshot from the reader that meets CONDITION."""
    async def first():
        async for snap in snapshots:
            if condition(snap):
                return snap
    return await asyncio.wait_for(first(), timeout)


async def test_a_refresh_reads_the_pool(open_store, tiny_puzzle, tiny_answer):
    store, wid = await seeded(open_store, tiny_puzzle, tiny_answer)
    source = LiveSource(None, open_store=open_store)
    try:
        snap = await source.read_once()
    finally:
        await source.close()
    assert snap.solutions == 1 and snap.pool_error is None and not snap.solved
    [w] = snap.workers
    assert (w.key, w.node, w.state, w.evals_per_s, w.best_mse) == (f"w{wid}", "nodeA", "running",
                                                                    80.0, 0.5)
    assert [n.name for n in snap.nodes] == ["nodeA"] and snap.nodes[0].evals_per_s == 80.0
    assert snap.zones is not None and snap.zones.k == 1 and len(snap.zones.shares) == 4
    assert dict(snap.knobs)["restart_share"] == 0.25
    assert len(snap.best_history) == 1 and snap.refresh_ms is not None
    if not isinstance(store, MemoryStore):
        await store.close()


async def test_a_change_notice_alone_brings_the_next_snapshot(open_store, tiny_puzzle,
                                                              tiny_answer):
    """Polling off (an hour between re-reads): the heartbeat and the answer reach the
    screen through LISTEN/NOTIFY only."""
    store, wid = await seeded(open_store, tiny_puzzle, tiny_answer)
    source = LiveSource(None, open_store=open_store, refresh=3600, min_interval=0.01,
                        count_every=0.2)
    snapshots = source.snapshots()
    try:
        first = await next_snapshot(snapshots, lambda s: s.solutions == 1)
        await store.heartbeat(wid, run=2, step=99, best_mse=0.4)
        snap = await next_snapshot(snapshots, lambda s: s.workers and s.workers[0].run == 2)
        assert snap.workers[0].step == 99
        await store.submit(tiny_puzzle, tiny_answer, origin="test")
        snap = await next_snapshot(snapshots, lambda s: s.solved and s.solutions == 2)
        assert [m for _, m in snap.best_history][-1] < 1e-10
        assert snap.best_history[0] == first.best_history[0]   # the curve is extended
    finally:
        await snapshots.aclose()
    if not isinstance(store, MemoryStore):
        await store.close()


async def test_an_unreachable_pool_keeps_the_last_state_and_says_why(tiny_puzzle, tiny_answer):
    store = MemoryStore()

    async def memory():
        store.closed = False
        return store
    await seeded(memory, tiny_puzzle, tiny_answer)
    down = False

    async def flaky():
        if down:
            raise PoolError("cannot reach the pool database at x: connection refused")
        return await memory()

    from jstui.connection import PoolConnection

    now = [100.0]
    source = LiveSource(None, connection=PoolConnection(None, open_store=flaky,
                                                        clock=lambda: now[0]))
    assert (await source.read_once()).solutions == 1
    await source.connection.reset()                    # the server went away
    down = True
    snap = await source.read_once()
    assert snap.pool_error == "unreachable (cannot reach the pool database at x: connection " \
                              "refused); retrying"
    assert snap.solutions == 1 and snap.workers
    down = False
    snap = await source.read_once()                    # within the link's backoff: not yet
    assert snap.pool_error == "unreachable (waiting to reconnect); retrying"
    now[0] += 1.0                                      # the backoff is over
    assert (await source.read_once()).pool_error is None


async def test_the_observers_and_the_doors_news_reach_the_event_log(tiny_puzzle, tiny_answer):
    store = MemoryStore()

    async def memory():
        return store
    await seeded(memory, tiny_puzzle, tiny_answer)
    pid = await store.current_puzzle_id()
    source = LiveSource(None, open_store=memory)
    await source.read_once()
    await store.add_event("observe", "stagnation: widened perturb_width", source="observer",
                          puzzle_id=pid)
    cid = await store.enqueue_command("stop", target="worker:1")
    await store.finish_command(cid, False, {"message": "no such worker"})
    await store.log_refusal(pid, "permutation has 3 entries", node="far")
    await asyncio.sleep(0)                     # the notices are delivered
    texts = [e.text for e in (await source.read_once()).events]
    assert "stagnation: widened perturb_width" in texts
    assert f"stop #{cid} failed: no such worker" in texts
    assert "far: refused: permutation has 3 entries" in texts
