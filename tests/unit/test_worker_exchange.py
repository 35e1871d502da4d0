"""solver.worker.exchange: the worker's side of the pool, on the in-memory pool. It
registers on connect, takes the knobs, delivers what the loop found (a refused one is
dropped and logged by the door, a delivered one is never sent twice), learns that the
answer is in at its heartbeat, takes its commands, and says its last word at exit."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from solver.pool import MemoryStore, WorkerState
from solver.pool.link import Pending
from solver.pool.words import ExitCode
from solver.worker.exchange import PoolExchange
from solver.worker.loop import Outcome, RunLoop, RunSettings
from tests.helpers import opener, swapped


def loop_for(puzzle, exchange) -> RunLoop:
    return RunLoop(puzzle, RunSettings(), exchange, np.random.default_rng(0))


async def test_it_registers_takes_the_knobs_and_delivers(tiny_puzzle, tiny_answer):
    store = MemoryStore()
    await store.set_config("perturb_width", 9)
    exchange = PoolExchange("memory:", tiny_puzzle, "n1", open_store=opener(store))
    assert await exchange.connection.ensure()
    [row] = await store.fetch_workers()
    assert (row.node, exchange.worker_id) == ("n1", row.id) and exchange.knob("perturb_width") == 9
    loop = loop_for(tiny_puzzle, exchange)
    exchange.push(Pending(swapped(tiny_answer), None, "anneal"))
    exchange.push(Pending([1, 2, 3], None, "anneal"))             # refused at the door
    await exchange.deliver(loop)
    assert len(store.solutions) == 1 and len(store.refusals) == 1
    assert not exchange.outbox                                     # nothing waits any more


async def test_a_heartbeat_learns_the_answer_and_takes_a_stop(tiny_puzzle, tiny_answer):
    store = MemoryStore()
    exchange = PoolExchange("memory:", tiny_puzzle, "n1", open_store=opener(store))
    await exchange.connection.ensure()
    loop = loop_for(tiny_puzzle, exchange)
    await store.submit(tiny_puzzle, tiny_answer, origin="injected")
    await store.enqueue_command("stop", target=f"worker:{exchange.worker_id}")
    await exchange.connection.call(lambda s: exchange.beat(s, loop))
    assert loop.solved_in_pool and not loop.solved_here
    assert loop.stop.is_set() and "stop command" in loop.stop_reason


async def test_its_last_word_is_the_outcome_and_nothing_is_lost_offline(tiny_puzzle, tiny_answer,
                                                                        tmp_path: Path):
    store = MemoryStore()
    exchange = PoolExchange("memory:", tiny_puzzle, "n1", open_store=opener(store))
    await exchange.connection.ensure()
    loop = loop_for(tiny_puzzle, exchange)
    code = await exchange.shut_down(loop, Outcome(WorkerState.DONE, ExitCode.DONE, "2 runs done"),
                                    0.1, tmp_path)
    [row] = await store.fetch_workers()
    assert code == ExitCode.DONE and (row.status, row.exit_reason) == ("done", "2 runs done")

    async def away():
        raise ConnectionError("the pool went away")
    offline = PoolExchange("memory:", tiny_puzzle, "n2", open_store=away)
    offline.push(Pending(swapped(tiny_answer), None, "anneal"))
    code = await offline.shut_down(loop_for(tiny_puzzle, offline),
                                   Outcome(WorkerState.DONE, ExitCode.DONE, "done"), 0.1, tmp_path)
    assert code == ExitCode.SPOOLED and len(list(tmp_path.glob("*.jsonl"))) == 1
