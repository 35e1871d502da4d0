"""The fleet: every node of a FleetConfig, driven concurrently; one slow or dead node
never holds up the others. Results are immutable snapshots (jstui.fleet.model)."""
from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import replace
from pathlib import PurePosixPath
from typing import AsyncIterator, Awaitable, Callable, Sequence

from jstui.config import ConfigError, FleetConfig, NodeConfig
from jstui.fleet.bundle import Bundle, build_bundle
from jstui.fleet.join import node_facts, worker_process
from jstui.fleet.model import (FleetStatus, NodeFacts, NodeHealth, NodeResult, NodeState,
                               NodeStatus)
from jstui.fleet.node import NodeOps, NotDeployed
from jstui.fleet.transport import NodeError, StateListener, make_transport
from solver.pool.locate import DSN_ENV

# argv of one worker on a node: (node, fleet config, the puzzle file under the node's work
# directory) -> [python, -m, solver.worker, ...]
WorkerArgv = Callable[[NodeConfig, FleetConfig, str], list[str]]


def solver_worker_argv(node: NodeConfig, cfg: FleetConfig, puzzle_rel: str) -> list[str]:
    """The real worker on the configured puzzle, with absolute paths only; the DSN travels
    in JSTUI_DSN so a password does not show in `ps`."""
    workdir = PurePosixPath(node.workdir)
    argv = [node.python, "-m", "solver.worker", "--puzzle", str(workdir / puzzle_rel),
            "--node", node.name, "--spool-dir", str(workdir / "spool")]
    argv += ["--runs", str(cfg.workers.runs)] if cfg.workers.runs else ["--forever"]
    return argv + list(cfg.workers.extra_args)


