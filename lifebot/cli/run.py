"""``lifebot run`` (a lifelong run, resumable), ``lifebot report`` (its metrics, plots and summary) and ``lifebot
compare`` (runs of one protocol side by side)."""

from __future__ import annotations

import argparse
from pathlib import Path

from lifebot.cli.options import add_config, existing_path, make_config
from lifebot.envs.control import CONTROL_MODES
from lifebot.lifelong.config import MODEL_SELECTIONS, ExecutionConfig, RunConfig


def register(commands) -> None:
    run = commands.add_parser("run", help="learn a suite's tasks in sequence; resumes when started again")
    add_config(
        run,
        RunConfig,
        choices={"control_mode": CONTROL_MODES, "model_selection": MODEL_SELECTIONS},
        inputs=("agent_config", "init_checkpoint"),
        aliases={"demos_per_task": "--demos", "steps_per_task": "--steps"},
    )
    add_config(run, ExecutionConfig)
    run.add_argument("--out", type=Path, required=True, help="run directory, e.g. runs/<name>")
    run.set_defaults(run=lambda args: _run(run, args))

    report = commands.add_parser("report", help="metric table, plots and a Markdown summary of a run")
    report.add_argument("run_dir", type=existing_path, help="a run directory (holding run.json)")
    report.add_argument(
        "--reference", type=existing_path, help="a single_task run of the same tasks (Continual World FT)"
    )
    report.add_argument("--out", type=Path, help="report folder (default: <run_dir>/report)")
    report.set_defaults(run=_report)

    compare = commands.add_parser("compare", help="runs of one protocol side by side, with paired differences")
    compare.add_argument("run_dirs", type=existing_path, nargs="+", help="run directories; the first is the baseline")
    compare.add_argument("--labels", type=lambda text: text.split(","), help="a name per run, comma-separated")
    compare.add_argument("--out", type=Path, required=True, help="folder for comparison.md, .json and .png")
    compare.set_defaults(run=_compare)


def _run(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    config = make_config(parser, RunConfig, args)
    execution = make_config(parser, ExecutionConfig, args)
    if args.out.is_file():
        parser.error(f"argument --out: {args.out} is a file, not a run directory")
    from lifebot.lifelong.executors import execute_run

    execute_run(config, args.out, execution)
    return _report(argparse.Namespace(run_dir=args.out, reference=None, out=None))


def _report(args: argparse.Namespace) -> int:
    from lifebot.lifelong.report import format_table, write_report
    from lifebot.lifelong.results import load_run

    run = load_run(args.run_dir)
    reference = load_run(args.reference) if args.reference else None
    table, out = write_report(run, args.out, reference)
    print(format_table(table))
    print(f"report: {out / 'summary.md'} (plots beside it)")
    return 0


def _compare(args: argparse.Namespace) -> int:
    from lifebot.lifelong.compare import format_comparison, write_comparison
    from lifebot.lifelong.results import load_run

    comparison, out = write_comparison([load_run(d) for d in args.run_dirs], args.out, args.labels)
    print(format_comparison(comparison))
    print(f"comparison: {out / 'comparison.md'} (plot beside it)")
    return 0
