"""``lifebot suites generate | private | list | show | render``."""

from __future__ import annotations

import argparse
from pathlib import Path

from lifebot.cli.options import add_config, existing_path, make_config, positive
from lifebot.suites.families import FAMILIES
from lifebot.suites.generate import GenerateConfig
from lifebot.suites.private import PrivateConfig
from lifebot.suites.store import list_suites, load_suite, suites_root


def register(commands) -> None:
    parser = commands.add_parser("suites", help="generate, list, show and render task suites")
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")

    generate = verbs.add_parser("generate", help="generate suite files (byte-identical for the same seed)")
    generate.add_argument(
        "families",
        nargs="*",
        default=list(FAMILIES),
        help=f"families to generate (default: all of {', '.join(FAMILIES)})",
    )
    add_config(generate, GenerateConfig)
    generate.add_argument("--out", type=Path, default=None, help="suites folder (default: task_suites/)")
    generate.set_defaults(run=lambda args: _generate(generate, args))

    private = verbs.add_parser("private", help="held-out evaluation states per task from a secret seed (operators)")
    private.add_argument("suite", help="suite name (see `lifebot suites list`)")
    private.add_argument(
        "--seed-file", type=existing_path, required=True, help="the secret: a file of at least 16 random bytes"
    )
    add_config(private, PrivateConfig)
    private.add_argument(
        "--out", type=Path, required=True, help="folder for them, outside task_suites/ (for `submit verify --private`)"
    )
    private.set_defaults(run=lambda args: _private(private, args))

    listing = verbs.add_parser("list", help="list the suites and their task counts")
    listing.set_defaults(run=_list)

    show = verbs.add_parser("show", help="print a suite's tasks, goals and orderings")
    show.add_argument("suite", help="suite name (see `lifebot suites list`)")
    show.set_defaults(run=_show)

    render = verbs.add_parser("render", help="write one agentview picture per task, and a contact sheet")
    render.add_argument("suite", help="suite name (see `lifebot suites list`)")
    render.add_argument("--out", type=Path, default=None, help="folder for the PNGs (default: renders/<suite>)")
    render.add_argument("--size", type=positive, default=384, help="picture side in pixels (default: 384)")
    render.set_defaults(run=_render)


def _generate(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from lifebot.suites.generate import generate_suite

    unknown = sorted(set(args.families) - set(FAMILIES))
    if unknown:
        parser.error(f"argument families: unknown {', '.join(unknown)}; known: {', '.join(FAMILIES)}")
    config = make_config(parser, GenerateConfig, args)
    root = args.out or suites_root()
    for family in args.families:
        folder = generate_suite(family, root, config)
        print(f"wrote {folder}")
    return 0


def _private(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from lifebot.suites.private import generate_private, read_secret

    config = make_config(parser, PrivateConfig, args)
    folder = generate_private(args.suite, read_secret(args.seed_file), args.out, config)
    print(f"wrote {folder}: {config.num_init_states} private evaluation states per task; keep the seed file secret")
    return 0


def _list(args: argparse.Namespace) -> int:
    names = list_suites()
    if not names:
        print(f"no suites under {suites_root()}; run `lifebot suites generate`")
        return 1
    print(f"{'suite':<10} {'family':<10} {'tasks':>5} {'states/task':>11}  version")
    for name in names:
        suite = load_suite(name)
        print(
            f"{suite.name:<10} {suite.family:<10} {len(suite.tasks):>5} "
            f"{suite.tasks[0].num_init_states:>11}  {suite.version}"
        )
    return 0


def _show(args: argparse.Namespace) -> int:
    from lifebot.envs.registration import env_id

    suite = load_suite(args.suite)
    print(f"suite {suite.name} (family {suite.family}, seed {suite.seed}, version {suite.version})")
    print(f"generated with {', '.join(f'{k} {v}' for k, v in sorted(suite.versions.items()))}")
    for index, task in enumerate(suite.tasks):
        spec = task.spec
        print(f"\n[{index}] {env_id(suite.name, spec.name)}  (id {spec.task_id}, horizon {spec.horizon})")
        print(f"    instruction: {spec.instruction}")
        print(f"    goal:        {' ∧ '.join(str(a) for a in spec.goal)}")
        print(f"    objects:     {', '.join(f'{o.name}:{o.category}' for o in spec.objects)}")
        if spec.fixtures:
            print(f"    fixtures:    {', '.join(f'{o.name}:{o.category}' for o in spec.fixtures)}")
        print(f"    init states: {task.num_init_states}")
    print("\norderings:")
    for index, ordering in enumerate(suite.orderings):
        print(f"  {index}: {list(ordering)}")
    return 0


def _render(args: argparse.Namespace) -> int:
    from lifebot.suites.render import render_suite

    out = args.out or Path("renders") / args.suite
    paths = render_suite(args.suite, out, size=args.size)
    print(f"wrote {len(paths) - 1} task pictures and the contact sheet {paths[-1]}")
    return 0
