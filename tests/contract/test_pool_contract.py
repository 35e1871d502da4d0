"""The pool's contract (solver.pool.base.Store), held over both stores: PostgreSQL and
the in-memory twin the fast tests use. A behaviour tested here is one they share."""
from __future__ import annotations

import asyncio
import math

import numpy as np
import pytest

from solver.puzzle.answer import answer_sha256
from solver.pool.errors import UnknownRow
from solver.pool import Beat, SubmissionRefused, WorkerState
from solver.pool import testing
from solver.pool.lifecycle import SILENT_AFTER_S, Exit
from solver.pool.testing import STORE_KINDS, age_sample, silence


@pytest.fixture(params=STORE_KINDS)
def open_store(request):
    """open_store() -> a fresh, empty store of each kind (solver.pool.testing)."""
    dsn = request.getfixturevalue("fresh_dsn") if request.param == "postgres" else None
    return lambda: testing.open_store(request.param, dsn)


async def two_workers(store, puzzle) -> tuple[int, int, int]:
    """(puzzle id, worker on n1, worker on n2)."""
    pid = await store.register_puzzle(puzzle)
    return pid, await store.register_worker(pid, "n1", 111), await store.register_worker(pid, "n2", 222)


def scrambled(answer, swap=(0, 2)):
    perm = list(answer)
    a, b = swap
    perm[a], perm[b] = perm[b], perm[a]
    return perm


async def test_the_exact_answer_is_stored_with_our_mse(open_store, tiny_puzzle, tiny_answer):
    async with await open_store() as store:
        got = await store.submit(tiny_puzzle, np.array(tiny_answer, dtype=np.int64),
                                 origin="injected",
                                 node="n1")
        assert got.new and got.matches_target and got.mse < 1e-10
        assert got.sha256 == answer_sha256(tiny_answer) == tiny_puzzle.target_sha256
        best = await store.fetch_best()
        assert best.permutation == tiny_answer and best.origin == "injected" and best.node == "n1"
        assert await store.has_exact(best.puzzle_id)
        assert await store.fetch_solution(best.id) == best


async def test_one_answer_submitted_again_and_again_makes_one_row(open_store, tiny_puzzle,
                                                                  tiny_answer):
    async with await open_store() as store:
        perm = scrambled(tiny_answer)
        results = await asyncio.gather(*[
            store.submit(tiny_puzzle, [np.int32(v) for v in perm], origin="anneal", node=f"n{i}")
            for i in range(6)])
        assert len({r.id for r in results}) == 1 and sum(r.new for r in results) == 1
        again = await store.submit(tiny_puzzle, perm, np.float32(results[0].mse), origin="anneal")
        assert not again.new and math.isclose(again.mse, results[0].mse)
        assert (await store.counts()).solutions == 1


async def test_malformed_submissions_are_refused_counted_and_change_nothing(open_store, tiny_puzzle,
                                                                            tiny_answer):
    async with await open_store() as store:
        good = scrambled(tiny_answer)
        await store.submit(tiny_puzzle, good, origin="anneal")
        before = await store.fetch_top(10)
        true_mse = before[0].mse
        repeat = list(tiny_answer)
        repeat[2] = repeat[0]
        wrong_slot = list(tiny_answer)
        wrong_slot[0], wrong_slot[1] = wrong_slot[1], wrong_slot[0]  # an out piece in an inp slot
        bad = [
            (tiny_answer[:-1], None),                      # wrong length
            (tiny_answer + [tiny_answer[0]], None),             # too long, repeated
            (repeat, None),                           # repeats
            (wrong_slot, None),                       # wrong class in a slot
            ([float("nan")] + tiny_answer[1:], None),      # NaN as a piece id
            (good, float("nan")),                     # NaN claimed MSE
            (good, true_mse * 0.5 + 1e-3),            # a lie
            (scrambled(tiny_answer, (2, 4)), 0.0),         # claims exact, is not
            ([1.5] + tiny_answer[1:], None),               # not an integer
        ]
        for perm, claim in bad:
            with pytest.raises(SubmissionRefused):
                await store.submit(tiny_puzzle, perm, claim, origin="anneal", node="liar")
        with pytest.raises(SubmissionRefused, match="origin"):
            await store.submit(tiny_puzzle, good, origin="")
        assert await store.fetch_top(10) == before
        counts = await store.counts()
        assert counts.refusals == len(bad) + 1 and counts.solutions == 1
        reasons = [r["reason"] for r in await store.fetch_refusals()]
        assert any("does not match the recomputed" in r for r in reasons)
        assert all(r.count(".") <= 3 for r in reasons)  # one sentence each (decimals allowed)


