"""From pool rows and fleet status to a snapshot (jstui.assemble), and what the screen
makes of it (formats, columns, the chart's shape): pure functions, no UI, no database."""
from jstui.assemble import History, summarise_nodes
from jstui.snapshot import NodeView, Snapshot, WorkerView, newly_solved
from jstui.widgets.chart import chart_data, steps, upper_fence
from jstui.widgets.columns import filter_workers, sort_workers
from jstui.present import fmt_age, fmt_mse, fmt_rate, fmt_trend, sparkline, spans_decades
from solver.pool.lifecycle import WorkerState

LOST, DONE, CRASHED = WorkerState.LOST, WorkerState.DONE, WorkerState.CRASHED


def test_zones_are_the_solver_tools_rule_on_block_pairs():
    from solver.tools.zones import LOCKED, MIXED, UNCERTAIN, zone_map

    best = [0, 1, 2, 3, 4, 5, 6, 7, 8]                     # four blocks and the last piece
    top = [best, [0, 1, 2, 3, 6, 7, 4, 5, 8], [0, 1, 4, 5, 2, 3, 6, 7, 8], best]
    zm = zone_map(best, top)
    assert zm.shares == (1.0, 0.75, 0.5, 0.75) and zm.k == 4
    assert zm.zones == (MIXED,) * 4 and not zm.judged      # four votes lock nothing
    zm = zone_map(best, top + [best] * 6)
    assert zm.zones == (LOCKED, LOCKED, MIXED, LOCKED)      # 9 of 10 lock, 8 do not
    zm = zone_map(best, [best] + [[2, 3, 0, 1, 6, 7, 4, 5, 8]] * 5)
    assert zm.runs() == [(1, 4, UNCERTAIN)] and zm.positions(UNCERTAIN) == [1, 2, 3, 4]


def test_sparkline_uses_log_scale_when_values_span_decades():
    assert spans_decades([1e-1, 1e-5])
    assert not spans_decades([0.11, 0.10])
    line = sparkline([1e-1, 1e-2, 1e-3, 1e-4], width=10)
    assert line == "█▆▃▁"           # evenly spaced on a log axis
    assert sparkline([0.1, 0.1], width=5) == "▅▅"
    assert sparkline([], width=5) == ""
    assert len(sparkline(list(range(1, 100)), width=8)) == 8


def test_number_formats_are_short_and_stable():
    assert fmt_mse(None) == "-"
    assert fmt_mse(0.1123456) == "0.11235"
    assert fmt_mse(1.5e-14) == "1.500e-14"
    assert fmt_age(5) == "5s"
    assert fmt_age(245) == "4m05s"
    assert fmt_age(3 * 3600 + 12 * 60) == "3h12m"
    assert fmt_age(2 * 86400 + 4 * 3600) == "2d04h"
    assert fmt_rate(12345) == "12k"
    assert fmt_rate(1234) == "1.2k"
    assert fmt_rate(None) == "-"


def test_the_chart_clips_the_first_outliers_and_says_so():
    t0 = 1_000_000.0
    history = [(t0, 3e5), (t0 + 60, 0.1), (t0 + 120, 0.05), (t0 + 600, 0.01), (t0 + 900, 0.008)]
    data = chart_data(history, now=t0 + 1200)
    assert data.log and data.clipped == 1 and data.unit == "minutes"
    assert data.xs[0] == -20.0 and data.xs[-1] == 0.0        # minutes before now
    assert max(data.ys) == data.top < 2                      # 3e5 (5.5 in log10) at the edge
    assert data.note == "1 early point above 3.2 drawn at the top edge"
    assert data.title == "pool best MSE over time (log scale)"
    # a search without a wild start is drawn as it is
    calm = chart_data([(t0, 0.1), (t0 + 10, 0.05), (t0 + 20, 0.04), (t0 + 30, 0.03)], t0 + 40)
    assert calm.clipped == 0 and calm.top is None and calm.unit == "seconds"
    assert upper_fence([1.0, 2.0]) is None                   # too few points to call outliers
    assert steps([(5.0, 2.0), (1.0, 3.0)], now=9.0) == [(1.0, 3.0), (5.0, 3.0), (5.0, 2.0),
                                                          (9.0, 2.0)]
    assert chart_data([], now=t0).xs == ()


def _workers():
    return [
        WorkerView(key="a1", node="alpha", pid=11, run=1, best_mse=0.02,
                   progress={"evals_per_s": 100}, age=2),
        WorkerView(key="a2", node="alpha", pid=12, run=1, best_mse=0.01,
                   progress={"evals_per_s": 50}, state=LOST, age=500),
        WorkerView(key="b1", node="beta", pid=21, run=3, best_mse=None,
                   progress={"evals_per_s": 80}, age=1),
    ]


