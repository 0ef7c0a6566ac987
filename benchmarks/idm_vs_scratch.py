"""Encoder pretraining on the pretraining pool vs training from scratch, at several demonstration counts.

    python benchmarks/idm_vs_scratch.py [--suite goal] [--tasks 5] [--counts 2 5 10 25] [--seeds 0 1 2]
        [--pool-tasks 40] [--pool-demos 10] [--pretrain-steps 3000] [--steps 2000] [--episodes 20]
        [--encoder-input no_proprio] [--gap 1] [--agent idm] [--methods scratch bc-pre idm idm-ft full-state]
        [--out runs/idm] [--figure docs/idm_vs_scratch.png] [--image-size 64]
        [--cameras agentview_image eye_in_hand_image]

One agent shape (:class:`~lifebot.agents.idm.IDMAgent`: an encoder on ``--encoder-input``, a policy MLP on it and
the rest of the state), four ways to get its encoder: ``scratch`` (none, learnt with the policy), ``bc-pre``
(multitask BC on the pool, frozen), ``idm`` (inverse dynamics on the pool, frozen: the paper's protocol) and
``idm-ft`` (inverse dynamics, fine-tuned with the policy); ``full-state`` is the reference without an encoder split: the
agent's plain parent (BC for ``--agent idm``, chunking for ``--agent idm_chunking``) on the whole state, from
scratch, same widths and steps. ``--agent`` picks the policy on the encoder: ``idm`` (single-step, Gaussian head)
or ``idm_chunking`` (action chunks with a temporal ensemble, the suite's standard imitation agent). Each seed
pretrains once per objective on the ``pretrain`` suite's demonstrations (pretraining never touches the policy head,
so both agents share the encoders); the encoder is cached under ``--out/pretrained`` (a rerun with the same
settings loads it), and every (method, task, demos, seed) success is cached in ``--out/results_<key>.json`` as it
is measured, so an interrupted grid resumes. All agents use the pool's observation normalizer and are evaluated on
the target suite's fixed states. Prints mean success over the tasks per seed, then the mean, standard deviation and
range over seeds; writes the figure with matplotlib (Agg). ``--encoder-input images`` is the paper's setting: the
encoder sees ``--cameras`` at ``--image-size`` pixels (demonstrations recorded with images, so give them a
``--demos-dir`` of their own) and the policy is evaluated from rendered images.

The smallest end-to-end run (about a minute on one busy core, its demonstrations included; add ``--encoder-input
images --demos-dir /tmp/idm_smoke/demos`` for the image path, ``--agent idm_chunking`` for the chunking policy)::

    python benchmarks/idm_vs_scratch.py --tiny --out /tmp/idm_smoke --figure /tmp/idm_smoke/figure.png
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
from pathlib import Path

import numpy as np

from lifebot.agents.bc import BCAgent
from lifebot.agents.chunking import ChunkingAgent
from lifebot.agents.idm import ENCODER_INPUTS, IDMAgent, IDMConfig
from lifebot.agents.idm_chunking import IDMChunkingAgent
from lifebot.agents.pretrain import loss_summary, pretrain_encoder
from lifebot.atomic import atomic_output, atomic_write_json
from lifebot.cells import CellFile, settings_key
from lifebot.demos.collect import CollectConfig, collect
from lifebot.demos.dataset import DemoDataset
from lifebot.envs.gym_env import CAMERAS
from lifebot.envs.vector import evaluate
from lifebot.suites.store import load_suite

MODE = "pd_ee_delta_pose"
METHODS = {  # name -> (pretraining objective, encoder frozen while the policy learns)
    "scratch": ("none", False),
    "bc-pre": ("multitask_bc", True),
    "idm": ("inverse_dynamics", True),
    "idm-ft": ("inverse_dynamics", False),
    "full-state": ("", False),  # no encoder: the agent's plain parent (AGENTS) on the whole state
}
AGENTS = {"idm": (IDMAgent, BCAgent), "idm_chunking": (IDMChunkingAgent, ChunkingAgent)}  # encoder agent, plain
TINY = dict(  # --tiny: every stage once, in minutes; proves the script, measures nothing
    tasks=2,
    counts=[2, 5],
    seeds=[0],
    pool_tasks=2,
    pool_demos=2,
    pretrain_steps=20,
    steps=20,
    episodes=1,
    hidden=[32, 32],
    batch_size=32,
    workers=1,
)


def config_of(cls, config, **changes):
    """A ``cls`` config with the fields it shares with ``config``, then ``changes``."""
    return cls(**{**{f.name: getattr(config, f.name) for f in dataclasses.fields(cls)}, **changes})


def pretrained_encoder(objective: str, seed: int, base: IDMConfig, pool: DemoDataset, pool_id: dict, out: Path):
    """The encoder of ``objective`` pretrained on the pool with ``seed`` by an ``idm`` agent (whatever ``base``'s
    policy: pretraining does not touch it): loaded from its cache file or trained and saved there (atomically);
    with its first and last pretraining losses (window means)."""
    changes = dict(head=IDMConfig.head, objective=objective, seed=seed, freeze_encoder=objective != "none")
    config = config_of(IDMConfig, base, **changes)
    fields = dataclasses.asdict(config)
    for name in ("freeze_encoder", "steps", "device"):  # fine-tuning settings: not the encoder's
        fields.pop(name)
    path = out / "pretrained" / f"{objective}_s{seed}_{settings_key({**fields, **pool_id})}.pt"
    losses_path = path.with_suffix(".json")
    if path.exists() and losses_path.exists():
        return IDMAgent.load(path), json.loads(losses_path.read_text())
    agent, losses = pretrain_encoder(config, pool)
    agent.save(path)  # lifebot run --agent idm --init-checkpoint <this> (`lifebot pretrain` makes one too)
    summary = loss_summary(losses)
    atomic_write_json(losses_path, summary)
    return agent, summary


def write_figure(path: Path, table: dict, counts: list[int], methods: list[str], title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    figure, axes = plt.subplots(figsize=(6, 4))
    for name in methods:
        means = [np.mean(table[(name, c)]) for c in counts]
        spread = [np.std(table[(name, c)]) for c in counts]
        axes.errorbar(counts, means, yerr=spread, marker="o", capsize=3, label=name)
    axes.set_xscale("log")
    axes.set_xticks(counts, [str(c) for c in counts])
    axes.minorticks_off()
    axes.set_xlabel("demonstrations per task")
    axes.set_ylabel("mean success (± sd over seeds)")
    axes.set_ylim(-0.02, 1.02)
    axes.set_title(title, fontsize=9)
    axes.legend()
    figure.tight_layout()
    with atomic_output(path) as tmp:
        figure.savefig(tmp, format="png", dpi=120)
    plt.close(figure)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", default="goal")
    parser.add_argument("--tasks", type=int, default=5, help="the suite's first N tasks")
    parser.add_argument("--counts", type=int, nargs="+", default=[2, 5, 10, 25])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--pool-tasks", type=int, default=0, help="the pretrain suite's first N tasks (0: all 40)")
    parser.add_argument("--pool-demos", type=int, default=10)
    parser.add_argument("--pretrain-steps", type=int, default=3000)
    parser.add_argument("--steps", type=int, default=2000, help="gradient steps of the policy on each target task")
    parser.add_argument("--episodes", type=int, default=20)
    parser.add_argument("--encoder-input", choices=ENCODER_INPUTS, default=IDMConfig.encoder_input)
    parser.add_argument("--gap", type=int, default=1)
    parser.add_argument("--agent", choices=list(AGENTS), default="idm", help="the policy on the encoder")
    parser.add_argument("--image-size", type=int, default=64, help="camera side in pixels (--encoder-input images)")
    parser.add_argument("--cameras", nargs="+", choices=list(CAMERAS), default=list(CAMERAS))
    parser.add_argument("--hidden", type=int, nargs="+", default=list(IDMConfig.hidden))
    parser.add_argument("--batch-size", type=int, default=IDMConfig.batch_size)
    parser.add_argument("--methods", nargs="+", choices=list(METHODS), default=list(METHODS))
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--demos-dir", type=Path, default=Path("demos"))
    parser.add_argument("--out", type=Path, default=Path("runs/idm"))
    parser.add_argument("--figure", type=Path, default=Path("docs/idm_vs_scratch.png"))
    parser.add_argument("--tiny", action="store_true", help=f"smoke-test budgets: {TINY}")
    args = parser.parse_args()
    if args.tiny:
        for name, value in TINY.items():
            setattr(args, name, value)
    images = args.encoder_input == "images"
    image_keys = tuple(args.cameras) if images else ()
    cameras = dict(obs_mode="image", image_size=args.image_size) if images else {}  # what evaluation renders

    agent_class, plain_class = AGENTS[args.agent]
    base = agent_class.config_class(
        hidden=tuple(args.hidden),
        policy_hidden=(args.hidden[-1],),
        idm_hidden=(args.hidden[-1],),
        batch_size=args.batch_size,
        idm_steps=args.pretrain_steps,
        steps=args.steps,
        encoder_input=args.encoder_input,
        gap=args.gap,
        device="cpu" if args.tiny else "auto",
        **(dict(observation="image", image_keys=image_keys) if images else {}),
    )
    pool_tasks = load_suite("pretrain").task_names[: args.pool_tasks or None]
    demos = dict(workers=args.workers, control_mode=MODE, out=args.demos_dir, images=images, image_size=args.image_size)
    pool_paths = collect(CollectConfig(suite="pretrain", tasks=tuple(pool_tasks), num_demos=args.pool_demos, **demos))
    pool = DemoDataset(pool_paths, max_demos_per_file=args.pool_demos, image_keys=image_keys)
    pool_id = {"pool_tasks": pool_tasks, "pool_demos": args.pool_demos, "control_mode": MODE, **cameras}
    tasks = load_suite(args.suite).task_names[: args.tasks]
    paths = collect(CollectConfig(suite=args.suite, tasks=tuple(tasks), num_demos=max(args.counts), **demos))

    cells = CellFile(
        args.out,
        {
            **dataclasses.asdict(dataclasses.replace(base, device="")),
            **pool_id,
            "suite": args.suite,
            "episodes": args.episodes,
        },
    )
    losses = {}
    for seed in args.seeds:
        encoders = {}
        for objective in sorted({METHODS[m][0] for m in args.methods} - {"none", ""}):
            encoders[objective], losses[(objective, seed)] = pretrained_encoder(
                objective, seed, base, pool, pool_id, args.out
            )
        for task, path in zip(tasks, paths, strict=True):
            for count in args.counts:
                data = None
                for name in args.methods:
                    cell = f"{name}|{task}|{count}|{seed}"
                    if cell in cells:
                        continue
                    if data is None:
                        data = DemoDataset(
                            [path], max_demos_per_file=count, normalizer=pool.normalizer, image_keys=image_keys
                        )
                    objective, frozen = METHODS[name]
                    if objective:
                        config = dataclasses.replace(base, objective=objective, freeze_encoder=frozen, seed=seed)
                        agent = agent_class(config, pool.obs_dim, pool.normalizer, MODE)
                        if objective != "none":
                            agent.load_encoder(encoders[objective])
                    else:
                        config = config_of(plain_class.config_class, base, seed=seed)
                        agent = plain_class(config, pool.obs_dim, pool.normalizer, MODE)
                    agent.learn(agent.transitions(data))
                    rate = evaluate(
                        agent,
                        args.episodes,
                        num_envs=args.workers,
                        suite=args.suite,
                        task=task,
                        control_mode=MODE,
                        **cameras,
                    ).success_rate
                    cells[cell] = rate
                    print(f"  seed {seed} {task:<36} {count:>3} demos  {name:<10} success {rate:.2f}", flush=True)

    print(
        f"\npretraining: {len(pool_tasks)} pool tasks × {args.pool_demos} demos, {args.pretrain_steps} steps, "
        f"encoder input {args.encoder_input}, gap {args.gap}; loss (first -> last window):"
    )
    for (objective, seed), summary in sorted(losses.items()):
        if summary:
            print(f"  {objective:<17} seed {seed}: {summary['first']:.3f} -> {summary['last']:.3f}")
    table = {  # (method, demos) -> per seed, the mean success over the tasks
        (name, count): [np.mean([cells[f"{name}|{t}|{count}|{s}"] for t in tasks]) for s in args.seeds]
        for name in args.methods
        for count in args.counts
    }
    print(
        f"mean success over {len(tasks)} {args.suite} tasks ({args.episodes} fixed states each, {args.steps} policy "
        f"steps); mean ± sd [min, max] over seeds {args.seeds}:"
    )
    print(f"{'demos':>6} " + " ".join(f"{name:>22}" for name in args.methods))
    for count in args.counts:
        row = [table[(name, count)] for name in args.methods]
        print(
            f"{count:>6} "
            + " ".join(f"{np.mean(r):.2f} ± {np.std(r):.2f} [{min(r):.2f}, {max(r):.2f}]".rjust(22) for r in row)
        )
    title = (
        f"{len(tasks)} {args.suite} tasks, {len(args.seeds)} seeds; agent {args.agent}, encoder input "
        f"{args.encoder_input}\npool {len(pool_tasks)}×{args.pool_demos} demos, {args.pretrain_steps} pretraining "
        f"steps, {args.steps} policy steps"
    )
    write_figure(args.figure, table, args.counts, args.methods, title)
    print(f"figure: {args.figure}; cells: {cells.path}")


if __name__ == "__main__":
    main()
