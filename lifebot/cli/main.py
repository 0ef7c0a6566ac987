"""The ``lifebot`` command line: one sub-command group per verb, each in its own module."""

from __future__ import annotations

import argparse
import sys

from lifebot.cli import demos, leaderboard, quickstart, run, submit, suites

COMMAND_GROUPS = (suites, demos, run, quickstart, submit, leaderboard)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lifebot", description="lifebot: lifelong robot-learning task suites")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in COMMAND_GROUPS:
        group.register(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except (KeyError, ValueError, OSError, RuntimeError) as exc:  # DemoFileError, SpecError, SuiteError are ValueErrors
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"lifebot {args.command}: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
