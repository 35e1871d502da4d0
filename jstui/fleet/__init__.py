"""The fleet layer: nodes reached over SSH (asyncssh) or run locally; deploy, launch,
stop, relaunch, watch. No UI code; everything is asyncio.

API for the UI (all results are immutable dataclasses from `jstui.fleet.model`)::

    from jstui.plan import resolve
    from jstui.fleet import Fleet, NodeState, WorkerState

    plan = await resolve(config=None, dsn=None, puzzle=None, pool="start")
        # the fleet file's fleet, or (no fleet file) this machine as node kind "local",
        # the embedded PostgreSQL, the first-run puzzle, one worker per core
    fleet = Fleet.from_config(plan.fleet)         # a FleetConfig (jstui.config)
    fleet.add_state_listener(cb)                  # cb(NodeHealth) on every state change
    fleet.health(node) -> NodeHealth              # connecting / up / down + reason

    st = await fleet.status(deadline=2.0)         # FleetStatus: .nodes -> NodeStatus
        # NodeStatus: node, kind, health, facts (cpus, load, memory), workers,
        #   configured_workers, error, stale (node missed the deadline; others are
        #   never held up by it)
        # WorkerProcess: name "NODE/SLOT", state (running/stalled/done/solved/
        #   stopped/crashed/lost), pid, exit_code, log_path, log_tail,
        #   as its node reports it (the pool's side is joined in jstui.assemble)
    await fleet.check(node=None)   -> [NodeResult]  # connect + interpreter + workdir +
                                                   # whether the node reaches the pool DSN
    await fleet.check_pool()       -> NodeResult    # "(pool)": a DSN is set and answers here
    await fleet.bootstrap(node=None, python=None, system_site_packages=False)
                                   -> [NodeResult]  # WORKDIR/venv with the worker's
                                                   # requirements (the node's own pip); a
                                                   # node with no python in the file uses it
    await fleet.deploy(node=None)  -> [NodeResult]  # solver package + puzzle .npz, by hash
    await fleet.launch(node=None, n=None) -> [NodeResult]  # n: per node, default: to
                                                   # the configured count; deploys first
                                                   # where nothing is deployed yet
    await fleet.launch_slots({"NODE": [slots]}) -> [NodeResult]
    await fleet.stop(target=None)  -> [NodeResult]  # None: all; "NODE"; "NODE/SLOT"
    await fleet.relaunch(target=None) -> [NodeResult]  # a node: stop all, start its
                                                   # configured count; NODE/SLOT: that one
    await fleet.tail_log("NODE/SLOT", lines=100) -> list[str]   # NodeError if unreachable,
                                                   # ConfigError if no such slot
    async for line in fleet.follow_log("NODE/SLOT", lines=20): ...  # tail -f
    await fleet.facts(node) -> NodeFacts                      # NodeError if unreachable
    await fleet.watch(on_status, interval=2.0)    # poll loop (+ auto relaunch); cancel to end
    # auto-relaunch itself: jstui.fleet.relauncher.AutoRelaunch(fleet).tick(status, solved)
    await fleet.close()                           # or: async with Fleet(...) as fleet

Shell-side helpers (for `jstui status` etc.): jstui.fleet.cli.add_commands(subparsers)
adds status/deploy/launch/stop/relaunch/logs/check/bootstrap; jstui.fleet.cli.run(args)
runs one; jstui.fleet.cli.status_tables(FleetStatus) -> rich Tables.

Worker states (the one vocabulary and rule, solver.pool.lifecycle): the fleet says what a
process tells alone (running; done for exit 0 or 3, stopped, crashed, lost without an exit
record); with its pool row, joined in jstui.assemble, a worker is also stalled (alive but
silent), solved (it delivered the answer), or unknown (its node is down).

Per-node failures never raise: they come back as NodeResult(ok=False, error=...) or
NodeStatus(health.state=DOWN / error=...). Only a bad target name raises ConfigError.
Shell: `python -m jstui.fleet status|deploy|launch|stop|relaunch|logs|check|bootstrap`.
"""
from jstui.fleet.model import (FleetStatus, InterpreterReport, NodeFacts, NodeHealth,
                               NodeResult, NodeState, NodeStatus, WorkerProcess,
                               WorkerState)

__all__ = ["Fleet", "FleetStatus", "InterpreterReport", "NodeFacts", "NodeHealth",
           "NodeResult", "NodeState", "NodeStatus", "WorkerProcess", "WorkerState"]


def __getattr__(name):
    # Fleet pulls in asyncssh; load it only when asked for.
    if name == "Fleet":
        from jstui.fleet.fleet import Fleet
        return Fleet
    raise AttributeError(name)
