"""Behaviour cloning on scripted demonstrations: success on the fixed evaluation states, with loss curves.

    python benchmarks/bc_success.py [--suite goal] [--tasks 3] [--demos 50] [--steps 3000] [--episodes 20]
                                    [--control-mode pd_ee_delta_pose] [--head gaussian] [--out runs/bc_success]

One single-task BC agent per task (state observations with the task encoding), trained on that task's
demonstrations (collected, or reused, under ``<out>/demos``) and evaluated with the batched evaluation helper.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from lifebot.agents.bc import BCAgent, BCConfig  # noqa: E402
from lifebot.demos.collect import CollectConfig, collect  # noqa: E402
from lifebot.demos.dataset import DemoDataset  # noqa: E402
from lifebot.envs.control import CONTROL_MODES, DEFAULT_CONTROL_MODE  # noqa: E402
from lifebot.envs.vector import evaluate  # noqa: E402
from lifebot.suites.store import load_suite  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", default="goal")
    parser.add_argument("--tasks", type=int, default=3)
    parser.add_argument("--demos", type=int, default=50)
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--episodes", type=int, default=20)
    parser.add_argument("--control-mode", choices=CONTROL_MODES, default=DEFAULT_CONTROL_MODE)
    parser.add_argument("--head", default="gaussian")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--out", type=Path, default=Path("runs/bc_success"))
    args = parser.parse_args()

    suite = load_suite(args.suite)
    tasks = suite.task_names[: args.tasks]
    paths = collect(
        CollectConfig(
            suite=suite.name,
            tasks=tuple(tasks),
            num_demos=args.demos,
            workers=args.workers,
            control_mode=args.control_mode,
            out=args.out / "demos",
        )
    )
    figure, axis = plt.subplots(figsize=(7, 4))
    rows = []
    for task, path in zip(tasks, paths, strict=True):
        start = time.perf_counter()
        dataset = DemoDataset([path])
        agent = BCAgent.from_dataset(BCConfig(head=args.head, steps=args.steps, seed=0), dataset)
        losses = agent.learn(dataset, progress=True)
        result = evaluate(
            agent,
            args.episodes,
            num_envs=args.workers,
            suite=suite.name,
            task=task,
            control_mode=args.control_mode,
            policy_control_mode=agent.control_mode,
        )
        rows.append((task, result.success_rate, len(dataset), time.perf_counter() - start))
        window = max(1, len(losses) // 50)
        axis.plot(np.convolve(losses, np.ones(window) / window, mode="valid"), label=task)
    axis.set_xlabel("gradient step")
    axis.set_ylabel(f"BC loss ({args.head} head)")
    axis.legend(fontsize=7)
    figure.tight_layout()
    args.out.mkdir(parents=True, exist_ok=True)
    figure.savefig(args.out / "bc_loss.png", dpi=100)
    print(
        f"suite {suite.name}, {args.demos} demos/task, {args.steps} steps, {args.head} head, "
        f"{args.control_mode}, {args.episodes} evaluation episodes (fixed states 0..{args.episodes - 1}), seed 0"
    )
    for task, rate, transitions, seconds in rows:
        print(f"  {task:<55} success {rate:.2f}   ({transitions} transitions, {seconds:.0f} s)")
    print(f"mean success {np.mean([r[1] for r in rows]):.2f}; loss curves: {args.out / 'bc_loss.png'}")


if __name__ == "__main__":
    main()