async def test_the_best_over_time_lists_each_improvement(open_store, tiny_puzzle, tiny_answer):
    async with await open_store() as store:
        worse = await store.submit(tiny_puzzle, scrambled(tiny_answer, (0, 4)), origin="a")
        better = await store.submit(tiny_puzzle, scrambled(tiny_answer, (0, 2)), origin="a")
        exact = await store.submit(tiny_puzzle, tiny_answer, origin="a")
        curve = [m for _, m in await store.fetch_best_over_time()]
        assert curve == sorted({worse.mse, better.mse, exact.mse}, reverse=True)[:len(curve)]
        assert curve[-1] == exact.mse and curve == sorted(curve, reverse=True)


async def test_the_current_puzzle_is_the_most_recently_active(open_store, tiny_puzzle):
    from tests.fixture_puzzles import numpy_puzzle

    other, other_answer = numpy_puzzle(blocks=3, seed=7)
    async with await open_store() as store:
        mine = await store.register_puzzle(tiny_puzzle)
        theirs = await store.register_puzzle(other, name="other")
        assert await store.register_puzzle(tiny_puzzle) == mine
        assert await store.find_puzzle_id(other) == theirs
        assert [p.name for p in await store.fetch_puzzles()] == [None, "other"]
        await store.submit(other, other_answer, origin="a")
        assert await store.current_puzzle_id() == theirs
        assert await store.fetch_top(5, mine) == []


async def test_a_puzzle_row_knows_var_pred_so_closeness_is_relative(open_store, tiny_puzzle):
    class Unloaded:   # a puzzle known by fingerprint only (no pred): no variance to store
        fingerprint, n_blocks = tiny_puzzle.fingerprint, tiny_puzzle.n_blocks

    async with await open_store() as store:
        pid = await store.register_puzzle(Unloaded())
        (row,) = await store.fetch_puzzles()
        assert row.pred_var is None and row.relative(1.0) is None
        assert await store.register_puzzle(tiny_puzzle) == pid   # a loaded one fills it in
        (row,) = await store.fetch_puzzles()
        assert row.pred_var == pytest.approx(tiny_puzzle.pred_var)
        assert row.relative(2 * tiny_puzzle.pred_var) == pytest.approx(2.0)


async def test_knobs_have_limits_and_versions(open_store):
    async with await open_store() as store:
        before = (await store.fetch_config())["perturb_width"]
        after = await store.set_config("perturb_width", 9, by="test")
        assert (after.value, after.version, after.updated_by) == (9, before.version + 1, "test")
        with pytest.raises(ValueError, match="perturb_width"):
            await store.set_config("perturb_width", 1e9)
        with pytest.raises(ValueError, match="unknown config knob"):
            await store.set_config("nope", 1)


async def test_commands_are_claimed_once_each_and_by_target(open_store):
    async with await open_store() as store:
        ids = [await store.enqueue_command("inject", {"kind": "random"}) for _ in range(5)]
        targeted = await store.enqueue_command("stop", target="worker:7")
        claims = await asyncio.gather(*[store.claim_command(f"c{i}", ["inject"]) for i in range(8)])
        assert sorted(c.id for c in claims if c is not None) == ids
        assert await store.claim_command("w", ["stop"], ["worker:8"]) is None
        mine = await store.claim_command("w", ["stop"], ["worker:7", "node:a"])
        assert mine.id == targeted and mine.status == "claimed" and mine.claimed_by == "w"
        await store.finish_command(mine.id, True, {"ok": 1})
        newest = (await store.fetch_commands(1))[0]
        assert (newest.id, newest.status, newest.result) == (targeted, "done", {"ok": 1})


