"""Lineage (issue 9): every solution says where it came from, so what paid off can be read
from the pool alone. Crossover in-process; the elites' flow between real worker processes
on a real PostgreSQL."""
from __future__ import annotations

import asyncio

import numpy as np
import pytest

from solver.puzzle.answer import from_permutation, to_permutation
from solver.search.crossover import crossover
from solver.pool import MemoryStore, connect
from solver.puzzle.files import load_puzzle
from tests.helpers import hold_on_an_elite, start_worker, stop_all
from tests.helpers import opener, patient_search, worker_args

pytestmark = pytest.mark.timeout(180)


def test_a_crossover_keeps_where_the_parents_agree_and_takes_the_rest_in_order(tiny_puzzle, tiny_answer):
    inp, out = from_permutation(tiny_puzzle, tiny_answer)
    other = to_permutation(tiny_puzzle, inp[[0, 3, 2, 1]], out[[0, 3, 2, 1]])
    child, loose = crossover(tiny_puzzle, tiny_answer, other)
    assert loose == [2, 4]                                   # blocks 1 and 3 agree
    assert child == other and sorted(child) == sorted(tiny_answer)
    assert crossover(tiny_puzzle, tiny_answer, tiny_answer) == (list(tiny_answer), [])


async def test_a_crossover_run_records_both_parents_its_run_and_method(tiny_puzzle, tiny_answer, tmp_path):
    store = MemoryStore()
    rng = np.random.default_rng(0)
    from solver.search.seeds import make_seed

    ids = [(await store.submit(tiny_puzzle, make_seed(tiny_puzzle, "random", rng), origin="injected")).id
           for _ in range(3)]
    for key, value in (("restart_share", 0.0), ("crossover_share", 1.0)):
        await store.set_config(key, value)
    args = worker_args(tmp_path, "--runs", "1", "--run-seconds", "0.05")
    await run_worker_here(args, tiny_puzzle, store)
    mine = [s for s in await store.fetch_top(100) if s.origin == "anneal"]
    assert mine and all(s.method == "crossover" and s.run == 1 for s in mine)
    assert all(len(s.parents) == 2 and set(s.parents) <= set(ids) for s in mine)
    assert (await store.fetch_workers())[0].progress["start"].startswith("crossover of #")


async def run_worker_here(args, puzzle, store):
    from solver.worker.main import run_worker

    return await run_worker(args, puzzle, open_store=opener(store), search=patient_search([]))


async def test_a_worker_improves_on_what_another_worker_pushed(fresh_dsn, medium_puzzle, tmp_path):
    """alpha runs once from an injected random arrangement and pushes what it found;
    beta, held on the single best elite (perturbed, as by default), improves on it: the pool's lineage shows
    beta's solution with alpha's as parent, its run and how the run started."""
    puzzle = load_puzzle(medium_puzzle)
    await hold_on_an_elite(fresh_dsn, puzzle)
    alpha = start_worker(fresh_dsn, medium_puzzle, "alpha", tmp_path, "--runs", "1", "--run-seconds", "0.5",
                         "--seed", "1")
    assert await asyncio.to_thread(alpha.wait, 60) == 0
    async with await connect(fresh_dsn) as store:
        for key, value in (("elite_pool", 1.0), ("crossover_share", 0.0)):
            await store.set_config(key, value)
        best = await store.fetch_best()
        assert best.node == "alpha" and not best.matches_target, "alpha should leave work to do"
        beta = start_worker(fresh_dsn, medium_puzzle, "beta", tmp_path, "--runs", "3", "--run-seconds", "4",
                            "--burst-seconds", "2",
                            "--seed", "2")
        try:
            assert await asyncio.to_thread(beta.wait, 90) in (0, 3)
        finally:
            stop_all([beta])
        workers = {w.node: w.id for w in await store.fetch_workers()}
        top = await store.fetch_top(1000)
        by_id = {s.id: s for s in top}
        flowed = [s for s in top if s.worker_id == workers["beta"] and any(
            by_id[p].worker_id == workers["alpha"] and s.mse < by_id[p].mse for p in s.parents if p in by_id)]
        assert flowed, "no solution of beta improves on one of alpha's"
        assert all(s.method == "elite" and s.run in (1, 2, 3) for s in flowed)
        assert {s.method for s in top if s.worker_id == workers["alpha"]} == {"elite"}
