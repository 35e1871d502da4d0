"""Node environments: `fleet bootstrap` makes a venv in the node's workdir with the
worker's requirements (the node's own pip), a node without `python` in the fleet file
uses it, an explicit one wins, and `check` says which interpreter and why. Real sshd."""
import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from jstui.config import NodeConfig, parse_config
from jstui.fleet import Fleet, InterpreterReport
from jstui.fleet.bootstrap import WORKER_REQUIREMENTS
from jstui.fleet.node import PYTHON_WHY, WORKER_MODULES, interpreter_problem
from tests.fixture_sshd import interpreter_at
from tests.helpers import fleet_cli, rows_of, write_fleet_file

pytestmark = pytest.mark.timeout(300)
ROOT = Path(__file__).resolve().parents[2]


def test_worker_requirements_are_the_projects():
    """The venv gets what pyproject.toml asks for the worker's modules, nothing else."""
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    names = [r.split(">")[0].split("=")[0] for r in WORKER_REQUIREMENTS]
    assert tuple(names) == WORKER_MODULES
    assert all(r in deps for r in WORKER_REQUIREMENTS)


def test_the_advice_names_the_nodes_own_paths():
    """macOS workdirs under /Users, a python set in the file or not: the fix to run."""
    lacking = InterpreterReport("/usr/bin/python3", "3.12.1", ("numpy: No module named 'numpy'",))
    mac = NodeConfig(name="mac1", host="m", workdir="/Users/op/jstui")
    said = interpreter_problem(mac, lacking)
    assert said.startswith("node mac1: /usr/bin/python3 lacks numpy: ")
    assert said.endswith("`python -m jstui.fleet bootstrap mac1` installs them in "
                         "/Users/op/jstui/venv, used from then on")
    pinned = NodeConfig(name="mac1", host="m", workdir="/Users/op/jstui",
                        python_source="fleet file")
    assert "the fleet file's python for this node wins" in interpreter_problem(pinned, lacking)
    old = InterpreterReport("/usr/bin/python3", "3.9.6", ("python: 3.9.6 is older than 3.10",))
    assert "bootstrap mac1` --python PATH" in interpreter_problem(mac, old)
    assert interpreter_problem(mac, InterpreterReport("/x", "3.12.1")) == ""


def test_python_in_the_file_or_defaults_is_explicit():
    raw = {"defaults": {"python": "/opt/py/bin/python3"},
           "node": [{"name": "a", "host": "h"}, {"name": "b", "host": "h", "python": "/p"}]}
    a, b = parse_config(raw).nodes
    assert (a.python, a.python_source) == ("/opt/py/bin/python3", "fleet file")
    assert (b.python, b.python_source) == ("/p", "fleet file")
    [c] = parse_config({"node": [{"name": "c", "host": "h"}]}).nodes
    assert (c.python, c.python_source) == ("/usr/bin/python3", "default")
    with pytest.raises(Exception, match="unknown field 'python_source'"):
        parse_config({"node": [{"name": "c", "host": "h", "python_source": "venv"}]})


def default_python_config(sshd_fleet, workdir, dsn="postgresql://unused@127.0.0.1:1/x",
                          **overrides):
    """Node alpha with no python in the fleet file, in its own work directory."""
    table = sshd_fleet.node("alpha", workdir=str(workdir), **overrides)
    if "python" not in overrides:
        del table["python"]
    return parse_config({"node": [table], "workers": {"stop_grace": 2.0},
                         "pool": {"dsn": dsn}})


def mark_bootstrapped(workdir: Path) -> Path:
    """The venv as bootstrap leaves it: a real venv (with this test run's packages) and
    its marker."""
    interpreter_at(workdir / "venv")
    (workdir / "venv" / "jstui-bootstrap.json").write_text(json.dumps({"base": sys.executable}))
    return workdir / "venv" / "bin" / "python"


def sleeper(node, cfg, puzzle=""):
    return [node.python, "-c", "import time; time.sleep(300)"]