def test_sort_and_filter_workers():
    ws = _workers()
    assert [w.key for w in sort_workers(ws, "best")] == ["a2", "a1", "b1"]
    assert [w.key for w in sort_workers(ws, "rate")] == ["a1", "b1", "a2"]
    assert [w.key for w in sort_workers(ws, "state")] == ["a1", "b1", "a2"]
    assert [w.key for w in filter_workers(ws, "alpha lost")] == ["a2"]
    assert [w.key for w in filter_workers(ws, "run3")] == ["b1"]
    assert len(filter_workers(ws, "  ")) == 3


def test_summarise_nodes_counts_only_running_workers():
    nodes = [NodeView("alpha", "up", workers_expected=2),
             NodeView("gamma", "down", reason="ssh: refused")]
    alpha, gamma = summarise_nodes(nodes, _workers())
    assert (alpha.workers_running, alpha.evals_per_s, alpha.heartbeat_age) == (1, 100, 2)
    assert (gamma.workers_running, gamma.up, gamma.reason) == (0, False, "ssh: refused")


def test_newly_solved_fires_once_and_only_for_the_same_puzzle():
    unsolved, solved = Snapshot(taken_at=1, puzzle_id=1), Snapshot(taken_at=2, solved=True, puzzle_id=1)
    assert newly_solved(unsolved, solved)
    assert not newly_solved(None, solved)          # solved before the screen opened
    assert not newly_solved(solved, solved)
    other = Snapshot(taken_at=3, solved=True, puzzle_id=2)
    assert not newly_solved(unsolved, other)       # switching to a solved puzzle: no bell


def test_history_is_bounded_and_spaced_in_time():
    h = History(length=3, spacing=5.0)
    for t, v in enumerate([5, 4, 3, 2, float("nan"), None]):
        series = h.add("w", v, now=10.0 * t)
    assert series == (4, 3, 2)
    h = History(spacing=5.0)
    for t, v in [(0, 9), (1, 8), (2, 7), (6, 6)]:
        series = h.add("w", v, now=t)
    assert series == (7, 6)         # 8 and 7 fell inside the first sample's 5 s


# ---- joining pool rows and fleet processes (real row types, no database) -----------

def worker_row(id, node, pid, status, age, best=None):
    from datetime import datetime, timezone

    from solver.pool.rows import WorkerRow

    t0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
    progress = {"mse": best * 1.1, "temperature": 1e-3, "evals_per_s": 900.0} if best else {}
    return WorkerRow(id=id, puzzle_id=1, node=node, pid=pid, status=status, run=2, step=1000,
                     best_mse=best, progress=progress, config_version=1, heartbeat=t0,
                     started_at=t0, finished_at=None, exit_reason=None, heartbeat_age_s=age)


def _rows():
    from datetime import datetime, timedelta, timezone

    from solver.pool.rows import SolutionRow

    t0 = datetime(2026, 1, 1, tzinfo=timezone.utc)

    workers = [worker_row(1, "here", 11, "running", 2.0, 0.01),    # fleet: crashed
               worker_row(2, "here", 12, "running", 200.0, 0.02),  # silent: lost
               worker_row(3, "far", 31, "done", 10.0, 0.03),
               worker_row(4, "far", 32, "done", 7200.0, 0.04)]     # long gone: hidden

    def solution(id, perm, mse, exact=False):
        return SolutionRow(id, 1, perm, mse, f"h{id}", exact, None, None, "anneal", [],
                           t0 + timedelta(seconds=id))

    best = solution(9, [0, 1, 2, 3, 4], 0.01)
    top = [best, solution(8, [0, 1, 2, 3, 4], 0.02), solution(7, [2, 3, 0, 1, 4], 0.03)]
    return workers, best, top, t0


def _fleet_status():
    from jstui.fleet.model import (FleetStatus, NodeFacts, NodeHealth, NodeState, NodeStatus,
                                   WorkerProcess, WorkerState)

    here = NodeStatus("here", "local", NodeHealth("here", NodeState.UP), 3,
                      facts=NodeFacts(cpus=2, load=(1.5, 1.0, 0.5)),
                      workers=(WorkerProcess("here", 0, WorkerState.CRASHED, 11, exit_code=1,
                                             has_exit=True),
                               WorkerProcess("here", 2, WorkerState.CRASHED, 13, exit_code=2,
                                             has_exit=True)))
    far = NodeStatus("far", "ssh", NodeHealth("far", NodeState.DOWN, reason="connection refused"), 2)
    return FleetStatus(0.0, (here, far))


