"""`jstui replay` against a real PostgreSQL pool filled with a scripted run (known times
and values): the screen at chosen times, seeking both ways, the keys, the cast export."""
from __future__ import annotations

import io
import json
import re
from datetime import datetime, timezone

import pytest

from jstui.replay.app import ReplayApp
from jstui.replay.cast import export_cast, frame_times, render_frames
from jstui.replay.run import ReplayError, load_run
from jstui.replay.source import ReplaySource
from jstui.present import fmt_mse
from solver.pool import connect
from solver.pool.lifecycle import WorkerState
from solver.tools.zones import zone_map

T0 = 1_790_000_000.0
# Swaps of two inp (even) or two out (odd) slots: each a valid, distinct arrangement.
SWAPS = [(0, 6), (1, 7), (0, 4), (2, 6), (1, 5), (0, 2), (3, 5)]
ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")


def at(seconds: float) -> datetime:
    return datetime.fromtimestamp(T0 + seconds, tz=timezone.utc)


async def script_run(store, puzzle, answer) -> dict:
    """Solutions every 10 s from +10; worker 'atlas' done at +60, 'mac' silent from +40;
    an observer note at +35. Returns what the screen should show."""
    pid = await store.register_puzzle(puzzle, name="scripted")
    sql = store._pool.execute
    mses = []
    for i, (a, b) in enumerate(SWAPS):
        perm = list(answer)
        perm[a], perm[b] = perm[b], perm[a]
        sub = await store.submit(puzzle, perm, origin="anneal")
        await sql("UPDATE solutions SET created_at = $2 WHERE id = $1", sub.id, at(10 * (i + 1)))
        mses.append(sub.mse)
    atlas = await store.register_worker(pid, "atlas", 101)
    mac = await store.register_worker(pid, "mac", 202)
    await store.finish_worker(atlas, "done", "scripted")
    await sql("UPDATE workers SET status = 'lost' WHERE id = $1", mac)
    for wid, beat in ((atlas, 60), (mac, 40)):
        await sql("UPDATE workers SET started_at = $2, heartbeat = $3 WHERE id = $1",
                  wid, at(0), at(beat))
    await sql("DELETE FROM worker_history")       # the triggers' samples and events: at
    await sql("DELETE FROM events")               # real times, not the script's
    samples = [(atlas, 0, 0, "running", None), (atlas, 30, 30, "running", 0.5),
               (atlas, 60, 60, "done", 0.4), (mac, 0, 0, "running", None),
               (mac, 40, 40, "running", 0.9)]
    for wid, t, beat, status, best in samples:
        await sql("""INSERT INTO worker_history (worker_id, puzzle_id, at, heartbeat, status,
                     run, step, best_mse, progress) VALUES ($1, $2, $3, $4, $5, 1, $6, $7,
                     '{"mse": 0.75}')""", wid, pid, at(t), at(beat), status, t * 10, best)
    await store.add_event("knobs", "restart_share 0.25 -> 0.3", source="observer",
                          puzzle_id=pid, at=T0 + 35)
    return {"pid": pid, "mses": mses}


@pytest.fixture
async def scripted(fresh_dsn, tiny_puzzle, tiny_answer):
    store = await connect(fresh_dsn, max_size=2)
    facts = await script_run(store, tiny_puzzle, tiny_answer)
    run = await load_run(store, facts["pid"], "scripted (N=4)")
    yield store, run, facts
    await store.close()


def best_until(mses, seconds: float) -> float:
    return min(m for i, m in enumerate(mses) if 10 * (i + 1) <= seconds)


