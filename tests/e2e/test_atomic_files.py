"""Files written whole or not at all when several processes write one name at once:
the puzzle cache (deploy's packer), the worker's spool, deploy's copies, the agent's
records. Real processes, real files."""
import multiprocessing
import os
from pathlib import Path

import pytest

from tests.fixture_sshd import undeploy

pytestmark = pytest.mark.timeout(120)


def _pack_rounds(puzzle_dir, cache_root, rounds, barrier, errors):
    from jstui.fleet.bundle import puzzle_npz

    for i in range(rounds):
        barrier.wait()
        try:
            puzzle_npz(puzzle_dir, Path(cache_root) / f"round-{i}")
        except Exception as e:  # the failure is the test's answer: report it
            errors.put(f"{type(e).__name__}: {e}")


def test_concurrent_packers_share_one_cache(small_puzzle_dir, tmp_path):
    """Two fleets packing one puzzle into one cache (two `launch`es at once): each gets
    the whole .npz, no temporary file is left behind."""
    from solver.puzzle.files import load_puzzle

    ctx = multiprocessing.get_context("fork")
    procs, rounds = 6, 6
    barrier, errors = ctx.Barrier(procs), ctx.Queue()
    workers = [ctx.Process(target=_pack_rounds, args=(small_puzzle_dir, tmp_path, rounds,
                                                      barrier, errors)) for _ in range(procs)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
    found = []
    while not errors.empty():
        found.append(errors.get())
    assert found == [] and all(w.exitcode == 0 for w in workers), found[:3]
    fingerprint = load_puzzle(small_puzzle_dir).fingerprint
    for i in range(rounds):
        names = os.listdir(tmp_path / f"round-{i}")
        assert names == [f"{fingerprint}.npz"], names
        assert load_puzzle(tmp_path / f"round-{i}" / names[0]).fingerprint == fingerprint


def test_a_spool_being_written_is_never_taken_over(tmp_path):
    """Worker A spools its undelivered results while worker B, starting on the same node,
    takes over the spool files it finds: B takes whole files only, and A never fails."""
    import threading

    from solver.pool.link import Outbox, Pending

    prefix, files, per_file = "node-0123456789abcdef-", 30, 400
    errors, done = [], threading.Event()

    def writer():
        try:
            for n in range(files):
                outbox = Outbox()
                for i in range(per_file):
                    outbox.add(Pending(list(range(40)), float(i), "test", run=n))
                outbox.spool(tmp_path / f"{prefix}{n}.jsonl")
        except Exception as e:  # noqa: BLE001 - the writer's failure is the test's answer
            errors.append(f"writer: {type(e).__name__}: {e}")
        finally:
            done.set()

    taker = Outbox()
    thread = threading.Thread(target=writer)
    thread.start()
    while not done.is_set():
        try:
            taker.load_spools(sorted(tmp_path.glob(f"{prefix}*")))
        except Exception as e:  # noqa: BLE001
            errors.append(f"taker: {type(e).__name__}: {e}")
    thread.join()
    taker.load_spools(sorted(tmp_path.glob(f"{prefix}*")))
    assert errors == []
    assert len(taker) == files * per_file
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        f"{prefix}{n}.jsonl.claimed-{os.getpid()}" for n in range(files))


@pytest.mark.parametrize("node", ["alpha", "local"])
async def test_two_deploys_at_once_to_one_node(sshd_fleet, small_puzzle_dir, node, tmp_path):
    """Two controllers (or `d` on the screen during a `launch`) deploy to one node at
    once: both succeed, every file arrives whole, no temporary file stays behind."""
    import asyncio

    from jstui.config import parse_config
    from jstui.fleet import Fleet
    from jstui.fleet.bundle import build_bundle

    if node == "local":
        work = tmp_path / "work"
        cfg = parse_config({"node": [{"name": "here", "kind": "local", "workdir": str(work),
                                      "python": sshd_fleet.daemons["alpha"].python}],
                            "puzzle": {"path": str(small_puzzle_dir)}})
    else:
        work = sshd_fleet.daemons[node].workdir
        cfg = sshd_fleet.config([node], puzzle=small_puzzle_dir)
    for _ in range(2):
        undeploy(work)
        fleets = [Fleet(cfg) for _ in range(3)]
        try:
            await asyncio.gather(*(f.check() for f in fleets))   # connected: start together
            results = await asyncio.gather(*(f.deploy() for f in fleets))
        finally:
            await asyncio.gather(*(f.close() for f in fleets))
        assert all(r.ok for rs in results for r in rs), results
        for f in build_bundle(small_puzzle_dir).files:
            assert (work / f.rel).read_bytes() == f.path.read_bytes(), f.rel
        left = [p for p in work.rglob("*") if p.name.endswith((".part", ".tmp"))]
        assert left == []
