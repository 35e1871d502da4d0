"""The worker's logic in-process on the in-memory pool: what it pushes and when, where its
runs start, how it ends. The real-process tests against PostgreSQL are test_worker.py."""
from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from solver.pool import MemoryStore, PoolError
from solver.pool.link import Pending
from solver.pool.words import ExitCode
from solver.worker.loop import Pusher, RunLoop, RunSettings
from solver.worker.main import run_worker
from tests.helpers import opener, patient_search, worker_args

pytestmark = pytest.mark.timeout(60)


async def test_pusher_holds_improvements_within_the_interval_and_sends_each_once():
    now = [100.0]
    sent: list[Pending] = []
    pusher = Pusher(sent.append, interval=5.0, clock=lambda: now[0])
    pusher.found([1, 2, 3], 0.9, [], run=1)
    assert len(sent) == 1                                # the first goes out at once
    now[0] += 1
    pusher.found([2, 1, 3], 0.8, [7], run=1)
    pusher.found([3, 2, 1], 0.7, [7], run=1)             # newer: replaces the held one
    assert len(sent) == 1
    pusher.release()                                     # the end of the burst
    assert [p.permutation for p in sent] == [[1, 2, 3], [3, 2, 1]] and sent[1].parents == [7]
    assert not pusher.once([3, 2, 1], [], "best of the run", run=1)   # sent already
    now[0] += 10
    pusher.found([1, 3, 2], 0.6, [], run=2)
    assert len(sent) == 3 and all(p.mse is None for p in sent)       # the door computes it


async def test_a_held_improvement_goes_out_when_its_interval_is_over():
    sent: list[Pending] = []
    pusher = Pusher(sent.append, interval=0.05)
    pusher.found([1, 2, 3], 0.9, [], run=1)
    pusher.found([2, 1, 3], 0.8, [], run=1)
    assert len(sent) == 1
    for _ in range(100):
        if len(sent) == 2:
            break
        await asyncio.sleep(0.01)
    assert [p.permutation for p in sent] == [[1, 2, 3], [2, 1, 3]]


async def test_a_worker_runs_registers_beats_pushes_and_says_done(tiny_puzzle, tmp_path):
    store, seen = MemoryStore(), []
    args = worker_args(tmp_path, "--runs", "2", "--run-seconds", "0.2", "--burst-seconds", "0.1")
    code = await run_worker(args, tiny_puzzle, open_store=opener(store),
                            search=patient_search(seen))
    assert code == ExitCode.DONE
    [row] = await store.fetch_workers()
    assert (row.status, row.exit_reason, row.run) == ("done", "2 runs done", 2)
    assert row.progress["evals_per_s"] == 123.0 and row.progress["stage"] == "anneal"
    assert "step" not in row.progress and row.step >= 7
    stored = await store.fetch_top(100)
    assert stored and all(s.worker_id == row.id and s.origin == "anneal" for s in stored)
    assert row.best_mse == min(s.mse for s in stored)
    assert await store.fetch_mse_history(worker_id=row.id)
    assert seen and all(0.09 <= s["time_limit"] <= 0.1 + 1e-9 for s in seen[:1])


async def test_runs_start_from_elites_or_fresh_seeds_as_the_knobs_say(tiny_puzzle, tmp_path):
    store = MemoryStore()
    elite = await store.submit(tiny_puzzle, _answer_swapped(tiny_puzzle), origin="injected")
    await store.set_config("restart_share", 0.0)
    await store.set_config("perturb_width", 0.0)
    seen = []
    args = worker_args(tmp_path, "--runs", "1", "--run-seconds", "0.05")
    await run_worker(args, tiny_puzzle, open_store=opener(store), search=patient_search(seen))
    assert seen[0]["start"] == (await store.fetch_solution(elite.id)).permutation
    mine = [s for s in await store.fetch_top(10) if s.origin == "anneal"]
    assert mine and all(s.parents == [elite.id] for s in mine)       # its lineage
    assert (await store.fetch_workers())[0].progress["start"] == f"elite #{elite.id}"
    await store.set_config("restart_share", 1.0)
    await store.set_config("temp_scale", 2.0)
    seen.clear()
    await run_worker(args, tiny_puzzle, open_store=opener(store), search=patient_search(seen))
    assert seen[0]["start"] != (await store.fetch_solution(elite.id)).permutation
    assert seen[0]["temperature"] == pytest.approx(2 * _t0())
    assert (await store.fetch_workers())[-1].progress["start"].startswith("seed:")


def _t0() -> float:
    from solver.search.search import SearchSettings

    return SearchSettings.t0


