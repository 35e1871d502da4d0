"""Fleet commands for a shell: status, deploy, launch, stop, relaunch, logs, check,
bootstrap. Each prints a table and exits 0 on success, 1 when a node failed, 2 on bad
input."""
from __future__ import annotations

import argparse
import asyncio
import re
import sys
import time
from typing import Sequence

from rich.console import Console
from rich.table import Table
from rich.text import Text

from jstui.config import ConfigError
from jstui.fleet.model import FleetStatus, NodeResult, NodeState
from jstui.plan import open_fleet
from jstui.shell import stdout_console, until_reader_stops
from jstui.textfit import clip
from jstui.present import NODE_STYLE, WORKER_STYLE, fmt_age



def add_commands(sub) -> None:
    """Add the fleet subcommands to an argparse subparsers object (`jstui` reuses it)."""
    def common(p):
        p.add_argument("--config", help="fleet file (default: $JSTUI_CONFIG or the XDG "
                       "config dir; none: this machine only)")
        p.add_argument("--dsn", help="pool DSN (default: $JSTUI_DSN, then the fleet file)")
        p.add_argument("--puzzle", help="puzzle directory or .npz (overrides the file)")
        return p

    p = common(sub.add_parser("status", help="nodes and worker processes"))
    p.add_argument("--deadline", type=float, default=5.0, help="seconds to wait per node")
    p.set_defaults(fleet_func=cmd_status)
    p = common(sub.add_parser("deploy", help="copy solver and puzzle to nodes (by hash)"))
    p.add_argument("node", nargs="?")
    p.set_defaults(fleet_func=cmd_deploy)
    p = common(sub.add_parser("launch", help="start workers"))
    p.add_argument("node", nargs="?")
    p.add_argument("-n", type=int, default=None,
                   help="workers to add per node (default: up to the configured count)")
    p.set_defaults(fleet_func=cmd_launch)
    p = common(sub.add_parser("stop", help="stop workers: all, a NODE or a NODE/SLOT"))
    p.add_argument("target", nargs="?")
    p.set_defaults(fleet_func=cmd_stop)
    p = common(sub.add_parser("relaunch", help="stop and start again: all, NODE, NODE/SLOT"))
    p.add_argument("target", nargs="?")
    p.set_defaults(fleet_func=cmd_relaunch)
    p = common(sub.add_parser("logs", help="the end of a worker's log"))
    p.add_argument("worker", help="NODE/SLOT")
    p.add_argument("-n", "--lines", type=int, default=50)
    p.add_argument("-f", "--follow", action="store_true", help="keep printing new lines")
    p.set_defaults(fleet_func=cmd_logs)
    p = common(sub.add_parser("check", help="connectivity and interpreter of every node"))
    p.add_argument("node", nargs="?")
    p.set_defaults(fleet_func=cmd_check)
    p = common(sub.add_parser("bootstrap", help="a venv with the worker's requirements in "
                              "each node's workdir (the node's own pip installs them)"))
    p.add_argument("node", nargs="?")
    p.add_argument("--python", help="the node's interpreter to make it from (default: the "
                   "node's python, or the one an earlier bootstrap used)")
    p.add_argument("--system-site-packages", action="store_true",
                   help="let the venv see the base interpreter's packages")
    p.set_defaults(fleet_func=cmd_bootstrap)




def results_table(title: str, results: Sequence[NodeResult]) -> Table:
    table = Table(title=title, title_justify="left")
    for col in ("node", "result", "detail", "seconds"):
        table.add_column(col, justify="right" if col == "seconds" else "left")
    for r in results:   # what nodes say is plain text: "[pool]" is no markup
        table.add_row(Text(r.node), "[green]ok[/]" if r.ok else "[red]failed[/]",
                      Text(r.detail if r.ok else (r.error or r.detail)), f"{r.seconds:.2f}")
    return table