def test_build_snapshot_joins_pool_workers_with_fleet_processes():
    from jstui.assemble import PoolState, build_snapshot
    from jstui.book import EventBook

    workers, best, top, t0 = _rows()
    pool = PoolState(best=best, top=tuple(top), workers=tuple(workers))
    snap = build_snapshot(pool, _fleet_status(), now=t0.timestamp() + 60, history=History(),
                          events=EventBook().snapshot(), auto_relaunch=False)
    by_key = {w.key: w for w in snap.workers}
    assert set(by_key) == {"w1", "w2", "w3", "p:here/2"}
    assert by_key["w1"].state == CRASHED and by_key["w1"].fleet_name == "here/0"
    assert by_key["w2"].state == LOST             # no fleet process, silent for 200 s
    assert by_key["w3"].state == DONE
    assert by_key["p:here/2"].state == CRASHED    # died before it reached the pool
    assert by_key["w1"].evals_per_s is None       # an ended worker evaluates nothing
    assert by_key["w3"].progress["mse"] == 0.03 * 1.1
    here, far = snap.nodes
    assert (here.up, here.load, here.workers_expected, here.workers_running) == (True, 1.5, 3, 0)
    assert (far.up, far.reason) == (False, "connection refused")
    assert snap.fleet_error == "1 node(s) down"
    assert snap.best_age == 60 - 9 and not snap.solved
    assert snap.zones.shares == (2 / 3, 2 / 3) and snap.zones.k == 3 and snap.zones.best_id == 9


def test_the_trend_says_how_far_the_best_fell_in_the_last_two_minutes():
    from jstui.assemble import TREND_WINDOW_S, trend_of

    assert trend_of((), now=100.0) is None
    # younger than the window: measured since the first best
    young = trend_of(((0.0, 1.0), (30.0, 0.1)), now=60.0)
    assert (young.factor, young.span, young.falling) == (10.0, 60.0, True)
    assert fmt_trend(young) == "↓ ×10 in 1m00s"
    # older: from the best standing at the window's start (0.5 then), not the first one
    old = trend_of(((0.0, 1.0), (100.0, 0.5), (400.0, 0.125)), now=500.0)
    assert (old.factor, old.span) == (4.0, TREND_WINDOW_S)
    flat = trend_of(((0.0, 1.0), (100.0, 0.5)), now=1000.0)
    assert not flat.falling and fmt_trend(flat) == "flat for 2m00s"
    assert fmt_trend(trend_of(((0.0, 1.0), (10.0, 0.0)), now=20.0)) == "↓ to 0 in 20s"


def test_the_best_is_relative_to_the_puzzles_var_pred_where_the_pool_knows_it():
    from datetime import datetime, timezone

    from jstui.assemble import PoolState, build_snapshot
    from jstui.book import EventBook
    from solver.pool.rows import PuzzleRow

    workers, best, top, t0 = _rows()
    now = datetime.now(timezone.utc)
    for puzzle, relative in ((PuzzleRow(1, "f", 3, None, None, now, pred_var=best.mse * 4), 0.25),
                             (PuzzleRow(1, "f", 3, None, None, now), None), (None, None)):
        pool = PoolState(puzzle=puzzle, best=best, top=tuple(top), workers=tuple(workers),
                         best_over_time=((t0.timestamp() - 100, best.mse * 8),
                                         (t0.timestamp(), best.mse)))
        snap = build_snapshot(pool, None, now=t0.timestamp() + 20, history=History(),
                              events=EventBook().snapshot(), auto_relaunch=False)
        assert snap.best_relative == relative
        assert snap.best_trend.factor == 8.0


