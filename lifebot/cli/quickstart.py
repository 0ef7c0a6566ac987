"""``lifebot quickstart``: the main job end to end on a small default.

For now (suites and environments): load a suite, make three of its tasks through gymnasium, roll out random
actions from the fixed evaluation states, and report steps per second and success, with a picture per task.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import gymnasium as gym
import numpy as np

from lifebot.envs.registration import env_id
from lifebot.suites.store import load_suite


def register(commands) -> None:
    parser = commands.add_parser("quickstart", help="run the main job on a small default")
    parser.add_argument("--suite", default="spatial")
    parser.add_argument("--tasks", type=int, default=3, help="how many of the suite's tasks")
    parser.add_argument("--episodes", type=int, default=2, help="evaluation states per task")
    parser.add_argument("--steps", type=int, default=100, help="steps per episode (at most the horizon)")
    parser.add_argument("--out", type=Path, default=Path("renders/quickstart"))
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import matplotlib.pyplot as plt

    suite = load_suite(args.suite)
    args.out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    print(f"suite {suite.name} ({suite.version}): random actions on {args.tasks} tasks")
    for task in suite.tasks[: args.tasks]:
        env = gym.make(env_id(suite.name, task.name), render_mode="rgb_array")
        steps, successes, start = 0, 0, time.perf_counter()
        for episode in range(args.episodes):
            env.reset(seed=episode, options={"init_state_index": episode})
            if episode == 0:
                plt.imsave(args.out / f"{task.name}.png", env.render())
            for _ in range(min(args.steps, task.spec.horizon)):
                _, _, terminated, truncated, info = env.step(rng.uniform(-1, 1, size=7))
                steps += 1
                if terminated or truncated:
                    break
            successes += int(info["success"])
        rate = steps / (time.perf_counter() - start)
        print(f"  {task.name:<55} success {successes}/{args.episodes}   {rate:6.1f} steps/s")
        env.close()
    print(f"pictures in {args.out}/")
    return 0
