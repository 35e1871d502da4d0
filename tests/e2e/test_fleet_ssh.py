"""The fleet over real OpenSSH daemons on loopback: deploy by hash, detached workers,
stop / relaunch, fallback addresses, host key checking, down and hanging nodes,
interpreter problems. Workers here are plain sleepers; tests/test_fleet_worker.py runs
the real solver worker."""
import asyncio
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from jstui.fleet import Fleet, NodeState, WorkerState
from tests.fixture_sshd import undeploy
from tests.helpers import free_port

pytestmark = pytest.mark.timeout(120)


def sleeper(node, cfg, puzzle=""):
    return [node.python, "-c", "import time; print('up', flush=True); time.sleep(300)"]


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def served_agents(workdir):
    found = []
    for proc in Path("/proc").iterdir():
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if str(workdir).encode() in argv and b"serve" in argv:
            found.append(int(proc.name))
    return found


async def test_deploy_sends_only_what_changed(sshd_fleet, small_puzzle_dir):
    cfg = sshd_fleet.config(["alpha"], puzzle=small_puzzle_dir)
    work = sshd_fleet.daemons["alpha"].workdir
    undeploy(work)
    async with Fleet(cfg) as fleet:
        [first] = await fleet.deploy()
        assert first.ok, first.error
        assert any(rel.startswith("puzzles/") and rel.endswith(".npz") for rel in first.uploaded)
        assert "lib/jstui_agent.py" in first.uploaded
        assert {"lib/solver/worker/__main__.py", "lib/solver/worker/loop.py"} <= set(first.uploaded)
        assert (work / "logs").is_dir() and (work / "run").is_dir()
        assert first.interpreter.version == sys.version.split()[0]
        [second] = await fleet.deploy()
        assert second.ok and second.uploaded == () and second.unchanged == len(first.uploaded)
        # one file changed on the node, one stale module left behind: only those move
        (work / "lib" / "solver" / "search" / "engine.py").write_text("# edited by hand\n")
        (work / "lib" / "solver" / "gone_module.py").write_text("x = 1\n")
        (work / "lib" / "solver" / "worker.py").write_text("# the worker before it was a package\n")
        (work / "lib" / "solver" / "__pycache__").mkdir(exist_ok=True)
        [third] = await fleet.deploy()
        assert third.uploaded == ("lib/solver/search/engine.py",)
        assert third.removed == ("lib/solver/gone_module.py", "lib/solver/worker.py")
    local = Path(__import__("solver").__file__).parent / "search" / "engine.py"
    assert (work / "lib" / "solver" / "search" / "engine.py").read_bytes() == local.read_bytes()
    assert not (work / "lib" / "solver" / "gone_module.py").exists()


async def test_workers_survive_the_connection_then_stop_and_relaunch(sshd_fleet):
    cfg = sshd_fleet.config(["beta", "gamma"], dsn="postgresql://unused@127.0.0.1:1/x")
    async with Fleet(cfg, worker_argv=sleeper) as fleet:
        assert all(r.ok for r in await fleet.deploy()), "deploy failed"
        results = await fleet.launch()
        assert all(r.ok for r in results), results
        assert sorted(w for r in results for w in r.workers) == [
            "beta/0", "beta/1", "gamma/0", "gamma/1"]
        pids = {w.name: w.pid for w in (await fleet.status()).workers}
    # The fleet (and every SSH connection) is closed: the workers must still run,
    # and the warm agents that served status must be gone with their sessions.
    await asyncio.sleep(0.5)
    assert all(pid_alive(pid) for pid in pids.values()), pids
    assert served_agents(sshd_fleet.daemons["beta"].workdir) == []
    gamma_python = sshd_fleet.daemons["gamma"].python
    assert Path(f"/proc/{pids['gamma/0']}/cmdline").read_bytes().split(b"\0")[0] == \
        gamma_python.encode()
    async with Fleet(cfg, worker_argv=sleeper) as fleet:
        st = await fleet.status()
        assert {w.name: w.pid for w in st.workers if w.state == WorkerState.RUNNING} == pids
        [r] = await fleet.stop("beta/1")
        assert r.ok and r.workers == ("beta/1",)
        assert not pid_alive(pids["beta/1"])
        results = await fleet.relaunch("beta")
        assert results[0].ok and set(results[0].workers) == {"beta/0", "beta/1"}
        st = await fleet.status()
        beta = {w.name: w for w in st.workers if w.node == "beta"}
        assert all(w.state == WorkerState.RUNNING for w in beta.values())
        assert beta["beta/0"].pid != pids["beta/0"] and not pid_alive(pids["beta/0"])
        for _ in range(100):        # the new worker's own log: it says "up" once it runs
            lines = await fleet.tail_log("beta/0")
            if "up" in lines:
                break
            await asyncio.sleep(0.1)
        assert lines == ["up"]      # its own log only: the stopped worker's "up" is not in it
        results = await fleet.stop()
        assert all(r.ok for r in results)
        st = await fleet.status()
        assert all(w.state == WorkerState.STOPPED for w in st.workers)


