"""The search, pure numpy and no I/O: the engine (forward passes over cached prefixes),
moves, estimates, pairing, descent, reorder, repair, seeds, the verdict, and the Search
that runs them in stages."""
