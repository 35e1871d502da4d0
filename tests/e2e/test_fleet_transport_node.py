"""jstui.fleet.transport and jstui.fleet.node, on their own: the same calls over a local
transport (subprocesses here) and over SSH (a real sshd); a node's operations on top."""
from __future__ import annotations

import asyncio
import sys

import pytest

from jstui.config import NodeConfig
from jstui.fleet.bundle import build_bundle
from jstui.fleet.node import NodeOps, NotDeployed
from jstui.fleet.transport import (LocalTransport, NodeError, SSHTransport, describe_error,
                                   make_transport, part_name)
from jstui.config import parse_config

pytestmark = pytest.mark.timeout(120)


def local_node(tmp_path, **fields) -> NodeConfig:
    return NodeConfig(**{"name": "here", "kind": "local", "python": sys.executable,
                         "workdir": str(tmp_path / "work"), **fields})


def ssh_node(sshd_fleet, name="alpha") -> NodeConfig:
    return parse_config({"node": [sshd_fleet.node(name)]}).nodes[0]


@pytest.fixture(params=["local", "ssh"])
def transport(request, tmp_path):
    if request.param == "local":
        return LocalTransport(local_node(tmp_path))
    return SSHTransport(ssh_node(request.getfixturevalue("sshd_fleet")))


async def test_run_put_and_stream_the_same_way_on_either_transport(transport, tmp_path):
    try:
        done = await transport.run(["sh", "-c", "echo out; echo err >&2; exit 3"])
        assert (done.returncode, done.stdout.strip(), done.stderr.strip()) == (3, "out", "err")
        piped = await transport.run(["cat"], input="fed through stdin")
        assert piped.stdout == "fed through stdin"
        with pytest.raises(NodeError, match="timed out"):
            await transport.run(["sleep", "5"], timeout=0.3)
        source = tmp_path / "source.bin"
        source.write_bytes(b"x" * 100_000)
        target = tmp_path / "copies" / "target.bin"
        target.parent.mkdir()
        await transport.put_many([(source, str(target))])
        assert target.read_bytes() == source.read_bytes()
        assert [p.name for p in target.parent.iterdir()] == ["target.bin"]   # no part left
        stream = await transport.open_stream(["sh", "-c", "read line; echo got $line"])
        try:
            assert (await stream.request("ping", timeout=10)).strip() == "got ping"
        finally:
            await stream.aclose()
    finally:
        await transport.close()


async def test_a_local_transport_says_what_is_missing():
    transport = LocalTransport(NodeConfig(name="here", kind="local"))
    done = await transport.run(["/no/such/interpreter", "-c", "1"])
    assert done.returncode == 127 and "No such file" in done.stderr
    assert describe_error(ConnectionRefusedError()) == "connection refused"
    assert describe_error(asyncio.TimeoutError()) == "connection timed out"
    assert part_name("/w/puzzles/a.npz").startswith("/w/puzzles/.a.npz.")
    assert isinstance(make_transport(NodeConfig(name="x", kind="local")), LocalTransport)


async def test_a_nodes_operations_check_deploy_and_ask_its_agent(tmp_path, small_puzzle_dir):
    ops = NodeOps(local_node(tmp_path), LocalTransport(local_node(tmp_path)))
    try:
        report = await ops.check_interpreter()
        assert report.ok and report.version == sys.version.split()[0]
        with pytest.raises(NotDeployed):
            await ops.status(0)
        bundle = build_bundle(small_puzzle_dir)
        first = await ops.deploy(bundle.files)
        assert first.ok and set(first.uploaded) == {f.rel for f in bundle.files}
        again = await ops.deploy(bundle.files)
        assert again.uploaded == () and again.unchanged == len(bundle.files)
        state = await ops.status(0)
        assert state["puzzles"] == [bundle.puzzle_name] and state["workers"] == []
        assert state["facts"]["cpus"] > 0
        unknown = await ops.tail_pid(424242, 10)
        assert unknown["exists"] is False and unknown["lines"] == []
    finally:
        await ops.aclose_served()
        await ops.transport.close()

    bad = local_node(tmp_path, python="/no/such/python")
    report = await NodeOps(bad, LocalTransport(bad)).check_interpreter()
    assert not report.ok and "not found" in report.error
