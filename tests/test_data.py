"""The snapshot helpers of jstui.data: pure functions, no UI, no database."""
from jstui.data import (
    CRASHED, DONE, LOCKED, LOST, MIXED, UNCERTAIN, History, NodeView,
    Snapshot, WorkerView, Zones, agreement_shares, block_positions, filter_workers, fmt_age,
    fmt_mse, fmt_rate, newly_solved, sort_workers, sparkline, spans_decades,
    summarise_nodes, uncertain_positions, zone_of, zone_runs,
)


def test_agreement_shares_counts_top_solutions_equal_to_best():
    best = [1, 2, 3, 4]
    top = [[1, 2, 3, 4], [1, 2, 4, 3], [1, 3, 2, 4], [1, 2, 3, 4]]
    assert agreement_shares(best, top) == (1.0, 0.75, 0.5, 0.75)
    assert agreement_shares(best, []) == (1.0, 1.0, 1.0, 1.0)


def test_block_positions_pairs_inp_and_out_ids():
    assert block_positions([5, 1, 7, 3, 9]) == [(5, 1), (7, 3)]


def test_zones_classify_by_thresholds_and_group_runs():
    z = Zones(shares=(1.0, 0.95, 0.6, 0.2, 0.1, 0.9), k=20, locked_at=0.9, uncertain_below=0.5)
    assert zone_of(1.0, Zones(shares=(1.0,), k=3)) == MIXED      # too few votes to lock
    assert [zone_of(s, z) for s in z.shares] == [LOCKED, LOCKED, MIXED, UNCERTAIN, UNCERTAIN, LOCKED]
    assert zone_runs(z) == [(1, 2, LOCKED), (3, 3, MIXED), (4, 5, UNCERTAIN), (6, 6, LOCKED)]
    assert uncertain_positions(z) == [4, 5]
    assert uncertain_positions(None) == []


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


def _workers():
    return [
        WorkerView(key="a1", node="alpha", pid=11, run=1, best_mse=0.02, moves_per_s=100, age=2),
        WorkerView(key="a2", node="alpha", pid=12, run=1, best_mse=0.01, moves_per_s=50,
                   status=LOST, age=500),
        WorkerView(key="b1", node="beta", pid=21, run=3, best_mse=None, moves_per_s=80, age=1),
    ]


def test_sort_and_filter_workers():
    ws = _workers()
    assert [w.key for w in sort_workers(ws, "best")] == ["a2", "a1", "b1"]
    assert [w.key for w in sort_workers(ws, "rate")] == ["a1", "b1", "a2"]
    assert [w.key for w in sort_workers(ws, "status")] == ["a1", "b1", "a2"]
    assert [w.key for w in filter_workers(ws, "alpha lost")] == ["a2"]
    assert [w.key for w in filter_workers(ws, "run3")] == ["b1"]
    assert len(filter_workers(ws, "  ")) == 3


def test_summarise_nodes_counts_only_running_workers():
    nodes = [NodeView("alpha", "up", workers_expected=2),
             NodeView("gamma", "down", reason="ssh: refused")]
    alpha, gamma = summarise_nodes(nodes, _workers())
    assert (alpha.workers_running, alpha.moves_per_s, alpha.heartbeat_age) == (1, 100, 2)
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

