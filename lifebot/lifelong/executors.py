"""Where a run's (ordering, seed) units execute: here, in local worker processes, or as tasks on a Ray cluster.

Units are independent; each executor hands every finished unit's result to ``on_result`` as soon as it arrives
(the run writes it to disk there), so a run killed part-way keeps every unit that had finished.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

from tqdm import tqdm

from lifebot.lifelong.config import ExecutionConfig, RunConfig
from lifebot.lifelong.results import RESULT_FILE, Run, load_run, unit_dir, write_json
from lifebot.lifelong.runner import lock_run, run_unit, start_run
from lifebot.registry import Registry, registers
from lifebot.workers import worker_context

OnResult = Callable[[dict], None]
EXECUTORS: Registry[Callable] = Registry("executor")


@registers(EXECUTORS, "local")
def run_local(root: Path, units: list[tuple[int, int]], execution: ExecutionConfig, on_result: OnResult) -> None:
    if execution.jobs <= 1:
        for ordering, seed in units:
            on_result(run_unit(root, ordering, seed, execution.workers))
        return
    with ProcessPoolExecutor(max_workers=execution.jobs, mp_context=worker_context()) as pool:
        futures = [pool.submit(run_unit, root, o, s, execution.workers, os.getpid()) for o, s in units]
        for future in as_completed(futures):
            on_result(future.result())


@registers(EXECUTORS, "ray")
def run_on_ray(root: Path, units: list[tuple[int, int]], execution: ExecutionConfig, on_result: OnResult) -> None:
    """One Ray task per unit, each reserving ``workers`` CPUs for its evaluation processes.

    The run directory and the demonstrations must be on a file system every node sees (a unit resumes from the
    checkpoints it finds there).
    """
    try:
        import ray
    except ImportError:
        raise RuntimeError("the ray executor needs Ray: pip install 'lifebot[ray]'") from None
    started_here = not ray.is_initialized()
    if started_here:
        if execution.ray_address:
            ray.init(address=execution.ray_address)
        else:  # a local instance sized for this machine (a small object store: units return small documents)
            cpus = max(os.cpu_count() or 1, execution.workers)
            ray.init(num_cpus=cpus, object_store_memory=200 * 1024**2, include_dashboard=False)
    try:
        remote = ray.remote(num_cpus=execution.workers, max_retries=0)(run_unit)
        pending = {remote.remote(str(root), o, s, execution.workers): (o, s) for o, s in units}
        while pending:
            (ready,), _ = ray.wait(list(pending), num_returns=1)
            del pending[ready]
            on_result(ray.get(ready))
    finally:
        if started_here:
            ray.shutdown()


def execute_run(config: RunConfig, root: str | Path, execution: ExecutionConfig | None = None) -> Run:
    """Start or resume the run at ``root``: units with a result are kept, the others run (or resume)."""
    execution = execution or ExecutionConfig()
    root = Path(root)
    with lock_run(root):
        start_run(config, root, execution.workers)
        done = {(u.ordering, u.seed) for u in load_run(root).units}
        todo = [(o, s) for o in config.orderings for s in config.seeds if (o, s) not in done]
        bar = tqdm(total=len(done) + len(todo), initial=len(done), desc="units", unit="unit", disable=not todo)

        def on_result(document: dict) -> None:
            write_json(unit_dir(root, document["ordering"], document["seed"]) / RESULT_FILE, document)
            bar.update(1)

        try:
            EXECUTORS[execution.executor](root, todo, execution, on_result)
        finally:
            bar.close()
    return load_run(root)
