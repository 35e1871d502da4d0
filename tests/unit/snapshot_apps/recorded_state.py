"""A fixed recorded state of a fleet mid-search, for snapshot tests and looking at the UI.

No clock: every age and time is in the data. Run it: `python tests/snapshot_apps/recorded_state.py`.
"""
from __future__ import annotations

import math

from jstui.app import ControlCenter
from jstui.assemble import summarise_nodes
from jstui.snapshot import (CommandView, Event, FixedSource, NodeView, ObserverView, Snapshot,
                            WorkerView)
from solver.pool.lifecycle import WorkerState
from solver.tools.zones import ZoneMap, classify

RUNNING, CRASHED, DONE, LOST = (WorkerState.RUNNING, WorkerState.CRASHED, WorkerState.DONE,
                                WorkerState.LOST)

T0 = 1_764_000_000.0  # 2025-11-24 16:00:00 UTC
TARGET = "093be1cf2d24094db903cbc3e8d33d306ebca49c6accaa264e44b0b675e7d9c4"


def decay(start: float, end: float, n: int) -> tuple[float, ...]:
    return tuple(start * (end / start) ** (i / (n - 1)) for i in range(n))


def recorded_snapshot(solved: bool = False) -> Snapshot:
    nodes = [
        NodeView("atlas", "up", workers_expected=3, load=2.91),
        NodeView("borealis", "up", workers_expected=2, load=1.97),
        NodeView("mac-mini", "up", workers_expected=2, load=0.64, reason="1 done"),
        NodeView("cirrus", "down", workers_expected=2, reason="ssh: connection refused"),
    ]
    spec = [  # node, pid, run, status, best, age, rate
        ("atlas", 41211, 3, RUNNING, 2.31e-4, 1.2, 1840.0),
        ("atlas", 41212, 3, RUNNING, 8.90e-4, 0.8, 1795.0),
        ("atlas", 41213, 2, RUNNING, 1.12e-3, 2.0, 1702.0),
        ("borealis", 9931, 5, RUNNING, 3.05e-4, 1.5, 2410.0),
        ("borealis", 9932, 5, CRASHED, 4.70e-3, 812.0, None),
        ("mac-mini", 771, 4, RUNNING, 6.62e-4, 3.1, 960.0),
        ("mac-mini", 772, 4, DONE, 5.10e-4, 1290.0, None),
        ("cirrus", 5120, 1, LOST, 2.20e-3, 3735.0, None),
    ]
    workers = []
    for i, (node, pid, run, status, best, age, rate) in enumerate(spec):
        history = decay(0.11, best, 24)
        progress = {"temperature": 2.5e-5 * (1 + i % 3), "mse": best * (1.0 + 0.15 * (i % 4)),
                    "evals_per_s": rate, "stage": "anneal",
                    "start": f"elite #{9000 + 37 * i}" if i % 3 else "seed:jacobian"}
        workers.append(WorkerView(
            key=f"{node}:{pid}", node=node, pid=pid, run=run, step=150_000 + 37_113 * i,
            best_mse=best, state=status, age=age, history=history,
            progress={k: v for k, v in progress.items() if v is not None},
        ))
    shares = tuple(
        1.0 if i < 14 or i >= 40 else
        0.95 if i < 18 else
        0.7 if i < 22 else
        round(0.2 + 0.25 * abs(math.sin(i)), 2) if i < 34 else 0.65
        for i in range(48)
    )
    events = (
        Event(1, T0 - 3600, "relaunch", "relaunched 2 workers on mac-mini (run 4)"),
        Event(2, T0 - 2400, "inject", "injected 12 jacobian seeds; 9 new in the pool"),
        Event(3, T0 - 1800, "observe", "monoculture: top 20 share 94% of positions; restart share 0.3"),
        Event(4, T0 - 900, "error", "cirrus: ssh: connection refused"),
        Event(5, T0 - 300, "surgery", "surgery on 22-33: best 3.1e-4 -> 2.31e-4 (repair at 27)"),
        Event(6, T0 - 60, "relaunch", "worker 9932 on borealis crashed (exit 1)"),
    )
    best = 1.5e-14 if solved else 2.31e-4
    # The pool best at each improvement over the last two hours; the first, a random
    # seed, three decades above the rest (the chart clips it).
    bests = (3.1e5,) + decay(0.11, 2.31e-4, 40) + ((1.5e-14,) if solved else ())
    history = tuple((T0 - 7200 + 7158 * (i / (len(bests) - 1)) ** 0.7, v)
                    for i, v in enumerate(bests))
    observer = ObserverView("atlas/40110", 1, 2.0, True)
    commands = (CommandView(7, "surgery", "claimed", 95.0,
                            "piece 2/3: blocks 13-26 of 1-40 (scan)", "atlas/40110"),)
    return Snapshot(
        taken_at=T0, puzzle="public (N=48)", puzzle_id=1, puzzle_why="the configured puzzle",
        target_sha256=TARGET, best_mse=best, best_age=42.0, observer=observer, commands=commands,
        best_sha256=TARGET if solved else "5f2a...", solved=solved, solutions=18_342,
        nodes=summarise_nodes(nodes, workers), workers=tuple(workers), best_history=history,
        zones=ZoneMap(shares, tuple(classify(s, 20) for s in shares), 20), events=events,
        auto_relaunch=True, knobs=(("restart_share", 0.3), ("perturb_width", 6.0)),
    )


def recorded_app(solved: bool = False, read_only: bool = False,
                 landing: bool = False) -> ControlCenter:
    """The recorded state; LANDING: unsolved first, then the answer lands on screen."""
    snapshots = (recorded_snapshot(False), recorded_snapshot(True)) if landing else \
        (recorded_snapshot(solved),)
    return ControlCenter(FixedSource(*snapshots), backend=None,
                         read_only=read_only, clock=lambda: T0)


app = recorded_app()

if __name__ == "__main__":
    app.run()