async def test_a_worker_row_says_what_the_worker_said(open_store, tiny_puzzle):
    async with await open_store() as store:
        pid = await store.register_puzzle(tiny_puzzle)
        wid = await store.register_worker(pid, "n1", 111)
        [row] = await store.fetch_workers(pid)
        assert (row.status, row.state, row.progress, row.run) == \
            ("running", WorkerState.RUNNING, {}, 0)
        progress = {"mse": 0.2, "temperature": 1e-3, "evals_per_s": 900.0, "start": "seed:norm"}
        await store.heartbeat(wid, run=2, step=50, best_mse=0.1, progress=progress,
                              config_version=3)
        [row] = await store.fetch_workers(pid, alive_only=True)
        assert (row.run, row.step, row.best_mse, row.progress, row.config_version) == \
            (2, 50, 0.1, progress, 3)
        assert 0 <= row.heartbeat_age_s < 5
        await store.finish_worker(wid, "done", "2 runs done", best_mse=0.05)
        [row] = await store.fetch_workers()
        assert (row.state, row.exit_reason, row.best_mse) == (WorkerState.DONE, "2 runs done", 0.05)
        assert await store.fetch_workers(alive_only=True) == []


async def test_a_silent_worker_is_lost_by_one_rule_and_keeps_its_results(open_store, tiny_puzzle,
                                                                        tiny_answer):
    async with await open_store() as store:
        pid, dead, alive = await two_workers(store, tiny_puzzle)
        await store.submit(tiny_puzzle, scrambled(tiny_answer), origin="anneal", worker_id=dead)
        await store.record_history(dead, [(1, 10, 0.5, 0.4), (1, 20, 0.3, 0.3)])
        await silence(store, dead, SILENT_AFTER_S + 1)
        # read before anyone marks it: the row's state already says lost
        rows = {w.id: w for w in await store.fetch_workers()}
        assert rows[dead].state == WorkerState.LOST and rows[dead].status == "running"
        assert rows[alive].state == WorkerState.RUNNING
        assert await store.mark_lost() == 1
        assert await store.mark_lost() == 0
        rows = {w.id: w for w in await store.fetch_workers()}
        assert rows[dead].status == "lost" and rows[alive].status == "running"
        counts = await store.counts(pid)
        assert (counts.workers_alive, counts.workers_lost) == (1, 1)
        assert (await store.fetch_best()).worker_id == dead
        history = await store.fetch_mse_history(worker_id=dead)
        assert [p.step for p in history] == [10, 20]
        assert [p.step for p in await store.fetch_mse_history(after_id=history[0].id)] == [20]
        await store.heartbeat(dead, run=1)             # it beats again: alive again
        assert {w.id: w.state for w in await store.fetch_workers()}[dead] == WorkerState.RUNNING


async def test_a_heartbeat_is_one_call_that_answers_what_the_worker_needs(open_store, tiny_puzzle,
                                                                          tiny_answer):
    async with await open_store() as store:
        pid, wid, other = await two_workers(store, tiny_puzzle)
        first = await store.beat(wid, Beat(1, 10, 0.5), [(1, 10, 0.6, 0.5)])
        assert first.config["restart_share"] == 0.25 and not first.exact and first.command is None
        assert first.config_version > 0
        same = await store.beat(wid, Beat(1, 20, 0.4,
                                          config_version=first.config_version))
        assert same.config is None and same.config_version == first.config_version
        await store.set_config("perturb_width", 8)
        changed = await store.beat(wid, Beat(1, 30, 0.4,
                                             config_version=first.config_version))
        assert changed.config["perturb_width"] == 8
        assert changed.config_version > first.config_version
        # commands: its own, its node's, an untargeted one; never another worker's
        theirs = await store.enqueue_command("stop", target=f"worker:{other}")
        node = await store.enqueue_command("new_run", target="node:n1")
        tool = await store.enqueue_command("inject", {"kind": "norm"})
        got = await store.beat(wid, Beat(1, 40, 0.4))
        assert (got.command.id, got.command.kind, got.command.claimed_by) == \
            (node, "new_run", f"worker:{wid}")
        assert (await store.beat(wid, Beat(1, 50, 0.4))).command is None
        assert (await store.beat(other, Beat(1, 5, 0.4))).command.id == theirs
        assert {c.id: c.status for c in await store.fetch_commands()}[tool] == "pending"
        await store.submit(tiny_puzzle, tiny_answer, origin="injected")
        assert (await store.beat(wid, Beat(2, 60, 0.3))).exact
        [row] = [w for w in await store.fetch_workers() if w.id == wid]
        assert (row.run, row.step, row.best_mse) == (2, 60, 0.3)
        assert [p.mse for p in await store.fetch_mse_history(worker_id=wid)] == [0.6]


