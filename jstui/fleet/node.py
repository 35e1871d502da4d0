"""What can be done to one node through its transport: check its interpreter, deploy
by content hash, and drive the node-side agent (launch, stop, status, tail)."""
from __future__ import annotations

import asyncio
import json
import time
from dataclasses import replace
from pathlib import PurePosixPath
from typing import Sequence

from jstui.config import NodeConfig
from jstui.fleet.bundle import (AGENT_REL, AGENT_RECORDS_REL, VENV_MARKER_REL, VENV_PYTHON_REL, VENV_REL,
                               BundleFile)
from jstui.fleet.model import InterpreterReport, NodeResult
from jstui.fleet.transport import NodeDown, NodeError, Stream, Transport

MIN_PYTHON = (3, 10)
WORKER_MODULES = ("numpy", "scipy", "asyncpg")

# Run by the node's interpreter: its version and which worker imports fail.
_CHECK_SCRIPT = """\
import json, sys
missing = []
for name in %r:
    try:
        __import__(name)
    except Exception as e:
        missing.append("%%s: %%s" %% (name, e))
print(json.dumps({"version": sys.version.split()[0], "info": list(sys.version_info[:3]),
                  "executable": sys.executable, "missing": missing}))
""" % (WORKER_MODULES,)

# Run by the node's interpreter: can a worker there open the pool? (DSN on stdin.)
_POOL_SCRIPT = """\
import asyncio, sys
import asyncpg
async def main(dsn):
    conn = await asyncpg.connect(dsn, timeout=5)
    await conn.close()
asyncio.run(main(sys.stdin.read().strip()))
"""

# Content hashes of what deploy manages under WORKDIR (caches and logs ignored).
_HASH_SCRIPT = """\
import hashlib, json, os, sys
root = sys.argv[1]
out = {}
def add(rel):
    h = hashlib.sha256()
    with open(os.path.join(root, rel), "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    out[rel] = h.hexdigest()
for top in ("lib/solver",):
    for d, dirs, files in os.walk(os.path.join(root, top)):
        dirs[:] = [x for x in dirs if x != "__pycache__"]
        for name in files:
            if not name.endswith((".pyc", ".part")):
                add(os.path.relpath(os.path.join(d, name), root))
for rel in ("lib/jstui_agent.py", "lib/agent_records.py", "puzzle.npz"):
    if os.path.isfile(os.path.join(root, rel)):
        add(rel)
try:
    names = os.listdir(os.path.join(root, "puzzles"))
except OSError:
    names = []
for name in names:
    if name.endswith(".npz"):
        add("puzzles/" + name)
print(json.dumps(out))
"""


class NotDeployed(NodeError):
    """The node has no agent in its work directory: nothing was deployed there yet."""


