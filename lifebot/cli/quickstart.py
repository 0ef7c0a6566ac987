"""``lifebot quickstart``: the main job end to end on a small default.

Three tasks of one suite get scripted-expert demonstrations (collected in parallel, written as HDF5, every one
replayed to check it); then an imitation agent (action chunking) learns the three tasks in sequence under two task
orderings with experience replay, measured on the suite's fixed evaluation states: the success matrix of each
ordering shows every task learned and what is kept of it as the later ones are learned (``--strategy
sequential`` shows forgetting instead). The report (metric table, success-matrix heatmaps, learning curves) is
written. Started again, it resumes where it stopped.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from lifebot.cli.options import add_config, make_config
from lifebot.configs import require


@dataclass(frozen=True)
class QuickstartConfig:
    """The small default of the main job."""

    suite: str = "goal"
    """Suite whose first tasks are learned."""
    tasks: int = 3
    """How many of the suite's tasks (at least 2: a lifelong run needs a sequence)."""
    demos: int = 20
    """Scripted-expert demonstrations per task."""
    steps: int = 1500
    """Gradient steps per task."""
    episodes: int = 10
    """Evaluation episodes per task."""
    strategy: str = "er"
    """Lifelong strategy (``lifebot.lifelong.strategies.STRATEGIES``)."""
    workers: int = os.cpu_count() or 1
    """Processes for collection and evaluation."""
    demos_dir: Path = Path("demos/quickstart")
    """Where the demonstrations are written."""
    out: Path = Path("runs/quickstart")
    """The run directory (the report goes to ``<out>/report``)."""

    def __post_init__(self):
        require(
            self,
            {
                "tasks": (self.tasks >= 2, "at least 2"),
                "demos": (self.demos >= 1, "at least 1"),
                "steps": (self.steps >= 3, "at least 3 (three evaluation points)"),
                "episodes": (self.episodes >= 1, "at least 1"),
                "workers": (self.workers >= 1, "at least 1"),
            },
        )


def register(commands) -> None:
    parser = commands.add_parser("quickstart", help="run the main job on a small default")
    add_config(parser, QuickstartConfig)
    parser.set_defaults(run=lambda args: run(make_config(parser, QuickstartConfig, args)))


def run(args: QuickstartConfig) -> int:
    from lifebot.demos.collect import CollectConfig, collect
    from lifebot.demos.verify import verify_file
    from lifebot.lifelong.config import ExecutionConfig, RunConfig
    from lifebot.lifelong.executors import execute_run
    from lifebot.lifelong.report import write_report
    from lifebot.suites.store import load_suite

    suite = load_suite(args.suite)
    config = RunConfig(
        suite=suite.name,
        strategy=args.strategy,
        orderings=(0, 1),
        seeds=(0,),
        tasks=args.tasks,
        demos_per_task=args.demos,
        steps_per_task=args.steps,
        eval_points=3,
        episodes=args.episodes,
        demos_dir=str(args.demos_dir),
    )
    start = time.perf_counter()
    tasks = tuple(suite.task_names[: args.tasks])
    print(f"1/3 {args.demos} scripted-expert demonstrations for {len(tasks)} tasks of {suite.name}")
    collect_config = CollectConfig(
        suite=suite.name,
        tasks=tasks,
        num_demos=args.demos,
        workers=args.workers,
        control_mode=config.control_mode,
        out=Path(args.demos_dir),
    )
    for path in collect(collect_config):
        reports = verify_file(path)
        print(f"    {path}: {sum(r.ok for r in reports)}/{len(reports)} replay exactly")
    print(f"2/3 {config.agent} + {config.strategy}: {len(tasks)} tasks in sequence, orderings 0 and 1 -> {args.out}")
    lifelong = execute_run(config, args.out, ExecutionConfig(workers=args.workers))
    print("3/3 report")
    table, report = write_report(lifelong)
    for unit in lifelong.units:
        print(f"    ordering {unit.ordering}: success on each task (columns) after learning each (rows)")
        order = lifelong.protocol["orders"][str(unit.ordering)]
        print(" " * 22 + " ".join(f"{name[:14]:>14}" for name in order))
        for k, row in enumerate(unit.R):
            print(f"      {order[k][:14]:>14}: " + " ".join(f"{rate:>14.2f}" for rate in row))
    for name in ("gem_acc", "forgetting", "libero_fwt", "libero_nbt", "libero_auc"):
        summary = table.overall[name]
        print(f"    {name:<11} {summary.mean:.3f}  (95% CI {summary.ci_low:.3f} to {summary.ci_high:.3f})")
    print(f"done in {time.perf_counter() - start:.0f} s; report: {report / 'summary.md'}")
    return 0
