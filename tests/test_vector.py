"""Vectorised environments through gymnasium's registered vector entry point, and batched evaluation."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AsyncVectorEnv

from lifebot.envs.control import ControlModeMismatch
from lifebot.envs.gym_env import LifebotEnv, evaluation_seed
from lifebot.envs.registration import env_id
from lifebot.envs.vector import evaluate
from lifebot.suites.store import load_suite

TASK = load_suite("goal").tasks[0]
ENV_ID = env_id("goal", TASK.name)


def hold_open(obs):
    return np.tile(np.array([0, 0, 0, 0, 0, 0, -1.0], dtype=np.float32), (len(obs["task"]), 1))


def test_make_vec_uses_worker_processes():
    envs = gym.make_vec(ENV_ID, num_envs=2, control_mode="pd_ee_delta_pose")
    try:
        assert isinstance(envs, AsyncVectorEnv) and envs.context == "forkserver"
        obs, _ = envs.reset(seed=[evaluation_seed(0), evaluation_seed(1)], options={"evaluation": True})
        assert obs["proprio"].shape == (2, 30)
        assert not np.array_equal(obs["objects"][0], obs["objects"][1])  # two different evaluation states
        obs, rewards, terminated, truncated, infos = envs.step(hold_open(obs))
        assert rewards.shape == (2,) and "success" in infos
    finally:
        envs.close()


def test_evaluation_reset_is_the_fixed_state():
    env = LifebotEnv(suite="goal", task=TASK.name)
    env.reset(seed=evaluation_seed(4), options={"evaluation": True})
    np.testing.assert_array_equal(env.get_state(), load_suite("goal").init_states(TASK.name)[4])
    env.close()


def test_batched_evaluation_matches_serial_and_counts_every_episode():
    kwargs = {"suite": "goal", "task": TASK.name, "control_mode": "pd_ee_delta_pose"}
    batched = evaluate(hold_open, [0, 1, 2], num_envs=2, **kwargs)
    serial = evaluate(hold_open, [0, 1, 2], num_envs=1, **kwargs)
    assert batched.episodes == [0, 1, 2]
    np.testing.assert_array_equal(batched.successes, serial.successes)
    np.testing.assert_array_equal(batched.lengths, serial.lengths)
    assert batched.success_rate == 0.0  # holding still never stacks a cube
    assert np.all(batched.lengths == TASK.spec.horizon)


def test_evaluating_in_another_control_mode_warns():
    with pytest.warns(ControlModeMismatch):
        evaluate(
            hold_open, 1, suite="goal", task=TASK.name, control_mode="pd_ee_delta_pose", policy_control_mode="osc_pose"
        )