class NodeOps:
    """One node's operations; every error is a NodeError naming the node."""

    def __init__(self, node: NodeConfig, transport: Transport):
        self.configured = node    # as the fleet file says
        self.node = node          # with the interpreter in use (see resolve_python)
        self.transport = transport
        self._probed = False
        self._served: Stream | None = None     # a warm `agent serve` for frequent calls
        self._served_lock = asyncio.Lock()
        self._served_retry_at = 0.0

    @property
    def workdir(self) -> PurePosixPath:
        return PurePosixPath(self.node.workdir)

    def _fail(self, what: str) -> NodeError:
        return NodeError(f"node {self.node.name}: {what}")

    async def resolve_python(self, fresh: bool = False) -> None:
        """A node whose python the fleet file does not set uses the venv `fleet
        bootstrap` made in its work directory, if there is one (asked of the node once,
        or again when FRESH); any python the fleet file sets wins."""
        if self.configured.python_source != "default" or (self._probed and not fresh):
            return
        marker = str(self.workdir / VENV_MARKER_REL)
        found = (await self.transport.run(["test", "-f", marker])).returncode == 0
        self._probed = True
        self.node = replace(self.configured, python=str(self.workdir / VENV_PYTHON_REL),
                            python_source="venv") if found else self.configured

    async def check_interpreter(self) -> InterpreterReport:
        """The interpreter workers will use (looked up afresh): version, worker imports."""
        await self.resolve_python(fresh=True)
        report = await self.probe_interpreter(self.node.python)
        return replace(report, source=self.node.python_source)

    async def probe_interpreter(self, python: str) -> InterpreterReport:
        r = await self.transport.run([python, "-c", _CHECK_SCRIPT], timeout=60)
        if r.returncode in (126, 127) or (r.returncode != 0 and not r.stdout.strip()):
            why = last_line(r.stderr) or f"exit status {r.returncode}"
            if r.returncode == 127 or "No such file" in why or "not found" in why:
                why = f"interpreter {python} not found"
            elif r.returncode == 126:
                why = f"interpreter {python} cannot be executed ({why})"
            return InterpreterReport(python, error=why)
        try:
            info = json.loads(r.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            return InterpreterReport(python, error=f"{python} did not answer like Python: "
                                                   f"{last_line(r.stdout or r.stderr)}")
        missing = list(info["missing"])
        if tuple(info["info"][:2]) < MIN_PYTHON:
            missing.insert(0, f"python: {info['version']} is older than "
                              f"{'.'.join(map(str, MIN_PYTHON))}")
        return InterpreterReport(python, version=info["version"], missing=tuple(missing))

    async def pool_unreachable(self, dsn: str) -> str | None:
        """Why a worker on this node could not open the pool, or None when it can: the
        DSN a node reaches is not always the one this machine does (localhost, a
        firewall). The DSN goes through stdin, never the command line."""
        r = await self.transport.run([self.node.python, "-c", _POOL_SCRIPT], timeout=30,
                                     input=dsn)
        if r.returncode == 0:
            return None
        return last_line(r.stderr) or f"exit status {r.returncode}"

    async def make_dirs(self) -> None:
        w = self.workdir
        r = await self.transport.run(["mkdir", "-p", str(w / "lib"), str(w / "logs"),
                                      str(w / "run")])
        if r.returncode != 0:
            raise self._fail(f"cannot create work directory {w}: {last_line(r.stderr)}")

    async def remote_hashes(self) -> dict[str, str]:
        r = await self.transport.run([self.node.python, "-c", _HASH_SCRIPT, str(self.workdir)],
                                     timeout=120)
        if r.returncode != 0:
            raise self._fail(f"cannot list {self.workdir}: {last_line(r.stderr)}")
        return json.loads(r.stdout)

    async def deploy(self, bundle: Sequence[BundleFile]) -> NodeResult:
        """Log and run directories first, then only the files whose hash changed."""
        await self.make_dirs()
        interp = await self.check_interpreter()
        if interp.error:
            return NodeResult(self.node.name, False, error=interpreter_problem(self.node, interp),
                              interpreter=interp)
        remote = await self.remote_hashes()
        wanted = {f.rel: f for f in bundle}
        changed = [f for f in bundle if remote.get(f.rel) != f.sha256]
        dirs = sorted({str(self.workdir / PurePosixPath(f.rel).parent) for f in changed})
        if dirs:
            r = await self.transport.run(["mkdir", "-p", *dirs])
            if r.returncode != 0:
                raise self._fail(f"cannot create {dirs[0]}: {last_line(r.stderr)}")
        if changed:
            await self.transport.put_many([(f.path, str(self.workdir / f.rel))
                                           for f in changed])
        if any(f.rel in (AGENT_REL, AGENT_RECORDS_REL) for f in changed):
            await self.aclose_served()  # the warm agent runs the old code
            self._served_retry_at = 0.0
        # Modules that left the package must not linger to be imported by mistake, nor
        # puzzles other than the configured one (the single puzzle.npz of older
        # versions included): a worker only ever runs the one it is launched on.
        stale = sorted(rel for rel in remote if rel not in wanted and (
            rel.startswith(("lib/solver/", "puzzles/")) or rel == "puzzle.npz"))
        if stale:
            r = await self.transport.run(["rm", "-f", *(str(self.workdir / s) for s in stale)])
            if r.returncode != 0:
                raise self._fail(f"cannot remove stale files: {last_line(r.stderr)}")
        ok = interp.ok
        error = interpreter_problem(self.node, interp)
        return NodeResult(self.node.name, ok, error=error,
                          detail=f"{len(changed)} sent, {len(bundle) - len(changed)} unchanged",
                          uploaded=tuple(f.rel for f in changed), removed=tuple(stale),
                          unchanged=len(bundle) - len(changed), interpreter=interp)

    async def served(self, command: str, spec: dict | None = None,
                     timeout: float = 30) -> dict:
        """Through the warm agent (status, tail): no Python start per call. Falls back
        to a one-shot agent, which also gives the precise error when there is one."""
        if time.monotonic() >= self._served_retry_at:
            async with self._served_lock:
                try:
                    if self._served is None:
                        self._served = await self._open_served()
                    line = await self._served.request(
                        json.dumps({"command": command, "spec": spec}), timeout)
                    answer = json.loads(line)
                except NodeDown:
                    raise
                except asyncio.CancelledError:
                    # An answer may still be on its way: this stream is out of step.
                    await asyncio.shield(self.aclose_served())
                    raise
                except Exception:  # broken or absent warm agent: use a one-shot one
                    await self.aclose_served()
                    self._served_retry_at = time.monotonic() + 5.0
                else:
                    if "ok" in answer:
                        return answer["ok"]
                    raise self._fail(f"agent {command} failed: {answer.get('error')}")
        return await self.agent(command, spec, timeout)

    async def _open_served(self) -> Stream:
        await self.resolve_python()
        stream = await self.transport.open_stream(
            [self.node.python, str(self.workdir / AGENT_REL), str(self.workdir), "serve"])
        try:
            json.loads(await stream.readline(10))["ready"]
        except BaseException:
            await asyncio.shield(stream.aclose())  # reap it, even when cancelled
            raise
        return stream

    async def aclose_served(self) -> None:
        served, self._served = self._served, None
        if served is not None:
            await served.aclose()

    async def agent(self, command: str, spec: dict | None = None,
                    timeout: float | None = 60) -> dict:
        # The spec goes through stdin: it may hold the pool DSN, which `ps` must not show.
        await self.resolve_python()
        argv = [self.node.python, str(self.workdir / AGENT_REL), str(self.workdir), command]
        if spec is not None:
            argv.append("-")
        r = await self.transport.run(argv, timeout=timeout,
                                     input=None if spec is None else json.dumps(spec))
        if r.returncode != 0:
            err = r.stderr
            if "jstui_agent.py" in err and ("No such file" in err or "can't open" in err):
                raise NotDeployed(f"node {self.node.name}: not deployed to {self.workdir} "
                                  "(run deploy first)")
            if r.returncode == 127 or (r.returncode != 0 and self.node.python in err
                                       and "No such file" in err):
                raise self._fail(f"interpreter {self.node.python} not found")
            raise self._fail(f"agent {command} failed: {last_line(err)}")
        try:
            return json.loads(r.stdout)
        except ValueError:
            raise self._fail(f"agent {command} gave no answer: "
                             f"{last_line(r.stdout or r.stderr)}") from None

    async def status(self, tail_lines: int = 5) -> dict:
        return await self.served("status", {"tail": tail_lines}, timeout=30)

    async def launch(self, slots: Sequence[int], argv: Sequence[str],
                     env: dict[str, str] | None = None) -> dict:
        env = {**(env or {}), "PYTHONPATH": str(self.workdir / "lib"),
               "PYTHONUNBUFFERED": "1"}
        spec = {"slots": list(slots), "argv": list(argv), "env": env, "nice": self.node.nice}
        return await self.agent("launch", spec, timeout=60 + 2 * len(slots))

    async def stop(self, slots: Sequence[int] | None, grace: float) -> dict:
        spec = {"slots": list(slots) if slots else [], "grace": grace}
        return await self.agent("stop", spec, timeout=grace + 30)

    async def tail(self, slot: int, lines: int) -> dict:
        """{"lines": the last lines, "size": the log's size in bytes}"""
        return await self.served("tail", {"slot": slot, "lines": lines})

    async def tail_pid(self, pid: int, lines: int) -> dict:
        """The same for the worker with this pid (any launched on the node)."""
        return await self.served("tail", {"pid": pid, "lines": lines})

    async def read(self, slot: int, offset: int) -> dict:
        """{"text": whole lines from byte `offset`, "offset": where to read next}"""
        return await self.served("read", {"slot": slot, "offset": offset})


# Why a node uses the interpreter it does (NodeConfig.python_source), as check says it.
PYTHON_WHY = {"fleet file": "set in the fleet file",
              "default": "the default: no python in the fleet file, no bootstrapped venv",
              "venv": "the venv made by bootstrap; no python in the fleet file",
              "local": "this jstui's own interpreter"}


def interpreter_problem(node: NodeConfig, interp: InterpreterReport) -> str:
    """Why the node's interpreter will not do for a worker, and what to run about it;
    "" when it will."""
    venv = PurePosixPath(node.workdir) / VENV_REL
    run = f"`python -m jstui.fleet bootstrap {node.name}`"
    if interp.error:
        fix = (f": set python for this node in the fleet file, or {run} --python PATH "
               f"makes {venv}" if node.python_source == "default" else "")
        return f"node {node.name}: {interp.error}{fix}"
    if not interp.missing:
        return ""
    text = f"node {node.name}: {interp.python} lacks " + "; ".join(interp.missing)
    if interp.missing[0].startswith("python:"):
        return f"{text}: {run} --python PATH (a Python >= 3.10 on the node) makes {venv}"
    if node.python_source == "fleet file":
        return (f"{text}: {run} makes {venv} with them; the fleet file's python for this "
                f"node wins over it: remove that line, or point it there")
    return f"{text}: {run} installs them in {venv}, used from then on"


def last_line(text: str) -> str:
    lines = [ln.strip() for ln in (text or "").strip().splitlines() if ln.strip()]
    return lines[-1] if lines else ""
