"""Worker processes for lifebot's parallel work (vectorised environments, demonstration collection).

Workers start with ``forkserver`` (never ``fork``: MuJoCo rendering contexts and numba state must be created
inside each worker) and run their linear algebra single-threaded: the parallelism is one process per core,
and OpenBLAS thread pools in every worker would otherwise fight over the same cores (measured here: two
vectorised workers gained 1.1-1.5x over one with them, see benchmarks/env_throughput.py).
"""

from __future__ import annotations

import multiprocessing
import os

START_METHOD = "forkserver"
THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def worker_context() -> multiprocessing.context.BaseContext:
    """The multiprocessing context for workers; sets single-threaded BLAS for them unless the user chose."""
    for variable in THREAD_VARIABLES:
        os.environ.setdefault(variable, "1")  # read by workers as they start; this process is unaffected
    return multiprocessing.get_context(START_METHOD)