async def test_observations_come_newest_first(open_store, tiny_puzzle):
    async with await open_store() as store:
        pid = await store.register_puzzle(tiny_puzzle)
        for i in range(3):
            await store.add_observation(pid, "healthy", f"note {i}", {"pool_size": i})
        await store.add_observation(None, "command", "inject #1: done")
        assert [o.message for o in await store.fetch_observations(2)] == \
            ["inject #1: done", "note 2"]
        mine = await store.fetch_observations(10, pid)
        assert [o.message for o in mine] == ["note 2", "note 1", "note 0"]
        assert mine[0].stats == {"pool_size": 2}


async def test_changes_notify_listeners(open_store, tiny_puzzle, tiny_answer):
    async with await open_store() as store:
        seen = asyncio.Queue()
        listener = await store.listen(seen.put_nowait)
        try:
            await store.submit(tiny_puzzle, tiny_answer, origin="injected")
            tables = set()
            while "solutions" not in tables:
                tables.add(await asyncio.wait_for(seen.get(), 5))
            await store.set_config("restart_share", 0.5)
            while "config" not in tables:
                tables.add(await asyncio.wait_for(seen.get(), 5))
        finally:
            await listener.close()
        assert listener.is_closed()


async def test_worker_samples_come_at_the_grain_and_at_each_change_of_state(open_store,
                                                                            tiny_puzzle):
    async with await open_store() as store:
        await store.set_config("history_grain_s", 3600)
        pid, w1, w2 = await two_workers(store, tiny_puzzle)
        for step in (1, 2, 3):                     # inside the grain: no new sample
            await store.beat(w1, Beat(1, step, 0.5, {"mse": 0.7}))
        await asyncio.sleep(0.01)
        mid = (await store.fetch_workers())[0].heartbeat.timestamp()
        await asyncio.sleep(0.01)
        await store.finish_worker(w1, "done", "runs done", best_mse=0.25)
        await store.mark_lost(silent_after=0.0)    # w2 never beat: lost, a change of state
        now = {s.worker_id: s for s in await store.fetch_worker_samples_at(pid, 4e9)}
        assert (now[w1].status, now[w1].best_mse, now[w1].trend) == ("done", 0.25, (0.25,))
        assert now[w2].status == "lost" and now[w2].trend == ()
        then = {s.worker_id: s for s in await store.fetch_worker_samples_at(pid, mid)}
        assert then[w1].status == "running" and then[w1].step == 0   # the grain held it
        assert await store.fetch_worker_samples_at(pid, 1e9) == []   # before anything
        await store.set_config("history_grain_s", 1)
        await store.heartbeat(w1, run=2, step=9)   # done is terminal: a beat changes nothing
        await store.heartbeat(w2, run=2, step=8)   # lost -> running: sampled at the change
        await age_sample(store, w2, 1.5)           # the grain has passed
        await store.heartbeat(w2, run=2, step=9, best_mse=0.2, progress={"mse": 0.3})
        last = {s.worker_id: s for s in await store.fetch_worker_samples_at(pid, 4e9, trend=1)}
        assert (last[w1].status, last[w1].step) == ("done", 3)
        assert (last[w2].step, last[w2].progress, last[w2].trend) == (9, {"mse": 0.3}, (0.2,))


async def test_the_solution_timeline_is_every_solution_by_time(open_store, tiny_puzzle,
                                                               tiny_answer):
    async with await open_store() as store:
        worse = await store.submit(tiny_puzzle, scrambled(tiny_answer, (0, 4)), origin="a")
        exact = await store.submit(tiny_puzzle, tiny_answer, origin="a")
        line = await store.fetch_solution_timeline(await store.current_puzzle_id())
        assert list(line.id) == [worse.id, exact.id]
        assert list(line.mse) == [worse.mse, exact.mse] and list(line.exact) == [False, True]
        assert line.at[0] <= line.at[1]
        empty = await store.fetch_solution_timeline(12345)
        assert len(empty.id) == 0


