"""A worker process as its node's agent reports it (is it alive, how did it end), by the
one rule of solver.pool.lifecycle from the process alone. The pool's side (is it beating,
what it said) is joined in one place, jstui.assemble."""
from __future__ import annotations

from jstui.fleet.model import NodeFacts, WorkerProcess
from solver.pool.lifecycle import Exit, ProcessSeen, view_state


def process_seen(rec: dict) -> ProcessSeen:
    """What the node's agent says of one worker's process."""
    ended = rec.get("exit")
    exit = Exit(ended.get("code"), bool(ended.get("stopped"))) if ended else None
    return ProcessSeen(bool(rec.get("alive")), exit)


def worker_process(node: str, rec: dict) -> WorkerProcess:
    ended = rec.get("exit") or {}
    return WorkerProcess(
        node=node, slot=rec["slot"], state=view_state(None, None, process=process_seen(rec)),
        pid=rec.get("pid"), started_at=rec.get("started"), ended_at=ended.get("ended"),
        exit_code=ended.get("code"), log_path=rec.get("log", ""),
        log_tail=tuple(rec.get("tail", ())), alive=bool(rec.get("alive")),
        stopped=bool(ended.get("stopped")), has_exit=bool(rec.get("exit")))


def node_facts(f: dict) -> NodeFacts:
    return NodeFacts(f["hostname"], f["os"], f["cpus"], tuple(f["load"]), f["mem_total"],
                     f["mem_available"])
