"""Offline forgetting probe: each strategy's imitation loss on earlier tasks' demonstrations after every task.

    LIFEBOT_THREADS=1 python benchmarks/offline_forgetting.py [--suite goal] [--ordering 0] [--tasks 4]
        [--agent chunking] [--demos 50] [--steps 3000] [--samples 4000] [--seed 0]
        [--variants sequential er agem agem:projection=update ...] [--demos-dir demos]
        [--report docs/lifelong/goal/offline_forgetting]

Closed-loop success takes environment episodes; the imitation loss on an earlier task's own demonstrations
takes seconds, and it is the quantity that A-GEM's constraint and ER's replay act on. So this probe separates
"the strategy did not keep the fit" from "it kept the fit, but the closed loop still fails". Each variant
(``strategy`` or ``strategy:key=value,key=value``) learns the first ``--tasks`` tasks of the ordering from a fresh
agent, as ``lifebot run`` does, and after task k the loss on the first ``--samples`` transitions of every task
j <= k is recorded (``L[k][j]``). Writes ``<report>.md`` (the loss on the first task after each task, and the
mean over earlier tasks at the end), ``<report>.json`` (every L) and ``<report>.png``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from lifebot.agents.registry import agent_class, load_agent_config  # noqa: E402
from lifebot.atomic import atomic_output, atomic_write_json  # noqa: E402
from lifebot.demos.collect import CollectConfig, collect  # noqa: E402
from lifebot.demos.dataset import DemoDataset  # noqa: E402
from lifebot.envs.control import DEFAULT_CONTROL_MODE  # noqa: E402
from lifebot.lifelong.strategies import STRATEGIES, load_strategy_config  # noqa: E402
from lifebot.suites.store import load_suite  # noqa: E402
from lifebot.threads import set_threads  # noqa: E402
from lifebot.versions import versions  # noqa: E402


def parse_variant(text: str) -> tuple[str, list[str]]:
    """``agem:projection=update,memory_batch=1024`` -> (``agem``, [``projection=update``, ``memory_batch=1024``])."""
    name, _, options = text.partition(":")
    return name, [o for o in options.split(",") if o]


def probe(args, variant: str, paths: list[Path], normalizer) -> list[list[float]]:
    """``L[k][j]``: the loss on task j's demonstrations (``paths[j]``) after the variant learned tasks 0..k."""
    name, options = parse_variant(variant)
    cls, agent_config = agent_class(args.agent), load_agent_config(args.agent)
    agent_config = dataclasses.replace(agent_config, seed=args.seed)

    def make_agent():
        return cls(agent_config, len(normalizer.mean), normalizer, args.control_mode)

    strategy = STRATEGIES[name](make_agent, load_strategy_config(name, None, options), args.seed)
    data = [
        strategy.agent.transitions(DemoDataset([p], normalizer=normalizer, max_demos_per_file=args.demos))
        for p in paths
    ]
    losses = []
    for k, current in enumerate(data):
        start = time.perf_counter()
        strategy.learn_task(current, args.steps)
        row = []
        with torch.no_grad():
            for j, old in enumerate(data[: k + 1]):
                policy = strategy.policy_for(j).policy
                obs, actions = old.obs[: args.samples], old.actions[: args.samples]
                row.append(float(policy.loss(obs, actions, {})))
        losses.append(row)
        print(f"{variant}: after task {k}: {[round(x, 3) for x in row]} ({time.perf_counter() - start:.0f} s)")
    return losses


def write_report(args, results: dict[str, list[list[float]]], tasks: list[str]) -> None:
    last = len(tasks) - 1
    lines = [
        f"# Offline forgetting probe: suite `{args.suite}`, ordering {args.ordering}, first {len(tasks)} tasks",
        "",
        f"Agent `{args.agent}`, {args.demos} demos per task, {args.steps} steps per task, seed {args.seed}; loss on "
        f"the first {args.samples} transitions of each task's demonstrations. Versions: {json.dumps(versions())}.",
        "",
        "    " + " ".join(["python benchmarks/offline_forgetting.py", *_command_args(args)]),
        "",
        f"Tasks in order: {', '.join(tasks)}.",
        "",
        "| variant | " + " | ".join(f"task 0 after task {k}" for k in range(len(tasks))) + " | mean over tasks "
        f"0..{last - 1} after task {last} | last task's own loss |",
        "|---|" + "---|" * (len(tasks) + 2),
    ]
    for variant, rows in results.items():
        earlier = np.mean(rows[last][:last]) if last else float("nan")
        cells = [f"{rows[k][0]:.3f}" for k in range(len(rows))]
        lines.append(f"| {variant} | " + " | ".join(cells) + f" | {earlier:.3f} | {rows[last][last]:.3f} |")
    with atomic_output(args.report.with_suffix(".md")) as tmp:
        tmp.write_text("\n".join(lines) + "\n")
    atomic_write_json(args.report.with_suffix(".json"), {"tasks": tasks, "losses": results, "versions": versions()})
    figure, axis = plt.subplots(figsize=(6, 4))
    for variant, rows in results.items():
        axis.plot(range(len(rows)), [row[0] for row in rows], marker="o", label=variant)
    axis.set(xlabel="tasks learned (k)", ylabel=f"imitation loss on {tasks[0]}", yscale="log")
    axis.set_title("Loss on the first task as later tasks are learned")
    axis.legend(fontsize=8)
    figure.tight_layout()
    with atomic_output(args.report.with_suffix(".png")) as tmp:
        figure.savefig(tmp, format="png", dpi=120)
    plt.close(figure)
    print(f"report: {args.report.with_suffix('.md')}")


def _command_args(args) -> list[str]:
    return [
        f"--suite {args.suite}",
        f"--ordering {args.ordering}",
        f"--tasks {args.tasks}",
        f"--agent {args.agent}",
        f"--demos {args.demos}",
        f"--steps {args.steps}",
        f"--samples {args.samples}",
        f"--seed {args.seed}",
        "--variants " + " ".join(args.variants),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--suite", default="goal")
    parser.add_argument("--ordering", type=int, default=0)
    parser.add_argument("--tasks", type=int, default=4)
    parser.add_argument("--agent", default="chunking")
    parser.add_argument("--demos", type=int, default=50)
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--samples", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--variants", nargs="+", default=["sequential", "er", "agem", "agem:projection=update"])
    parser.add_argument("--control-mode", default=DEFAULT_CONTROL_MODE)
    parser.add_argument("--demos-dir", type=Path, default=Path("demos"))
    parser.add_argument("--report", type=Path, default=Path("docs/lifelong/goal/offline_forgetting"))
    args = parser.parse_args()
    for variant in args.variants:
        if parse_variant(variant)[0] not in STRATEGIES:
            parser.error(f"unknown strategy in variant {variant!r}; known: {', '.join(sorted(STRATEGIES))}")
    set_threads()
    suite = load_suite(args.suite)
    order = [suite.task_names[i] for i in suite.orderings[args.ordering]]
    paths = dict(
        zip(
            suite.task_names,
            collect(
                CollectConfig(
                    suite=args.suite, num_demos=args.demos, control_mode=args.control_mode, out=args.demos_dir
                )
            ),
            strict=True,
        )
    )
    # as in lifebot run: one normalizer from every task's demonstrations
    normalizer = DemoDataset(list(paths.values()), max_demos_per_file=args.demos).normalizer
    tasks = order[: args.tasks]
    results = {variant: probe(args, variant, [paths[t] for t in tasks], normalizer) for variant in args.variants}
    write_report(args, results, tasks)


if __name__ == "__main__":
    main()
