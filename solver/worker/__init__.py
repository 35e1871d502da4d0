"""The fleet worker (python -m solver.worker): search in short bursts, share through the pool.

Two parts: the run loop (solver.worker.loop: where each run starts, the search bursts,
what to push and when; no I/O of its own) and the pool link (solver.worker.exchange: one
round trip per heartbeat, deliveries, the spool). solver.worker.main ties them together.

Exit status (solver.pool.words.ExitCode): 0 runs done or stopped on request (SIGTERM, a
`stop` command); 3 the pool holds the exact answer; 2 bad input; 4 results could not be
delivered and wait in the spool file (delivered by the next worker started on this node);
1 an unexpected error.
"""
