"""What the tests share: waiting for a condition (one way, with or without a Textual
pilot), reading what a screen said, and small arrangements of a puzzle's answer."""
from __future__ import annotations

import asyncio
import inspect
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Awaitable, Callable

ROOT = Path(__file__).resolve().parents[1]


async def eventually(condition: Callable[[], Any | Awaitable[Any]], timeout: float = 10.0,
                     every: float = 0.05, pause: Callable[[float], Awaitable] | None = None):
    """Poll CONDITION (a function, plain or async) until it gives something true; that is
    returned. PAUSE: how to wait between looks (a pilot's, so its app runs meanwhile)."""
    pause = pause or asyncio.sleep
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await pause(every)


async def until(pilot, condition: Callable[[], Any], timeout: float = 10.0):
    """EVENTUALLY for a Textual app under a pilot."""
    return await eventually(condition, timeout, pause=pilot.pause)


async def on_screen(pilot, name: str) -> None:
    """Until the app shows the screen called NAME (a dialog opened, or closed: "Screen")."""
    await until(pilot, lambda: type(pilot.app.screen).__name__ == name)


def wait_until(condition: Callable[[], Any], timeout: float = 30.0, every: float = 0.1):
    """EVENTUALLY without an event loop (a subprocess, a file); False when it never came."""
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > deadline:
            return False
        time.sleep(every)
    return value


def log_text(app) -> str:
    """The event log's lines as the screen shows them."""
    from jstui.widgets.events import EventLog

    return "\n".join(line.text for line in app.query_one(EventLog).lines)


def toast_text(app) -> str:
    """The toasts the app raised (refusals are toasts: nothing happened to the run)."""
    return "\n".join(str(n.message) for n in app._notifications)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def answer_of(puzzle_dir) -> list[int]:
    return [int(x) for x in (puzzle_dir / "answer.txt").read_text().strip().split(",")]


def near_miss(answer: list[int]) -> list[int]:
    """The answer with the first two blocks exchanged: valid, but not the target."""
    perm = list(answer)
    perm[0:2], perm[2:4] = perm[2:4], perm[0:2]
    return perm


def swapped(answer, swap=(0, 2)) -> list[int]:
    """The answer with two slots exchanged (two inp, or two out, slots: still valid)."""
    perm = list(answer)
    a, b = swap
    perm[a], perm[b] = perm[b], perm[a]
    return perm


def damaged(puzzle, answer, *moves) -> list[int]:
    """The answer with MOVES (solver.search.moves) applied: a near-miss of a known kind."""
    from solver.puzzle.answer import from_permutation, to_permutation
    from solver.search import moves as mv

    inp, out = from_permutation(puzzle, answer)
    for move in moves:
        inp, out, _ = mv.apply(move, inp, out)
    return to_permutation(puzzle, inp, out)


# ---- the shell commands, as a user runs them -----------------------------------------

def toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    return json.dumps(str(v))  # a JSON string is a valid TOML basic string


def write_fleet_file(path, sshd_fleet, names, dsn=None, **overrides):
    lines = [f"[pool]\ndsn = {toml_value(dsn)}\n"] if dsn else []
    lines += ["[workers]", "stop_grace = 2", ""]
    for name in names:
        lines.append("[[node]]")
        for k, v in sshd_fleet.node(name, **overrides.get(name, {})).items():
            lines.append(f"{k} = {toml_value(v)}")
        lines.append("")
    path.write_text("\n".join(lines))
    return path


