"""Vectorised lifebot environments and the batched evaluation every other part uses to measure success.

``gymnasium.make_vec("lifebot/...", num_envs=N)`` lands in :func:`make_vector_env` (the registered vector entry
point): N worker processes (see :mod:`lifebot.workers`), each building its own environment.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

import gymnasium as gym
import numpy as np
from gymnasium.vector import AsyncVectorEnv, AutoresetMode, SyncVectorEnv
from tqdm import tqdm

from lifebot.envs.control import DEFAULT_CONTROL_MODE, check_control_mode
from lifebot.envs.gym_env import LifebotEnv, evaluation_seed
from lifebot.workers import START_METHOD, worker_context

Policy = Callable[[dict[str, np.ndarray]], np.ndarray]  # batched observations -> (N, 7) actions


def make_vector_env(
    num_envs: int = 1,
    autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP,
    asynchronous: bool = True,
    max_episode_steps: int | None = None,
    **env_kwargs,
) -> gym.vector.VectorEnv:
    """``num_envs`` copies of ``LifebotEnv(**env_kwargs)``, each in its own process when ``asynchronous``."""
    del max_episode_steps  # lifebot environments truncate at their task's horizon themselves
    env_fns = [partial(LifebotEnv, **env_kwargs) for _ in range(num_envs)]
    if asynchronous and num_envs > 1:
        worker_context()
        return AsyncVectorEnv(env_fns, context=START_METHOD, autoreset_mode=AutoresetMode(autoreset_mode))
    return SyncVectorEnv(env_fns, autoreset_mode=AutoresetMode(autoreset_mode))


@dataclass
class EvaluationResult:
    """Per-episode outcomes of one evaluation, in episode order (episode e = fixed evaluation state e)."""

    successes: np.ndarray
    lengths: np.ndarray
    episodes: list[int] = field(default_factory=list)

    @property
    def success_rate(self) -> float:
        return float(np.mean(self.successes)) if len(self.successes) else 0.0


def evaluate(
    policy: Policy,
    episodes: int | list[int],
    num_envs: int = 1,
    vector_env: gym.vector.VectorEnv | None = None,
    progress: bool = False,
    policy_control_mode: str | None = None,
    **env_kwargs,
) -> EvaluationResult:
    """Run ``policy`` on evaluation episodes (fixed initial states) across ``num_envs`` processes.

    ``episodes`` is a count (episodes 0..n-1) or explicit episode indices. Pass ``vector_env`` (made with
    ``autoreset_mode="Disabled"``) to reuse workers across calls; otherwise one is made and closed here.
    ``policy_control_mode``, the mode the policy was trained in, warns if it differs from the environment's.
    """
    if policy_control_mode is not None:
        check_control_mode(policy_control_mode, env_kwargs.get("control_mode", DEFAULT_CONTROL_MODE))
    episode_ids = list(range(episodes)) if isinstance(episodes, int) else list(episodes)
    owns_env = vector_env is None
    if owns_env:
        count = max(1, min(num_envs, len(episode_ids)))
        vector_env = make_vector_env(count, autoreset_mode=AutoresetMode.DISABLED, **env_kwargs)
    n = vector_env.num_envs
    successes, lengths = {}, {}
    queue = list(episode_ids)
    running: list[int | None] = [None] * n
    steps = np.zeros(n, dtype=int)
    bar = tqdm(total=len(episode_ids), desc="evaluate", unit="ep", disable=not progress)
    try:
        obs = None
        while queue or any(e is not None for e in running):
            mask = np.zeros(n, dtype=bool)
            seeds: list[int | None] = [None] * n
            for i in range(n):
                if running[i] is None and queue:
                    running[i], mask[i], steps[i] = queue.pop(0), True, 0
                    seeds[i] = evaluation_seed(running[i])
            if obs is None:  # the first reset covers every worker, even one left without an episode
                seeds = [s if s is not None else evaluation_seed(episode_ids[0]) for s in seeds]
                mask[:] = True
            if mask.any():  # sub-environments not in the mask keep their episode (and report their last obs)
                obs, _ = vector_env.reset(seed=seeds, options={"evaluation": True, "reset_mask": mask})
            if getattr(policy, "stateful", False):  # per-episode state: say which episode and step each row is
                episodes = [e if e is not None else -1 - i for i, e in enumerate(running)]
                actions = policy(obs, episodes=episodes, steps=steps.copy())
            else:
                actions = policy(obs)
            obs, _, terminated, truncated, infos = vector_env.step(np.asarray(actions, dtype=np.float32))
            steps += 1
            for i in np.flatnonzero(terminated | truncated):
                if running[i] is not None:
                    successes[running[i]], lengths[running[i]] = bool(infos["success"][i]), int(steps[i])
                    running[i] = None
                    bar.update(1)
    finally:
        bar.close()
        if owns_env:
            vector_env.close()
    return EvaluationResult(
        successes=np.array([successes[e] for e in episode_ids]),
        lengths=np.array([lengths[e] for e in episode_ids]),
        episodes=episode_ids,
    )