async def test_fallback_address_is_used_when_the_name_fails(sshd_fleet):
    # sshd listens on 127.0.0.1 only: 127.0.0.2 refuses, as a dead name would.
    cfg = sshd_fleet.config(["alpha"], alpha={"host": "127.0.0.2",
                                              "fallback": ["127.0.0.1"]})
    async with Fleet(cfg) as fleet:
        [r] = await fleet.check()
        assert r.ok, r.error
        assert fleet.health("alpha").address == "127.0.0.1"


async def test_unknown_and_changed_host_keys_say_different_things(sshd_fleet, tmp_path):
    """An unknown key: the ssh-keyscan line to run (and running it lets jstui in). A
    changed key: a warning, and no command that would paper over it."""
    port = sshd_fleet.daemons["alpha"].port
    known = tmp_path / "known_hosts"
    known.write_text("")
    cfg = sshd_fleet.config(["alpha"], alpha={"known_hosts": str(known)})
    async with Fleet(cfg) as fleet:
        [r] = await fleet.check()
        assert not r.ok and fleet.health("alpha").state == NodeState.DOWN
        fix = f"ssh-keyscan -p {port} 127.0.0.1 >> {known}"
        assert f"unknown host key for 127.0.0.1:{port}" in r.error and r.error.endswith(fix)
    subprocess.run(fix, shell=True, check=True, capture_output=True, timeout=30)
    async with Fleet(cfg) as fleet:
        [r] = await fleet.check()
        assert r.ok, r.error

    impostor = tmp_path / "impostor"
    from tests.fixture_sshd import write_key
    write_key(impostor)
    other_key = " ".join(Path(f"{impostor}.pub").read_text().split()[:2])
    known.write_text(f"[127.0.0.1]:{port} {other_key}\n")
    async with Fleet(cfg) as fleet:
        [r] = await fleet.check()
        assert not r.ok and "WARNING: HOST KEY CHANGED for 127.0.0.1:" in r.error
        assert str(known) in r.error and "ssh-keyscan" not in r.error
    cfg = sshd_fleet.config(["alpha"], alpha={"known_hosts": str(known),
                                              "host_key_check": False})
    async with Fleet(cfg) as fleet:  # the operator turned checking off for this node
        [r] = await fleet.check()
        assert r.ok, r.error


@pytest.mark.parametrize("where", ["default", "named"])
async def test_the_keyscan_line_works_without_the_ssh_directory(sshd_fleet, tmp_path,
                                                                  monkeypatch, where):
    """A fresh account has no ~/.ssh (and a named known_hosts may be in a directory not
    made yet): the line offered makes it, and running it as given lets jstui in."""
    from jstui.config import parse_config

    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    table = sshd_fleet.node("alpha")
    port = sshd_fleet.daemons["alpha"].port
    if where == "default":
        del table["known_hosts"]
        expected = (f"mkdir -p -m 700 ~/.ssh && ssh-keyscan -p {port} 127.0.0.1 "
                    f">> ~/.ssh/known_hosts")
    else:
        keys = tmp_path / "fleet keys"
        table["known_hosts"] = str(keys / "known_hosts")
        expected = (f"mkdir -p -m 700 '{keys}' && ssh-keyscan -p {port} 127.0.0.1 "
                    f">> '{keys / 'known_hosts'}'")
    cfg = parse_config({"node": [table]})
    async with Fleet(cfg) as fleet:
        [r] = await fleet.check()
    assert not r.ok and "unknown host key" in r.error, r.error
    fix = r.error.split("record its key: ", 1)[1]
    assert fix == expected
    subprocess.run(fix, shell=True, check=True, capture_output=True, timeout=30,
                   env={**os.environ, "HOME": str(home)})
    async with Fleet(cfg) as fleet:
        [r] = await fleet.check()
    assert r.ok, r.error


async def test_down_reasons_name_the_port_and_a_missing_key_file(sshd_fleet, tmp_path):
    """Two nodes on one address: the reason says which port refused."""
    delta = sshd_fleet.daemons["delta"].port
    closed = free_port()
    cfg = sshd_fleet.config(["alpha", "delta"], alpha={"port": closed})
    async with Fleet(cfg) as fleet:
        results = {r.node: r for r in await fleet.check()}
        assert f"127.0.0.1:{closed}: connection refused" in results["alpha"].error
        assert f"127.0.0.1:{delta}: connection refused" in results["delta"].error
    missing = tmp_path / "id_nowhere"
    cfg = sshd_fleet.config(["alpha"], alpha={"key_file": str(missing)})
    async with Fleet(cfg) as fleet:
        [r] = await fleet.check()
        assert not r.ok and f"key_file {missing}: no such file" in r.error
        assert fleet.health("alpha").reason == f"key_file {missing}: no such file on this machine"


