"""What a session sees of its fleet, written to the pool: the exit records of workers
whose process ended (the lifecycle's exit transition: an exit record beats silence),
and nodes going down and coming back (events of the event book). Only a session that
may act records; any number may, the pool keeps each fact once (a terminal state is
never left; a node event is written on a change this session saw)."""
from __future__ import annotations

from jstui.assemble import exits_to_record, node_state
from solver.pool.words import EventKind, EventSource, NodeState


class FleetRecorder:
    def __init__(self) -> None:
        self.nodes: dict[str, tuple[NodeState, str]] = {}

    async def record(self, store, pool_workers, fleet_status) -> None:
        if fleet_status is None:
            return
        for worker_id, exit in exits_to_record(pool_workers, fleet_status.workers):
            await store.record_exit(worker_id, exit)
        for ns in fleet_status.nodes:
            state, reason = node_state(ns)
            line = self.change(ns.node, state, reason)
            if line:
                await store.add_event(EventKind.NODE, line, source=EventSource.FLEET,
                                      node=ns.node)

    def change(self, node: str, state: NodeState, reason: str) -> str | None:
        """The line for a node's change of state, if it is one worth a line."""
        was = self.nodes.get(node)
        if state in (NodeState.DOWN, NodeState.UP):
            self.nodes[node] = (state, reason)
        if state is NodeState.DOWN and (was is None or was != (state, reason)):
            return f"node {node} down: {reason}"
        if state is NodeState.UP and was is not None and was[0] is NodeState.DOWN:
            return f"node {node} is back"
        return None
