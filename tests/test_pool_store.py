"""The pool store against a real PostgreSQL: the door, duplicates, knobs, commands, workers."""
import asyncio
import math

import numpy as np
import pytest

from solver.answer import answer_sha256
from solver.pool import SubmissionRefused, connect




def scrambled(answer, swap=(0, 2)):
    perm = list(answer)
    a, b = swap
    perm[a], perm[b] = perm[b], perm[a]
    return perm


async def test_exact_answer_is_stored_with_recomputed_mse(fresh_dsn, puzzle, answer):
    async with await connect(fresh_dsn) as store:
        got = await store.submit(puzzle, np.array(answer, dtype=np.int64), origin="injected", node="n1")
        assert got.new and got.matches_target and got.mse < 1e-10
        assert got.sha256 == answer_sha256(answer) == puzzle.target_sha256
        best = await store.fetch_best()
        assert best.permutation == answer and best.origin == "injected" and best.node == "n1"
        assert await store.has_exact(best.puzzle_id)


async def test_twenty_concurrent_submissions_of_one_answer_make_one_row(fresh_dsn, puzzle, answer):
    perm = scrambled(answer)
    stores = [await connect(fresh_dsn, max_size=1) for _ in range(4)]
    try:
        results = await asyncio.gather(*[
            stores[i % 4].submit(puzzle, [np.int32(v) for v in perm], origin="anneal", node=f"n{i}")
            for i in range(20)])
        assert len({r.id for r in results}) == 1
        assert sum(r.new for r in results) == 1
        assert (await stores[0].counts()).solutions == 1
    finally:
        for s in stores:
            await s.close()


async def test_malformed_submissions_are_refused_counted_and_change_nothing(fresh_dsn, puzzle, answer):
    async with await connect(fresh_dsn) as store:
        good = scrambled(answer)
        await store.submit(puzzle, good, origin="anneal")
        before = await store.fetch_top(10)
        true_mse = before[0].mse
        repeat = list(answer)
        repeat[2] = repeat[0]
        wrong_slot = list(answer)
        wrong_slot[0], wrong_slot[1] = wrong_slot[1], wrong_slot[0]  # an out piece in an inp slot
        bad = [
            (answer[:-1], None),                      # wrong length
            (answer + [answer[0]], None),             # too long, repeated
            (repeat, None),                           # repeats
            (wrong_slot, None),                       # wrong class in a slot
            ([float("nan")] + answer[1:], None),      # NaN as a piece id
            (good, float("nan")),                     # NaN claimed MSE
            (good, true_mse * 0.5 + 1e-3 if true_mse > 0 else 1.0),  # a lie
            (scrambled(answer, (2, 4)), 0.0),         # claims exact, is not
            ([1.5] + answer[1:], None),               # not an integer
        ]
        for perm, claim in bad:
            with pytest.raises(SubmissionRefused):
                await store.submit(puzzle, perm, claim, origin="anneal", node="liar")
        assert await store.fetch_top(10) == before
        counts = await store.counts()
        assert counts.refusals == len(bad) and counts.solutions == 1
        reasons = [r["reason"] for r in await store.fetch_refusals()]
        assert any("does not match the recomputed" in r for r in reasons)
        assert all(r.count(".") <= 3 for r in reasons)  # one sentence each (decimals allowed)


async def test_an_honest_claim_is_accepted_and_the_stored_mse_is_ours(fresh_dsn, puzzle, answer):
    async with await connect(fresh_dsn) as store:
        perm = scrambled(answer)
        first = await store.submit(puzzle, perm, origin="anneal")
        again = await store.submit(puzzle, perm, np.float32(first.mse), origin="anneal")
        assert not again.new and again.id == first.id and math.isclose(again.mse, first.mse)


async def test_config_knobs_have_limits_and_versions(fresh_dsn):
    async with await connect(fresh_dsn) as store:
        before = (await store.fetch_config())["perturb_width"]
        after = await store.set_config("perturb_width", 9, by="test")
        assert after.value == 9 and after.version == before.version + 1 and after.updated_by == "test"
        with pytest.raises(ValueError, match="perturb_width"):
            await store.set_config("perturb_width", 1e9)
        with pytest.raises(ValueError, match="unknown config knob"):
            await store.set_config("nope", 1)


async def test_commands_are_claimed_once_each(fresh_dsn):
    async with await connect(fresh_dsn) as store:
        ids = [await store.enqueue_command("inject", {"kind": "random"}) for _ in range(5)]
        targeted = await store.enqueue_command("stop", target="worker:7")
        claims = await asyncio.gather(*[store.claim_command(f"c{i}", ["inject"]) for i in range(8)])
        got = sorted(c.id for c in claims if c is not None)
        assert got == ids
        assert await store.claim_command("w", ["stop"], ["worker:8"]) is None
        mine = await store.claim_command("w", ["stop"], ["worker:7", "node:a"])
        assert mine.id == targeted and mine.status == "claimed"
        await store.finish_command(mine.id, True, {"ok": 1})
        assert (await store.fetch_commands(1))[0].result == {"ok": 1}


async def test_stale_workers_are_marked_lost_and_keep_their_results(fresh_dsn, puzzle, answer):
    async with await connect(fresh_dsn) as store:
        pid = await store.register_puzzle(puzzle)
        dead = await store.register_worker(pid, "n1", 111)
        alive = await store.register_worker(pid, "n2", 222)
        await store.submit(puzzle, scrambled(answer), origin="anneal", worker_id=dead)
        await store.record_history(dead, [(1, 10, 0.5, 0.4), (1, 20, 0.3, 0.3)])
        await asyncio.sleep(1.2)
        await store.heartbeat(alive, run=1, step=5, best_mse=0.1)
        assert await store.mark_lost(1.0) == 1
        by_id = {w.id: w for w in await store.fetch_workers()}
        assert by_id[dead].status == "lost" and by_id[alive].status == "running"
        assert (await store.fetch_best()).worker_id == dead
        history = await store.fetch_mse_history(worker_id=dead)
        assert [p.step for p in history] == [10, 20]
        assert [p.step for p in await store.fetch_mse_history(after_id=history[0].id)] == [20]


async def test_changes_notify_listeners(fresh_dsn, puzzle, answer):
    async with await connect(fresh_dsn) as store:
        seen = asyncio.Queue()
        conn = await store.listen(seen.put_nowait)
        try:
            await store.submit(puzzle, answer, origin="injected")
            assert await asyncio.wait_for(seen.get(), 5) in ("puzzles", "solutions")
            await store.set_config("restart_share", 0.5)
            tables = set()
            while "config" not in tables:
                tables.add(await asyncio.wait_for(seen.get(), 5))
        finally:
            await conn.close()
