"""`fleet bootstrap`: a virtual environment in a node's work directory holding the
worker's requirements, installed by the node's own pip (from whatever package index it
is configured for), then used by that node whenever the fleet file sets no python."""
from __future__ import annotations

import json
import time
from dataclasses import replace

from jstui.fleet.bundle import VENV_MARKER_REL, VENV_PYTHON_REL, VENV_REL
from jstui.fleet.model import NodeResult
from jstui.fleet.node import NodeOps, last_line

# What a worker imports beyond the standard library, as pyproject.toml requires them (a
# test keeps the two in step). Not torch, not textual: the worker needs neither.
WORKER_REQUIREMENTS = ("numpy>=1.26", "scipy>=1.11", "asyncpg>=0.29")
VENV_SECONDS = 300.0
PIP_SECONDS = 1800.0

# Run by the venv's python once pip worked: the marker, written whole.
_MARKER_SCRIPT = """\
import os, sys
path = sys.argv[1]
head, name = os.path.split(path)
tmp = os.path.join(head, ".%s.%d-%s.tmp" % (name, os.getpid(), os.urandom(4).hex()))
with open(tmp, "w") as f:
    f.write(sys.stdin.read())
os.replace(tmp, path)
"""


class BootstrapFailed(Exception):
    """One step failed on the node; the message says which and why."""


async def bootstrap_node(ops: NodeOps, python: str | None = None,
                         system_site_packages: bool = False) -> NodeResult:
    """Make (or repair) WORKDIR/venv from PYTHON (default: the base an earlier bootstrap
    used, else the node's configured python), pip install the worker's requirements,
    check that they import, and mark the venv as ready."""
    node = ops.configured
    if node.python_source == "local" and python is None:
        return NodeResult(node.name, True, detail=f"uses this jstui's own interpreter "
                          f"{node.python}, which has the worker's modules: no venv needed")
    try:
        await ops.make_dirs()
        base = python or (await _recorded(ops)).get("base") or node.python
        version = await _base_version(ops, base)
        await _make_venv(ops, base, system_site_packages)
        interp = await _install(ops)
        await _mark(ops, {"base": base, "base_version": version, "made": time.time(),
                          "requirements": list(WORKER_REQUIREMENTS),
                          "system_site_packages": system_site_packages})
    except BootstrapFailed as e:
        return NodeResult(node.name, False, error=f"node {node.name}: {e}")
    await ops.resolve_python(fresh=True)
    if node.python_source == "default":
        note = "used by this node from now on"
    else:
        note = (f"the fleet file's python for this node ({node.python}) wins over it: "
                "remove that line to use the venv")
    return NodeResult(node.name, True, interpreter=replace(interp, source="venv"),
                      detail=f"{interp.python}: Python {interp.version} (from {base}) with "
                      f"{', '.join(WORKER_REQUIREMENTS)}; {note}")


async def _recorded(ops: NodeOps) -> dict:
    """The marker of an earlier bootstrap ({} if none): which base it used."""
    r = await ops.transport.run(["cat", str(ops.workdir / VENV_MARKER_REL)])
    try:
        return json.loads(r.stdout) if r.returncode == 0 else {}
    except ValueError:
        return {}


async def _base_version(ops: NodeOps, base: str) -> str:
    """The base interpreter runs and is new enough (its worker modules do not matter)."""
    interp = await ops.probe_interpreter(base)
    if interp.error:
        raise BootstrapFailed(f"{interp.error} (name another with --python)")
    if interp.missing and interp.missing[0].startswith("python:"):
        raise BootstrapFailed(f"{base}: {interp.missing[0]} (name another with --python)")
    return interp.version


async def _make_venv(ops: NodeOps, base: str, system_site_packages: bool) -> None:
    """`python -m venv`: makes the venv, or repairs one that is there (keeping what pip
    installed in it)."""
    argv = [base, "-m", "venv", *(["--system-site-packages"] if system_site_packages else []),
            str(ops.workdir / VENV_REL)]
    r = await ops.transport.run(argv, timeout=VENV_SECONDS)
    if r.returncode != 0:
        why = last_line(r.stderr) or f"exit status {r.returncode}"
        if "ensurepip" in r.stdout + r.stderr:
            why = ("its venv module cannot install pip (Debian and Ubuntu: install the "
                   "python3-venv package on the node), or name another with --python")
        raise BootstrapFailed(f"{base} -m venv {ops.workdir / VENV_REL} failed: {why}")


async def _install(ops: NodeOps):
    """The node's pip, as configured there (pip.conf, PIP_INDEX_URL), installs the
    worker's requirements; then they must import."""
    python = str(ops.workdir / VENV_PYTHON_REL)
    r = await ops.transport.run([python, "-m", "pip", "install", "--disable-pip-version-check",
                                 "--no-input", *WORKER_REQUIREMENTS], timeout=PIP_SECONDS)
    if r.returncode != 0:
        raise BootstrapFailed(f"pip install in {ops.workdir / VENV_REL} failed: "
                              f"{last_line(r.stderr) or f'exit status {r.returncode}'}")
    interp = await ops.probe_interpreter(python)
    if not interp.ok:
        raise BootstrapFailed(interp.error or f"{python} still lacks " + "; ".join(interp.missing))
    return interp


async def _mark(ops: NodeOps, record: dict) -> None:
    marker = str(ops.workdir / VENV_MARKER_REL)
    r = await ops.transport.run([str(ops.workdir / VENV_PYTHON_REL), "-c", _MARKER_SCRIPT,
                                 marker], input=json.dumps(record))
    if r.returncode != 0:
        raise BootstrapFailed(f"cannot write {marker}: {last_line(r.stderr)}")
