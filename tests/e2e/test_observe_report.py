"""`solver observe --report` on a real pool: what paid off, from the pool alone."""
from __future__ import annotations

import asyncio

from tests.helpers import damaged


def test_observe_report_prints_what_paid_off_from_the_pool_alone(fresh_dsn, tmp_path, capsys, tiny_puzzle,
                                                                 tiny_answer):
    """`solver observe --report` on a real pool: per kind of intervention, tried, judged,
    paid and share; and the records by lineage method."""
    import json

    from solver.cli.main import main
    from solver.pool import connect
    from solver.puzzle.files import save_npz

    npz = save_npz(tiny_puzzle, tmp_path / "tiny.npz")

    async def fill():
        async with await connect(fresh_dsn) as store:
            pid = await store.register_puzzle(tiny_puzzle)
            bad = await store.submit(tiny_puzzle, damaged(tiny_puzzle, tiny_answer, ("swap", 0, 2)),
                                     origin="anneal", method="seed:norm", run=1)
            for kind, after in (("surgery", 0.0), ("surgery", bad.mse), ("inject", bad.mse)):
                iid = await store.add_intervention(pid, kind, {"kind": "loo"} if kind == "inject" else {},
                                                   reason="stagnation", window_s=300, best_before=bad.mse)
                await store.judge_intervention(iid, after)
            await store.submit(tiny_puzzle, tiny_answer, origin="surgery", method="surgery", parents=[bad.id])
    asyncio.run(fill())
    assert main(["observe", "--report", "--puzzle", str(npz), "--dsn", fresh_dsn]) == 0
    text = capsys.readouterr().out
    assert "surgery" in text and "50%" in text and "inject:loo" in text
    assert "records of the pool's best, by how they were made: seed:norm 1, surgery 1" in text
    assert main(["observe", "--report", "--json", "--puzzle", str(npz), "--dsn", fresh_dsn]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["interventions"]["surgery"]["share"] == 0.5
    assert rep["interventions"]["inject:loo"]["paid"] == 0