class Fleet:
    """All nodes of one fleet config; see the package docstring for the API."""

    def __init__(self, config: FleetConfig, *, worker_argv: WorkerArgv = solver_worker_argv):
        self.config = config
        self._worker_argv = worker_argv
        self._listeners: list[StateListener] = []
        self._ops = {n.name: NodeOps(n, make_transport(n, self._on_state))
                     for n in config.nodes}
        self._status_tasks: dict[str, asyncio.Task] = {}
        self._last: dict[str, NodeStatus] = {}
        self._bundle: Bundle | None = None
        self._closed = False

    @classmethod
    def from_config(cls, config: FleetConfig, **kwargs) -> "Fleet":
        return cls(config, **kwargs)

    # ---- node state -------------------------------------------------------------

    @property
    def nodes(self) -> tuple[NodeConfig, ...]:
        return self.config.nodes

    def add_state_listener(self, listener: StateListener) -> None:
        """listener(NodeHealth) on every change of a node's connection state."""
        self._listeners.append(listener)

    def _on_state(self, health: NodeHealth) -> None:
        for listener in list(self._listeners):
            listener(health)

    def health(self, node: str) -> NodeHealth:
        return self._node_ops(node).transport.health

    def _node_ops(self, name: str) -> NodeOps:
        if name not in self._ops:
            self.config.node(name)  # raises ConfigError listing the known nodes
        return self._ops[name]

    def _select(self, node: str | None) -> list[NodeOps]:
        return list(self._ops.values()) if node is None else [self._node_ops(node)]

    def _parse_target(self, target: str | None) -> tuple[list[NodeOps], int | None]:
        """None: every node; "NODE"; "NODE/SLOT" (a worker's name)."""
        if target is None:
            return self._select(None), None
        name, sep, slot = target.partition("/")
        if sep and not slot.isdigit():
            raise ConfigError(f"{target!r}: a worker is named NODE/SLOT, e.g. {name}/0")
        return [self._node_ops(name)], int(slot) if sep else None

    async def _each(self, nodes: Sequence[NodeOps],
                    action: Callable[[NodeOps], Awaitable[NodeResult]]) -> list[NodeResult]:
        """Run on every node at once; a node's failure becomes its result."""
        async def guarded(ops: NodeOps) -> NodeResult:
            t0 = time.perf_counter()
            try:
                result = await action(ops)
            except NodeError as e:
                result = NodeResult(ops.node.name, False, error=str(e))
            except ConfigError:
                raise
            except Exception as e:  # e.g. an SFTP failure: this node's problem only
                result = NodeResult(ops.node.name, False,
                                    error=f"node {ops.node.name}: {type(e).__name__}: {e}")
            return _timed(result, time.perf_counter() - t0)
        return list(await asyncio.gather(*(guarded(ops) for ops in nodes)))

    # ---- commands ---------------------------------------------------------------

    async def check(self, node: str | None = None) -> list[NodeResult]:
        """Connectivity, the interpreter (version, worker imports) and, with a DSN, whether
        the node reaches the pool; the detail names the work directory."""
        from jstui.fleet.check import check_node

        return await self._each(self._select(node), lambda ops: check_node(ops, self.config.dsn))

    async def check_pool(self) -> NodeResult:
        """Whether launch will have a pool: a DSN is configured and answers from here."""
        from jstui.fleet.check import check_pool

        return await check_pool(self.config)

    async def bootstrap(self, node: str | None = None, python: str | None = None,
                        system_site_packages: bool = False) -> list[NodeResult]:
        """A venv with the worker's requirements in each node's workdir, by its own pip."""
        from jstui.fleet.bootstrap import bootstrap_node

        return await self._each(self._select(node), lambda ops: bootstrap_node(
            ops, python, system_site_packages))

    async def bundle(self) -> Bundle:
        """The files deploy sends; the puzzle .npz is made once per fleet."""
        if self._bundle is None:
            self._bundle = await asyncio.to_thread(build_bundle, self.config.puzzle)
        return self._bundle

    async def deploy(self, node: str | None = None) -> list[NodeResult]:
        bundle = await self.bundle()
        return await self._each(self._select(node), lambda ops: ops.deploy(bundle.files))

    async def launch(self, node: str | None = None, n: int | None = None) -> list[NodeResult]:
        """Start n more workers per node; by default fill up to the configured count. A
        node without the code or the puzzle gets them first (deploy), and says so."""
        self._require_dsn()

        async def one(ops: NodeOps) -> NodeResult:
            state, deployed = await self._deployed_state(ops)
            if isinstance(state, NodeResult):
                return state
            alive = {w["slot"] for w in state["workers"] if w["alive"]}
            count = n if n is not None else max(0, ops.node.workers - len(alive))
            free = (s for s in itertools.count() if s not in alive)
            result = await self._launch_slots(ops, list(itertools.islice(free, count)))
            detail = "; ".join(p for p in (deployed, result.detail,
                                          await self._other_puzzles(ops, state)) if p)
            return replace(result, detail=detail)
        return await self._each(self._select(node), one)

    async def _deployed_state(self, ops: NodeOps) -> tuple[dict | NodeResult, str]:
        """(the agent's state, what was deployed first or ""), or (why not, ""). The node
        must hold the configured puzzle (by fingerprint): whatever puzzle ran there
        before, the one launched is the configured one."""
        needs_puzzle = self._worker_argv is solver_worker_argv
        if needs_puzzle and self.config.puzzle is None:
            where = self.config.source or "the fleet config"
            return NodeResult(ops.node.name, False, error=f"node {ops.node.name}: {where} "
                              "names no puzzle to run ([puzzle] path or --puzzle)"), ""
        bundle = await self.bundle()
        try:
            state = await ops.status(0)
            if bundle.puzzle_name in state.get("puzzles", ()) or not needs_puzzle:
                return state, ""
        except NotDeployed:
            pass
        deployed = await ops.deploy(bundle.files)
        if not deployed.ok:
            return replace(deployed, error=f"{deployed.error} (deploying before launch)"), ""
        return await ops.status(0), f"deployed first: {len(deployed.uploaded)} file(s) sent"

    async def _other_puzzles(self, ops: NodeOps, state: dict) -> str:
        """A word on the node's live workers that run another puzzle than the configured
        one (launch never stops work; relaunch puts them on this puzzle)."""
        rel = (await self.bundle()).puzzle_rel
        if rel is None or self._worker_argv is not solver_worker_argv:
            return ""
        mine = str(PurePosixPath(ops.node.workdir) / rel)
        others = [f"{ops.node.name}/{w['slot']}" for w in state["workers"]
                  if w["alive"] and w.get("puzzle") and w["puzzle"] != mine]
        if not others:
            return ""
        return (f"{len(others)} worker(s) still run another puzzle ({', '.join(others[:4])}): "
                "relaunch puts them on this one")

    async def launch_slots(self, slots: dict[str, list[int]]) -> list[NodeResult]:
        """Start workers in these slots of these nodes (NODE -> slots)."""
        self._require_dsn()
        nodes = [self._node_ops(name) for name in slots]
        return await self._each(nodes, lambda ops: self._launch_slots(ops, slots[ops.node.name]))

    def _require_dsn(self) -> None:
        if not self.config.dsn:
            where = self.config.source or "the fleet config"
            raise ConfigError(f"{where}: no pool DSN ([pool] dsn, --dsn or JSTUI_DSN)")

    async def _launch_slots(self, ops: NodeOps, slots: list[int]) -> NodeResult:
        if not slots:
            return NodeResult(ops.node.name, True, detail="nothing to launch")
        await ops.resolve_python(fresh=True)   # a venv bootstrapped meanwhile counts
        argv = self._worker_argv(ops.node, self.config, (await self.bundle()).puzzle_rel or "")
        launched = (await ops.launch(slots, argv, {DSN_ENV: self.config.dsn}))["launched"]
        started = [f"{ops.node.name}/{r['slot']}" for r in launched
                   if r.get("pid") and not r.get("skipped")]
        errors = [f"{ops.node.name}/{r['slot']}: {r['error']}" for r in launched
                  if r.get("error")]
        skipped = [r for r in launched if r.get("skipped")]
        detail = f"{len(started)} started" + (f", {len(skipped)} already running"
                                              if skipped else "")
        return NodeResult(ops.node.name, not errors, error="; ".join(errors),
                          detail=detail, workers=tuple(started))

    async def stop(self, target: str | None = None) -> list[NodeResult]:
        """SIGTERM, then SIGKILL after the grace period: all, a node, or one worker."""
        nodes, slot = self._parse_target(target)
        grace = self.config.workers.stop_grace

        async def one(ops: NodeOps) -> NodeResult:
            r = await ops.stop([slot] if slot is not None else None, grace)
            names = tuple(f"{ops.node.name}/{s}" for s in r["stopped"])
            killed = f", {len(r['killed'])} killed after {grace:g} s" if r["killed"] else ""
            return NodeResult(ops.node.name, True, workers=names,
                              detail=f"{len(names)} stopped{killed}")
        return await self._each(nodes, one)

    async def relaunch(self, target: str | None = None) -> list[NodeResult]:
        """A worker ("NODE/SLOT"): stop it and start it again. A node (or all): stop its
        workers and start what it is configured to run, slots 0..workers-1, whatever ran
        before (a worker added with launch -n beyond the count is not started again)."""
        nodes, slot = self._parse_target(target)
        grace = self.config.workers.stop_grace
        self._require_dsn()

        async def one(ops: NodeOps) -> NodeResult:
            if slot is not None:
                await ops.stop([slot], grace)
                return await self._launch_slots(ops, [slot])
            configured = ops.node.workers
            stopped = (await ops.stop(None, grace))["stopped"]
            extra = [s for s in stopped if s >= configured]
            result = await self._launch_slots(ops, list(range(configured)))
            note = f" (configured: {configured})" + (
                f"; {len(extra)} beyond the configured count stopped" if extra else "")
            return replace(result, detail=result.detail + note)
        return await self._each(nodes, one)

    async def tail_log(self, worker: str, lines: int = 100) -> list[str]:
        """The last lines of a worker's log ("NODE/SLOT"); NodeError if unreachable,
        ConfigError if the node has no such slot."""
        return (await self._tail(worker, lines))[2]["lines"]

    async def tail_worker_log(self, node: str, pid: int, lines: int = 100) -> list[str]:
        """The last lines of one worker's own log, by its pid: any worker launched on the
        node, the slot's newest or not (ConfigError if the node knows no such worker)."""
        ops = self._node_ops(node)
        answer = await ops.tail_pid(pid, lines)
        if not answer.get("exists", True):
            raise ConfigError(f"node {node} launched no worker with pid {pid}")
        return answer["lines"]

    async def _tail(self, worker: str, lines: int) -> tuple[NodeOps, int, dict]:
        nodes, slot = self._parse_target(worker)
        if slot is None:
            raise ConfigError(f"{worker!r}: name a worker as NODE/SLOT, e.g. {worker}/0")
        ops = nodes[0]
        answer = await ops.tail(slot, lines)
        if not answer.get("exists", True):   # (an agent deployed before it said so: trust)
            known = ", ".join(f"{ops.node.name}/{s}" for s in answer.get("slots", ()))
            raise ConfigError(f"{worker!r}: node {ops.node.name} has no worker in slot {slot} "
                              f"({'its workers: ' + known if known else 'none launched yet'})")
        return ops, slot, answer

    async def follow_log(self, worker: str, lines: int = 20,
                         interval: float = 1.0) -> AsyncIterator[str]:
        """The last lines of a worker's log, then each new line as it is written;
        runs until the consumer stops iterating (NodeError if the node goes away)."""
        ops, slot, first = await self._tail(worker, lines)
        for line in first["lines"]:
            yield line
        offset = first["size"]
        while True:
            chunk = await ops.read(slot, offset)
            offset = chunk["offset"]
            for line in chunk["text"].splitlines():
                yield line
            if not chunk["text"]:
                await asyncio.sleep(interval)

    async def facts(self, node: str) -> NodeFacts:
        """CPU count, load average and memory of one node (NodeError if unreachable)."""
        ops = self._node_ops(node)
        return node_facts(await ops.served("facts", {}))

    async def watch(self, on_status: Callable[[FleetStatus], None], interval: float = 2.0,
                    deadline: float = 2.0) -> None:
        """Poll status every `interval` seconds, hand each snapshot to on_status and,
        when the operator turned it on, relaunch finished workers (jstui.fleet.relauncher,
        at most once per `interval`); runs until cancelled."""
        from jstui.fleet.relauncher import AutoRelaunch

        relauncher = AutoRelaunch(self, every=interval)
        while True:
            status = await self.status(deadline=deadline)
            on_status(status)
            await relauncher.tick(status)
            await asyncio.sleep(interval)

    # ---- status -----------------------------------------------------------------

    async def status(self, deadline: float = 2.0, tail_lines: int = 5) -> FleetStatus:
        """Every node within `deadline` seconds; late nodes come back `stale` with their
        last known state while their answer is still awaited in the background. The
        processes as their nodes report them: the pool's side is joined in one place,
        jstui.assemble."""
        for ops in self._ops.values():
            task = self._status_tasks.get(ops.node.name)
            if task is None or task.done():
                self._status_tasks[ops.node.name] = asyncio.ensure_future(
                    self._node_status(ops, tail_lines))
        await asyncio.wait(list(self._status_tasks.values()), timeout=deadline)
        nodes = []
        for ops in self._ops.values():
            task = self._status_tasks[ops.node.name]
            if task.done():
                status = self._node_processes(ops, task.result())
                self._last[ops.node.name] = status
            else:
                last = self._last.get(ops.node.name)
                status = NodeStatus(ops.node.name, ops.node.kind, ops.transport.health,
                                    ops.node.workers, facts=last.facts if last else None,
                                    workers=last.workers if last else (),
                                    labels=ops.node.labels, stale=True,
                                    error=f"no answer within {deadline:g} s")
            nodes.append(status)
        return FleetStatus(time.time(), tuple(nodes))

    async def _node_status(self, ops: NodeOps, tail_lines: int) -> dict:
        try:
            return await ops.status(tail_lines)
        except NodeError as e:
            return {"error": str(e)}
        except Exception as e:  # a bug here must show, not hang the status of all
            return {"error": f"node {ops.node.name}: {type(e).__name__}: {e}"}

    def _node_processes(self, ops: NodeOps, raw: dict) -> NodeStatus:
        node = ops.node
        health = ops.transport.health
        if "error" in raw:
            return NodeStatus(node.name, node.kind, health, node.workers, labels=node.labels,
                              error=raw["error"] if health.state != NodeState.DOWN else "")
        workers = tuple(worker_process(node.name, rec) for rec in raw["workers"])
        return NodeStatus(node.name, node.kind, health, node.workers, node_facts(raw["facts"]),
                          workers, node.labels)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for task in self._status_tasks.values():
            task.cancel()
        await asyncio.gather(*self._status_tasks.values(), return_exceptions=True)
        await asyncio.gather(*(ops.aclose_served() for ops in self._ops.values()),
                             return_exceptions=True)
        await asyncio.gather(*(ops.transport.close() for ops in self._ops.values()),
                             return_exceptions=True)

    async def __aenter__(self) -> "Fleet":
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()


def _timed(result: NodeResult, seconds: float) -> NodeResult:
    return replace(result, seconds=seconds)
