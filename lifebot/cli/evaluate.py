"""``lifebot evaluate <checkpoint>``: an agent checkpoint on a suite's fixed evaluation states, with videos."""

from __future__ import annotations

import argparse

from lifebot.agents.evaluate import EvaluateConfig
from lifebot.cli.options import add_config, existing_path, make_config


def register(commands) -> None:
    parser = commands.add_parser("evaluate", help="success per task of an agent checkpoint, optionally with videos")
    parser.add_argument("checkpoint", type=existing_path, help="a lifebot agent checkpoint (.pt)")
    add_config(parser, EvaluateConfig)
    parser.set_defaults(run=lambda args: _evaluate(parser, args))


def _evaluate(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from lifebot.agents.evaluate import evaluate_checkpoint

    config = make_config(parser, EvaluateConfig, args)
    results = evaluate_checkpoint(args.checkpoint, config)
    width = max(len(r.task) for r in results)
    for r in results:
        low, high = r.interval
        print(
            f"{r.task:<{width}}  success {r.success_rate:.3f}  ({sum(r.successes)}/{len(r.successes)}, "
            f"95% Wilson interval [{low:.3f}, {high:.3f}])"
        )
    videos = [path for r in results for path in r.videos]
    if videos:
        print(f"wrote {len(videos)} videos under {config.video}")
    return 0
