"""``lifebot task describe | check | render``: custom tasks from a spec file."""

from __future__ import annotations

import argparse
from pathlib import Path

from lifebot.cli.options import existing_path, positive


def register(commands) -> None:
    parser = commands.add_parser("task", help="describe the spec format; check and render a custom task spec file")
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")

    describe = verbs.add_parser("describe", help="the spec reference: fields, object categories, predicates")
    describe.set_defaults(run=_describe)

    check = verbs.add_parser("check", help="validate a spec, build its scene and try the scripted expert on it")
    check.add_argument("spec", type=existing_path, help="a task spec file (.yaml, .yml or .json)")
    check.add_argument("--seeds", type=positive, default=2, help="placements the expert tries (default: 2)")
    check.set_defaults(run=_check)

    render = verbs.add_parser("render", help="a picture of the task's first state from the agentview camera")
    render.add_argument("spec", type=existing_path, help="a task spec file (.yaml, .yml or .json)")
    render.add_argument("--out", type=Path, default=None, help="PNG file (default: <spec name>.png beside the spec)")
    render.add_argument("--size", type=positive, default=384, help="picture side in pixels (default: 384)")
    render.set_defaults(run=_render)


def _describe(args: argparse.Namespace) -> int:
    from lifebot.spec.reference import reference

    print(reference(), end="")
    return 0


def _check(args: argparse.Namespace) -> int:
    from lifebot.demos.record import record_episode
    from lifebot.envs.gym_env import LifebotEnv
    from lifebot.spec.io import load_spec

    spec = load_spec(args.spec)  # a SpecError names the file, the field and the problem
    print(f"{args.spec}: valid spec {spec.suite}/{spec.name} (id {spec.task_id}): {spec.instruction!r}")
    env = LifebotEnv(spec=spec)
    try:
        env.reset(seed=0)
        print(f"    scene builds and places: {len(spec.all_objects)} objects, horizon {spec.horizon}")
        solved = []
        for seed in range(args.seeds):
            episode = record_episode(env, seed=seed)
            solved.append(episode is not None)
            steps = f"in {episode.num_samples} steps" if episode is not None else "failed"
            print(f"    scripted expert, seed {seed}: {steps}")
    finally:
        env.close()
    print(f"    expert solved {sum(solved)}/{len(solved)} placements")
    return 0 if all(solved) else 1


def _render(args: argparse.Namespace) -> int:
    from lifebot.spec.io import load_spec
    from lifebot.suites.render import plt, render_first_state  # plt: matplotlib without a display

    spec = load_spec(args.spec)
    out = args.out or args.spec.with_name(f"{spec.name}.png")
    plt.imsave(out, render_first_state(args.size, spec=spec))
    print(f"wrote {out}")
    return 0
