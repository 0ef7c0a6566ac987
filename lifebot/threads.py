"""How many threads a process that trains or evaluates gives torch and BLAS.

On a small machine running several lifebot processes at once (evaluation workers, units in parallel), every
process taking all the cores made training 5-12x slower here; so each process takes its share. The environment
variable ``LIFEBOT_THREADS`` overrides the share everywhere.
"""

from __future__ import annotations

import os

THREADS_VARIABLE = "LIFEBOT_THREADS"


def thread_share(processes: int = 1) -> int:
    """Threads per process when ``processes`` processes work at once: ``LIFEBOT_THREADS``, else the cores
    divided among them (at least one)."""
    chosen = os.environ.get(THREADS_VARIABLE)
    if chosen is not None:
        if not chosen.isdigit() or int(chosen) < 1:
            raise ValueError(f"{THREADS_VARIABLE} must be a positive integer, got {chosen!r}")
        return int(chosen)
    return max(1, (os.cpu_count() or 1) // max(1, processes))


def set_threads(processes: int = 1) -> int:
    """Give this process's torch (intra-op) and BLAS pools their share; returns the thread count."""
    import torch
    from threadpoolctl import threadpool_limits

    threads = thread_share(processes)
    torch.set_num_threads(threads)
    threadpool_limits(threads)
    return threads