def _rows():
    from datetime import datetime, timedelta, timezone

    from solver.pool.rows import SolutionRow, WorkerRow

    t0 = datetime(2026, 1, 1, tzinfo=timezone.utc)

    def worker(id, node, pid, status, age, best):
        return WorkerRow(id, 1, node, pid, status, 2, 1000, 1e-3, best * 1.1, best, 900.0,
                         t0, t0, None, None, age)

    workers = [worker(1, "here", 11, "running", 2.0, 0.01),      # fleet: crashed
               worker(2, "here", 12, "running", 200.0, 0.02),    # silent: lost
               worker(3, "far", 31, "finished", 10.0, 0.03),
               worker(4, "far", 32, "finished", 7200.0, 0.04)]   # long gone: hidden

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
    from jstui.data import EventBook, PoolState, build_snapshot

    workers, best, top, t0 = _rows()
    pool = PoolState(best=best, top=tuple(top), workers=tuple(workers))
    snap = build_snapshot(pool, _fleet_status(), now=t0.timestamp() + 60, history=History(),
                          events=EventBook().snapshot(), auto_relaunch=False)
    by_key = {w.key: w for w in snap.workers}
    assert set(by_key) == {"w1", "w2", "w3", "p:here/2"}
    assert by_key["w1"].status == CRASHED and by_key["w1"].fleet_name == "here/0"
    assert by_key["w2"].status == LOST            # no fleet process, heartbeat 200 s old
    assert by_key["w3"].status == DONE
    assert by_key["p:here/2"].status == CRASHED   # died before it reached the pool
    here, far = snap.nodes
    assert (here.up, here.load, here.workers_expected, here.workers_running) == (True, 1.5, 3, 0)
    assert (far.up, far.reason) == (False, "connection refused")
    assert snap.fleet_error == "1 node(s) down"
    assert snap.best_age == 60 - 9 and not snap.solved
    assert snap.zones.shares == (2 / 3, 2 / 3) and snap.zones.k == 3


def test_the_screen_says_the_fleet_words_for_every_worker_state():
    """One vocabulary: what `fleet status` says of a process, the screen says of the
    worker, and a worker the fleet does not see gets the same word from its pool row."""
    from datetime import datetime, timezone

    from jstui.data import PoolState, build_snapshot
    from jstui.fleet.model import (STATE_STYLE, FleetStatus, NodeHealth, NodeState, NodeStatus,
                                   WorkerProcess, WorkerState)
    from solver.pool.rows import WorkerRow

    t0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
    states = list(WorkerState)
    procs = tuple(WorkerProcess("here", slot, state, 100 + slot)
                  for slot, state in enumerate(states))
    fleet = FleetStatus(0.0, (NodeStatus("here", "local", NodeHealth("here", NodeState.UP),
                                         len(states), workers=procs),))
    pool = [("solved", "solved"), ("stopped", "stopped"), ("done", "done"),
            ("finished", "done"), ("failed", "crashed"), ("starting", "running")]
    rows = [WorkerRow(i, 1, "here", 100 + i, "running", 1, 1, None, None, None, None, t0, t0,
                      None, None, 1.0) for i in range(len(states))]
    rows += [WorkerRow(50 + i, 1, "far", 900 + i, status, 1, 1, None, None, None, None, t0, t0,
                       None, None, 1.0) for i, (status, _) in enumerate(pool)]
    snap = build_snapshot(PoolState(workers=tuple(rows)), fleet, now=t0.timestamp(),
                          history=History(), events=(), auto_relaunch=False)
    shown = {(w.node, w.pid): w.status for w in snap.workers}
    assert [shown[("here", p.pid)] for p in procs] == [s.value for s in states]
    assert [shown[("far", 900 + i)] for i in range(len(pool))] == [word for _, word in pool]
    assert set(STATE_STYLE) == set(states)
    assert snap.nodes[0].workers_running == 2      # running and stalled are both alive


def test_a_node_that_misses_the_deadline_is_slow_not_up():
    from jstui.data import node_state
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
    from jstui.data import PoolState, build_snapshot

    workers, best, top, t0 = _rows()
    exact = type(best)(**{**best.__dict__, "matches_target": True})
    snap = build_snapshot(PoolState(best=exact, workers=tuple(workers)), None, now=t0.timestamp(),
                          history=History(), events=(), auto_relaunch=False)
    assert [(n.name, n.up) for n in snap.nodes] == [("far", False), ("here", True)]
    assert snap.solved and snap.zones is None


def test_event_book_numbers_each_source_once():
    from datetime import datetime, timezone

    from jstui.data import EventBook
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
