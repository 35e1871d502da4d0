"""The local node: the same agent and code paths as a remote node, minus SSH. Workers
here are plain Python one-liners, so process handling is tested on its own."""
import asyncio
import json
import os
import signal
import sys
from dataclasses import replace

import pytest

from jstui.config import ConfigError, parse_config
from jstui.fleet import Fleet, NodeState, WorkerState
from jstui.fleet.join import worker_process
from jstui.fleet.relauncher import AutoRelaunch
from tests.helpers import eventually

pytestmark = pytest.mark.timeout(120)


def local_config(tmp_path, workers=2, **worker_settings):
    return parse_config({
        "pool": {"dsn": "postgresql://nobody@127.0.0.1:1/none"},
        "workers": {"stop_grace": 1.0, **worker_settings},
        "node": [{"name": "here", "kind": "local", "python": sys.executable,
                  "workdir": str(tmp_path / "work"), "workers": workers, "nice": 0}]})


def script(code):
    """A worker whose body is `code`, told its slot by nothing but its log."""
    return lambda node, cfg, puzzle="": [node.python, "-c", code]


SLEEPER = script("import time; print('up', flush=True); time.sleep(300)")


async def wait_for(fleet, predicate, timeout=10.0):
    """The fleet's status once PREDICATE holds for it (tests.helpers.eventually)."""
    async def look():
        status = await fleet.status(deadline=5)
        return status if predicate(status) else None
    return await eventually(look, timeout, every=0.1)


async def test_launch_status_stop_on_the_local_node(tmp_path):
    async with Fleet(local_config(tmp_path), worker_argv=SLEEPER) as fleet:
        assert fleet.health("here").state == NodeState.UP
        [deployed] = await fleet.deploy()
        assert deployed.ok, deployed.error
        [launched] = await fleet.launch()
        assert launched.ok and launched.workers == ("here/0", "here/1")
        st = await fleet.status()
        [node] = st.nodes
        assert node.facts.cpus == os.cpu_count() and node.running == 2
        assert all(w.state == WorkerState.RUNNING and w.pid for w in node.workers)
        assert all(w.log_path.startswith(str(tmp_path / "work" / "logs")) for w in node.workers)
        # launching again without -n tops up to the configured count: nothing to do
        [again] = await fleet.launch()
        assert again.ok and again.workers == ()
        [added] = await fleet.launch(n=1)
        assert added.workers == ("here/2",)
        st = await wait_for(fleet, lambda s: all(
            "up" in (open(w.log_path).read()) for w in s.workers))
        [stopped] = await fleet.stop("here/1")
        assert stopped.workers == ("here/1",)
        st = await fleet.status()
        states = {w.name: w.state for w in st.workers}
        assert states == {"here/0": WorkerState.RUNNING, "here/1": WorkerState.STOPPED,
                          "here/2": WorkerState.RUNNING}
        assert await fleet.tail_log("here/0") == ["up"]
        [stopped] = await fleet.stop()
        assert set(stopped.workers) == {"here/0", "here/2"}
        assert not any(w.state.alive for w in (await fleet.status()).workers)


async def test_workers_detach_and_run_niced_with_unbuffered_output(tmp_path):
    cfg = local_config(tmp_path, workers=1)
    cfg = replace(cfg, nodes=(replace(cfg.nodes[0], nice=7),))
    probe = script("import os, sys; print(os.getsid(0), os.nice(0), "
                   "os.environ['PYTHONUNBUFFERED'], os.getcwd(), sys.stdin.read() == '', "
                   "flush=True)")
    async with Fleet(cfg, worker_argv=probe) as fleet:
        await fleet.deploy()
        await fleet.launch()
        st = await wait_for(fleet, lambda s: s.workers and s.workers[0].state == WorkerState.DONE)
        assert st.workers[0].state == WorkerState.DONE
        sid, nice, unbuffered, cwd, stdin_empty = (await fleet.tail_log("here/0"))[0].split()
        assert int(sid) != os.getsid(0)  # a session of its own, not the launcher's
        assert (nice, unbuffered, cwd, stdin_empty) == ("7", "1", str(tmp_path / "work"), "True")


