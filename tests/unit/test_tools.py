"""The operator tools against a real pool: inject, zones, breakpoints, surgery, observe."""
from __future__ import annotations

from solver.pool import MemoryStore
from solver.tools import observe as obs
from solver.tools.observer import observe
from solver.tools.breakpoints import find_breakpoints
from solver.tools.inject import inject
from solver.tools.surgery import surgery, surgery_on_pool, window_moves
from solver.tools.zones import zone_map
from tests.helpers import damaged




async def test_inject_stores_seeds_with_their_origin(puzzle, answer, tmp_path):
    async with MemoryStore() as store:
        report = await inject(store, puzzle, "random", count=3, seed=1)
        assert report["ok"] and len(report["stored"]) == 3
        again = await inject(store, puzzle, "structural")
        assert again["ok"]
        file = tmp_path / "answers.txt"
        file.write_text(f"# from the notebook\n{','.join(map(str, answer))}\n1,2,3\n")
        from_file = await inject(store, puzzle, "file", path=file)
        assert not from_file["ok"] and len(from_file["refused"]) == 1
        origins = {s.origin for s in await store.fetch_top(100)}
        assert origins == {"seed:random", "seed:structural", "injected"}
        assert (await store.fetch_best()).matches_target


def test_zones_classify_with_stated_thresholds():
    best = [0, 1, 2, 3, 4, 5, 6]          # three blocks and the last piece
    other = [0, 1, 4, 5, 2, 3, 6]         # blocks 2 and 3 swapped
    zm = zone_map(best, [best] * 6 + [other] * 1)
    assert zm.zones == ("locked", "mixed", "mixed")
    zm = zone_map(best, [best] * 1 + [other] * 3)
    assert zm.zones == ("mixed", "uncertain", "uncertain")  # too few votes to lock
    assert zm.runs() == [(1, 1, "mixed"), (2, 3, "uncertain")]


def test_breakpoints_find_a_misplaced_block(puzzle, answer):
    exact = find_breakpoints(puzzle, answer)
    assert exact.mse < 1e-10 and exact.removable == ()
    bad = find_breakpoints(puzzle, damaged(puzzle, answer, ("insert", 0, 4)))
    assert bad.mse > 1e-6 and len(bad.cosines) == puzzle.n_blocks - 1
    assert bad.removable or bad.against


def test_window_moves_keep_locked_positions():
    moves = window_moves(0, 5, locked={2}, max_cycle=3)
    for move in moves:
        touched = set(range(min(move[1:]), max(move[1:]) + 1)) if move[0] == "insert" else set(move[1:])
        assert 2 not in touched
    assert any(m[0] == "cycle" for m in moves) and not any(m[0] == "cycle" for m in window_moves(0, 5, set(), 2))


def test_surgery_repairs_a_local_damage(puzzle, answer):
    for damage in [("cycle", 1, 2, 3)], [("insert", 0, 4)], [("pair", 4, 5)]:
        broken = damaged(puzzle, answer, *damage)
        result = surgery(puzzle, broken, 0, puzzle.n_blocks - 1)
        assert result.improved and result.permutation == answer and result.mse < 1e-10, damage


async def test_surgery_on_pool_pushes_its_improvement(puzzle, answer):
    async with MemoryStore() as store:
        broken = damaged(puzzle, answer, ("swap", 1, 3))
        parent = await store.submit(puzzle, broken, origin="anneal")
        report = await surgery_on_pool(store, puzzle, (1, puzzle.n_blocks))
        assert report["improved"] and report["new"]
        best = await store.fetch_best()
        assert best.origin == "surgery" and best.parents == [parent.id] and best.matches_target


def stats(**kw):
    base = dict(pool_size=50, best_mse=0.1, best_age_s=10.0, workers_alive=3, workers_lost=0,
                diversity=0.4, top_k=20)
    return obs.FleetStats(**{**base, **kw})


KNOBS = {"restart_share": 0.25, "perturb_width": 6.0}


def test_observer_breaks_monoculture_within_limits():
    kind, changes, reasons = obs.decide(stats(diversity=0.01), KNOBS)
    assert kind == "monoculture" and changes == {"restart_share": 0.4, "perturb_width": 9.0}
    assert "0.05" in reasons[0] or "5%" in reasons[0]
    _, changes, _ = obs.decide(stats(diversity=0.0), {"restart_share": 0.95, "perturb_width": 190.0})
    assert changes == {"restart_share": 1.0, "perturb_width": 200.0}


def test_observer_widens_on_stagnation_and_relaxes_when_healthy():
    kind, changes, _ = obs.decide(stats(best_age_s=3600), KNOBS)
    assert kind == "stagnation" and changes["perturb_width"] == 8.0
    kind, changes, _ = obs.decide(stats(), {"restart_share": 0.75, "perturb_width": 16.0})
    assert kind == "healthy" and changes == {"restart_share": 0.65, "perturb_width": 14.0}
    assert obs.decide(stats(), KNOBS)[1] == {}


def test_observer_holds_the_knobs_without_workers_and_in_cooldown():
    kind, changes, reasons = obs.decide(stats(diversity=0.01, workers_alive=0), KNOBS)
    assert kind == "monoculture" and changes == {} and "no worker is alive" in reasons[-1]
    _, changes, reasons = obs.decide(stats(best_age_s=3600), KNOBS, since_change_s=60, cooldown_s=300)
    assert changes == {} and "cooldown" in reasons[-1]
    assert obs.decide(stats(best_age_s=3600), KNOBS, since_change_s=400, cooldown_s=300)[1]


def test_diversity_of_identical_and_different_arrangements():
    a, b = [0, 1, 2, 3, 4], [2, 3, 0, 1, 4]
    assert obs.diversity([a, a, a]) == 0.0
    assert obs.diversity([a, b]) == 1.0
    assert obs.diversity([a]) is None


async def test_observer_cycle_writes_an_observation_and_runs_queued_tools(puzzle, answer):
    async with MemoryStore() as store:
        for _ in range(4):  # a monoculture: the same damaged answer from four "workers"
            await store.submit(puzzle, damaged(puzzle, answer, ("swap", 0, 1)), origin="anneal")
        cid = await store.enqueue_command("inject", {"method": "random"})
        await observe(store, puzzle, obs.Policy(interval=0), cycles=1)
        observations = await store.fetch_observations()
        assert any(o.kind in ("monoculture", "healthy", "stagnation") and o.stats["pool_size"] == 1
                   for o in observations)
        done = next(c for c in await store.fetch_commands() if c.id == cid)
        assert done.status == "done" and "inject random" in done.result["message"]
        ended = [e.line for e in await store.fetch_events() if e.command_id == cid]
        assert any(line.startswith(f"inject #{cid} started by the observer") for line in ended)
        assert any(line.startswith(f"inject #{cid} done: inject random") for line in ended), ended
