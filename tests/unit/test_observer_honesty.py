"""The observer's word and deeds (issue 9): healthy only within its window, solved never
read as stagnation, every intervention logged and judged; surgery that covers the whole
range it is given, in pieces, reports its progress and can be cancelled."""
from __future__ import annotations

from datetime import timedelta

import pytest

from solver.pool import MemoryStore
from solver.tools import observe as obs
from solver.tools.interventions import describe, report
from solver.tools.observer import Observer
from solver.tools.surgery import MAX_WINDOW, plan_pieces
from tests.fixture_puzzles import numpy_puzzle
from tests.helpers import damaged

pytestmark = pytest.mark.timeout(120)
KNOBS = {"restart_share": 0.25, "perturb_width": 6.0}


def stats(**kw):
    base = dict(pool_size=50, best_mse=0.1, best_age_s=10.0, workers_alive=3, workers_lost=0,
                diversity=0.4, top_k=20)
    return obs.FleetStats(**{**base, **kw})




def test_healthy_only_when_the_best_fell_within_the_window():
    kind, _, reasons = obs.decide(stats(best_age_s=100), KNOBS, stagnation_s=120)
    assert kind == "healthy" and "within 120 s" in reasons[0]
    kind, _, reasons = obs.decide(stats(best_age_s=130), KNOBS, stagnation_s=120)
    assert kind == "stagnation" and "over 120 s" in reasons[0]
    assert obs.decide(stats(best_age_s=None), KNOBS)[0] == "starting"


def test_a_monoculture_is_told_apart_from_stagnation():
    kind, _, reasons = obs.decide(stats(diversity=0.01, best_age_s=5), KNOBS, stagnation_s=120)
    assert kind == "monoculture" and "within" in reasons[1]       # still improving, but alike
    kind, _, _ = obs.decide(stats(diversity=0.01, best_age_s=500), KNOBS, stagnation_s=120)
    assert kind == "monoculture"
    assert obs.decide(stats(diversity=0.4, best_age_s=500), KNOBS, stagnation_s=120)[0] == "stagnation"


def test_a_solved_pool_is_solved_never_stagnant_and_its_knobs_stay():
    for age in (5, 10_000):
        kind, changes, reasons = obs.decide(stats(best_age_s=age, diversity=0.0, solved=True), KNOBS,
                                            stagnation_s=60)
        assert (kind, changes) == ("solved", {}) and "exact answer" in reasons[0]


async def test_the_observer_on_a_solved_puzzle_says_solved_and_acts_not(tiny_puzzle, tiny_answer):
    now = [1_000_000.0]
    store = MemoryStore(clock=lambda: now[0])
    pid = await store.register_puzzle(tiny_puzzle)
    await store.register_worker(pid, "n1", 1)
    await store.submit(tiny_puzzle, tiny_answer, origin="anneal")
    now[0] += 10_000                                  # long past any stagnation window
    observer = Observer(store, tiny_puzzle, obs.Policy(stagnation_s=60, auto=True, silent_after_s=1e9))
    await observer.start()
    kinds = [await observer.cycle(n) for n in (1, 2, 3)]
    assert kinds == ["solved"] * 3
    assert {o.kind for o in await store.fetch_observations()} == {"solved"}
    # said once in the event book, not at every look
    said = [e.line for e in await store.fetch_events(pid) if e.kind == "observe"]
    assert len(said) == 1 and said[0].startswith("solved")
    assert await store.fetch_interventions(pid) == [] and await store.fetch_commands() == []


