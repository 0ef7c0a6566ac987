"""Scripted-expert success per task, over many seeds, in one control mode (the table for the closing note).

    python benchmarks/expert_success.py [--suites spatial object ...] [--seeds 50] [--control-mode osc_pose]
                                        [--noise 0.0] [--workers 2]

Episodes start from seeded random placements (as demonstrations do), seeds 0..N-1.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
from tqdm import tqdm

from lifebot.envs.control import CONTROL_MODES, DEFAULT_CONTROL_MODE
from lifebot.suites.store import list_suites, load_suite
from lifebot.workers import worker_context


def run_task(job: tuple[str, str, str, int, float]) -> tuple[str, str, int, int, float, float]:
    from lifebot.demos.record import record_episode
    from lifebot.envs.gym_env import LifebotEnv

    suite, task, mode, seeds, noise = job
    env = LifebotEnv(suite=suite, task=task, control_mode=mode)
    successes, lengths, start = 0, [], time.perf_counter()
    for seed in range(seeds):
        episode = record_episode(env, seed, noise=noise)  # the path demonstrations take
        successes += int(episode is not None)
        lengths += [episode.success_step + 1] if episode is not None else []
    env.close()
    return suite, task, successes, seeds, float(np.mean(lengths)), time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suites", nargs="*", default=list_suites())
    parser.add_argument("--seeds", type=int, default=50)
    parser.add_argument("--control-mode", choices=CONTROL_MODES, default=DEFAULT_CONTROL_MODE)
    parser.add_argument("--noise", type=float, default=0.0)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    jobs = [(s, t.name, args.control_mode, args.seeds, args.noise) for s in args.suites for t in load_suite(s).tasks]
    with worker_context().Pool(args.workers) as pool:
        results = list(tqdm(pool.imap(run_task, jobs), total=len(jobs), desc="expert", unit="task"))
    print(f"control_mode={args.control_mode} noise={args.noise} seeds=0..{args.seeds - 1}")
    print(f"{'suite':<9} {'task':<62} {'success':>8} {'len':>6}")
    below = 0
    for suite, task, ok, n, length, _ in results:
        flag = "" if ok / n >= 0.95 else "  < 95%"
        below += bool(flag)
        print(f"{suite:<9} {task:<62} {ok:>4}/{n:<3} {length:6.0f}{flag}")
    rates = [ok / n for _, _, ok, n, _, _ in results]
    print(f"tasks {len(results)}, mean success {np.mean(rates):.3f}, min {np.min(rates):.2f}, below 95%: {below}")


if __name__ == "__main__":
    main()
