"""Recording one demonstration with a scripted expert, exactly as it will be replayed."""

from __future__ import annotations

import numpy as np

from lifebot.demos.format import Episode
from lifebot.experts.noise import perturb
from lifebot.experts.registry import ScriptedExpert

POST_SUCCESS_STEPS = 30
"""Most steps recorded after the goal first holds: the expert finishes its skill (release, retreat) in them."""
NOISE_STREAM = 7  # the noise generator of episode ``seed`` is default_rng([seed, NOISE_STREAM])


def record_episode(env, seed: int, noise: float = 0.0, post_success_steps: int = POST_SUCCESS_STEPS) -> Episode | None:
    """Run the expert from the placement drawn by ``seed``; the Episode if it succeeded, else None.

    The episode starts with ``reset(options={"init_state": s0})``, the path a replay takes, and actions are
    stored as the float32 the environment was given, so replaying the file reproduces the states exactly.
    With ``noise`` > 0 the executed action is the expert's plus Gaussian noise on the arm (DART-style recovery
    data); the expert's clean action for each state is stored beside it as ``expert_actions``.

    Recording goes on past the first step at which the goal holds (``success_step``), until the expert has
    finished its last skill or ``post_success_steps`` more steps have passed, so that releasing and backing off
    are in the data; the demonstration is kept only if the goal still holds at its end.
    """
    env.reset(seed=seed)
    start = env.get_state()
    obs, _ = env.reset(seed=seed, options={"init_state": start})
    expert = ScriptedExpert(env)
    rng = np.random.default_rng([seed, NOISE_STREAM])
    keys = list(obs)
    states, actions, expert_actions, rewards = [], [], [], []
    observations = {k: [] for k in keys}
    next_observations = {k: [] for k in keys}
    success_step, info = None, {"success": False}
    for t in range(env.horizon + post_success_steps):
        if success_step is None and t >= env.horizon:
            break
        states.append(env.get_state())
        clean = expert.act(obs)
        action = perturb(clean, noise, rng).astype(np.float32)
        next_obs, reward, terminated, _, info = env.step(action)
        for k in keys:
            observations[k].append(obs[k])
            next_observations[k].append(next_obs[k])
        actions.append(action)
        expert_actions.append(clean.astype(np.float32))
        rewards.append(reward)
        obs = next_obs
        if terminated and success_step is None:
            success_step = t
        if success_step is not None and (expert.finished or t - success_step >= post_success_steps):
            break
    if success_step is None or not info["success"]:
        return None
    dones = np.zeros(len(actions), dtype=np.uint8)
    dones[-1] = 1  # robomimic's convention: the episode ends here (the goal first held at success_step)
    return Episode(
        seed=seed,
        actions=np.stack(actions),
        states=np.stack(states),
        obs={k: np.stack(v) for k, v in observations.items()},
        next_obs={k: np.stack(v) for k, v in next_observations.items()},
        rewards=np.asarray(rewards, dtype=np.float32),
        dones=dones,
        model_file=env.sim_env.model.get_xml(),
        expert_actions=np.stack(expert_actions),
        success_step=success_step,
    )
