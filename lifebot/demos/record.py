"""Recording one demonstration with a scripted expert, exactly as it will be replayed."""

from __future__ import annotations

import numpy as np

from lifebot.demos.format import Episode
from lifebot.experts.registry import ScriptedExpert


def record_episode(env, seed: int, noise: float = 0.0) -> Episode | None:
    """Run the expert from the placement drawn by ``seed``; the Episode if it succeeded, else None.

    The episode starts with ``reset(options={"init_state": s0})``, the path a replay takes, and actions are
    stored as the float32 the environment was given, so replaying the file reproduces the states exactly.
    """
    env.reset(seed=seed)
    start = env.get_state()
    obs, _ = env.reset(seed=seed, options={"init_state": start})
    expert = ScriptedExpert(env, noise=noise, seed=seed)
    keys = list(obs)
    states, actions, rewards, dones = [], [], [], []
    observations = {k: [] for k in keys}
    next_observations = {k: [] for k in keys}
    info = {"success": False}
    for _ in range(env.horizon):
        states.append(env.get_state())
        action = expert.act(obs).astype(np.float32)
        next_obs, reward, terminated, truncated, info = env.step(action)
        for k in keys:
            observations[k].append(obs[k])
            next_observations[k].append(next_obs[k])
        actions.append(action)
        rewards.append(reward)
        dones.append(terminated or truncated)
        obs = next_obs
        if terminated or truncated:
            break
    if not info["success"]:
        return None
    return Episode(
        seed=seed,
        actions=np.stack(actions),
        states=np.stack(states),
        obs={k: np.stack(v) for k, v in observations.items()},
        next_obs={k: np.stack(v) for k, v in next_observations.items()},
        rewards=np.asarray(rewards, dtype=np.float32),
        dones=np.asarray(dones, dtype=np.uint8),
        model_file=env.sim_env.model.get_xml(),
    )