async def test_a_node_without_python_uses_its_bootstrapped_venv(sshd_fleet, tmp_path, pg_dsn):
    work = tmp_path / "work"
    cfg = default_python_config(sshd_fleet, work, dsn=pg_dsn)
    async with Fleet(cfg) as fleet:
        [before] = await fleet.check()
    if not before.ok:    # /usr/bin/python3 lacks the modules here (or is not there)
        assert "`python -m jstui.fleet bootstrap alpha`" in before.error, before.error
    else:
        assert f"at /usr/bin/python3 ({PYTHON_WHY['default']})" in before.detail
    venv_python = mark_bootstrapped(work)
    async with Fleet(cfg, worker_argv=sleeper) as fleet:
        [r] = await fleet.check()
        assert r.ok, r.error
        assert f"at {venv_python} ({PYTHON_WHY['venv']})" in r.detail
        assert r.detail.endswith("pool reachable")     # asyncpg, from the venv
        [deployed] = await fleet.deploy()
        assert deployed.ok, deployed.error
        [launched] = await fleet.launch_slots({"alpha": [0]})
        assert launched.ok, launched.error
        pid = (await fleet.status()).workers[0].pid
        argv0 = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].decode()
        await fleet.stop()
    assert argv0 == str(venv_python)
    pinned = default_python_config(sshd_fleet, work, dsn=pg_dsn,
                                   python=sshd_fleet.daemons["alpha"].python)
    async with Fleet(pinned) as fleet:
        [r] = await fleet.check()
    assert r.ok and f"at {pinned.nodes[0].python} ({PYTHON_WHY['fleet file']})" in r.detail


async def test_bootstrap_failures_say_what_to_do(sshd_fleet, tmp_path):
    cfg = default_python_config(sshd_fleet, tmp_path / "work")
    async with Fleet(cfg) as fleet:
        [r] = await fleet.bootstrap(python="/nowhere/python3")
    assert not r.ok
    assert r.error == ("node alpha: interpreter /nowhere/python3 not found "
                       "(name another with --python)")
    assert not (tmp_path / "work" / "venv").exists()


async def test_the_local_fleet_needs_no_venv():
    from jstui.config import FleetConfig
    from jstui.fleet.local import local_node

    async with Fleet(FleetConfig(dsn=None, puzzle=None, nodes=(local_node(1),))) as fleet:
        [r] = await fleet.bootstrap()
    assert r.ok and "no venv needed" in r.detail and sys.executable in r.detail


@pytest.mark.slow
def test_bootstrap_builds_a_clean_venv_with_the_nodes_pip(sshd_fleet, tmp_path):
    """A node whose python has none of the worker's modules: check says so and what to
    run; bootstrap builds WORKDIR/venv with the node's pip (its configured index), check
    then passes with the venv, named; a python set in the file still wins."""
    bare = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(bare)], check=True)
    work = tmp_path / "work"
    cfg = tmp_path / "fleet.toml"
    write_fleet_file(cfg, sshd_fleet, ["alpha"], alpha={"workdir": str(work),
                                                         "python": str(bare / "bin" / "python")})
    r = fleet_cli("check", "--config", str(cfg))
    assert r.returncode == 1 and "bootstrap alpha" in rows_of(r)["alpha"], r.stdout
    cfg.write_text("\n".join(line for line in cfg.read_text().splitlines()
                             if not line.startswith("python =")))
    r = fleet_cli("bootstrap", "--config", str(cfg), "--python", str(bare / "bin" / "python"))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "used by this node from now on" in rows_of(r)["alpha"]
    venv = work / "venv"
    assert "include-system-site-packages = false" in (venv / "pyvenv.cfg").read_text()
    clean = subprocess.run([str(venv / "bin" / "python"), "-c", "import torch"],
                           capture_output=True)
    assert clean.returncode != 0      # the worker's requirements only
    assert json.loads((venv / "jstui-bootstrap.json").read_text())["base"] == \
        str(bare / "bin" / "python")
    r = fleet_cli("check", "--config", str(cfg), columns=None)
    row = rows_of(r)["alpha"]
    assert r.returncode == 1 and "no pool DSN" in rows_of(r)["(pool)"]   # no DSN here
    assert row.startswith("ok") and f"at {venv / 'bin' / 'python'}" in row, row
    assert PYTHON_WHY["venv"] in row
    # Again: the venv is repaired in place, from the base the first run used.
    r = fleet_cli("bootstrap", "alpha", "--config", str(cfg))
    assert r.returncode == 0, r.stdout + r.stderr
