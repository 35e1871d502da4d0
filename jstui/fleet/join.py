"""A worker process as the fleet reports it: the node agent's record of the process (is
it alive, how did it end) joined with the worker's pool row (is it beating), by the one
rule of solver.pool.lifecycle."""
from __future__ import annotations

from jstui.fleet.model import NodeFacts, WorkerProcess, WorkerState
from solver.pool.lifecycle import SILENT_AFTER_S, Exit, ProcessSeen, view_state


def process_seen(rec: dict) -> ProcessSeen:
    """What the node's agent says of one worker's process."""
    ended = rec.get("exit")
    exit = Exit(ended.get("code"), bool(ended.get("stopped"))) if ended else None
    return ProcessSeen(bool(rec.get("alive")), exit)


def classify(rec: dict, pool_row=None, stale_after: float = SILENT_AFTER_S) -> WorkerState:
    """A worker's state from its agent record (alive, exit record) and pool row."""
    stored = pool_row.state_stored if pool_row is not None else None
    age = pool_row.heartbeat_age_s if pool_row is not None else None
    return view_state(stored, age, process=process_seen(rec), silent_after=stale_after)


def worker_process(node: str, rec: dict, pool_row, stale_after: float) -> WorkerProcess:
    ended = rec.get("exit") or {}
    return WorkerProcess(
        node=node, slot=rec["slot"], state=classify(rec, pool_row, stale_after),
        pid=rec.get("pid"), started_at=rec.get("started"), ended_at=ended.get("ended"),
        exit_code=ended.get("code"), log_path=rec.get("log", ""),
        log_tail=tuple(rec.get("tail", ())),
        heartbeat_age=pool_row.heartbeat_age_s if pool_row is not None else None,
        pool_status=pool_row.status if pool_row is not None else None,
        alive=bool(rec.get("alive")), stopped=bool(ended.get("stopped")),
        has_exit=bool(rec.get("exit")))


def node_facts(f: dict) -> NodeFacts:
    return NodeFacts(f["hostname"], f["os"], f["cpus"], tuple(f["load"]), f["mem_total"],
                     f["mem_available"])
