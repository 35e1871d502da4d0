"""`fleet check`: everything a launch will need, asked before the launch does."""
from __future__ import annotations

import time

from jstui.config import FleetConfig
from jstui.fleet.model import NodeResult
from jstui.fleet.node import PYTHON_WHY, NodeOps, interpreter_problem
from jstui.fleet.transport import describe_error
from solver.pool.locate import EMBEDDED, EMBEDDED_DOWN, on_unix_socket, redact

POOL_ROW = "(pool)"  # check's row for the pool: no node name has parentheses
_SOCKET_FIX = ("; that DSN is a unix socket of this machine, which other machines cannot "
               "reach: run `python -m solver pool up --listen 0.0.0.0` here, then "
               '[pool] dsn = "embedded" reaches it over TCP')


async def check_node(ops: NodeOps, dsn: str | None) -> NodeResult:
    """The node's interpreter (which one, and why that one) and worker imports, its work
    directory, and (with a DSN) whether its own Python reaches the pool."""
    name = ops.node.name
    interp = await ops.check_interpreter()
    address = ops.transport.health.address
    problem = interpreter_problem(ops.node, interp)
    if problem:
        return NodeResult(name, False, error=problem, interpreter=interp, detail=address)
    detail = (f"Python {interp.version} at {interp.python} ({PYTHON_WHY[interp.source]}) "
              f"via {address}, workdir {ops.node.workdir}")
    if dsn and dsn != EMBEDDED:   # (the embedded pool not running: the pool row says so)
        why = await ops.pool_unreachable(dsn)
        if why:
            return NodeResult(name, False, interpreter=interp, detail=detail,
                              error=f"node {name}: cannot reach the pool {redact(dsn)}: {why}"
                              + (_SOCKET_FIX if ops.node.kind == "ssh" and on_unix_socket(dsn)
                                 else ""))
        detail += ", pool reachable"
    return NodeResult(name, True, interpreter=interp, detail=detail)


async def check_pool(config: FleetConfig) -> NodeResult:
    """A DSN is configured and answers from here. Read-only: a plain connection, no
    migration."""
    import asyncpg

    if not config.dsn:
        where = config.source or "the fleet config"
        return NodeResult(POOL_ROW, False, error=f"{where}: no pool DSN ([pool] dsn, --dsn "
                          f"or JSTUI_DSN): launch and relaunch need one")
    if config.dsn == EMBEDDED:
        return NodeResult(POOL_ROW, False, error=EMBEDDED_DOWN)
    t0 = time.perf_counter()
    try:
        conn = await asyncpg.connect(config.dsn, timeout=5)
        try:
            version = await conn.fetchval("SHOW server_version")
        finally:
            await conn.close()
    except Exception as e:  # any failure is the answer: say it in one line
        return NodeResult(POOL_ROW, False, seconds=time.perf_counter() - t0,
                          error=f"pool {redact(config.dsn)}: cannot connect from "
                          f"here: {describe_error(e)}")
    return NodeResult(POOL_ROW, True, seconds=time.perf_counter() - t0,
                      detail=f"PostgreSQL {version} at {redact(config.dsn)}")