def fleet_cli(*args, env=None, columns="200"):
    """COLUMNS=200 as in a wide terminal; columns=None: piped with nothing set."""
    env = {**os.environ, "COLUMNS": columns, **(env or {})}
    if columns is None:
        env.pop("COLUMNS")
    env.pop("JSTUI_CONFIG", None)
    env.pop("JSTUI_DSN", None)
    return subprocess.run([sys.executable, "-m", "jstui.fleet", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def rows_of(r) -> dict[str, str]:
    """A table's rows by their first cell; a long cell may wrap onto more lines, whose
    pieces are joined cell by cell."""
    columns: dict[str, list[list[str]]] = {}
    key = None
    for line in r.stdout.splitlines():
        cells = [c.strip() for c in line.split("│")[1:-1]]
        if not cells:
            continue
        key = cells[0] or key
        row = columns.setdefault(key, [[] for _ in cells[1:]])
        for i, cell in enumerate(cells[1:]):
            if cell:
                row[i].append(cell)
    return {k: " ".join(" ".join(pieces) for pieces in row if pieces) for k, row in columns.items()}


def jstui(*args, env=None) -> subprocess.CompletedProcess:
    env = {**os.environ, "JSTUI_CONFIG": "", "JSTUI_DSN": "", **(env or {})}
    env.pop("JSTUI_CONFIG") if not env["JSTUI_CONFIG"] else None
    return subprocess.run([sys.executable, "-m", "jstui", *args], capture_output=True,
                          text=True, timeout=60, env=env)


# ---- pools and workers ------------------------------------------------------------------

async def seed_screen_pool(dsn, puzzle_dir):
    """A pool with one worker row and one near miss: what a screen test shows."""
    from solver.pool import connect
    from solver.puzzle.files import load_puzzle

    puzzle = load_puzzle(puzzle_dir)
    store = await connect(dsn)
    pid = await store.register_puzzle(puzzle)
    wid = await store.register_worker(pid, "nodeA", 4242)
    await store.heartbeat(wid, run=1, step=1200, best_mse=0.05,
                          progress={"temperature": 1e-4, "mse": 0.06, "evals_per_s": 1500.0})
    await store.submit(puzzle, near_miss(answer_of(puzzle_dir)), origin="test", node="nodeA",
                       worker_id=wid)
    return store, puzzle, wid


async def hold_on_an_elite(dsn, puzzle, restart_share=0.0):
    """Hold the workers on elites, starting from one injected random arrangement."""
    import numpy as np

    from solver.pool import connect
    from solver.search.seeds import make_seed

    async with await connect(dsn) as store:
        await store.set_config("restart_share", restart_share)
        start = make_seed(puzzle, "random", np.random.default_rng(5))
        await store.submit(puzzle, start, origin="injected")


def start_worker(dsn, puzzle_dir, node, log_dir, *extra):
    log = Path(log_dir) / f"{node}.log"
    cmd = [sys.executable, "-m", "solver.worker", "--dsn", dsn, "--puzzle", str(puzzle_dir),
           "--node", node, "--log-file", str(log), "--heartbeat", "0.5",
           "--burst-seconds", "0.5", "--push-interval", "0", "--spool-dir", str(Path(log_dir) / "spool"), *extra]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    proc.log = log
    return proc


def stop_all(procs, timeout=30):
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    return [p.wait(timeout) for p in procs]


# ---- the worker's run loop, in-process on the in-memory pool ----------------------------------

def worker_args(tmp_path, *extra) -> object:
    from solver.worker.main import parse_args

    return parse_args(["--dsn", "memory:", "--puzzle", "quick", "--node", "here",
                       "--heartbeat", "0.02", "--history-every", "0", "--push-interval", "0",
                       "--flush-timeout", "0.5", "--spool-dir", str(tmp_path / "spool"),
                       "--seed", "3", *extra])


def opener(store):
    async def open_store():
        return store
    return open_store


def wait_to_be_stopped(should_stop: Callable[[], bool], time_limit: float) -> None:
    """What a stand-in search does after its moves: nothing, until told to stop or out of
    time, as the real search would be."""
    deadline = time.monotonic() + time_limit
    while not should_stop() and time.monotonic() < deadline:
        time.sleep(0.005)


def patient_search(seen: list):
    """A search that improves once, then waits to be told to stop: the loop's decisions
    are what is under test, not the solver."""
    def search(tiny_puzzle, start, seed, time_limit, on_progress, on_improve, should_stop,
               temperature):
        seen.append(dict(start=list(start), time_limit=time_limit, temperature=temperature))
        on_improve(start, 1.0)                          # the start itself: never pushed
        better = list(start)
        better[0], better[2] = better[2], better[0]
        on_improve(better, 0.5)
        on_progress({"step": 7, "temperature": 0.01, "mse": 0.5, "best_mse": 0.5,
                     "evals_per_s": 123.0, "evaluations": 9, "seconds": 0.1, "stage": "anneal"})
        wait_to_be_stopped(should_stop, time_limit)
        return SimpleNamespace(steps=7, mse=0.5, permutation=better, solved=False,
                               sha256="", verdict="")
    return search