async def test_down_node_is_reported_while_the_others_work(sshd_fleet):
    cfg = sshd_fleet.config(["alpha", "delta"])
    seen = []
    async with Fleet(cfg) as fleet:
        fleet.add_state_listener(seen.append)
        st = await fleet.status()
        nodes = {n.node: n for n in st.nodes}
        assert nodes["alpha"].health.state == NodeState.UP and nodes["alpha"].facts.cpus > 0
        assert nodes["delta"].health.state == NodeState.DOWN
        assert "connection refused" in nodes["delta"].health.reason
        results = {r.node: r for r in await fleet.check()}
        assert results["alpha"].ok and not results["delta"].ok
        assert "node delta is down" in results["delta"].error
    states = [(h.node, h.state) for h in seen]
    assert ("delta", NodeState.CONNECTING) in states and ("delta", NodeState.DOWN) in states
    assert ("alpha", NodeState.UP) in states


async def test_a_hanging_node_never_delays_the_others(sshd_fleet):
    # A listener that accepts and then says nothing: the SSH handshake hangs.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    port = silent.getsockname()[1]
    try:
        cfg = sshd_fleet.config(["alpha", "beta"], beta={"port": port, "connect_timeout": 3.0})
        async with Fleet(cfg) as fleet:
            # alpha deployed and its agent warm: a busy CI box cannot make it miss
            [d] = await fleet.deploy("alpha")
            assert d.ok, d.error
            assert (await fleet.facts("alpha")).cpus > 0
            st = await fleet.status(deadline=1.0)
            nodes = {n.node: n for n in st.nodes}
            # the answer came at the deadline, not after beta's 3 s connect timeout
            assert nodes["alpha"].health.state == NodeState.UP and not nodes["alpha"].stale
            assert nodes["beta"].stale and nodes["beta"].health.state == NodeState.CONNECTING
            assert nodes["beta"].error == "no answer within 1 s"
            went_down = asyncio.Event()
            fleet.add_state_listener(lambda h: h.node == "beta" and h.state == NodeState.DOWN
                                     and went_down.set())
            if fleet.health("beta").state != NodeState.DOWN:   # its connect timeout: 3 s
                await asyncio.wait_for(went_down.wait(), 30)
            assert "timed out" in fleet.health("beta").reason
    finally:
        silent.close()


async def test_wrong_interpreter_path_gives_a_clear_error(sshd_fleet):
    cfg = sshd_fleet.config(["alpha"], alpha={"python": "/opt/nowhere/bin/python3"})
    async with Fleet(cfg) as fleet:
        [r] = await fleet.check()
        assert not r.ok
        assert r.error == "node alpha: interpreter /opt/nowhere/bin/python3 not found"
        [d] = await fleet.deploy()
        assert not d.ok and "interpreter /opt/nowhere/bin/python3 not found" in d.error
        [node] = (await fleet.status()).nodes
        assert node.error == "node alpha: interpreter /opt/nowhere/bin/python3 not found"


async def test_unwritable_work_directory_is_named(sshd_fleet):
    cfg = sshd_fleet.config(["alpha"], alpha={"workdir": "/proc/jstui-work"})
    async with Fleet(cfg) as fleet:
        [d] = await fleet.deploy()
        assert not d.ok
        assert d.error.startswith("node alpha: cannot create work directory /proc/jstui-work:")


async def test_missing_worker_modules_are_named(sshd_fleet, tmp_path):
    bare = tmp_path / "bare-venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(bare)], check=True)
    cfg = sshd_fleet.config(["alpha"], alpha={"python": str(bare / "bin" / "python")})
    async with Fleet(cfg) as fleet:
        [r] = await fleet.check()
        assert not r.ok
        assert [m.split(":")[0] for m in r.interpreter.missing] == ["numpy", "scipy", "asyncpg"]
        assert r.error.startswith(f"node alpha: {bare / 'bin' / 'python'} lacks numpy: ")


async def test_lost_connection_is_reported_and_reconnected_with_backoff(sshd_fleet):
    daemon = sshd_fleet.start("extra-epsilon")
    cfg = sshd_fleet.config(["extra-epsilon"])
    try:
        async with Fleet(cfg) as fleet:
            [r] = await fleet.check()
            assert r.ok, r.error
            daemon.drop_connections()
            await asyncio.sleep(0.3)
            [r] = await fleet.check()
            assert not r.ok and "node extra-epsilon is down" in r.error
            assert fleet.health("extra-epsilon").state == NodeState.DOWN
            daemon.run()  # the node comes back on the same port
            [r] = await fleet.check()  # within the backoff: not even tried
            assert not r.ok and "next try in" in r.error
            await asyncio.sleep(1.1)
            [r] = await fleet.check()
            assert r.ok, r.error
            assert fleet.health("extra-epsilon").state == NodeState.UP
    finally:
        daemon.stop()


async def test_launch_refuses_when_no_puzzle_is_configured(sshd_fleet):
    """Whatever puzzle a node holds, a launch runs the configured one: with none
    configured there is nothing it may run."""
    cfg = sshd_fleet.config(["gamma"], dsn="postgresql://unused@127.0.0.1:1/x")
    async with Fleet(cfg) as fleet:  # the real worker
        [d] = await fleet.deploy()    # no puzzle configured: code only
        assert d.ok and not any(rel.startswith("puzzles/") for rel in d.uploaded)
        [r] = await fleet.launch()
        assert not r.ok and r.error == ("node gamma: the fleet config names no puzzle to run "
                                        "([puzzle] path or --puzzle)")
