"""Inverse-dynamics pretraining vs behaviour cloning from scratch, at several demonstration counts.

    python benchmarks/idm_vs_scratch.py [--pool-demos 10] [--suite goal] [--tasks 3] [--counts 2 5 10 25]
                                        [--idm-steps 3000] [--steps 2000] [--episodes 20] [--out runs/idm]

The encoder is pretrained on the ``pretrain`` suite's demonstrations (all 40 tasks); each target task then gets a
BC head on the frozen encoder (``idm``, the paper's protocol) or fine-tunes encoder and head together
(``idm-ft``), and a BC agent of the same shape learns from scratch, on the first N demonstrations. All use the
pool's observation normalizer and are evaluated on the same fixed states.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import replace
from pathlib import Path

import numpy as np

from lifebot.agents.bc import BCAgent, BCConfig
from lifebot.agents.idm import IDMAgent, IDMConfig
from lifebot.demos.collect import CollectConfig, collect
from lifebot.demos.dataset import DemoDataset
from lifebot.envs.vector import evaluate
from lifebot.suites.store import load_suite

MODE = "pd_ee_delta_pose"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pool-demos", type=int, default=10)
    parser.add_argument("--suite", default="goal")
    parser.add_argument("--tasks", type=int, default=3)
    parser.add_argument("--counts", type=int, nargs="+", default=[2, 5, 10, 25])
    parser.add_argument("--idm-steps", type=int, default=3000)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--episodes", type=int, default=20)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--out", type=Path, default=Path("runs/idm"))
    args = parser.parse_args()

    pool = collect(
        CollectConfig(
            suite="pretrain", num_demos=args.pool_demos, workers=args.workers, control_mode=MODE, out=args.out / "demos"
        )
    )
    pool_data = DemoDataset(pool)
    config = IDMConfig(idm_steps=args.idm_steps, steps=args.steps, seed=0)
    pretrained = IDMAgent(config, pool_data.obs_dim, pool_data.normalizer, MODE)
    idm_losses = pretrained.pretrain(pool_data, progress=True)
    pretrained.save(args.out / "idm_pretrained.pt")  # lifebot run --agent idm --init-checkpoint <this>
    encoder = pretrained.policy.trunk.state_dict()

    tasks = load_suite(args.suite).task_names[: args.tasks]
    targets = collect(
        CollectConfig(
            suite=args.suite,
            tasks=tuple(tasks),
            num_demos=max(args.counts),
            workers=args.workers,
            control_mode=MODE,
            out=args.out / "demos",
        )
    )
    results: dict[tuple[str, int], list[float]] = {}
    for task, path in zip(tasks, targets, strict=True):
        for count in args.counts:
            data = DemoDataset([path], max_demos_per_file=count, normalizer=pool_data.normalizer)
            scratch = BCAgent(BCConfig(steps=args.steps, seed=0), data.obs_dim, pool_data.normalizer, MODE)
            idm = IDMAgent(config, data.obs_dim, pool_data.normalizer, MODE)
            finetuned = IDMAgent(replace(config, freeze_encoder=False), data.obs_dim, pool_data.normalizer, MODE)
            for agent in (idm, finetuned):
                agent.policy.trunk.load_state_dict(encoder)
            for name, agent in (("scratch", scratch), ("idm", idm), ("idm-ft", finetuned)):
                agent.learn(data)
                rate = evaluate(
                    agent, args.episodes, num_envs=args.workers, suite=args.suite, task=task, control_mode=MODE
                ).success_rate
                results.setdefault((name, count), []).append(rate)
                print(f"  {task:<40} {count:>3} demos  {name:<8} success {rate:.2f}", flush=True)
    print(
        f"\nIDM pretraining: {len(pool)} pool tasks × {args.pool_demos} demos, {args.idm_steps} steps, "
        f"inverse-dynamics loss {np.mean(idm_losses[:50]):.3f} -> {np.mean(idm_losses[-50:]):.3f}"
    )
    print(f"mean success over {len(tasks)} {args.suite} tasks ({args.episodes} fixed states each, seed 0):")
    names = ("scratch", "idm", "idm-ft")
    print(f"{'demos':>6} " + " ".join(f"{name:>8}" for name in names))
    for count in args.counts:
        print(f"{count:>6} " + " ".join(f"{np.mean(results[(name, count)]):8.2f}" for name in names))


if __name__ == "__main__":
    main()
