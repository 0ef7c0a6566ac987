"""``lifebot pretrain``: an encoder pretrained on a suite's demonstrations, for ``lifebot run --init-checkpoint``."""

from __future__ import annotations

import argparse
from pathlib import Path

from lifebot.agents.pretrain import PretrainConfig
from lifebot.cli.options import add_config, make_config
from lifebot.envs.control import CONTROL_MODES


def register(commands) -> None:
    parser = commands.add_parser(
        "pretrain", help="pretrain an encoder on a suite's demonstrations (a checkpoint for run --init-checkpoint)"
    )
    add_config(
        parser,
        PretrainConfig,
        choices={"control_mode": CONTROL_MODES},
        inputs=("agent_config",),
        aliases={"demos_per_task": "--demos"},
    )
    parser.add_argument("--out", type=Path, required=True, help="checkpoint file, e.g. policies/idm_pretrain.pt")
    parser.set_defaults(run=lambda args: _pretrain(parser, args))


def _pretrain(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from lifebot.agents.pretrain import pretrain_checkpoint

    config = make_config(parser, PretrainConfig, args)
    if args.out.is_dir():
        parser.error(f"argument --out: {args.out} is a folder, not a checkpoint file")
    record = pretrain_checkpoint(config, args.out)
    pool, loss = record["pool"], record["loss"]
    print(
        f"pretrained {record['agent_config']['objective']} on {len(pool['tasks'])} {pool['suite']} tasks "
        f"({pool['transitions']} transitions), {record['agent_config']['idm_steps']} steps: "
        f"loss {loss['first']:.3f} -> {loss['last']:.3f}"
    )
    agent = record["config"]["agent"]
    print(f"checkpoint: {record['checkpoint']} (lifebot run --agent {agent} --init-checkpoint {record['checkpoint']})")
    return 0