async def test_done_crashed_and_lost_are_told_apart(tmp_path):
    async with Fleet(local_config(tmp_path, workers=1),
                     worker_argv=script("raise SystemExit(0)")) as fleet:
        await fleet.deploy()
        await fleet.launch()
        st = await wait_for(fleet, lambda s: not s.workers[0].state.alive)
        assert st.workers[0].state == WorkerState.DONE and st.workers[0].exit_code == 0
    async with Fleet(local_config(tmp_path, workers=1),
                     worker_argv=script("import sys; print('boom: bad pool', file=sys.stderr); "
                                        "raise SystemExit(1)")) as fleet:
        await fleet.relaunch("here/0")
        st = await wait_for(fleet, lambda s: not s.workers[0].state.alive)
        [w] = st.workers
        assert w.state == WorkerState.CRASHED and w.exit_code == 1
        assert "boom: bad pool" in w.log_tail[-2]
    async with Fleet(local_config(tmp_path, workers=1), worker_argv=SLEEPER) as fleet:
        await fleet.relaunch()
        st = await wait_for(fleet, lambda s: s.workers[0].state.alive)
        w = st.workers[0]
        # killed hard from outside, supervisor included: no exit record is left
        pgid = os.getpgid(w.pid)
        os.killpg(pgid, signal.SIGKILL)
        st = await wait_for(fleet, lambda s: not s.workers[0].state.alive)
        assert st.workers[0].state == WorkerState.LOST


async def test_stop_kills_what_ignores_sigterm_after_the_grace(tmp_path):
    stubborn = script("import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
                      "print('ready', flush=True); time.sleep(300)")
    async with Fleet(local_config(tmp_path, workers=1), worker_argv=stubborn) as fleet:
        await fleet.deploy()
        await fleet.launch()
        await wait_for(fleet, lambda s: s.workers and "ready" in open(s.workers[0].log_path).read())
        [r] = await fleet.stop("here")
        assert r.ok and "killed after 1 s" in r.detail     # the grace, then SIGKILL
        [w] = (await fleet.status()).workers
        assert w.state == WorkerState.STOPPED and w.exit_code == -9


async def test_auto_relaunch_only_when_turned_on_and_never_once_solved(tmp_path):
    quick = script("print('one run', flush=True)")
    async with Fleet(local_config(tmp_path, workers=2), worker_argv=quick) as fleet:
        await fleet.launch()
        st = await wait_for(fleet, lambda s: all(w.state == WorkerState.DONE for w in s.workers))
        assert await AutoRelaunch(fleet).tick(st) == []
    async with Fleet(local_config(tmp_path, workers=2, auto_relaunch=True),
                     worker_argv=quick) as fleet:
        st = await fleet.status()
        first = {w.started_at for w in st.workers}
        relauncher = AutoRelaunch(fleet, every=3600)
        assert await relauncher.tick(st, solved=True) == []     # new workers would exit at once
        [r] = await relauncher.tick(st)
        assert set(r.workers) == {"here/0", "here/1"}
        assert await relauncher.tick(st) == []                  # not again within EVERY
        st = await wait_for(fleet, lambda s: all(w.state == WorkerState.DONE
                                                  and w.started_at not in first
                                                  for w in s.workers))
        assert len(st.workers) == 2


def test_a_process_alone_says_what_the_fleet_can_tell():
    """The fleet reports processes: the lifecycle's word from the agent's record alone
    (the pool's side is joined in jstui.assemble)."""
    def state(rec):
        return worker_process("here", {"slot": 0, "pid": 1, **rec}).state
    assert state({"alive": True}) == WorkerState.RUNNING
    assert state({"alive": False, "exit": {"code": 3}}) == WorkerState.DONE   # the answer's in
    assert state({"alive": False, "exit": {"code": -15, "stopped": True}}) == WorkerState.STOPPED
    assert state({"alive": False, "exit": {"code": -9}}) == WorkerState.CRASHED
    assert state({"alive": False}) == WorkerState.LOST


async def test_bad_targets_are_config_errors(tmp_path):
    async with Fleet(local_config(tmp_path), worker_argv=SLEEPER) as fleet:
        with pytest.raises(ConfigError, match="no node named 'nowhere'"):
            await fleet.stop("nowhere")
        with pytest.raises(ConfigError, match="NODE/SLOT"):
            await fleet.tail_log("here")
        with pytest.raises(ConfigError, match="NODE/SLOT"):
            await fleet.stop("here/x")


async def test_local_default_fleet_runs_the_real_worker(tmp_path, monkeypatch, small_puzzle_dir,
                                                        fresh_dsn):
    """No fleet file: this machine, as many workers as asked, the real solver worker."""
    from solver.pool import connect

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    from jstui.plan import resolve

    plan = await resolve(puzzle=str(small_puzzle_dir), dsn=fresh_dsn, workers=1)
    async with Fleet.from_config(plan.fleet) as fleet:
        [node] = fleet.nodes
        assert node.kind == "local" and node.python == sys.executable
        assert node.workdir.startswith(str(tmp_path / "data"))
        [r] = await fleet.deploy()
        assert r.ok and any(rel.startswith("puzzles/") for rel in r.uploaded), r.error
        [r] = await fleet.launch()
        assert r.ok and r.workers == (f"{node.name}/0",), r.error
        st = await wait_for(fleet, lambda s: not s.workers[0].state.alive, timeout=60)
        [w] = st.workers
        assert w.state in (WorkerState.SOLVED, WorkerState.DONE), (w.state, w.log_tail)
    store = await connect(fresh_dsn)
    try:
        rows = [r for r in await store.fetch_workers() if r.pid == w.pid]
        assert rows and rows[0].node == node.name
    finally:
        await store.close()


