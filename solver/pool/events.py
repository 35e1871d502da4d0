"""The event book's lines: what each event says, written from its row (the pool's own
events carry facts in DETAIL, the others their writer's TEXT)."""
from __future__ import annotations

from .lifecycle import WorkerState
from .words import EventKind


def describe(event) -> str:
    """One line for an EventRow (the screens, `serve`, replay and `jstui status`)."""
    d = event.detail or {}
    if event.kind is EventKind.WORKER and "to" in d:
        return worker_line(event.node, d.get("pid"), d.get("from"), d["to"], d.get("reason"))
    if event.kind is EventKind.ANSWER and "solution_id" in d:
        where = f" by {event.node}" if event.node else ""
        return (f"the exact answer is in the pool: solution #{d['solution_id']}{where} "
                f"({d.get('origin', '?')}), sha256 {str(d.get('sha256', ''))[:12]}…")
    if event.kind is EventKind.REFUSAL:
        return f"{event.node or 'pool'}: refused: {event.text}"
    if event.command_id is not None and "command" in d:
        return command_line(event.command_id, d["command"], d.get("status", ""),
                            d.get("result") or {})
    return event.text


def worker_line(node, pid, was, now, reason) -> str:
    who = f"worker {pid} on {node}" if pid is not None else f"a worker on {node}"
    if was is None:
        return f"{who} started"
    state = WorkerState.parse(now)
    why = f": {reason}" if reason else ""
    if state is WorkerState.RUNNING:
        return f"{who} is alive again ({was} -> running)"
    return f"{who} {was} -> {state.value}{why}"


def command_line(command_id: int, kind: str, status: str, result: dict) -> str:
    outcome = result.get("message") or result.get("error") or ""
    return f"{kind} #{command_id} {status}" + (f": {outcome}" if outcome else "")