def status_tables(st: FleetStatus, joined: dict | None = None) -> list[Table]:
    """The nodes and their workers; JOINED: (node, pid) -> the worker as the screen sees
    it (jstui.assemble, the process and its pool row together), when the pool answered."""
    joined = joined or {}
    nodes = Table(title="nodes", title_justify="left")
    for col in ("node", "state", "address", "cpus", "load", "mem free", "workers", "note"):
        nodes.add_column(col)
    for n in st.nodes:
        f = n.facts
        style = NODE_STYLE.get(n.health.state, "")
        nodes.add_row(
            Text(n.node), Text(n.health.state.value, style=style),
            Text(n.health.address or "-"), str(f.cpus) if f else "-",
            f"{f.load[0]:.2f}" if f else "-",
            _bytes(f.mem_available) if f and f.mem_available else "-",
            f"{n.running}/{n.configured_workers}",
            Text(("stale: " if n.stale else "") + (n.health.reason or n.error)))
    workers = Table(title="workers", title_justify="left")
    for col in ("worker", "state", "pid", "since", "exit", "heartbeat", "log"):
        workers.add_column(col)
    now = time.time()
    for w in st.workers:
        view = joined.get((w.node, w.pid))
        state = view.state if view is not None else w.state
        beat = view.age if view is not None and view.worker_id is not None else None
        since = w.ended_at if w.ended_at and not state.alive else w.started_at
        workers.add_row(
            w.name, Text(state.value, style=WORKER_STYLE.get(state, "")), str(w.pid or "-"),
            fmt_age(now - since) if since else "-",
            "-" if w.exit_code is None else str(w.exit_code),
            f"{beat:.0f}s ago" if beat is not None else "-",
            Text(clip(exit_line(w), 70) if not state.alive else w.log_path))
    return [nodes, workers]


async def joined_with_pool(config, st: FleetStatus) -> tuple[dict, str]:
    """(node, pid) -> each worker as the screen sees it, its pool row joined by the one
    rule (jstui.assemble); and why the pool was not read, if it was not."""
    from jstui.assemble import History, down_nodes, worker_views
    from solver.pool import connect
    from solver.pool.locate import EMBEDDED, EMBEDDED_DOWN

    if not config.dsn or config.dsn == EMBEDDED:
        return {}, EMBEDDED_DOWN if config.dsn else "no pool DSN: states from the processes alone"
    try:
        async with await connect(config.dsn, max_size=1, timeout=5) as store:
            rows = await store.fetch_workers()
    except Exception as e:  # the pool being away must not take the fleet view with it
        return {}, f"pool: {e}"
    views = worker_views(rows, st.workers, time.time(), History(), down_nodes(st),
                         config.workers.silent_after)
    return {(v.node, v.pid): v for v in views}, ""


def exit_line(w) -> str:
    """Why an ended worker ended: its exit record said in words, and for a failure its
    own last line (a traceback's last line); without a record, its own last line."""
    seen = w.seen
    if seen.exit is None:
        return "no exit record; its last line: " + last_words(w.log_tail)
    line = seen.exit.describe()
    if seen.exit.state.value == "crashed" and (seen.exit.code or 0) > 0:
        line += " — " + last_words(w.log_tail)
    return line


# The worker's own log prefix: "2026-01-01T12:00:00.000Z NODE pid=123 INFO ".
_WORKER_PREFIX = re.compile(r"^\d{4}-\d\d-\d\dT[\d:.]+Z \S+ pid=\d+ [A-Z]+ ")


def last_words(tail: Sequence[str]) -> str:
    """What an ended worker said last: its own last line (a traceback's last line, or
    why it exited), not the supervisor's exit note, without the timestamp prefix."""
    own = [line for line in tail if line.strip() and not line.startswith("[jstui ")]
    return _WORKER_PREFIX.sub("", own[-1]) if own else (tail[-1] if tail else "")


def _bytes(n: int) -> str:
    return f"{n / 2**30:.1f}G"