async def test_a_solution_keeps_its_lineage_and_the_records_say_what_paid(open_store, tiny_puzzle,
                                                                         tiny_answer):
    async with await open_store() as store:
        pid, w1, _ = await two_workers(store, tiny_puzzle)
        seed = await store.submit(tiny_puzzle, scrambled(tiny_answer), origin="seed:random")
        worse = await store.submit(tiny_puzzle, scrambled(tiny_answer, (0, 4)), origin="anneal")
        better = await store.submit(tiny_puzzle, tiny_answer, origin="anneal", worker_id=w1,
                                    parents=[seed.id, worse.id], run=3, method="crossover",
                                    command_id=None)
        row = await store.fetch_solution(better.id)
        assert (row.run, row.method, row.parents, row.worker_id) == (3, "crossover", [seed.id, worse.id], w1)
        records = await store.fetch_records(pid)
        assert records[0].id == seed.id and records[-1].id == better.id
        assert all(a.mse > b.mse for a, b in zip(records, records[1:]))
        with pytest.raises(SubmissionRefused, match="run must be a whole number"):
            await store.submit(tiny_puzzle, scrambled(tiny_answer, (2, 4)), origin="anneal", run="x")


async def test_a_long_command_reports_progress_and_can_be_cancelled(open_store):
    async with await open_store() as store:
        waiting = await store.enqueue_command("surgery", {"positions": [1, 40]})
        running = await store.enqueue_command("surgery", {})
        assert await store.cancel_command(waiting) == "cancelled"
        claimed = await store.claim_command("observer", ["surgery"])
        assert claimed.id == running                        # the cancelled one is never claimed
        assert await store.command_progress(running, {"piece": 1, "pieces": 3}) is False
        assert await store.cancel_command(running) == "claimed"
        assert await store.command_progress(running, {"piece": 2, "pieces": 3}) is True
        row = await store.fetch_command(running)
        assert row.progress == {"piece": 2, "pieces": 3} and row.cancel_requested
        with pytest.raises(UnknownRow):
            await store.cancel_command(999)


async def test_interventions_are_logged_and_judged(open_store, tiny_puzzle):
    async with await open_store() as store:
        pid = await store.register_puzzle(tiny_puzzle)
        first = await store.add_intervention(pid, "inject", {"kind": "jacobian"}, reason="stagnation",
                                             window_s=300, best_before=0.5, command_id=7)
        second = await store.add_intervention(pid, "knobs", {"restart_share": 0.4},
                                              reason="monoculture", window_s=300, best_before=0.5)
        await store.judge_intervention(first, 0.25)
        rows = await store.fetch_interventions(pid)
        assert [r.id for r in rows] == [first, second]
        assert rows[0].paid is True and rows[0].best_after == 0.25 and rows[0].command_id == 7
        assert rows[1].paid is None and rows[1].detail == {"restart_share": 0.4}


# ---- one truth: exact by one rule, unknown ids, the lifecycle, the book, the lease -------

async def test_a_puzzle_without_a_target_is_solved_by_the_one_rule_everywhere(open_store,
                                                                            tiny_puzzle,
                                                                            tiny_answer):
    """No target hash: the door decides "exact" by solver.puzzle.answer.is_exact, and the
    heartbeat, has_exact, the counts and the timeline all say the same."""
    from dataclasses import replace

    untargeted = replace(tiny_puzzle, target_sha256=None)
    async with await open_store() as store:
        pid, wid, _ = await two_workers(store, untargeted)
        near = await store.submit(untargeted, scrambled(tiny_answer), origin="anneal")
        assert not near.exact and not await store.has_exact(pid)
        got = await store.submit(untargeted, tiny_answer, origin="anneal", worker_id=wid)
        assert got.exact and not got.matches_target
        assert await store.has_exact(pid) and (await store.counts(pid)).exact == 1
        assert (await store.beat(wid, Beat(1, 1, 0.1))).exact
        assert list((await store.fetch_solution_timeline(pid)).exact) == [False, True]
        assert (await store.fetch_best(pid)).exact
        [answer] = [e for e in await store.fetch_events(pid) if e.kind == "answer"]
        assert answer.line.startswith(f"the exact answer is in the pool: solution #{got.id}")
        again = replace(untargeted, x=untargeted.x)     # the same puzzle, another exact arrival
        await store.submit(again, tiny_answer, origin="surgery")
        assert len([e for e in await store.fetch_events(pid) if e.kind == "answer"]) == 1


