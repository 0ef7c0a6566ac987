"""Per-update times of WSRL for each preset: one Cal-QL pretraining step and one online update.

    OMP_NUM_THREADS=1 nice -n 5 python benchmarks/wsrl_update_times.py [--presets wsrl_paper,wsrl_cpu]
        [--repeats 20] [--threads 1] [--device cpu]

An online update is all the critic and actor work of one environment step (``utd`` critic minibatches, then one
actor and temperature update on the whole batch); a Cal-QL step is one critic update with the conservative
regulariser plus one actor update. Both run on synthetic transitions of lifebot's state size (the timings do
not depend on the values), the networks and batch sizes of the preset, ``--threads`` torch threads. The
environment's own step is not included, nor the preset's first ``actor_delay`` steps and the steps before a
stored success with ``actor_after_success`` (critics only, cheaper).
Target for the CPU preset's online update: 40 ms on one core.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import time
from pathlib import Path

import numpy as np
import torch
from stable_baselines3.common.logger import configure

from lifebot.agents.bc import ACTION_DIM
from lifebot.agents.config import load_config
from lifebot.agents.registry import POLICIES_DIR
from lifebot.agents.wsrl import OfflineTransitions, WSRLAgent, WSRLConfig, pretrain_offline
from lifebot.demos.dataset import Normalizer
from lifebot.envs.observations import STATE_SHAPES

TRANSITIONS = 4096
SUCCESS_ROWS = 800  # ~15 successful episodes of ~55 steps: what 6,000 online steps stored on PickRedCubeLift


def synthetic(obs_dim: int) -> OfflineTransitions:
    generator = torch.Generator().manual_seed(0)
    obs, next_obs = torch.randn(2, TRANSITIONS, obs_dim, generator=generator)
    actions = torch.rand(TRANSITIONS, ACTION_DIM, generator=generator) * 2 - 1
    rewards = (torch.rand(TRANSITIONS, generator=generator) < 0.05).float()
    extras = {"next_obs": next_obs, "rewards": rewards, "dones": rewards.clone(), "returns": rewards * 5}
    return OfflineTransitions(obs, actions, extras)


def timed(work, repeats: int) -> tuple[list[float], list[float]]:
    """Wall and CPU milliseconds of each call. With one thread the CPU time is the time on one core, which a
    loaded machine inflates less than the wall time (waits for a core are not counted)."""
    work()  # warm-up (allocations, first-call overheads)
    wall, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        work()
        wall.append(1000 * (time.perf_counter() - start))
        cpu.append(1000 * (time.process_time() - start_cpu))
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", default="wsrl_paper,wsrl_cpu", help="names in policies/, or YAML files")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    obs_dim = sum(int(np.prod(shape)) for shape in STATE_SHAPES.values())
    normalizer = Normalizer(np.zeros(obs_dim, np.float32), np.ones(obs_dim, np.float32))
    data = synthetic(obs_dim)
    print(f"obs dim {obs_dim}, torch threads {args.threads}, device {args.device}, {args.repeats} repeats each")
    print("milliseconds per update, median over the repeats: wall time (CPU time of this process)")
    print(f"{'preset':<12}{'critics':>8}{'utd x batch':>13}{'cql actions':>12}{'Cal-QL step':>20}{'online update':>20}")
    for preset in args.presets.split(","):
        path = preset if preset.endswith(".yaml") else POLICIES_DIR / f"{preset}.yaml"  # a preset, or any file
        config = dataclasses.replace(load_config(WSRLConfig, path), device=args.device)
        agent = WSRLAgent(config, obs_dim, normalizer)
        model = agent.model
        offline = timed(lambda: pretrain_offline(model, data, 1, agent.rng), args.repeats)  # noqa: B023
        for i in range(TRANSITIONS):  # a full-enough online buffer
            model.replay_buffer.add(
                data.obs[i : i + 1].numpy(),
                data.extras["next_obs"][i : i + 1].numpy(),
                data.actions[i : i + 1].numpy(),
                data.extras["rewards"][i : i + 1].numpy(),
                data.extras["dones"][i : i + 1].numpy(),
                [{}],
            )
        model.set_logger(configure(None, []))
        # every later online step: past the warmup and the critic-only delay, with successful episodes stored
        # (``actor_after_success`` lets the actor learn; ``success_imitation`` imitates them)
        model.num_timesteps = model.learning_starts + config.actor_delay + 1
        model.success_rows = list(range(SUCCESS_ROWS))
        online = timed(lambda: model.train(1, config.batch_size), args.repeats)  # noqa: B023
        cells = [f"{statistics.median(wall):8.1f} ({statistics.median(cpu):6.1f})" for wall, cpu in (offline, online)]
        shape = f"{config.utd} x {config.batch_size}"
        print(
            f"{Path(preset).stem:<12}{config.n_critics:>8}{shape:>13}{config.cql_actions:>12}{cells[0]:>20}{cells[1]:>20}"
        )


if __name__ == "__main__":
    main()
