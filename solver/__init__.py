"""The worker package: load a dropped-network puzzle, recover pairing and order, verify.

BLAS runs single-threaded: the matrices are small, a fleet node runs one worker per core,
and multi-threaded OpenBLAS was measured 10-30x slower here under contention. Set
JSTUI_BLAS_THREADS to change it (before numpy is first imported).
"""
import os as _os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    _os.environ.setdefault(_var, _os.environ.get("JSTUI_BLAS_THREADS", "1"))
