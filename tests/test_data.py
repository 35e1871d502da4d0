"""The snapshot helpers of jstui.data: pure functions, no UI, no database."""
from jstui.data import (
    CRASHED, FINISHED, LOCKED, LOST, MIXED, RUNNING, UNCERTAIN, Event, History, NodeView,
    Snapshot, WorkerView, Zones, agreement_shares, block_positions, filter_workers, fmt_age,
    fmt_mse, fmt_rate, new_events, newly_solved, sort_workers, sparkline, spans_decades,
    summarise_nodes, uncertain_positions, worker_status, zone_of, zone_runs,
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


def test_worker_status_from_exit_code_and_heartbeat():
    assert worker_status(False, None, 3.0, lost_after=60) == RUNNING
    assert worker_status(False, None, 300.0, lost_after=60) == LOST
    assert worker_status(False, None, None, lost_after=60) == LOST
    assert worker_status(True, 0, 300.0, lost_after=60) == FINISHED
    assert worker_status(True, 1, 3.0, lost_after=60) == CRASHED
    assert worker_status(False, 137, 3.0, lost_after=60) == CRASHED


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
    nodes = [NodeView("alpha", up=True, workers_expected=2), NodeView("gamma", up=False, reason="ssh: refused")]
    alpha, gamma = summarise_nodes(nodes, _workers())
    assert (alpha.workers_running, alpha.moves_per_s, alpha.heartbeat_age) == (1, 100, 2)
    assert (gamma.workers_running, gamma.up, gamma.reason) == (0, False, "ssh: refused")


def test_newly_solved_fires_once_and_new_events_after_id():
    unsolved, solved = Snapshot(taken_at=1), Snapshot(taken_at=2, solved=True)
    assert newly_solved(unsolved, solved)
    assert newly_solved(None, solved)
    assert not newly_solved(solved, solved)
    snap = Snapshot(taken_at=3, events=(Event(1, 0, "info", "a"), Event(2, 0, "info", "b")))
    assert [e.id for e in new_events(snap, 1)] == [2]


def test_history_is_bounded():
    h = History(length=3)
    for v in [5, 4, 3, 2, float("nan"), None]:
        series = h.add("w", v)
    assert series == (4, 3, 2)
