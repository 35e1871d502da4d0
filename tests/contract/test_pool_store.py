"""What only the PostgreSQL store does: many connections at once. The behaviour both
stores share is in test_pool_contract.py."""
import asyncio

import numpy as np

from solver.pool import connect


async def test_twenty_concurrent_submissions_over_four_connections_make_one_row(fresh_dsn, puzzle,
                                                                               answer):
    perm = list(answer)
    perm[0], perm[2] = perm[2], perm[0]
    stores = [await connect(fresh_dsn, max_size=1) for _ in range(4)]
    try:
        results = await asyncio.gather(*[
            stores[i % 4].submit(puzzle, [np.int32(v) for v in perm], origin="anneal", node=f"n{i}")
            for i in range(20)])
        assert len({r.id for r in results}) == 1
        assert sum(r.new for r in results) == 1
        assert (await stores[0].counts()).solutions == 1
    finally:
        for s in stores:
            await s.close()


async def test_concurrent_claims_from_many_connections_take_each_command_once(fresh_dsn):
    stores = [await connect(fresh_dsn, max_size=1) for _ in range(4)]
    try:
        ids = [await stores[0].enqueue_command("inject", {"kind": "random"}) for _ in range(6)]
        claims = await asyncio.gather(*[stores[i % 4].claim_command(f"c{i}", ["inject"])
                                        for i in range(12)])
        assert sorted(c.id for c in claims if c is not None) == ids
    finally:
        for s in stores:
            await s.close()