def _answer_swapped(puzzle) -> list[int]:
    from solver.puzzle.answer import to_permutation

    order = np.arange(puzzle.n_blocks)
    order[[0, 1]] = order[[1, 0]]
    return to_permutation(puzzle, order, order)


async def test_a_stop_command_ends_the_worker_as_stopped(tiny_puzzle, tmp_path):
    store = MemoryStore()
    args = worker_args(tmp_path, "--forever", "--run-seconds", "30",
                       "--burst-seconds", "30")
    task = asyncio.ensure_future(run_worker(args, tiny_puzzle, open_store=opener(store),
                                            search=patient_search([])))
    while not await store.fetch_workers():
        await asyncio.sleep(0.01)
    [row] = await store.fetch_workers()
    cid = await store.enqueue_command("stop", target=f"worker:{row.id}")
    assert await asyncio.wait_for(task, 10) == ExitCode.DONE
    [row] = await store.fetch_workers()
    assert (row.status, row.exit_reason) == ("stopped", f"stop command #{cid}")
    assert (await store.fetch_commands())[0].status == "done"


async def test_the_answer_found_by_another_ends_the_worker_done_not_solved(tiny_puzzle, tiny_answer,
                                                                          tmp_path):
    """Exit 3 (nothing left to search), but the row says done: SOLVED is for the worker
    that delivered the answer, so a relaunch on a solved pool never shows a 'solved'
    worker whose best is not the answer."""
    store = MemoryStore()
    await store.submit(tiny_puzzle, tiny_answer, origin="injected")
    args = worker_args(tmp_path, "--forever", "--run-seconds", "30",
                       "--burst-seconds", "30")
    code = await asyncio.wait_for(run_worker(args, tiny_puzzle, open_store=opener(store),
                                             search=patient_search([])), 10)
    assert code == ExitCode.SOLVED
    [row] = await store.fetch_workers()
    assert row.status == "done" and "found by another" in row.exit_reason


async def test_the_real_search_solves_a_small_puzzle_and_says_so(tiny_puzzle, tmp_path):
    store = MemoryStore()
    args = worker_args(tmp_path, "--forever", "--run-seconds", "20")
    assert await run_worker(args, tiny_puzzle, open_store=opener(store)) == ExitCode.SOLVED
    assert (await store.fetch_best()).matches_target
    assert (await store.fetch_workers())[0].status == "solved"


async def test_a_search_that_fails_is_said_in_the_pool_as_crashed(tiny_puzzle, tmp_path):
    def broken(*_, **__):
        raise RuntimeError("the search broke")

    store = MemoryStore()
    args = worker_args(tmp_path, "--runs", "1", "--run-seconds", "5")
    code = await run_worker(args, tiny_puzzle, open_store=opener(store), search=broken)
    assert code == ExitCode.FAILED
    [row] = await store.fetch_workers()
    assert row.status == "crashed" and "the search broke" in row.exit_reason


async def test_offline_at_exit_spools_and_the_next_worker_delivers(tiny_puzzle, tmp_path):
    async def unreachable():
        raise PoolError("cannot reach the pool database at memory:")

    args = worker_args(tmp_path, "--runs", "1", "--run-seconds", "0.1", "--burst-seconds", "0.05")
    code = await run_worker(args, tiny_puzzle, open_store=unreachable, search=patient_search([]))
    assert code == ExitCode.SPOOLED
    [spool] = list(Path(tmp_path / "spool").glob("here-*.jsonl"))
    waiting = len(spool.read_text().splitlines())
    store = MemoryStore()
    await run_worker(args, tiny_puzzle, open_store=opener(store), search=patient_search([]))
    assert not list(Path(tmp_path / "spool").glob("here-*"))
    assert len(await store.fetch_top(100)) >= waiting


async def test_another_workers_better_elite_is_adopted_half_the_time(tiny_puzzle):
    class Side:
        online, worker_id = True, 1

        def knob(self, key):
            return 1.0

        async def best(self):
            return SimpleNamespace(id=9, worker_id=2, mse=0.1, node="far", permutation=[9, 9])

        def push(self, item):
            pass

    adopted = 0
    for seed in range(40):
        loop = RunLoop(tiny_puzzle, RunSettings(), Side(), np.random.default_rng(seed))
        adopted += (await loop.cross_pollinate([1, 1], run_best_mse=0.2)) == [9, 9]
    assert 10 <= adopted <= 30
    loop = RunLoop(tiny_puzzle, RunSettings(), Side(), np.random.default_rng(0))
    assert await loop.cross_pollinate([1, 1], run_best_mse=0.05) == [1, 1]   # ours is better
