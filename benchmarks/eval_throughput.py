"""Evaluation throughput on every core, and the cost of one lifelong unit on a whole suite.

    python benchmarks/eval_throughput.py [--suite goal] [--task PickRedCubeLift] [--demos 30] [--bc-steps 2000]
                                         [--episodes 40] [--workers N] [--repeats 2]
                                         [--out runs/eval_throughput]

1. A policy that mostly succeeds: a BC agent (``policies/bc.yaml``) trained on the scripted expert's
   demonstrations of one task (collected, or reused, under ``<out>/demos``), acting deterministically.
2. A policy that fails: uniform random actions (every episode runs the whole horizon).

For each: episodes per second with one worker (this process) and with ``--workers`` worker processes (default:
every core), their ratio, whether both gave identical outcomes episode by episode, and the CPU seconds per
episode of each (a busy machine inflates them less than the wall time; equal figures mean the workers add no
work). Environments are built by a warm-up call first, as a lifelong unit builds them once and reuses them.

3. One lifelong unit on the whole suite with the default protocol (``RunConfig``'s defaults), *estimated* from
   measured costs, not run: training = steps per task × the default agent's (``RunConfig.agent``) measured
   seconds per gradient step (``--train-steps`` of them timed on the same demonstrations);
   evaluation = its K + K·E + K·(K−1) task evaluations × episodes × each task's measured seconds per episode,
   divided by the speed-ups measured in 1 and 2. Bounds: every episode failing (each task's own horizon), and
   the curve points succeeding at the trained BC's cost per episode. Demonstration collection happens once per
   run, not per unit, and is left out.

The machine's load average is printed next to the figures: ratios measured on a busy machine are depressed, and
with Linux's autogroup scheduling on (it is on here) capped near 1 while another session is busy; the CPU
seconds per episode, and the CPU-bound ratio derived from them, are what a busy machine still shows.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import torch

from lifebot.agents.bc import BCAgent
from lifebot.agents.registry import agent_class, load_agent_config
from lifebot.demos.collect import CollectConfig, collect
from lifebot.demos.dataset import DemoDataset
from lifebot.envs.evaluation import EPISODES_PER_BATCH, EvaluationResult
from lifebot.envs.vector import EvaluationPool
from lifebot.lifelong.runner import RunConfig
from lifebot.suites.store import load_suite

MODE = RunConfig.control_mode


class RandomActions:
    """Uniform random actions from a generator seeded per batch (a module-level class: workers unpickle it)."""

    def __call__(self, obs: dict[str, np.ndarray]) -> np.ndarray:
        return (torch.rand(len(obs["task"]), 7) * 2 - 1).numpy()


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores"


def autogroup_note() -> str:
    """Linux's autogroup scheduling shares CPU between sessions, not processes: while another session is busy,
    all of this session's processes together get one session's share, and more workers cannot go faster."""
    flag = Path("/proc/sys/kernel/sched_autogroup_enabled")
    if flag.is_file() and flag.read_text().strip() == "1":
        return "; sched_autogroup is on: with other sessions busy, the wall ratio stays near 1 (read the CPU figures)"
    return ""


def cpu_seconds(pool: EvaluationPool) -> float:
    """CPU time of this process and the pool's workers (Linux ``/proc``): what the evaluation cost, whatever
    else the machine is running."""
    ticks = 0
    for process in pool.processes:
        fields = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return time.process_time() + ticks / os.sysconf("SC_CLK_TCK")


def warm_up(pool: EvaluationPool, policy, **env_kwargs) -> None:
    """One batch per worker: each builds its environments (and compiles robosuite's numba kernels)."""
    pool.evaluate(policy, pool.workers * EPISODES_PER_BATCH, **env_kwargs)


def timed(pool: EvaluationPool, policy, episodes: int, **env_kwargs) -> tuple[EvaluationResult, float, float]:
    """The result, wall seconds and CPU seconds of evaluating ``episodes`` episodes on warm workers."""
    start, cpu = time.perf_counter(), cpu_seconds(pool)
    result = pool.evaluate(policy, episodes, **env_kwargs)
    return result, time.perf_counter() - start, cpu_seconds(pool) - cpu


def compare(name: str, policy, episodes: int, workers: int, repeats: int, env_kwargs: dict) -> tuple[float, float]:
    """Prints one line; returns serial seconds per episode and the workers' speed-up.

    One worker and ``workers`` workers are timed in turn ``repeats`` times and each keeps its best: on a machine
    others are using, the load changes between measurements, and the best is the least disturbed.
    """
    with EvaluationPool(1) as serial_pool, EvaluationPool(workers) as parallel_pool:
        best = {1: (np.inf, np.inf), workers: (np.inf, np.inf)}
        results = {}
        for pool in (serial_pool, parallel_pool):
            warm_up(pool, policy, **env_kwargs)
        for _ in range(repeats):
            for count, pool in ((1, serial_pool), (workers, parallel_pool)):
                results[count], seconds, cpu = timed(pool, policy, episodes, **env_kwargs)
                best[count] = min(best[count], (seconds, cpu))
    serial, parallel = results[1], results[workers]
    same = all(
        np.array_equal(getattr(serial, key), getattr(parallel, key)) for key in ("successes", "lengths", "returns")
    )
    (serial_s, serial_cpu), (parallel_s, parallel_cpu) = best[1], best[workers]
    one, many = episodes / serial_s, episodes / parallel_s
    print(
        f"{name:<26} success {serial.success_rate:4.2f}  mean length {serial.lengths.mean():6.1f}   "
        f"1 worker {one:6.2f} ep/s   {workers} workers {many:6.2f} ep/s   {many / one:.2f}x   "
        f"identical: {'yes' if same else 'NO'}   CPU s/ep {serial_cpu / episodes:.3f} vs {parallel_cpu / episodes:.3f}"
        f"   ({load()})"
    )
    cpu_bound = workers * serial_cpu / parallel_cpu
    print(
        f"{'':26} CPU-bound ratio {cpu_bound:.2f}x (workers × CPU per episode serial / parallel: what the wall ratio "
        "reaches when every worker has a core to itself, before the load balance of the last batches)"
    )
    return serial_s / episodes, many / one


def seconds_per_step(agent, dataset: DemoDataset, steps: int) -> float:
    data = agent.transitions(dataset)
    start = time.perf_counter()
    agent.learn(data, steps=steps)
    return (time.perf_counter() - start) / steps


def seconds_per_episode(pool: EvaluationPool, suite: str, tasks: list[str], episodes: int) -> dict[str, float]:
    """Serial seconds per failing (full-horizon) episode of each task."""
    costs = {}
    for task in tasks:
        warm_up(pool, RandomActions(), suite=suite, task=task, control_mode=MODE)
        _, seconds, _ = timed(pool, RandomActions(), episodes, suite=suite, task=task, control_mode=MODE)
        costs[task] = seconds / episodes
    return costs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", default="goal")
    parser.add_argument("--task", default="PickRedCubeLift")
    parser.add_argument("--demos", type=int, default=30)
    parser.add_argument("--bc-steps", type=int, default=2000)
    parser.add_argument("--train-steps", type=int, default=300, help="default agent's gradient steps timed for 3")
    parser.add_argument("--episodes", type=int, default=40)
    parser.add_argument("--unit-episodes", type=int, default=2, help="failing episodes timed per task for step 3")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--repeats", type=int, default=2, help="timings of each, alternated; the best is kept")
    parser.add_argument("--out", type=Path, default=Path("runs/eval_throughput"))
    args = parser.parse_args()
    torch.set_num_threads(1)  # as a lifelong unit runs
    env_kwargs = {"suite": args.suite, "task": args.task, "control_mode": MODE}
    print(f"{load()} at start{autogroup_note()}; control_mode {MODE}; {EPISODES_PER_BATCH} episodes per batch")

    (path,) = collect(
        CollectConfig(
            suite=args.suite,
            tasks=(args.task,),
            num_demos=args.demos,
            workers=args.workers,
            control_mode=MODE,
            out=args.out / "demos",
        ),
        progress=False,
    )
    dataset = DemoDataset([path])
    config = load_agent_config("bc")
    agent = BCAgent.from_dataset(config, dataset)
    bc_step_s = seconds_per_step(agent, dataset, args.bc_steps)
    agent.save(args.out / "bc.pt")  # the policy measured here, for comparisons with other code
    print(
        f"BC ({config.head} head, hidden {list(config.hidden)}): {args.bc_steps} steps on {args.demos} demos "
        f"of {args.suite}/{args.task}, {bc_step_s * 1e3:.1f} ms per step"
    )
    run = RunConfig(suite=args.suite)
    default_agent = agent_class(run.agent).from_dataset(load_agent_config(run.agent), dataset)
    step_s = seconds_per_step(default_agent, dataset, args.train_steps)
    print(f"default agent {run.agent}: {args.train_steps} steps timed, {step_s * 1e3:.1f} ms per step")

    success_s, success_ratio = compare(
        f"trained BC ({args.task})", agent, args.episodes, args.workers, args.repeats, env_kwargs
    )
    _, fail_ratio = compare(
        "random actions", RandomActions(), args.episodes // 2, args.workers, args.repeats, env_kwargs
    )

    suite = load_suite(args.suite)
    tasks = suite.task_names
    with EvaluationPool(1) as pool:
        fail_s = seconds_per_episode(pool, args.suite, tasks, args.unit_episodes)
    k, e, n = len(tasks), run.eval_points, run.episodes
    per_task_fail = np.array([fail_s[t] for t in tasks]) * n / fail_ratio  # one task evaluation on the workers
    success_eval = success_s * n / success_ratio
    upper = per_task_fail.sum() * (1 + e + (k - 1))  # b, the curve points and the rest of each row, all failing
    lower = per_task_fail.sum() * (1 + (k - 1)) + k * e * success_eval
    training = k * run.steps_per_task * step_s
    print(
        f"\none lifelong unit, {args.suite} ({k} tasks), default protocol: {run.steps_per_task} {run.agent} steps "
        f"per task, "
        f"{e} curve points, {n} episodes, {k + k * e + k * (k - 1)} task evaluations = "
        f"{(k + k * e + k * (k - 1)) * n} episodes (ESTIMATED from the costs measured here, not run)"
    )
    print(
        f"  seconds per failing episode (serial): {np.mean(list(fail_s.values())):.2f} mean over the tasks, "
        f"{min(fail_s.values()):.2f}-{max(fail_s.values()):.2f}; per succeeding BC episode: {success_s:.3f}"
    )
    for label, evaluation in (("everything failing", upper), ("curves succeed", lower)):
        total = training + evaluation
        print(
            f"  {label:<19} training {training:7.0f} s ({training / total:4.0%})   evaluation on {args.workers} "
            f"workers {evaluation:7.0f} s ({evaluation / total:4.0%})   unit {total / 60:6.1f} min"
        )
    print(f"{load()} at the end")


if __name__ == "__main__":
    main()
