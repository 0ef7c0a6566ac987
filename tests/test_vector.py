"""Vectorised environments through gymnasium's registered vector entry point, and evaluation on every core."""

from __future__ import annotations

import os
from functools import partial

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium.vector import AsyncVectorEnv

from lifebot.agents.bc import BCAgent, BCConfig
from lifebot.demos.dataset import Normalizer
from lifebot.envs.control import ControlModeMismatch
from lifebot.envs.evaluation import EvaluationError
from lifebot.envs.gym_env import LifebotEnv, evaluation_seed
from lifebot.envs.observations import STATE_SHAPES
from lifebot.envs.registration import env_id
from lifebot.envs.vector import EvaluationPool, EvaluationResult, evaluate
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


SHORT = "PickRedCubeLift"  # a 200-step horizon: the cheapest failing episodes
DENSE = {"suite": "goal", "task": SHORT, "control_mode": "pd_ee_delta_pose", "reward": "dense"}


def untrained_bc(head: str) -> BCAgent:
    dim = sum(int(np.prod(shape)) for shape in STATE_SHAPES.values())
    normalizer = Normalizer(np.zeros(dim, np.float32), np.ones(dim, np.float32))
    return BCAgent(BCConfig(hidden=(64, 64), head=head, seed=1, device="cpu"), dim, normalizer, "pd_ee_delta_pose")


class ExitInWorker:
    """A policy that kills the evaluation worker calling it (and only a worker, never the test's own process)."""

    def __init__(self):
        self.parent = os.getpid()

    def __call__(self, obs):
        if os.getpid() != self.parent:
            os._exit(7)
        raise AssertionError("ExitInWorker must only run in a worker process")


@pytest.fixture(scope="module")
def two_workers():
    with EvaluationPool(2) as pool:
        yield pool


def test_evaluation_counts_every_episode_in_its_order(two_workers):
    result = two_workers.evaluate(hold_open, [2, 0, 1], suite="goal", task=SHORT, control_mode="pd_ee_delta_pose")
    assert result.episodes == [2, 0, 1]
    assert result.success_rate == 0.0  # holding still never lifts the cube
    assert np.all(result.lengths == load_suite("goal").task(SHORT).spec.horizon)


def assert_same_episodes(parallel: EvaluationResult, serial: EvaluationResult) -> None:
    assert parallel.episodes == serial.episodes
    np.testing.assert_array_equal(parallel.successes, serial.successes)
    np.testing.assert_array_equal(parallel.lengths, serial.lengths)
    np.testing.assert_array_equal(parallel.returns, serial.returns)  # dense: every bit of the trajectory


def test_parallel_evaluation_equals_serial_for_a_deterministic_policy(two_workers):
    agent = untrained_bc("deterministic")
    parallel = two_workers.evaluate(agent, 3, **DENSE)  # batches (0, 1) and (2,), one per worker
    assert_same_episodes(parallel, evaluate(agent, 3, num_envs=1, **DENSE))
    assert len(set(parallel.returns)) == 3  # three different trajectories, not one repeated


def test_parallel_evaluation_equals_serial_for_a_stochastic_policy_with_a_seed(two_workers):
    policy = partial(untrained_bc("gaussian").predict, deterministic=False)
    torch_state = torch.get_rng_state()
    serial = evaluate(policy, [1, 2], num_envs=1, seed=3, **DENSE)
    assert torch.equal(torch.get_rng_state(), torch_state)  # the caller's torch random state is untouched
    assert_same_episodes(two_workers.evaluate(policy, [1, 2], seed=3, **DENSE), serial)
    other_seed = evaluate(policy, [1, 2], num_envs=1, seed=4, **DENSE)
    assert not np.array_equal(other_seed.returns, serial.returns)  # the policy really samples


def test_a_worker_that_dies_is_reported_with_its_task_and_episodes():
    pool = EvaluationPool(2)
    with pytest.raises(EvaluationError, match=rf"died \(exit code 7\) while running task goal/{SHORT}, episodes 0, 1$"):
        pool.success_rates(ExitInWorker(), "goal", [SHORT], 2, control_mode="pd_ee_delta_pose")
    with pytest.raises(EvaluationError, match="closed"):  # nothing runs on a broken pool
        pool.evaluate(hold_open, 1, **DENSE)


def test_evaluating_in_another_control_mode_warns():
    with pytest.warns(ControlModeMismatch):
        evaluate(
            hold_open, 1, suite="goal", task=TASK.name, control_mode="pd_ee_delta_pose", policy_control_mode="osc_pose"
        )


def test_a_worker_whose_pool_is_gone_exits_quietly(capfd):
    """A killed run (resumed later) must not leave its evaluation workers printing tracebacks."""
    from multiprocessing import Pipe

    from lifebot.envs.evaluation import _serve

    pool_end, worker_end = Pipe()
    pool_end.send(("policy", b"not a pickle"))
    pool_end.send(("run", [], 0))  # its answer (the unpickling error) finds nobody to read it
    pool_end.close()
    _serve(worker_end)
    assert "Traceback" not in capfd.readouterr().err