async def test_the_screen_at_chosen_times_and_seeking_back(scripted, tiny_puzzle):
    store, run, facts = scripted
    source = ReplaySource(store, run, playing=False)
    assert (run.start, run.end) == (T0, T0 + 70)
    early = await source.frame(T0 + 25)
    assert early.solutions == 2 and early.best_mse == best_until(facts["mses"], 25)
    assert {w.node: w.state for w in early.workers} == {"atlas": WorkerState.RUNNING,
                                                        "mac": WorkerState.RUNNING}
    assert early.zones is not None and early.zones.k == 2 and not early.zones.judged
    assert early.events == ()
    gap = await source.frame(T0 + 35)   # mac's last sample: 35 s old, but its next at +40
    assert {w.node: w.state for w in gap.workers}["mac"] == WorkerState.RUNNING
    late = await source.frame(T0 + 75)
    assert late.solutions == 7 and late.best_mse == best_until(facts["mses"], 75)
    states = {w.node: w for w in late.workers}
    assert states["atlas"].state == WorkerState.DONE and states["atlas"].best_mse == 0.4
    assert states["mac"].state == WorkerState.LOST     # silent for 35 s by then
    assert states["atlas"].history == (0.5, 0.4) and states["atlas"].mse == 0.75
    top = await store.fetch_top(20, facts["pid"])
    assert late.zones == zone_map(top[0].permutation, [s.permutation for s in top], top[0].id)
    assert [e.text for e in late.events] == ["restart_share 0.25 -> 0.3"]
    assert [t for t, _ in late.best_history] == sorted(t for t, _ in late.best_history)
    again = await source.frame(T0 + 25)                  # back in time: the same screen
    assert again == early


async def test_keys_step_pause_speed_and_jump_to_an_mse(scripted):
    store, run, facts = scripted
    source = ReplaySource(store, run, speed=10, playing=False)
    app = ReplayApp(source)
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.pause()
        for _ in range(3):
            await pilot.press("right")
        await pilot.pause(0.2)
        assert source.t == T0 + 30 and app.snapshot.taken_at == T0 + 30
        assert app.snapshot.best_mse == best_until(facts["mses"], 30)
        await pilot.press("left")
        await pilot.pause(0.2)
        assert app.snapshot.taken_at == T0 + 20 and app.snapshot.solutions == 2
        await pilot.press("right_square_bracket")
        assert source.speed == 30
        await pilot.press("left_square_bracket", "left_square_bracket")
        assert source.speed == 5
        target = sorted(facts["mses"])[1]                # the second best of the run
        await pilot.press("g")
        await pilot.pause()
        await pilot.press(*str(target), "enter")
        await pilot.pause(0.2)
        reached = 10 * (1 + min(i for i, m in enumerate(facts["mses"]) if m <= target))
        assert source.t == T0 + reached and app.snapshot.best_mse <= target
        await pilot.press("space")
        assert source.playing
        await pilot.press("r")                            # a replay never acts on a fleet
        await pilot.pause()
        said = str(list(app._notifications)[-1].message)
        assert said == "read-only: a replay cannot relaunch the selected node's workers"
        footer_keys = {b.key for _, b, _, _ in app.screen.active_bindings.values() if b.show}
        assert {"left", "right", "space", "g", "q"} <= footer_keys
        assert not {"r", "R", "k", "i", "s"} & footer_keys      # its keys are its own


async def test_the_cast_export_is_valid_and_replays_the_same_frames(scripted):
    store, run, facts = scripted
    buffer = io.StringIO()
    count, step = await export_cast(ReplaySource(store, run, speed=10), buffer, (100, 30))
    lines = buffer.getvalue().splitlines()
    header = json.loads(lines[0])
    assert header["version"] == 2 and (header["width"], header["height"]) == (100, 30)
    assert isinstance(header["timestamp"], int) and step == 10
    events = [json.loads(line) for line in lines[1:]]
    assert len(events) == count == 8                       # +0, +10, ... +70
    assert all(len(e) == 3 and e[1] == "o" and isinstance(e[2], str) for e in events)
    assert [e[0] for e in events] == sorted(e[0] for e in events)
    times, _ = frame_times(run.start, run.end, 10)
    again = [f async for f in render_frames(ReplaySource(store, run, speed=10), times, (100, 30))]
    assert [e[2].split("\x1b[H", 1)[1] for e in events] == again
    text = ANSI.sub("", events[4][2])                      # +40: four solutions
    assert fmt_mse(best_until(facts["mses"], 40)) in text and "4 solutions" in text


