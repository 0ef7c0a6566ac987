"""``lifebot demos collect | info | verify | export``."""

from __future__ import annotations

import argparse
from pathlib import Path

from lifebot.cli.options import add_config, existing_path, make_config
from lifebot.demos.collect import CollectConfig
from lifebot.envs.control import CONTROL_MODES


def register(commands) -> None:
    parser = commands.add_parser("demos", help="collect, inspect, verify and export demonstration files")
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")

    gather = verbs.add_parser("collect", help="scripted-expert demonstrations, resumable, in parallel")
    add_config(gather, CollectConfig, choices={"control_mode": CONTROL_MODES})
    gather.set_defaults(run=lambda args: _collect(gather, args))

    info = verbs.add_parser("info", help="summarise a demonstration file")
    info.add_argument("file", type=existing_path, help="a demonstration file (.hdf5)")
    info.set_defaults(run=_info)

    verify = verbs.add_parser("verify", help="replay every demo and check states and success reproduce")
    verify.add_argument("file", type=existing_path, nargs="+", help="demonstration files (.hdf5)")
    verify.set_defaults(run=_verify)

    export = verbs.add_parser("export", help="copy demonstration files into another tool's format (Minari)")
    export.add_argument("file", type=existing_path, nargs="+", help="demonstration files (.hdf5)")
    export.add_argument("--format", choices=("minari",), required=True, help="the format to write")
    export.add_argument(
        "--out", type=Path, default=None, help="datasets folder (default: MINARI_DATASETS_PATH or ~/.minari/datasets)"
    )
    export.set_defaults(run=_export)


def _collect(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from lifebot.demos.collect import collect

    for path in collect(make_config(parser, CollectConfig, args)):
        print(f"wrote {path}")
    return 0


def _info(args: argparse.Namespace) -> int:
    import numpy as np

    from lifebot.demos.format import DemoFile

    with DemoFile(args.file) as demo_file:
        attrs = demo_file.attrs
        lengths = np.array([demo_file.episode(n).num_samples for n in demo_file.demo_names])
        header = demo_file.header
        print(f"file         {args.file}")
        print(f"task         {header.env_args['env_name']}  ({demo_file.task_spec.task_id})")
        print(f"instruction  {demo_file.task_spec.instruction}")
        print(f"control      {header.control_mode}")
        print(
            f"demos        {len(lengths)}  (train {len(demo_file.mask('train'))}, valid {len(demo_file.mask('valid'))})"
        )
        if len(lengths):
            print(
                f"transitions  {int(attrs['total'])}  (length min {lengths.min()}, mean {lengths.mean():.1f}, "
                f"max {lengths.max()})"
            )
        print(f"obs keys     {', '.join(demo_file.obs_keys())}")
        print(f"versions     {', '.join(f'{k} {v}' for k, v in sorted(header.versions.items()))}")
    return 0


def _verify(args: argparse.Namespace) -> int:
    from lifebot.demos.verify import STATE_TOLERANCE, verify_file

    failed = 0
    for path in args.file:
        reports = verify_file(path)
        bad = [r for r in reports if not r.ok]
        failed += len(bad)
        worst = max((r.max_state_error for r in reports), default=0.0)
        print(
            f"{path}: {len(reports) - len(bad)}/{len(reports)} demos replay (max state error {worst:.2e}, "
            f"tolerance {STATE_TOLERANCE:.0e})"
        )
        for r in bad:
            print(
                f"  {r.demo}: state error {r.max_state_error:.2e}, success stored {r.success_stored}, "
                f"replayed {r.success_replayed}"
            )
    return 1 if failed else 0


def _export(args: argparse.Namespace) -> int:
    from lifebot.demos.minari_export import export_minari

    for path in args.file:
        dataset = export_minari(path, args.out)
        print(
            f"{path}: Minari dataset {dataset.spec.dataset_id} ({dataset.total_episodes} episodes, "
            f"{dataset.total_steps} steps) in {dataset.spec.data_path}"
        )
    return 0
