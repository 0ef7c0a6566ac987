"""Vectorised lifebot environments, and the evaluation every other part uses to measure success.

``gymnasium.make_vec("lifebot/...", num_envs=N)`` lands in :func:`make_vector_env` (the registered vector entry
point): N worker processes (see :mod:`lifebot.workers`), each building its own environment, stepped in lock-step.
Evaluation does not step them: :func:`evaluate` (from :mod:`lifebot.envs.evaluation`) hands whole episodes to
workers that hold the policy, which is what scales with the cores.
"""

from __future__ import annotations

from functools import partial

import gymnasium as gym
from gymnasium.vector import AsyncVectorEnv, AutoresetMode, SyncVectorEnv

from lifebot.envs.evaluation import EvaluationPool, EvaluationResult, Policy, evaluate
from lifebot.envs.gym_env import LifebotEnv
from lifebot.workers import START_METHOD, worker_context

__all__ = ["EvaluationPool", "EvaluationResult", "Policy", "evaluate", "make_vector_env"]


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
