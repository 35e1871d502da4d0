"""The observer's cycle, and the record of what it did: every knob change, injection and
surgery is logged as an intervention with the pool's best before it, and judged
JUDGE_AFTER_S later by the best the pool reached by then. `solver observe --report`
reads that record (and the lineage of the pool's records) to say what paid off."""
from __future__ import annotations

import logging
import statistics
import time
from dataclasses import asdict

from solver.pool.base import TOOL_COMMANDS

from .observe import Policy, decide, gather_stats, run_tool_command, _jsonable

log = logging.getLogger("solver.observe")

# Seed methods the observer injects in turn (polished, so they can join the elites);
# made from the data or from the pool's best, unlike the workers' usual norm seeds.
AUTO_SEEDS = ("jacobian", "loo", "insertion", "greedy")
AUTO_POLISH_S = 20.0


class Observer:
    def __init__(self, store, puzzle, policy: Policy, node: str = "observer"):
        self.store, self.puzzle, self.policy, self.node = store, puzzle, policy, node
        self.puzzle_id: int | None = None
        self.last_change: float | None = None    # monotonic time of the last knob widening
        self.last_action: float | None = None    # ... and of the last automatic command
        self.actions = 0
        self.last_kind = ""

    async def start(self) -> None:
        self.puzzle_id = await self.store.register_puzzle(self.puzzle)

    async def cycle(self, number: int) -> str:
        """One look at the pool: judge, adjust, act, run queued tools; returns the kind."""
        p, store = self.policy, self.store
        lost = await store.mark_lost(p.grace_s)
        await self.judge_due()
        stats = await gather_stats(store, self.puzzle_id)
        knobs = {k: c.value for k, c in (await store.fetch_config()).items()}
        since = None if self.last_change is None else time.monotonic() - self.last_change
        kind, changes, reasons = decide(stats, knobs, p.stagnation_s, since_change_s=since,
                                        cooldown_s=p.cooldown_s)
        if lost:
            reasons.append(f"marked {lost} silent worker(s) lost (no heartbeat for {p.grace_s:g} s)")
        if changes:
            await self.set_knobs(kind, changes, stats)
        action = await self.maybe_act(kind, stats)
        if action:
            reasons.append(action)
        if changes or lost or action or kind != self.last_kind or number == 1 or number % p.report_every == 0:
            message = f"{kind}: " + "; ".join(reasons)
            await store.add_observation(self.puzzle_id, kind, message, stats=asdict(stats), changes=changes)
            log.info("%s", message)
        self.last_kind = kind
        await self.run_commands()
        return kind

    async def set_knobs(self, kind: str, changes: dict, stats) -> None:
        for key, value in changes.items():
            await self.store.set_config(key, value, by="observer")
        if kind not in ("healthy", "starting"):
            self.last_change = time.monotonic()
        await self.store.add_intervention(self.puzzle_id, "knobs", dict(changes), reason=kind,
                                          window_s=self.policy.judge_after_s, best_before=stats.best_mse)

    async def maybe_act(self, kind: str, stats) -> str | None:
        """With auto: on stagnation or a monoculture, queue a surgery on the positions
        where the elites disagree or a polished injection, one per cooldown."""
        p = self.policy
        if not p.auto or kind not in ("stagnation", "monoculture") or stats.workers_alive == 0:
            return None
        if self.last_action is not None and time.monotonic() - self.last_action < p.cooldown_s:
            return None
        self.last_action, self.actions = time.monotonic(), self.actions + 1
        # A monoculture needs new material; a stagnant but diverse pool, work where it disagrees.
        if kind == "stagnation" and self.actions % 2 == 1:
            command, args = "surgery", {"max_cycle": 3, "time_limit": max(30.0, p.judge_after_s / 2)}
        else:
            seed = AUTO_SEEDS[(self.actions // 2) % len(AUTO_SEEDS)]
            command, args = "inject", {"kind": seed, "count": 1, "polish": AUTO_POLISH_S}
        args.update(by="observer", reason=kind)
        cid = await self.store.enqueue_command(command, args, puzzle_id=self.puzzle_id)
        return f"queued {command} #{cid} ({args.get('kind', 'uncertain positions')})"

    async def run_commands(self) -> None:
        store = self.store
        while (command := await store.claim_command(self.node, TOOL_COMMANDS)) is not None:
            best = await store.fetch_best(self.puzzle_id)
            if command.kind in ("inject", "surgery"):
                detail = {k: v for k, v in (command.args or {}).items() if k not in ("by", "reason")}
                await store.add_intervention(
                    self.puzzle_id, command.kind, detail, reason=(command.args or {}).get("reason", "operator"),
                    window_s=self.policy.judge_after_s, best_before=best.mse if best else None,
                    command_id=command.id)
            try:
                ok, result = await run_tool_command(store, self.puzzle, command, self.node)
            except (ValueError, OSError) as exc:
                ok, result = False, {"message": str(exc)}
            await store.finish_command(command.id, ok, _jsonable(result))
            await store.add_observation(self.puzzle_id, "command",
                                        f"{command.kind} #{command.id}: {result.get('message', 'done')}")

    async def judge_due(self) -> int:
        """Judge the interventions whose window is over: the best the pool reached by its end."""
        due = [i for i in await self.store.fetch_interventions(self.puzzle_id)
               if i.judged_at is None and i.at.timestamp() + i.window_s <= time.time()]
        if not due:
            return 0
        records = await self.store.fetch_records(self.puzzle_id)
        for i in due:
            end = i.at.timestamp() + i.window_s
            reached = [r.mse for r in records if r.created_at.timestamp() <= end]
            await self.store.judge_intervention(i.id, min(reached) if reached else None)
        return len(due)


async def report(store, puzzle_id: int | None) -> dict:
    """Which kinds of intervention paid off (the best fell within their window), and which
    lineage methods made the pool's records."""
    kinds: dict[str, dict] = {}
    for i in await store.fetch_interventions(puzzle_id):
        key = i.kind + (f":{i.detail['kind']}" if i.kind == "inject" and "kind" in i.detail else "")
        k = kinds.setdefault(key, {"attempts": 0, "judged": 0, "paid": 0, "drops": []})
        k["attempts"] += 1
        if i.paid is not None:
            k["judged"] += 1
            k["paid"] += bool(i.paid)
            if i.paid and i.best_before:
                k["drops"].append(1 - i.best_after / i.best_before)
    for k in kinds.values():
        k["share"] = k["paid"] / k["judged"] if k["judged"] else None
        drops = k.pop("drops")
        k["median_drop"] = statistics.median(drops) if drops else None
    methods: dict[str, int] = {}
    for r in await store.fetch_records(puzzle_id):
        key = r.method or r.origin
        methods[key] = methods.get(key, 0) + 1
    return {"interventions": kinds, "records_by_method": methods}


def describe(rep: dict) -> str:
    lines = ["intervention           tried  judged  paid  share  median drop of the best"]
    for key, k in sorted(rep["interventions"].items()):
        share = "-" if k["share"] is None else f"{k['share']:.0%}"
        drop = "-" if k["median_drop"] is None else f"{k['median_drop']:.1%}"
        lines.append(f"{key:22s} {k['attempts']:5d} {k['judged']:7d} {k['paid']:5d} {share:>6s}  {drop}")
    if not rep["interventions"]:
        lines.append("(none logged)")
    lines.append("records of the pool's best, by how they were made: " + (", ".join(
        f"{m} {n}" for m, n in sorted(rep["records_by_method"].items(), key=lambda x: -x[1])) or "none"))
    return "\n".join(lines)