def test_the_screen_says_one_word_per_worker_by_the_lifecycle_rule():
    """One vocabulary and one rule (solver.pool.lifecycle.view_state): from the pool row,
    the process as its node reports it, and whether the node is down."""
    from datetime import datetime, timezone

    from jstui.assemble import PoolState, build_snapshot
    from jstui.present import WORKER_STYLE as STATE_STYLE
    from jstui.fleet.model import (FleetStatus, NodeFacts, NodeHealth, NodeState,
                                   NodeStatus, WorkerProcess)

    t0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
    # (stored status, heartbeat age, process: None / alive / (exit code, stopped) / "no exit")
    cases = {
        WorkerState.RUNNING: ("running", 1.0, "alive"),
        WorkerState.STALLED: ("running", 99.0, "alive"),
        WorkerState.DONE: ("running", 1.0, (0, False)),
        WorkerState.SOLVED: ("solved", 1.0, (3, False)),     # its own word: it found it
        WorkerState.STOPPED: ("running", 1.0, (0, True)),
        WorkerState.CRASHED: ("running", 1.0, (-9, False)),  # an exit record beats silence
        WorkerState.LOST: ("running", 1.0, "no exit"),       # gone without an exit record
    }
    procs, rows = [], []
    for slot, (state, (status, age, proc)) in enumerate(cases.items()):
        pid = 100 + slot
        rows.append(worker_row(slot, "here", pid, status, age))
        alive = proc == "alive"
        code, stopped = proc if isinstance(proc, tuple) else (None, False)
        procs.append(WorkerProcess("here", slot, state, pid, exit_code=code, stopped=stopped,
                                   alive=alive, has_exit=isinstance(proc, tuple)))
    rows.append(worker_row(40, "gone", 400, "running", 1.0))   # its node is down: unknown
    rows.append(worker_row(41, "gone", 401, "crashed", 1.0))   # terminal stays terminal
    rows += [worker_row(50 + i, "far", 900 + i, word, 1.0)    # no fleet process: the row
             for i, word in enumerate(["running", "done", "lost", "a word from the future"])]
    here = NodeStatus("here", "local", NodeHealth("here", NodeState.UP), 8,
                      facts=NodeFacts(cpus=2), workers=tuple(procs))
    gone = NodeStatus("gone", "ssh", NodeHealth("gone", NodeState.DOWN, reason="refused"), 2)
    snap = build_snapshot(PoolState(workers=tuple(rows)), FleetStatus(0.0, (here, gone)),
                          now=t0.timestamp(), history=History(), events=(), auto_relaunch=False)
    shown = {(w.node, w.pid): w.state for w in snap.workers}
    assert [shown[("here", 100 + i)] for i in range(len(cases))] == list(cases)
    assert (shown[("gone", 400)], shown[("gone", 401)]) == (WorkerState.UNKNOWN, WorkerState.CRASHED)
    assert [shown[("far", 900 + i)].value for i in range(4)] == ["running", "done", "lost", "lost"]
    assert set(STATE_STYLE) == set(WorkerState)
    assert snap.nodes[0].workers_running == 2      # running and stalled are both alive


def test_a_node_that_misses_the_deadline_is_slow_not_up_and_connecting_before_its_first_answer():
    from jstui.assemble import node_state
    from jstui.fleet.model import NodeFacts, NodeHealth, NodeState, NodeStatus

    up = NodeHealth("a", NodeState.UP)
    late = NodeStatus("a", "ssh", up, 2, facts=NodeFacts(cpus=2), stale=True,
                      error="no answer within 1 s")
    assert node_state(late) == ("slow", "no answer within 1 s; its last known figures are shown")
    first = NodeStatus("a", "ssh", up, 2, stale=True, error="no answer within 0.3 s")
    assert node_state(first) == ("connecting", "")   # never answered yet: not "slow"
    assert node_state(NodeStatus("a", "ssh", up, 2)) == ("up", "")
    assert node_state(NodeStatus("a", "ssh", NodeHealth("a", NodeState.CONNECTING), 2)) == \
        ("connecting", "")
    down = NodeHealth("a", NodeState.DOWN, reason="10.0.0.1:22: connection timed out")
    assert node_state(NodeStatus("a", "ssh", down, 2)) == ("down", down.reason)


def test_build_snapshot_without_fleet_lists_the_nodes_the_pool_knows():
    from jstui.assemble import PoolState, build_snapshot

    workers, best, top, t0 = _rows()
    exact = type(best)(**{**best.__dict__, "matches_target": True, "exact": True})
    snap = build_snapshot(PoolState(best=exact, workers=tuple(workers)), None, now=t0.timestamp(),
                          history=History(), events=(), auto_relaunch=False)
    assert [(n.name, n.up) for n in snap.nodes] == [("far", False), ("here", True)]
    assert snap.solved and snap.zones is None


async def test_the_session_event_book_shows_its_own_lines_until_stored_then_the_pools_in_time_order():
    """jstui.book: a line of this session is shown at once (negative id), written to the
    pool at the next flush (none lost while the pool is away), and from then on comes
    back as the pool's row; the pool's events are shown by time, whatever their ids."""
    from jstui.book import EventBook
    from solver.pool import MemoryStore

    now = [1000.0]
    store = MemoryStore(clock=lambda: now[0])
    book = EventBook()
    book.note("stop", "stop here/0: 1 stopped", at=990.0)
    assert [(e.id, e.text) for e in book.snapshot()] == [(-1, "stop here/0: 1 stopped")]

    class Away:
        async def add_event(self, *a, **k):
            raise ConnectionError("the pool went away")
    try:
        await book.flush(Away())
    except ConnectionError:
        pass
    assert len(book.pending) == 1                      # kept for the next try
    await store.add_event("node", "node far down: refused", source="fleet", at=995.0)
    await book.flush(store)
    assert book.pending == []
    book.take(await store.fetch_events(after_id=book.last_id))
    lines = [(e.at, e.kind, e.text) for e in book.snapshot()]
    assert lines == [(990.0, "stop", "stop here/0: 1 stopped"),     # stored second, shown first
                     (995.0, "node", "node far down: refused")]
    assert all(e.id > 0 for e in book.snapshot())
    book.take(await store.fetch_events(after_id=book.last_id))     # nothing new: no repeat
    assert len(book.snapshot()) == 2
