"""What the observer's interventions came to: every knob change, injection and surgery is
logged (solver.tools.observer) with the pool's best before it, and judged JUDGE_AFTER_S
later by the best the pool reached by then. `solver observe --report` reads that record
(and the lineage of the pool's records) to say what paid off."""
from __future__ import annotations

import statistics


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