async def _with_fleet(args, body, need_pool: bool = False, need_puzzle: bool = False,
                      make_puzzle: bool = False) -> int:
    """BODY(fleet). NEED_POOL: start the embedded pool if none is given; NEED_PUZZLE: the
    fleet must name a puzzle; MAKE_PUZZLE: the local default generates its own."""
    fleet, _ = await open_fleet(args.config, dsn=args.dsn, puzzle=args.puzzle,
                                start_pool=need_pool, make_puzzle=need_puzzle or make_puzzle)
    if need_puzzle and fleet.config.puzzle is None:
        raise ConfigError(f"{fleet.config.source}: no puzzle ([puzzle] path or --puzzle)")
    try:
        return await body(fleet)
    finally:
        await fleet.close()


def _report(console: Console, title: str, results: Sequence[NodeResult]) -> int:
    console.print(results_table(title, results))
    return 0 if all(r.ok for r in results) else 1


async def cmd_status(args, console: Console) -> int:
    async def body(fleet):
        st = await fleet.status(deadline=args.deadline)
        joined, pool_error = await joined_with_pool(fleet.config, st)
        for table in status_tables(st, joined):
            console.print(table)
        if pool_error:
            console.print(Text(pool_error, style="yellow"))
        return 0 if all(n.health.state == NodeState.UP and not n.error for n in st.nodes) else 1
    return await _with_fleet(args, body)


def _per_node(title: str, call, **needs):
    """A command whose answer is one NodeResult per node, printed as a table."""
    async def command(args, console: Console) -> int:
        async def body(fleet):
            return _report(console, title, await call(fleet, args))
        return await _with_fleet(args, body, **needs)
    return command


cmd_deploy = _per_node("deploy", lambda f, a: f.deploy(a.node), need_puzzle=True)
cmd_stop = _per_node("stop", lambda f, a: f.stop(a.target))
cmd_bootstrap = _per_node("bootstrap", lambda f, a: f.bootstrap(a.node, a.python,
                                                                a.system_site_packages))
cmd_relaunch = _per_node("relaunch", lambda f, a: f.relaunch(a.target), need_pool=True)
async def cmd_check(args, console: Console) -> int:
    """Every node, then the pool: a fleet file without a DSN fails here, not at launch."""
    async def body(fleet):
        nodes, pool = await asyncio.gather(fleet.check(args.node), fleet.check_pool())
        return _report(console, "check", [*nodes, pool])
    return await _with_fleet(args, body)

# launch deploys first where the code or the puzzle is missing (on a fresh machine
# without a fleet file, the default puzzle is made for it)
_launch = _per_node("launch", lambda f, a: f.launch(a.node, a.n), need_pool=True,
                    make_puzzle=True)


async def cmd_launch(args, console: Console) -> int:
    if args.n is not None and args.n < 0:
        raise ConfigError(f"-n: must be >= 0 (got {args.n})")
    return await _launch(args, console)


async def cmd_logs(args, console: Console) -> int:
    """Log lines as written: plain, never wrapped (grep sees whole lines), each flushed
    when following."""
    from jstui.fleet.transport import NodeError

    async def body(fleet):
        try:
            if args.follow:
                async for line in fleet.follow_log(args.worker, args.lines):
                    print(line, flush=True)
            else:
                for line in await fleet.tail_log(args.worker, args.lines):
                    print(line)
        except NodeError as e:
            console.print(Text(str(e), style="red"))
            return 1
        return 0
    return await _with_fleet(args, body)


def run(args) -> int:
    """Run a parsed fleet command; ConfigError and friends become one line and exit 2."""
    from solver.pool.embedded import EmbeddedError
    from solver.puzzle.files import PuzzleError

    console = stdout_console()
    try:
        return until_reader_stops(lambda: asyncio.run(args.fleet_func(args, console)))
    except (ConfigError, PuzzleError, EmbeddedError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jstui.fleet", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    add_commands(sub)
    return run(parser.parse_args(argv))
