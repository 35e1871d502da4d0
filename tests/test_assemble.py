"""From pool rows and fleet status to a snapshot (jstui.assemble), and what the screen
makes of it (formats, columns, the chart's shape): pure functions, no UI, no database."""
from jstui.assemble import History, summarise_nodes
from jstui.snapshot import NodeView, Snapshot, WorkerView, newly_solved
from jstui.widgets.chart import chart_data, steps, upper_fence
from jstui.widgets.columns import filter_workers, sort_workers
from jstui.widgets.format import fmt_age, fmt_mse, fmt_rate, sparkline, spans_decades
from solver.pool.states import WorkerState

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


def test_newly_solved_fires_once():
    unsolved, solved = Snapshot(taken_at=1), Snapshot(taken_at=2, solved=True)
    assert newly_solved(unsolved, solved)
    assert newly_solved(None, solved)
    assert not newly_solved(solved, solved)


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
                      workers=(WorkerProcess("here", 0, WorkerState.CRASHED, 11, exit_code=1),
                               WorkerProcess("here", 2, WorkerState.CRASHED, 13, exit_code=2)))
    far = NodeStatus("far", "ssh", NodeHealth("far", NodeState.DOWN, reason="connection refused"), 2)
    return FleetStatus(0.0, (here, far))


def test_build_snapshot_joins_pool_workers_with_fleet_processes():
    from jstui.assemble import EventBook, PoolState, build_snapshot

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


def test_the_screen_says_the_fleet_words_for_every_worker_state():
    """One vocabulary: what `fleet status` says of a process, the screen says of the
    worker, and a worker the fleet does not see gets the same word from its pool row."""
    from datetime import datetime, timezone

    from jstui.assemble import PoolState, build_snapshot
    from jstui.fleet.model import (STATE_STYLE, FleetStatus, NodeHealth, NodeState, NodeStatus,
                                   WorkerProcess)

    t0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
    states = list(WorkerState)
    procs = tuple(WorkerProcess("here", slot, state, 100 + slot)
                  for slot, state in enumerate(states))
    fleet = FleetStatus(0.0, (NodeStatus("here", "local", NodeHealth("here", NodeState.UP),
                                         len(states), workers=procs),))
    stored = [s.value for s in states if s != WorkerState.STALLED] + ["a word from the future"]
    rows = [worker_row(i, "here", 100 + i, "running", 1.0) for i in range(len(states))]
    rows += [worker_row(50 + i, "far", 900 + i, word, 1.0) for i, word in enumerate(stored)]
    snap = build_snapshot(PoolState(workers=tuple(rows)), fleet, now=t0.timestamp(),
                          history=History(), events=(), auto_relaunch=False)
    shown = {(w.node, w.pid): w.state for w in snap.workers}
    assert [shown[("here", p.pid)] for p in procs] == states
    assert [shown[("far", 900 + i)].value for i in range(len(stored))] == stored[:-1] + ["lost"]
    assert set(STATE_STYLE) == set(states)
    assert snap.nodes[0].workers_running == 2      # running and stalled are both alive


def test_a_node_that_misses_the_deadline_is_slow_not_up():
    from jstui.assemble import node_state
    from jstui.fleet.model import NodeHealth, NodeState, NodeStatus

    up = NodeHealth("a", NodeState.UP)
    late = NodeStatus("a", "ssh", up, 2, stale=True, error="no answer within 0.3 s")
    assert node_state(late) == ("slow", "no answer within 0.3 s; its last known figures are shown")
    assert node_state(NodeStatus("a", "ssh", up, 2)) == ("up", "")
    assert node_state(NodeStatus("a", "ssh", NodeHealth("a", NodeState.CONNECTING), 2)) == \
        ("connecting", "")
    down = NodeHealth("a", NodeState.DOWN, reason="10.0.0.1:22: connection timed out")
    assert node_state(NodeStatus("a", "ssh", down, 2)) == ("down", down.reason)


def test_build_snapshot_without_fleet_lists_the_nodes_the_pool_knows():
    from jstui.assemble import PoolState, build_snapshot

    workers, best, top, t0 = _rows()
    exact = type(best)(**{**best.__dict__, "matches_target": True})
    snap = build_snapshot(PoolState(best=exact, workers=tuple(workers)), None, now=t0.timestamp(),
                          history=History(), events=(), auto_relaunch=False)
    assert [(n.name, n.up) for n in snap.nodes] == [("far", False), ("here", True)]
    assert snap.solved and snap.zones is None


def test_event_book_numbers_each_source_once():
    from datetime import datetime, timezone

    from jstui.assemble import EventBook
    from solver.pool.rows import CommandRow, ObservationRow

    t = datetime(2026, 1, 1, tzinfo=timezone.utc)
    book = EventBook()
    obs = [ObservationRow(1, 1, t, "stagnation", "stagnation: widen"),
           ObservationRow(2, 1, t, "command", "inject #4: 3 new")]
    cmds = [CommandRow(4, 1, "inject", {}, None, "done", t, "obs", t, t, {"message": "3 new"}),
            CommandRow(5, 1, "stop", {}, "worker:3", "done", t, "w", t, t, {"message": "stopped"}),
            CommandRow(6, 1, "surgery", {}, None, "failed", t, "obs", t, t, {"message": "no best"}),
            CommandRow(7, 1, "stop", {}, None, "pending", t, None, None, None, None)]
    for _ in range(2):                             # re-reading adds nothing new
        book.observations(obs)
        book.commands(cmds)
        book.refusals([{"id": 1, "at": t, "node": "far", "reason": "bad permutation"}])
    kinds = [(e.id, e.kind) for e in book.snapshot()]
    assert kinds == [(1, "observe"), (2, "inject"), (3, "relaunch"), (4, "error"), (5, "error")]
    assert book.snapshot()[4].text == "far: refused: bad permutation"