async def test_every_intervention_is_logged_and_judged_with_before_and_after(tiny_puzzle, tiny_answer):
    """A stagnant pool: the observer widens the knobs and queues a surgery (auto); both are
    logged with the best before; once their window is over, with the best after."""
    now = [1_000_000.0]                               # one clock for the pool and the observer
    store = MemoryStore(clock=lambda: now[0])
    pid = await store.register_puzzle(tiny_puzzle)
    await store.register_worker(pid, "n1", 1)
    broken = damaged(tiny_puzzle, tiny_answer, ("swap", 0, 2))
    first = await store.submit(tiny_puzzle, broken, origin="anneal")
    for s in store.solutions.values():                # its last improvement, an hour ago
        store.solutions[s.id] = type(s)(**{**s.__dict__, "created_at": s.created_at - timedelta(hours=1)})
    policy = obs.Policy(stagnation_s=60, cooldown_s=0, auto=True, judge_after_s=0.5, silent_after_s=1e9)
    observer = Observer(store, tiny_puzzle, policy, clock=lambda: now[0])
    await observer.start()
    assert await observer.cycle(1) == "stagnation"
    assert await observer.run_commands("observer/1") == 1      # the surgery it queued
    logged = await store.fetch_interventions(pid)
    assert [i.kind for i in logged] == ["knobs", "surgery"]
    assert all(i.best_before == first.mse and i.judged_at is None for i in logged)
    surgery = next(c for c in await store.fetch_commands() if c.kind == "surgery")
    assert surgery.status == "done" and surgery.result["ranges"] and logged[1].command_id == surgery.id
    now[0] += 0.6                                     # past the window: time to judge
    await observer.cycle(2)
    judged = await store.fetch_interventions(pid)
    assert all(i.judged_at is not None for i in judged[:2])
    assert judged[1].best_after < judged[1].best_before and judged[1].paid   # the surgery fixed it
    rep = await report(store, pid)
    assert rep["interventions"]["surgery"] == {"attempts": 1, "judged": 1, "paid": 1, "share": 1.0,
                                               "median_drop": pytest.approx(1.0, abs=1e-6)}
    assert rep["records_by_method"]["surgery"] == 1 and "surgery" in describe(rep)


def test_pieces_cover_the_range_and_overlap():
    pieces = plan_pieces(1, 40)
    assert pieces[0] == (1, MAX_WINDOW) and pieces[-1][1] == 40
    assert all(b - a + 1 <= MAX_WINDOW for a, b in pieces)
    assert all(b2 >= a2 and a2 <= b1 for (_, b1), (a2, b2) in zip(pieces, pieces[1:]))   # no gap
    covered = set().union(*(range(a, b + 1) for a, b in pieces))
    assert covered == set(range(1, 41))
    assert plan_pieces(1, 40, targets=[3, 39]) == [pieces[0], pieces[-1]]


async def test_surgery_over_a_range_larger_than_one_piece_covers_all_of_it(medium_puzzle):
    """Two damages far apart on a 12-block puzzle cut in pieces of 6: the command reports
    every piece as it goes, its ranges cover 1-12, and both damages are repaired (the
    piece that gains most first: a descent in a right prefix would "compensate" for the
    damage downstream)."""
    from solver.puzzle.answer import parse_permutation
    from solver.puzzle.files import load_puzzle

    puzzle = load_puzzle(medium_puzzle)
    answer = parse_permutation((medium_puzzle / "answer.txt").read_text())
    store = MemoryStore()
    await store.submit(puzzle, damaged(puzzle, answer, ("swap", 1, 2), ("swap", 9, 10)), origin="anneal")
    cid = await store.enqueue_command("surgery", {"positions": [1, 12], "max_cycle": 2, "piece_blocks": 6})
    seen: list[dict] = []
    progress = store.command_progress

    async def recording(command_id, p):
        seen.append(dict(p))
        return await progress(command_id, p)
    store.command_progress = recording
    observer = Observer(store, puzzle, obs.Policy(silent_after_s=1e9))
    await observer.start()
    await observer.run_commands("observer/1")
    result = (await store.fetch_command(cid)).result
    assert result["ranges"] == [[1, 6], [5, 10], [9, 12]] and result["complete"]
    assert seen[0]["message"] == "piece 1/3: blocks 1-6 of 1-12 (scan)"
    assert {tuple(p["blocks"]) for p in seen} == {(1, 6), (5, 10), (9, 12)}
    assert (await store.fetch_command(cid)).progress == seen[-1]
    assert result["improved"] and (await store.fetch_best()).permutation == answer
    assert "covered 1-6, 5-10, 9-12" in result["message"]


async def test_a_long_surgery_stops_when_its_command_is_cancelled():
    puzzle, answer = numpy_puzzle(blocks=30, dim=6, hidden=8, rows=96, seed=4)
    store = MemoryStore()
    await store.submit(puzzle, damaged(puzzle, answer, ("swap", 1, 2)), origin="anneal")
    cid = await store.enqueue_command("surgery", {"positions": [1, 30], "max_cycle": 3})
    progress = store.command_progress

    async def cancel_after_first(command_id, p):
        if p["piece"] == 2:
            await store.cancel_command(command_id)
        return await progress(command_id, p)
    store.command_progress = cancel_after_first
    observer = Observer(store, puzzle, obs.Policy(silent_after_s=1e9))
    await observer.start()
    await observer.run_commands("observer/1")
    command = await store.fetch_command(cid)
    assert command.result["cancelled"] and command.result["ranges"] == [[1, 14]]
    assert "cancelled" in command.result["message"] and command.cancel_requested
