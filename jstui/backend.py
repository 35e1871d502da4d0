"""What carries out the operator's actions: the Backend contract (Harlequin's adapter
pattern: what a backend cannot do, it declares by a property and a method that raises
NotImplementedError; the screen reads the properties, it never probes), and the live
backend, through the fleet layer and the pool. Each action returns one line for the
event book, or raises with one sentence the screen shows."""
from __future__ import annotations

import abc
from dataclasses import replace

from jstui.snapshot import WorkerView
from solver.pool.words import CommandStatus, EventSource


class Backend(abc.ABC):
    """The operator's actions. Every backend writes lines to the event book; the rest it
    declares: a recorded state has no fleet and no pool to act on."""

    has_fleet = False        # relaunch, deploy, auto-relaunch and log tails need a fleet
    can_cancel = False       # a running command can be found and cancelled

    @abc.abstractmethod
    def record(self, kind: str, text: str) -> None:
        """Write one line to the event book (an action, its outcome)."""

    async def relaunch(self, node: str | None) -> str:
        raise NotImplementedError("no fleet to relaunch")

    async def stop_worker(self, worker: WorkerView) -> str:
        raise NotImplementedError("no fleet or pool to stop a worker through")

    async def inject(self, kind: str) -> str:
        raise NotImplementedError("no pool to inject into")

    async def surgery(self, positions: list[int] | None) -> str:
        raise NotImplementedError("no pool to operate on")

    async def running_surgery(self):
        """The surgery command pending or under way (newest), or None."""
        raise NotImplementedError("no pool to look in")

    async def cancel_command(self, command_id: int) -> str:
        raise NotImplementedError("no pool to cancel in")

    async def deploy(self) -> str:
        raise NotImplementedError("no fleet to deploy to")

    async def set_auto_relaunch(self, on: bool) -> str:
        raise NotImplementedError("no fleet to relaunch")

    async def set_knobs(self, knobs: dict[str, float]) -> str:
        raise NotImplementedError("no pool to set knobs in")

    async def tail(self, worker: WorkerView) -> str:
        raise NotImplementedError("no fleet to read logs from")


class LiveBackend(Backend):
    """Through the fleet (when there is one) and the pool: the store of the connection
    the reader uses (jstui.connection), and the reader's queue for the event book."""

    can_cancel = True

    def __init__(self, source, fleet=None) -> None:
        self.source, self.fleet = source, fleet
        self.connection = source.connection
        self.has_fleet = fleet is not None

    def record(self, kind: str, text: str) -> None:
        self.source.note(kind, text, EventSource.OPERATOR)

    def _store(self):
        if self.connection.store is None:
            raise RuntimeError("the pool is unreachable right now")
        return self.connection.store

    def _fleet(self):
        if self.fleet is None:
            raise RuntimeError("no fleet is configured (pool-only view)")
        return self.fleet

    def _results(self, what: str, results) -> str:
        self.source.poke()
        bad = [r for r in results if not r.ok]
        lines = [f"{r.node}: {r.summary}" for r in results]
        if bad and len(bad) == len(results):
            raise RuntimeError("; ".join(lines))
        return f"{what}: " + ("; ".join(lines) or "no nodes")

    async def _queued(self, kind: str, args: dict | None = None, target: str | None = None) -> int:
        """Queue a command; a tool command goes with the configured puzzle, the one the
        observer serves."""
        store = self._store()
        puzzle_id = None
        configured = self.source.configured
        if kind not in ("stop", "new_run") and configured is not None:
            puzzle_id = next((p.id for p in await store.fetch_puzzles()
                              if p.fingerprint == configured.fingerprint), None)
        cid = await store.enqueue_command(kind, args, target=target, puzzle_id=puzzle_id)
        self.source.poke()
        return cid

    async def relaunch(self, node: str | None) -> str:
        return self._results(f"relaunch {node or 'all'}", await self._fleet().relaunch(node))

    async def stop_worker(self, worker: WorkerView) -> str:
        if not worker.alive:
            raise RuntimeError(f"worker {worker.pid} on {worker.node} has already ended "
                               f"({worker.state.value}): nothing to stop")
        if self.fleet is not None and worker.fleet_name:
            return self._results(f"stop {worker.fleet_name}", await self.fleet.stop(worker.fleet_name))
        if worker.worker_id is None:
            raise RuntimeError(f"worker {worker.pid} on {worker.node} is not known to the pool")
        cid = await self._queued("stop", target=f"worker:{worker.worker_id}")
        return f"stop requested for worker {worker.pid} on {worker.node} (command #{cid})"

    async def inject(self, kind: str) -> str:
        count = 8 if kind == "random" else 1   # the other kinds make the same seed each time
        cid = await self._queued("inject", {"kind": kind, "count": count})
        return f"inject {kind}: queued as command #{cid} for the observer"

    async def surgery(self, positions: list[int] | None) -> str:
        cid = await self._queued("surgery", {"positions": positions} if positions else {})
        where = f"{len(positions)} position(s)" if positions else "the uncertain zone"
        return f"surgery on {where}: queued as command #{cid} for the observer"

    async def running_surgery(self):
        """The surgery command now pending or under way (newest), or None."""
        for command in await self._store().fetch_commands(30):
            if command.kind == "surgery" and not command.status.final \
                    and not command.cancel_requested:
                return command
        return None

    async def cancel_command(self, command_id: int) -> str:
        from solver.pool.errors import UnknownRow

        try:
            status = await self._store().cancel_command(command_id)
        except UnknownRow:
            raise RuntimeError(f"there is no command #{command_id}") from None
        self.source.poke()
        return (f"command #{command_id} cancelled" if status is CommandStatus.CANCELLED
                else f"command #{command_id}: cancel requested (it stops at its next progress report)")

    async def deploy(self) -> str:
        return self._results("deploy", await self._fleet().deploy())

    async def set_auto_relaunch(self, on: bool) -> str:
        """The fleet's config is the one truth: the relauncher and the snapshot read it."""
        fleet = self._fleet()
        cfg = fleet.config
        fleet.config = replace(cfg, workers=replace(cfg.workers, auto_relaunch=on))
        self.source.poke()
        return f"auto-relaunch {'on' if on else 'off'}"

    async def set_knobs(self, knobs: dict[str, float]) -> str:
        store = self._store()
        for key, value in knobs.items():
            await store.set_config(key, value, by="jstui")
        self.source.poke()
        return "knobs: " + ", ".join(f"{k}={v:g}" for k, v in knobs.items())

    async def tail(self, worker: WorkerView) -> str:
        """Its own log: by its pid on its node (any worker launched there, before a
        relaunch too), or by its slot while the fleet sees its process."""
        fleet = self._fleet()
        if worker.pid is not None and any(n.name == worker.node for n in fleet.nodes):
            return "\n".join(await fleet.tail_worker_log(worker.node, worker.pid, lines=200))
        if not worker.fleet_name:
            raise RuntimeError(f"worker {worker.pid} on {worker.node}: its node is not one of "
                               "this fleet's, so its log cannot be read from here")
        return "\n".join(await fleet.tail_log(worker.fleet_name, lines=200))
