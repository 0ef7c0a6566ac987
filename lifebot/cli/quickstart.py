"""``lifebot quickstart``: the main job end to end on a small default.

Three tasks of one suite get scripted-expert demonstrations (collected in parallel, written as HDF5, every one
replayed to check it); then an imitation agent (action chunking) learns the three tasks in sequence under two task
orderings, measured on the suite's fixed evaluation states, and the report (metric table, success-matrix
heatmaps, learning curves) is written. Started again, it resumes where it stopped.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from lifebot.demos.collect import CollectConfig, collect
from lifebot.demos.verify import verify_file
from lifebot.lifelong.executors import ExecutionConfig, execute_run
from lifebot.lifelong.report import write_report
from lifebot.lifelong.runner import RunConfig
from lifebot.lifelong.strategies import STRATEGIES
from lifebot.suites.store import load_suite


def register(commands) -> None:
    parser = commands.add_parser("quickstart", help="run the main job on a small default")
    parser.add_argument("--suite", default="goal")
    parser.add_argument("--tasks", type=int, default=3, help="how many of the suite's tasks")
    parser.add_argument("--demos", type=int, default=20, help="demonstrations per task")
    parser.add_argument("--steps", type=int, default=1500, help="gradient steps per task")
    parser.add_argument("--episodes", type=int, default=10, help="evaluation episodes per task")
    parser.add_argument("--strategy", choices=list(STRATEGIES), default="sequential")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--demos-dir", type=Path, default=Path("demos/quickstart"))
    parser.add_argument("--out", type=Path, default=Path("runs/quickstart"))
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
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
        out=args.demos_dir,
    )
    for path in collect(collect_config):
        reports = verify_file(path)
        print(f"    {path}: {sum(r.ok for r in reports)}/{len(reports)} replay exactly")
    print(f"2/3 {config.agent} + {config.strategy}: {len(tasks)} tasks in sequence, orderings 0 and 1 -> {args.out}")
    lifelong = execute_run(config, args.out, ExecutionConfig(workers=args.workers))
    print("3/3 report")
    table, report = write_report(lifelong)
    for name in ("libero_fwt", "libero_nbt", "libero_auc"):
        summary = table.overall[name]
        print(f"    {name:<11} {summary.mean:.3f}  (95% CI {summary.ci_low:.3f} to {summary.ci_high:.3f})")
    print(f"done in {time.perf_counter() - start:.0f} s; report: {report / 'summary.md'}")
    return 0
