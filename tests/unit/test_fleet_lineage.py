"""The pool's lineage shows records made from another worker's elites: a worker whose run
starts from the crossover of two elites pushed by another worker, and which finds the
answer from there, is counted by bench_fleet_search's lineage summary as a record made
from elites shared by another worker (records_from_other_workers)."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from benchmarks.bench_fleet_search import lineage_summary
from solver.pool import MemoryStore
from solver.worker.main import run_worker
from tests.helpers import opener, wait_to_be_stopped, worker_args

pytestmark = pytest.mark.timeout(60)


def _swapped(puzzle, a: int, b: int) -> list[int]:
    from solver.puzzle.answer import to_permutation

    order = np.arange(puzzle.n_blocks)
    order[[a, b]] = order[[b, a]]
    return to_permutation(puzzle, order, order)


def answering_search(answer: list[int], seen: list):
    """Finds ANSWER from whatever start it is given, then waits to be stopped."""
    def search(puzzle, start, seed, time_limit, on_progress, on_improve, should_stop, temperature):
        seen.append(list(start))
        on_improve(start, 1.0)                  # the start itself: never pushed
        on_improve(answer, 0.0)
        wait_to_be_stopped(should_stop, time_limit)
        return SimpleNamespace(steps=1, mse=0.0, permutation=answer, solved=False,
                               sha256="", verdict="")
    return search


async def test_a_record_made_by_crossover_of_another_workers_elites_is_attributed_to_them(
        tiny_puzzle, tmp_path):
    store = MemoryStore()
    pid = await store.register_puzzle(tiny_puzzle)
    other = await store.register_worker(pid, "elsewhere", 1)
    elites = [await store.submit(tiny_puzzle, _swapped(tiny_puzzle, a, b), origin="anneal",
                                 node="elsewhere", worker_id=other) for a, b in ((0, 1), (2, 3))]
    await store.set_config("restart_share", 0.0)
    await store.set_config("crossover_share", 1.0)
    answer, seen = _swapped(tiny_puzzle, 0, 0), []
    args = worker_args(tmp_path, "--runs", "1", "--run-seconds", "0.2", "--burst-seconds", "0.1")
    await run_worker(args, tiny_puzzle, open_store=opener(store), search=answering_search(answer, seen))
    assert seen                                          # the run started (from the child)
    records = await store.fetch_records(pid)
    made_here = [r for r in records if r.worker_id != other]
    assert made_here and made_here[-1].method == "crossover"
    assert sorted(made_here[-1].parents) == sorted(e.id for e in elites)
    summary = await lineage_summary(store, pid)
    assert summary["records_from_other_workers"] == len(made_here) >= 1
    assert summary["records_by_method"]["crossover"] == len(made_here)


async def test_records_from_a_workers_own_seeds_are_not_counted_as_shared(tiny_puzzle, tmp_path):
    store = MemoryStore()
    pid = await store.register_puzzle(tiny_puzzle)
    await store.set_config("restart_share", 1.0)             # fresh seeds only: nothing shared
    args = worker_args(tmp_path, "--runs", "1", "--run-seconds", "0.2", "--burst-seconds", "0.1")
    await run_worker(args, tiny_puzzle, open_store=opener(store),
                     search=answering_search(_swapped(tiny_puzzle, 0, 0), []))
    assert await store.fetch_records(pid)
    assert (await lineage_summary(store, pid))["records_from_other_workers"] == 0


async def test_a_focused_crossover_searches_only_where_the_parents_disagree(tiny_puzzle, tmp_path):
    store = MemoryStore()
    pid = await store.register_puzzle(tiny_puzzle)
    other = await store.register_worker(pid, "elsewhere", 1)
    elites = [await store.submit(tiny_puzzle, _swapped(tiny_puzzle, a, b), origin="anneal",
                                 worker_id=other) for a, b in ((0, 1), (2, 3))]
    await store.set_config("restart_share", 0.0)
    await store.set_config("crossover_share", 1.0)
    await store.set_config("focus_seconds", 5.0)
    seen: list = []
    args = worker_args(tmp_path, "--runs", "1", "--run-seconds", "0.2", "--burst-seconds", "0.1")
    await run_worker(args, tiny_puzzle, open_store=opener(store),
                     search=answering_search(_swapped(tiny_puzzle, 0, 0), seen))
    # The focus step, before any burst, made the start better than both parents.
    focused = await store.submit(tiny_puzzle, seen[0], origin="injected")
    assert focused.mse < 1e-3 * min(e.mse for e in elites)
