"""``lifebot quickstart``: the main job end to end on a small default.

What exists so far of the chain: three tasks of one suite get scripted-expert demonstrations (collected in
parallel, written as HDF5), every demonstration is replayed to check it, and the expert is measured on the
suite's fixed evaluation states through the batched evaluation helper. Later parts of the chain (agents, the
lifelong runner) extend this command.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

from lifebot.demos.collect import CollectConfig, collect
from lifebot.demos.verify import verify_file
from lifebot.envs.control import CONTROL_MODES
from lifebot.envs.gym_env import LifebotEnv, evaluation_seed
from lifebot.experts.registry import ScriptedExpert
from lifebot.suites.store import load_suite


def register(commands) -> None:
    parser = commands.add_parser("quickstart", help="run the main job on a small default")
    parser.add_argument("--suite", default="spatial")
    parser.add_argument("--tasks", type=int, default=3, help="how many of the suite's tasks")
    parser.add_argument("--demos", type=int, default=5, help="demonstrations per task")
    parser.add_argument("--episodes", type=int, default=5, help="evaluation episodes per task")
    parser.add_argument("--control-mode", choices=CONTROL_MODES, default="pd_ee_delta_pose")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--out", type=Path, default=Path("demos/quickstart"))
    parser.set_defaults(run=run)


def expert_success(suite: str, task: str, control_mode: str, episodes: int) -> float:
    """The scripted expert on the task's first fixed evaluation states."""
    env = LifebotEnv(suite=suite, task=task, control_mode=control_mode)
    successes = 0
    for episode in range(episodes):
        env.reset(seed=evaluation_seed(episode), options={"evaluation": True})
        expert, done = ScriptedExpert(env), False
        while not done:
            _, _, terminated, truncated, info = env.step(expert.act())
            done = terminated or truncated
        successes += int(info["success"])
    env.close()
    return successes / episodes


def run(args: argparse.Namespace) -> int:
    suite = load_suite(args.suite)
    tasks = tuple(suite.task_names[: args.tasks])
    start = time.perf_counter()
    print(f"1/3 collecting {args.demos} demonstrations for {len(tasks)} tasks of {suite.name} ({args.control_mode})")
    config = CollectConfig(
        suite=suite.name,
        tasks=tasks,
        num_demos=args.demos,
        workers=args.workers,
        control_mode=args.control_mode,
        out=args.out,
    )
    paths = collect(config)
    print("2/3 replaying every demonstration")
    for path in paths:
        reports = verify_file(path)
        print(f"    {path}: {sum(r.ok for r in reports)}/{len(reports)} replay exactly")
    print(f"3/3 scripted expert on {args.episodes} fixed evaluation states per task")
    rates = []
    for task in tasks:
        rates.append(expert_success(suite.name, task, args.control_mode, args.episodes))
        print(f"    {task:<55} success {rates[-1]:.2f}")
    print(
        f"done in {time.perf_counter() - start:.0f} s: mean expert success {np.mean(rates):.2f}; "
        f"demonstrations in {args.out / suite.name}/"
    )
    return 0
