"""Can an agent still learn a task after learning others first? From its start vs after earlier tasks, with the
optimizer's moments carried over or restarted (``lifebot run --fresh-optimizer``).

    LIFEBOT_THREADS=1 MUJOCO_GL=egl python benchmarks/sequential_plasticity.py CHECKPOINT [--suite goal]
        [--tasks 4] [--demos 10] [--steps 2000] [--episodes 20] [--demos-dir demos]

CHECKPOINT is the agent every variant starts from (e.g. ``lifebot pretrain``'s). The last of the suite's first
``--tasks`` tasks is the target; the variants are ``fresh`` (only the target), ``carried`` (the earlier tasks,
then the target, one optimizer throughout: what ``lifebot run --strategy sequential`` does by default) and
``restarted`` (a new optimizer for the target). Prints the target's final imitation loss (mean of the last 50
steps) and its success on the suite's fixed evaluation states; the demos must exist (``lifebot demos collect``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from lifebot.agents.registry import load_agent
from lifebot.demos.dataset import DemoDataset
from lifebot.envs.vector import evaluate
from lifebot.suites.store import load_suite

VARIANTS = ("fresh", "carried", "restarted")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("--suite", default="goal")
    parser.add_argument("--tasks", type=int, default=4, help="the suite's first N tasks; the last is the target")
    parser.add_argument("--demos", type=int, default=10)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--episodes", type=int, default=20)
    parser.add_argument("--demos-dir", type=Path, default=Path("demos"))
    args = parser.parse_args()

    tasks = load_suite(args.suite).task_names[: args.tasks]
    start = load_agent(args.checkpoint)
    data = {
        task: DemoDataset(
            [args.demos_dir / args.suite / f"{task}.hdf5"], max_demos_per_file=args.demos, normalizer=start.normalizer
        )
        for task in tasks
    }
    print(f"target {tasks[-1]} after {', '.join(tasks[:-1])}; {args.demos} demos, {args.steps} steps per task")
    for variant in VARIANTS:
        agent = type(start)(start.config, start.obs_dim, start.normalizer, start.control_mode)
        agent.load_policy(start.acting_policy.state_dict())
        if variant != "fresh":
            for task in tasks[:-1]:
                agent.learn(data[task], steps=args.steps)
        if variant == "restarted":
            agent.restart_optimizer()
        losses = agent.learn(data[tasks[-1]], steps=args.steps)
        rate = evaluate(
            agent, args.episodes, num_envs=1, suite=args.suite, task=tasks[-1], control_mode=start.control_mode
        ).success_rate
        print(f"  {variant:<10} final loss {np.mean(losses[-50:]):8.3f}  success {rate:.2f}", flush=True)


if __name__ == "__main__":
    main()
