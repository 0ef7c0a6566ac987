"""Warm-start RL fine-tuning vs its ablations and baselines: success on the fixed evaluation states over online steps.

    nice -n 5 python benchmarks/wsrl_finetune.py [--suite goal] [--task PickRedCubeLift] [--demos 50]
        [--bc-steps 3000] [--pretrain-steps 400] [--online-steps 1000] [--warmup 200]
        [--agent-config policies/wsrl_cpu.yaml] [--temperature 0.01] [--set FIELD=VALUE ...]
        [--eval-every 250] [--episodes 20] [--seeds 0,1] [--methods wsrl,wsrl_no_warmup,sac_scratch,rlpd]
        [--out runs/wsrl_finetune]

One task, state observations (normalised with the demonstrations' statistics), ``pd_ee_delta_pose`` control and
the task's sparse reward (1 on the step the goal holds, which ends the episode), as in the WSRL paper. Methods,
all on the same learner (``--agent-config``, default the CPU preset) and the same number of online steps:

- ``wsrl``: Cal-QL pretraining of actor and critics on the demos, then ``--warmup`` steps of pretrained-policy
  rollouts into an empty online buffer (no updates; the paper uses 5,000), then online SAC that never samples
  the demos;
- ``wsrl_no_warmup``: the same pretrained weights, updates from the first online step;
- ``sac_scratch``: random initialisation, no demos at all;
- ``rlpd``: random initialisation, half of every batch from the demos (offline data retained).

The two from random weights leave out what the preset does to keep an offline start (``START_KEEPING``).

Warmup steps count towards the online steps. Both WSRL variants of a seed start from the same pretrained
weights. Budget scale-downs from the paper (20k-1M Cal-QL steps, 5,000 warmup steps, 250k+ online steps):
``--pretrain-steps``, ``--warmup``, ``--online-steps``. Because a few hundred Cal-QL steps from a random actor
give a policy that rarely succeeds, the actor first gets ``--bc-steps`` of behaviour cloning (lifebot's BC,
copied into SAC's actor; 0 turns this off; BC's trunk has no LayerNorm, so the actor's LayerNorm is turned off
for an exact copy) and Cal-QL pretraining starts from there, as the preset's ``actor_pretraining`` says (the
CPU preset's ``bc`` becomes ``none`` here: the actor already is the BC agent, and the critics learn its value).
Every WSRL setting comes from the preset (``--agent-config``); ``--set FIELD=VALUE`` overrides one field
(``--temperature`` the initial temperature) for a probe. docs/wsrl_probes.md has the probes behind the preset.

Each finished (method, seed) is written to ``--out/results_<key>.json`` (:mod:`lifebot.cells`; the key hashes
the settings and the learner's config, not ``--seeds``, ``--methods`` or ``--threads``), so a killed run started
again measures only what is missing, and runs of other seeds or methods may share ``--out``; the key does not see
this script's code, so measure a changed script into another ``--out``. ``benchmarks/wsrl_summary.py`` reads
the files of several tasks.

Success is measured with the deterministic (mean) action at step 0, every ``--eval-every`` steps and after the
last step, by an SB3 callback; the dip is the lowest success after step 0. Step 0 of ``wsrl`` is its offline
start (the pretrained policy before any online step).

The issue-12 evidence (3 tasks whose offline start succeeds 0.2-0.7, 5 seeds, equal online steps; 200-400 s
per (method, seed) on one core here) and its exact commands are in docs/wsrl_finetune.md, its cells in
docs/wsrl_finetune_cells/. Each cell also keeps a ``trace`` per evaluation point (:func:`learner_trace`):
how far the actor has moved, the critics' values on the demonstrations, the successes stored.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import sys
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from stable_baselines3.common.callbacks import BaseCallback  # noqa: E402

from lifebot.agents.bc import BCAgent, BCConfig  # noqa: E402
from lifebot.agents.config import parse_options  # noqa: E402
from lifebot.agents.registry import load_agent_config  # noqa: E402
from lifebot.agents.transfer import NormalizedStateObservation, copy_actor_into_sac  # noqa: E402
from lifebot.agents.wsrl import OfflineTransitions, make_rlpd, make_wsrl, pretrain_offline  # noqa: E402
from lifebot.cells import CellFile  # noqa: E402
from lifebot.configs import ConfigError  # noqa: E402
from lifebot.demos.collect import CollectConfig, collect  # noqa: E402
from lifebot.demos.dataset import DemoDataset, flatten_state  # noqa: E402
from lifebot.envs.gym_env import LifebotEnv  # noqa: E402
from lifebot.envs.vector import EvaluationPool, evaluate  # noqa: E402

MODE = "pd_ee_delta_pose"
REWARD = "sparse"
METHODS = ("wsrl", "wsrl_no_warmup", "sac_scratch", "rlpd")
# What the preset adds to keep an offline start (docs/wsrl_probes.md). The methods from random weights have no
# start to keep (an anchor would hold a random actor; the gate would hold RLPD's actor, which learns from the
# demos' rewards, until a random policy succeeds online), so they learn as their papers do: SAC, and RLPD's SAC
# on symmetric batches.
START_KEEPING = {
    "actor_anchor": 0.0,
    "actor_after_success": False,
    "actor_delay": 0,
    "success_imitation": 0.0,
    "exploration_std_scale": 1.0,
}


class SuccessCallback(BaseCallback):
    """Success rate on the fixed evaluation states at step 0, every ``every`` online steps and at the end,
    with what the learner looks like there on the demonstrations (:func:`learner_trace`).

    Evaluates at rollout start, so the updates of the step just taken are included (SB3 trains after each
    rollout of ``train_freq`` steps).
    """

    def __init__(self, measure, every: int, label: str, demos: DemoDataset):
        super().__init__()
        self.measure, self.every, self.label, self.demos = measure, every, label, demos
        self.curve: list[tuple[int, float]] = []
        self.trace: list[dict] = []
        self.start_actions = None

    def _evaluate(self) -> None:
        start = time.perf_counter()
        rate = self.measure(self.model)
        self.curve.append((self.num_timesteps, rate))
        if self.start_actions is None:
            with torch.no_grad():
                self.start_actions = self.model.actor(self.demos.obs, deterministic=True)
        self.trace.append({"step": self.num_timesteps, **learner_trace(self.model, self.demos, self.start_actions)})
        print(
            f"  {self.label:<28} step {self.num_timesteps:>6}  success {rate:.2f}  "
            + "  ".join(f"{name} {value:.3g}" for name, value in self.trace[-1].items() if name != "step")
            + f"  ({time.perf_counter() - start:.0f} s eval)",
            file=sys.stderr,
            flush=True,
        )

    def _on_training_start(self) -> None:
        self._evaluate()

    def _on_rollout_start(self) -> None:
        if self.num_timesteps >= self.curve[-1][0] + self.every:
            self._evaluate()

    def _on_step(self) -> bool:
        return True

    def _on_training_end(self) -> None:
        if self.curve[-1][0] != self.num_timesteps:
            self._evaluate()


def learner_trace(model, demos: DemoDataset, start_actions: torch.Tensor) -> dict:
    """How far the deterministic action on the demonstrations' states has moved from the online start's (mean
    Euclidean distance, actions in [-1, 1]), the critics' minimum on the demonstrations' (s, a) and at the
    policy's action, and the successful episodes stored so far. Draws no random numbers, so measuring it does
    not change the run."""
    with torch.no_grad():
        actions = model.actor(demos.obs, deterministic=True)
        q_demo = torch.cat(model.critic(demos.obs, demos.actions), dim=1).min(dim=1).values.mean()
        q_policy = torch.cat(model.critic(demos.obs, actions), dim=1).min(dim=1).values.mean()
    filled = model.replay_buffer.size()
    return {
        "drift": float((actions - start_actions).norm(dim=1).mean()),
        "q_demo": float(q_demo),
        "q_policy": float(q_policy),
        "successes": int((model.replay_buffer.rewards[:filled] > 0).sum()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", default="goal")
    parser.add_argument("--task", default="PickRedCubeLift")
    parser.add_argument("--demos", type=int, default=50)
    parser.add_argument("--bc-steps", type=int, default=3000, help="BC steps for the actor before Cal-QL (0: none)")
    parser.add_argument("--pretrain-steps", type=int, default=400, help="Cal-QL gradient steps (paper: 1M)")
    parser.add_argument("--online-steps", type=int, default=1000, help="N environment steps per method")
    parser.add_argument("--warmup", type=int, default=200, help="WSRL warmup steps, part of N (paper: 5,000)")
    parser.add_argument("--agent-config", default=None, help="WSRL preset (default policies/wsrl_cpu.yaml)")
    parser.add_argument("--eval-every", type=int, default=250)
    parser.add_argument("--episodes", type=int, default=20)
    parser.add_argument("--seeds", default="0,1")
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument(
        "--temperature", type=float, default=None, help="initial SAC temperature (default: the preset's)"
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="override a WSRLConfig field of the preset (YAML value), e.g. --set actor_delay=500",
    )
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--out", type=Path, default=Path("runs/wsrl_finetune"))
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    methods = args.methods.split(",")
    unknown = set(methods) - set(METHODS)
    if unknown:
        parser.error(f"unknown methods {sorted(unknown)}; choose from {METHODS}")
    torch.set_num_threads(args.threads)
    began = time.perf_counter()

    env_kwargs = {"suite": args.suite, "task": args.task, "control_mode": MODE, "reward": REWARD}
    (path,) = collect(
        CollectConfig(
            suite=args.suite,
            tasks=(args.task,),
            num_demos=args.demos,
            workers=2,
            control_mode=MODE,
            out=args.out / "demos",
        ),
        progress=False,
    )
    dataset = DemoDataset([path])
    normalizer = dataset.normalizer
    eval_pool = EvaluationPool(1)  # this process, keeping its environment between evaluations

    def measure(model) -> float:
        policy = lambda obs: model.predict(normalizer(flatten_state(obs)), deterministic=True)[0]  # noqa: E731
        return evaluate(policy, args.episodes, pool=eval_pool, **env_kwargs).success_rate

    def make_env():
        return NormalizedStateObservation(LifebotEnv(**env_kwargs), normalizer)

    preset = load_agent_config("wsrl", args.agent_config)
    try:
        overrides = parse_options(args.set, "--set")
    except ConfigError as exc:
        parser.error(str(exc))
    for name, value in overrides.items():
        if name not in {f.name for f in dataclasses.fields(preset)}:
            parser.error(f"--set {name}={value}: WSRLConfig has no field {name!r}")
        if isinstance(value, str):  # YAML 1.1 reads 1e-5 as a string
            with contextlib.suppress(ValueError):
                overrides[name] = float(value)
    if args.temperature is not None:
        overrides["initial_temperature"] = args.temperature
    preset = dataclasses.replace(preset, **overrides)
    if args.bc_steps and preset.actor_pretraining == "bc":  # the actor is lifebot's BC agent already
        preset = dataclasses.replace(preset, actor_pretraining="none")
    base = dataclasses.replace(
        preset, warmup_steps=args.warmup, layer_norm=preset.layer_norm and not args.bc_steps, device="cpu"
    )
    offline = OfflineTransitions.of(dataset, base)
    settings = {k: v for k, v in vars(args).items() if k not in ("seeds", "methods", "threads", "out", "set")}
    cells = CellFile(args.out, {**settings, "config": dataclasses.asdict(dataclasses.replace(base, seed=0))})
    for seed in seeds:
        config = dataclasses.replace(base, seed=seed)
        pretrained = None
        if any(f"{m}|{seed}" not in cells for m in methods if m.startswith("wsrl")):
            start = time.perf_counter()
            pretrain_env = make_env()
            pretrained = make_wsrl(pretrain_env, config)
            bc_note = ""
            if args.bc_steps:
                bc = BCAgent.from_dataset(
                    BCConfig(hidden=base.net_arch, steps=args.bc_steps, seed=seed, device="cpu"), dataset
                )
                bc.learn(dataset)
                copy_actor_into_sac(bc.acting_policy, pretrained.policy)
                with torch.no_grad():  # the copy's deterministic action is BC's mean action tanh(mu)
                    gap = (bc.acting_policy.act(dataset.obs) - pretrained.actor(dataset.obs, deterministic=True)).abs()
                bc_note = (
                    f"BC {args.bc_steps} steps: success {measure(pretrained):.2f} "
                    f"(copy's mean action vs BC's: max gap {gap.max().item():.1e}); then "
                )
            losses = pretrain_offline(pretrained, offline, args.pretrain_steps, np.random.default_rng(seed))
            with torch.no_grad():
                q_data = torch.stack(pretrained.critic(dataset.obs, dataset.actions)).mean().item()
                mc_return = offline.extras["returns"].mean().item()
            cells[f"pretrain|{seed}"] = (
                f"seed {seed}: {bc_note}Cal-QL {args.pretrain_steps} steps, "
                f"final loss {np.mean(losses[-20:]) if losses else float('nan'):.1f}, "
                f"mean soft Q on demo (s, a) {q_data:.2f} (Monte-Carlo return {mc_return:.2f}), "
                f"temperature {pretrained.log_ent_coef.detach().exp().item():.4f}"
                f" ({time.perf_counter() - start:.0f} s)"
            )
            print(cells[f"pretrain|{seed}"], file=sys.stderr, flush=True)
            pretrain_env.close()
        for method in methods:
            if f"{method}|{seed}" in cells:
                continue
            start = time.perf_counter()
            env = make_env()
            learner = config if method.startswith("wsrl") else dataclasses.replace(config, **START_KEEPING)
            if method == "rlpd":
                model = make_rlpd(env, learner, offline)
            else:
                model = make_wsrl(env, learner, warmup=method == "wsrl")
            if method.startswith("wsrl"):
                model.policy.load_state_dict(pretrained.policy.state_dict())
                with torch.no_grad():
                    model.log_ent_coef.copy_(pretrained.log_ent_coef)
            callback = SuccessCallback(measure, args.eval_every, f"{method} seed {seed}", dataset)
            model.learn(total_timesteps=args.online_steps, callback=callback)
            filled = model.replay_buffer.size()
            cells[f"{method}|{seed}"] = {
                "curve": callback.curve,
                "trace": callback.trace,
                "seconds": time.perf_counter() - start,
                "episodes": int(model.replay_buffer.dones[:filled].sum()),
                "successes": callback.trace[-1]["successes"],
            }
            print(
                f"  {method} seed {seed}: online buffer {filled} steps, {cells[f'{method}|{seed}']['episodes']}"
                f" episode ends, {cells[f'{method}|{seed}']['successes']} successes; temperature "
                f"{model.log_ent_coef.detach().exp().item():.4f}",
                file=sys.stderr,
                flush=True,
            )
            env.close()
    eval_pool.close()

    args.out.mkdir(parents=True, exist_ok=True)
    figure, axis = plt.subplots(figsize=(7, 4))
    for color, method in enumerate(methods):
        steps = [step for step, _ in cells[f"{method}|{seeds[0]}"]["curve"]]
        rates = np.array([[rate for _, rate in cells[f"{method}|{seed}"]["curve"]] for seed in seeds])
        axis.plot(steps, rates.mean(axis=0), color=f"C{color}", marker="o", label=method)
        for row in rates:
            axis.plot(steps, row, color=f"C{color}", alpha=0.25, linewidth=0.8)
    if "wsrl" in methods:
        axis.axvline(args.warmup, color="grey", linestyle=":", linewidth=0.8, label="end of WSRL warmup")
    axis.set_xlabel("online environment step")
    axis.set_ylabel(f"success ({args.episodes} fixed states)")
    axis.set_ylim(-0.05, 1.05)
    axis.set_title(f"{args.suite}/{args.task}: mean over seeds {args.seeds} (thin: each seed)", fontsize=9)
    axis.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(args.out / "wsrl_finetune.png", dpi=100)

    print(
        f"{args.suite}/{args.task}, {MODE}, {REWARD} reward, state observations, {args.demos} demos "
        f"({len(dataset)} transitions); N = {args.online_steps} online steps per method, "
        f"UTD {base.utd} on a {base.batch_size} batch, {base.n_critics} critics"
    )
    print(
        f"WSRL: actor from {args.bc_steps} BC steps, {args.pretrain_steps} Cal-QL steps (alpha {base.cql_alpha}, "
        f"{base.cql_actions} sampled actions, actor pretraining {base.actor_pretraining}), "
        f"warmup {args.warmup} steps (part of N), actor delay {base.actor_delay}; temperature from "
        f"{base.initial_temperature} (lr {base.temperature_learning_rate}, target entropy {base.target_entropy}); "
        f"actor lr {base.actor_learning_rate}; reward x{base.reward_scale} {base.reward_bias:+}; "
        f"overrides {overrides}; torch threads {args.threads}"
    )
    print(
        f"success on fixed evaluation states 0..{args.episodes - 1} (deterministic action), "
        f"evaluated every {args.eval_every} steps"
    )
    for seed in seeds:
        if f"pretrain|{seed}" in cells:
            print(f"  {cells[f'pretrain|{seed}']}")
    print(
        f"{'method':<16}{'seed':>5}{'step 0':>8}{'dip':>7}{'dip at':>8}{f'step {args.online_steps}':>11}"
        f"{'best':>7}{'seconds':>9}   curve"
    )
    for method in methods:
        for seed in seeds:
            cell = cells[f"{method}|{seed}"]
            curve = cell["curve"]
            rates = [rate for _, rate in curve]
            dip_index = 1 + int(np.argmin(rates[1:]))
            print(
                f"{method:<16}{seed:>5}{rates[0]:>8.2f}{rates[dip_index]:>7.2f}{curve[dip_index][0]:>8}"
                f"{rates[-1]:>11.2f}{max(rates):>7.2f}{cell['seconds']:>9.0f}   " + " ".join(f"{r:.2f}" for r in rates)
            )
        rates = np.array([[rate for _, rate in cells[f"{method}|{seed}"]["curve"]] for seed in seeds])
        print(
            f"{method:<16}{'mean':>5}{rates[:, 0].mean():>8.2f}{rates[:, 1:].min(axis=1).mean():>7.2f}{'':>8}"
            f"{rates[:, -1].mean():>11.2f}{rates.max(axis=1).mean():>7.2f}"
        )
    figure_path = args.out / "wsrl_finetune.png"
    print(f"total wall time {time.perf_counter() - began:.0f} s; curves: {figure_path}; cells: {cells.path}")


if __name__ == "__main__":
    main()
