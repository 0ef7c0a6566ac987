"""``lifebot run`` (a lifelong run, resumable) and ``lifebot report`` (its metrics, plots and summary)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from lifebot.agents.registry import AGENTS
from lifebot.envs.control import CONTROL_MODES
from lifebot.envs.gym_env import REWARDS
from lifebot.lifelong.executors import EXECUTORS, ExecutionConfig, execute_run
from lifebot.lifelong.report import format_table, write_report
from lifebot.lifelong.results import load_run
from lifebot.lifelong.runner import MODEL_SELECTIONS, RunConfig
from lifebot.lifelong.strategies import STRATEGIES


def integers(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None


def register(commands) -> None:
    run = commands.add_parser("run", help="learn a suite's tasks in sequence; resumes when started again")
    run.add_argument("--suite", required=True)
    run.add_argument("--agent", choices=list(AGENTS), default=RunConfig.agent)
    run.add_argument("--agent-config", default="", help="agent YAML (default policies/<agent>.yaml)")
    run.add_argument("--init-checkpoint", default="", help="agent checkpoint every unit starts from (idm: required)")
    run.add_argument("--strategy", choices=list(STRATEGIES), default=RunConfig.strategy)
    run.add_argument("--strategy-config", default="", help="strategy YAML (default: the strategy's defaults)")
    run.add_argument(
        "--strategy-option", action="append", default=[], metavar="KEY=VALUE", help="a strategy setting (repeatable)"
    )
    run.add_argument("--orderings", type=integers, default=RunConfig.orderings, help="e.g. 0,1,2")
    run.add_argument("--seeds", type=integers, default=RunConfig.seeds, help="e.g. 0,1,2")
    run.add_argument("--tasks", type=int, default=RunConfig.tasks, help="only the suite's first N tasks (0: all)")
    run.add_argument("--demos", type=int, default=RunConfig.demos_per_task, help="demonstrations per task")
    run.add_argument(
        "--steps",
        type=int,
        default=RunConfig.steps_per_task,
        help="gradient steps per task (wsrl: offline pretraining)",
    )
    run.add_argument(
        "--online-steps", type=int, default=RunConfig.online_steps, help="online env steps per task (wsrl; required)"
    )
    run.add_argument("--reward", choices=REWARDS, default=RunConfig.reward, help="reward of the online phase")
    run.add_argument("--eval-points", type=int, default=RunConfig.eval_points, help="curve points per task")
    run.add_argument("--episodes", type=int, default=RunConfig.episodes, help="evaluation episodes per task")
    run.add_argument("--control-mode", choices=CONTROL_MODES, default=RunConfig.control_mode)
    run.add_argument(
        "--model-selection",
        choices=MODEL_SELECTIONS,
        default=RunConfig.model_selection,
        help="'libero' keeps each task's best evaluation point (peeks at the evaluation episodes)",
    )
    run.add_argument("--demos-dir", default=RunConfig.demos_dir)
    run.add_argument("--out", type=Path, required=True, help="run directory, e.g. runs/<name>")
    run.add_argument("--executor", choices=list(EXECUTORS), default=ExecutionConfig.executor)
    run.add_argument("--jobs", type=int, default=1, help="units at a time (local executor)")
    run.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="evaluation processes per unit")
    run.add_argument("--ray-address", default=None, help="Ray cluster address (default: a local Ray instance)")
    run.set_defaults(run=_run)

    report = commands.add_parser("report", help="metric table, plots and a Markdown summary of a run")
    report.add_argument("run_dir", type=Path)
    report.add_argument("--reference", type=Path, help="a single_task run of the same tasks (Continual World FT)")
    report.add_argument("--out", type=Path, help="default <run_dir>/report")
    report.set_defaults(run=_report)


def _run(args: argparse.Namespace) -> int:
    config = RunConfig(
        suite=args.suite,
        agent=args.agent,
        agent_config=args.agent_config,
        init_checkpoint=args.init_checkpoint,
        strategy=args.strategy,
        strategy_config=args.strategy_config,
        strategy_options=tuple(args.strategy_option),
        orderings=args.orderings,
        seeds=args.seeds,
        tasks=args.tasks,
        demos_per_task=args.demos,
        steps_per_task=args.steps,
        online_steps=args.online_steps,
        reward=args.reward,
        eval_points=args.eval_points,
        episodes=args.episodes,
        control_mode=args.control_mode,
        model_selection=args.model_selection,
        demos_dir=args.demos_dir,
    )
    execution = ExecutionConfig(args.executor, args.jobs, args.workers, args.ray_address)
    execute_run(config, args.out, execution)
    return _report(argparse.Namespace(run_dir=args.out, reference=None, out=None))


def _report(args: argparse.Namespace) -> int:
    run = load_run(args.run_dir)
    reference = load_run(args.reference) if args.reference else None
    table, out = write_report(run, args.out, reference)
    print(format_table(table))
    print(f"report: {out / 'summary.md'} (plots beside it)")
    return 0
