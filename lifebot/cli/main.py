"""The ``lifebot`` command line: one sub-command group per verb, each in its own module.

The groups' modules import only configs and registries of names; torch, robosuite and MuJoCo are imported inside
the verb that needs them, so ``--help`` and argument errors answer at once.
"""

from __future__ import annotations

import sys

import lifebot
from lifebot.cli import demos, evaluate, leaderboard, pretrain, quickstart, run, submit, suites, task
from lifebot.cli.options import Parser

COMMAND_GROUPS = (suites, task, demos, pretrain, run, evaluate, quickstart, submit, leaderboard)


def build_parser() -> Parser:
    parser = Parser(prog="lifebot", description="lifebot: lifelong robot-learning task suites")
    parser.add_argument("--version", action="version", version=f"lifebot {lifebot.__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in COMMAND_GROUPS:
        group.register(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(argv)
    except SystemExit as exit:  # --help, --version, argument errors: argparse has printed what it had to say
        return int(exit.code or 0)


def _main(argv: list[str] | None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except (KeyError, ValueError, OSError, RuntimeError) as exc:  # ConfigError, DemoFileError, SpecError: ValueErrors
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"lifebot {args.command}: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