async def test_facts_and_watch(tmp_path):
    async with Fleet(local_config(tmp_path, workers=1, auto_relaunch=True),
                     worker_argv=script("print('run done')")) as fleet:
        await fleet.deploy()
        facts = await fleet.facts("here")
        assert facts.cpus == os.cpu_count() and facts.mem_total > 0
        await fleet.launch()
        seen = []
        task = asyncio.ensure_future(fleet.watch(seen.append, interval=0.2))
        try:
            for _ in range(100):
                starts = {w.started_at for st in seen for w in st.workers}
                if len(starts) >= 3:  # relaunched at least twice by the watch loop
                    break
                await asyncio.sleep(0.1)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        assert len({w.started_at for st in seen for w in st.workers}) >= 3


async def test_pids_from_an_earlier_boot_are_not_taken_for_ours(tmp_path):
    async with Fleet(local_config(tmp_path, workers=1), worker_argv=SLEEPER) as fleet:
        await fleet.deploy()
        await fleet.launch()
        [w] = (await fleet.status()).workers
        record = tmp_path / "work" / "run" / "0.json"
        original = record.read_text()
        boot = json.loads(original)["boot"]
        assert boot
        record.write_text(original.replace(boot, "an-earlier-boot"))
        try:
            [after] = (await fleet.status()).workers
            assert after.state == WorkerState.LOST
            [r] = await fleet.stop("here/0")  # must not signal whoever has that pid now
            assert r.workers == ()
            os.kill(w.pid, 0)  # still there
        finally:
            record.write_text(original)
            await fleet.stop()


async def test_follow_log_yields_the_tail_then_new_lines(tmp_path):
    ticker = script("import time\nfor i in range(400):\n    print('tick', i, flush=True)\n"
                    "    time.sleep(0.02)")
    async with Fleet(local_config(tmp_path, workers=1), worker_argv=ticker) as fleet:
        await fleet.deploy()
        await fleet.launch()
        await asyncio.sleep(0.3)
        seen = []
        async for line in fleet.follow_log("here/0", lines=3, interval=0.05):
            seen.append(line)
            if len(seen) == 40:
                break
        numbers = [int(line.split()[1]) for line in seen]
        assert numbers == list(range(numbers[0], numbers[0] + 40))  # no gap, no repeat
        await fleet.stop()


async def test_the_pool_dsn_reaches_workers_through_the_environment_only(tmp_path):
    """A password in the DSN never shows in `ps`: not in the worker's argv, nor in any
    process the launch started (the supervisor included)."""
    from jstui.fleet.fleet import solver_worker_argv

    dsn = "postgresql://jstui:s3cret-pw@db.lan:5432/pool"
    cfg = replace(local_config(tmp_path, workers=1), dsn=dsn)
    probe = script("import json, os, sys, time; print(json.dumps([sys.argv, "
                   "os.environ.get('JSTUI_DSN')]), flush=True); time.sleep(300)")
    async with Fleet(cfg, worker_argv=probe) as fleet:
        [launched] = await fleet.launch()
        assert launched.ok, launched.error
        try:
            st = await wait_for(fleet, lambda s: s.workers and "[" in open(s.workers[0].log_path).read())
            argv, seen_dsn = json.loads(open(st.workers[0].log_path).read().splitlines()[0])
            assert seen_dsn == dsn and not any("s3cret" in a for a in argv)
            workdir = str(tmp_path / "work")
            ours = [p for p in os.listdir("/proc") if p.isdigit() and workdir in _cmdline(p)]
            assert ours and not any("s3cret" in _cmdline(p) for p in ours)
        finally:
            await fleet.stop()
    assert not any("s3cret" in a for a in solver_worker_argv(cfg.nodes[0], cfg, "puzzles/x.npz"))


def _cmdline(pid: str) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:   # gone meanwhile
        return ""


async def test_launch_deploys_first_where_nothing_was_deployed(tmp_path):
    async with Fleet(local_config(tmp_path, workers=1), worker_argv=SLEEPER) as fleet:
        [launched] = await fleet.launch()
        assert launched.ok and launched.workers == ("here/0",)
        assert launched.detail.startswith("deployed first: ")
        [again] = await fleet.launch(n=1)               # deployed now: no second deploy
        assert not again.detail.startswith("deployed first")
        await fleet.stop()