async def test_a_puzzle_without_solutions_is_one_sentence(fresh_dsn, tiny_puzzle):
    store = await connect(fresh_dsn, max_size=2)
    try:
        pid = await store.register_puzzle(tiny_puzzle, name="empty")
        with pytest.raises(ReplayError, match="no solution of it"):
            await load_run(store, pid, "empty (N=4)")
    finally:
        await store.close()


def test_bad_input_is_one_sentence_and_exit_2(tmp_path, capsys, fresh_dsn):
    from jstui.__main__ import main

    assert main(["replay", "--dsn", fresh_dsn, "--export", str(tmp_path / "no" / "x.cast")]) == 2
    assert "--export" in capsys.readouterr().err
    assert main(["replay", "--dsn", fresh_dsn, "--speed", "0"]) == 2
    assert "--speed" in capsys.readouterr().err
    assert main(["replay", "--dsn", fresh_dsn]) == 2
    assert "holds no puzzle" in capsys.readouterr().err


def test_the_command_exports_a_cast_of_the_pools_run(fresh_dsn, tiny_puzzle, tiny_answer,
                                                      tmp_path, capsys):
    import asyncio

    from jstui.__main__ import main

    async def fill():
        store = await connect(fresh_dsn, max_size=2)
        try:
            await script_run(store, tiny_puzzle, tiny_answer)
        finally:
            await store.close()

    asyncio.run(fill())
    out = tmp_path / "run.cast"
    assert main(["replay", "--dsn", fresh_dsn, "--export", str(out), "--speed", "30",
                 "--size", "90x30"]) == 0
    assert "4 frames" in capsys.readouterr().err          # +0, +30, +60 and the end, +70
    lines = out.read_text().splitlines()
    assert json.loads(lines[0])["title"] == "jstui replay scripted (N=4)"
    assert len(lines) == 1 + 4


async def test_the_event_book_replays_in_order_to_the_end_and_refusals_are_toasts(tiny_puzzle,
                                                                                tiny_answer):
    """Every kind of event the live screen showed (operator actions, fleet, observer,
    worker transitions, the answer) comes back in time order whatever order it was
    written in; the end frame still holds the answer; a refused key is a toast, not a
    line of the run."""
    from solver.pool import MemoryStore

    now = [T0]
    store = MemoryStore(clock=lambda: now[0])
    pid = await store.register_puzzle(tiny_puzzle, name="scripted")
    wrong = list(tiny_answer)
    wrong[0], wrong[6] = wrong[6], wrong[0]
    now[0] = T0 + 10
    await store.submit(tiny_puzzle, wrong, origin="anneal")
    now[0] = T0 + 12
    wid = await store.register_worker(pid, "atlas", 101)            # worker started at +12
    await store.add_event("relaunch", "relaunch all: 2 started", source="operator", at=T0 + 30)
    await store.add_event("inject", "inject norm: queued as command #1", source="operator",
                          at=T0 + 20)                               # stored late, happened earlier
    await store.add_event("node", "node far down: refused", source="fleet", at=T0 + 25)
    now[0] = T0 + 40
    await store.submit(tiny_puzzle, tiny_answer, origin="anneal", worker_id=wid)  # the answer
    now[0] = T0 + 45
    await store.finish_worker(wid, "solved", "it found the exact answer")
    run = await load_run(store, pid, "scripted (N=4)")
    source = ReplaySource(store, run, playing=False)
    end = await source.frame(run.end)
    times = [e.at - T0 for e in end.events]
    assert times == sorted(times) == [12, 20, 25, 30, 40, 45]
    texts = [e.text for e in end.events]
    assert texts[1].startswith("inject norm") and texts[2].startswith("node far down")
    assert texts[4].startswith("the exact answer is in the pool") and end.solved
    assert "solved" in texts[5]
    back = await source.frame(T0 + 26)
    assert [e.at - T0 for e in back.events] == [12, 20, 25]
    app = ReplayApp(source)
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.pause()
        await pilot.press("k")
        await pilot.pause()
        assert "read-only" in str(list(app._notifications)[-1].message)
        from jstui.widgets import EventLog
        assert not any("read-only" in line.text for line in app.query_one(EventLog).lines)