async def test_a_write_to_an_unknown_id_raises_unknown_row_and_a_read_returns_none(open_store,
                                                                                 tiny_puzzle):
    async with await open_store() as store:
        await store.register_puzzle(tiny_puzzle)
        writes = [store.heartbeat(999, run=1), store.beat(999, Beat(1, 1, 0.5)),
                  store.finish_worker(999, "done", "x"), store.record_history(999, [(1, 1, 0.5, 0.5)]),
                  store.record_exit(999, Exit(-9)), store.finish_command(999, True),
                  store.command_progress(999, {}), store.cancel_command(999),
                  store.judge_intervention(999, 0.1)]
        for write in writes:
            with pytest.raises(UnknownRow, match="999"):
                await write
        assert await store.fetch_solution(999) is None and await store.fetch_command(999) is None


async def test_the_lifecycle_keeps_terminal_states_and_an_exit_record_beats_silence(open_store,
                                                                                  tiny_puzzle):
    """The transitions of solver.pool.lifecycle, enforced by the store; each one an event."""
    async with await open_store() as store:
        pid, killed, quiet = await two_workers(store, tiny_puzzle)
        assert await store.record_exit(killed, Exit(-9))           # kill -9: crashed at once
        await store.heartbeat(killed, run=5)                       # a late beat revives nothing
        assert await store.mark_lost(silent_after=0.0) == 1         # only the quiet one
        rows = {w.id: w for w in await store.fetch_workers(pid)}
        assert rows[killed].status == "crashed" and "SIGKILL" in rows[killed].exit_reason
        assert rows[quiet].status == "lost"
        assert await store.record_exit(quiet, Exit(0, stopped=True))  # the record comes later
        assert not await store.finish_worker(quiet, "done", "too late")  # terminal stays
        rows = {w.id: w for w in await store.fetch_workers(pid)}
        assert rows[quiet].status == "stopped"
        lines = [e.line for e in await store.fetch_events(pid) if e.kind == "worker"]
        assert lines == ["worker 111 on n1 started", "worker 222 on n2 started",
                         "worker 111 on n1 running -> crashed: killed by SIGKILL (-9)",
                         "worker 222 on n2 running -> lost: no heartbeat for 0 s",
                         "worker 222 on n2 lost -> stopped: exit 0: stopped on request"]


async def test_one_observer_holds_the_lease_until_it_stops_renewing_it(open_store):
    async with await open_store() as store:
        assert await store.fetch_lease() is None
        first = await store.acquire_lease("alpha", 11, 1, ttl_s=60)
        assert first.holder == "alpha/11" and first.live(60)
        second = await store.acquire_lease("beta", 22, 1, ttl_s=60)
        assert second.holder == "alpha/11"                     # held: beta stands by
        assert (await store.acquire_lease("alpha", 11, 1, ttl_s=60)).acquired_at == first.acquired_at
        # alpha's last renewal is older than a time to live of 0 s: it has lapsed
        taken = await store.acquire_lease("beta", 22, 2, ttl_s=0.0)
        assert (taken.holder, taken.puzzle_id) == ("beta/22", 2)
        await store.release_lease("alpha", 11)                 # not alpha's any more: no-op
        assert (await store.fetch_lease()).holder == "beta/22"
        await store.release_lease("beta", 22)
        assert await store.fetch_lease() is None


async def test_the_event_book_is_in_time_order_per_puzzle_plus_the_fleets(open_store, tiny_puzzle):
    async with await open_store() as store:
        pid = await store.register_puzzle(tiny_puzzle)
        await store.add_event("stop", "stop here/0", source="operator", at=T_BOOK + 30)
        await store.add_event("inject", "inject norm", source="operator", puzzle_id=pid,
                              at=T_BOOK + 10)
        await store.add_event("inject", "another puzzle's", source="operator", puzzle_id=pid + 1,
                              at=T_BOOK + 20)
        assert await store.add_event("answer", "once", source="pool", once_key="k") is not None
        assert await store.add_event("answer", "twice", source="pool", once_key="k") is None
        mine = [e.text for e in await store.fetch_events(pid) if e.kind != "answer"]
        assert mine == ["inject norm", "stop here/0"]          # by time, not by id
        everyone = await store.fetch_events()
        assert len(everyone) == 4
        last = max(e.id for e in everyone)
        assert await store.fetch_events(after_id=last) == []
        with pytest.raises(ValueError):
            await store.add_event("no such kind", "x", source="operator")


T_BOOK = 1_800_000_000.0
