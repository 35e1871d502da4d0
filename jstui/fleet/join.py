"""A worker process as the fleet reports it: the node agent's record of the process (is
it alive, how did it end) joined with the worker's pool row (is it beating)."""
from __future__ import annotations

from jstui.fleet.model import NodeFacts, WorkerProcess, WorkerState
from solver.pool.states import SILENT_AFTER_S, pool_state
from solver.worker import EXIT_SOLVED


def classify(rec: dict, pool_row=None, stale_after: float = SILENT_AFTER_S) -> WorkerState:
    """A worker's state from its agent record (alive, exit record) and pool row. An
    alive process whose row the pool's rule calls silent is stalled, not lost."""
    if rec.get("alive"):
        if pool_row is not None and \
                pool_state(pool_row.status, pool_row.heartbeat_age_s, stale_after) == WorkerState.LOST:
            return WorkerState.STALLED
        return WorkerState.RUNNING
    ended = rec.get("exit")
    if ended is None:
        return WorkerState.LOST
    if ended.get("stopped"):
        return WorkerState.STOPPED
    if ended.get("code") == EXIT_SOLVED:
        return WorkerState.SOLVED
    if ended.get("code") == 0 and (pool_row is None or pool_row.status != WorkerState.CRASHED):
        return WorkerState.DONE
    return WorkerState.CRASHED


def worker_process(node: str, rec: dict, pool_row, stale_after: float) -> WorkerProcess:
    ended = rec.get("exit") or {}
    return WorkerProcess(
        node=node, slot=rec["slot"], state=classify(rec, pool_row, stale_after),
        pid=rec.get("pid"), started_at=rec.get("started"), ended_at=ended.get("ended"),
        exit_code=ended.get("code"), log_path=rec.get("log", ""),
        log_tail=tuple(rec.get("tail", ())),
        heartbeat_age=pool_row.heartbeat_age_s if pool_row is not None else None,
        pool_status=pool_row.status if pool_row is not None else None)


def node_facts(f: dict) -> NodeFacts:
    return NodeFacts(f["hostname"], f["os"], f["cpus"], tuple(f["load"]), f["mem_total"],
                     f["mem_available"])
