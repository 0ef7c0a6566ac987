"""``lifebot suites generate | list | show | render``."""

from __future__ import annotations

import argparse
from pathlib import Path

from lifebot.suites.families import FAMILIES
from lifebot.suites.generate import GenerateConfig, generate_suite
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
    generate.add_argument("--seed", type=int, default=GenerateConfig.seed)
    generate.add_argument("--num-init-states", type=int, default=GenerateConfig.num_init_states)
    generate.add_argument("--num-orderings", type=int, default=GenerateConfig.num_orderings)
    generate.add_argument("--size", type=int, default=None, help="tasks per suite (default: the family's size)")
    generate.add_argument("--out", type=Path, default=None, help="suites folder (default: task_suites/)")
    generate.set_defaults(run=_generate)

    listing = verbs.add_parser("list", help="list the suites and their task counts")
    listing.set_defaults(run=_list)

    show = verbs.add_parser("show", help="print a suite's tasks, goals and orderings")
    show.add_argument("suite")
    show.set_defaults(run=_show)

    render = verbs.add_parser("render", help="write one agentview picture per task, and a contact sheet")
    render.add_argument("suite")
    render.add_argument("--out", type=Path, default=None, help="folder for the PNGs (default: renders/<suite>)")
    render.add_argument("--size", type=int, default=384)
    render.set_defaults(run=_render)


def _generate(args: argparse.Namespace) -> int:
    root = args.out or suites_root()
    for family in args.families:
        config = GenerateConfig(
            seed=args.seed, num_init_states=args.num_init_states, num_orderings=args.num_orderings, size=args.size
        )
        folder = generate_suite(family, root, config)
        print(f"wrote {folder}")
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
