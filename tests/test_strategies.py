"""Lifelong strategies on synthetic imitation data (pure training logic: no physics needed)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lifebot.agents.bc import BCAgent, BCConfig
from lifebot.demos.dataset import Normalizer
from lifebot.lifelong.strategies import STRATEGIES, Transitions

OBS_DIM = 6


def task_data(task: int, n: int = 512) -> Transitions:
    """Task t: the action is a fixed linear function of the observation, different for every task."""
    rng = np.random.default_rng(task)
    obs = rng.normal(size=(n, OBS_DIM)).astype(np.float32)
    weights = np.random.default_rng(100 + task).normal(size=(OBS_DIM, 7)).astype(np.float32)
    return Transitions(torch.from_numpy(obs), torch.from_numpy(np.tanh(0.5 * obs @ weights)))


def make_agent() -> BCAgent:
    normalizer = Normalizer(np.zeros(OBS_DIM, np.float32), np.ones(OBS_DIM, np.float32))
    config = BCConfig(hidden=(64, 64), head="deterministic", batch_size=128, learning_rate=3e-3, device="cpu")
    return BCAgent(config, OBS_DIM, normalizer)


def error(agent: BCAgent, data: Transitions) -> float:
    with torch.no_grad():
        return float(agent.policy.loss(data.obs, data.actions))


def run(name: str, **kwargs) -> tuple[object, list[Transitions]]:
    strategy = STRATEGIES[name](make_agent, **kwargs)
    tasks = [task_data(t) for t in range(3)]
    for data in tasks:
        strategy.learn_task(data, steps=300)
    return strategy, tasks


def test_registry_holds_every_strategy():
    assert set(STRATEGIES) == {"sequential", "er", "ewc", "multitask", "single_task"}


def test_sequential_finetuning_forgets_the_first_task():
    strategy, tasks = run("sequential")
    assert error(strategy.agent, tasks[0]) > 3 * error(strategy.agent, tasks[-1])


@pytest.mark.parametrize("name", ["er", "multitask", "ewc"])
def test_remembering_strategies_forget_less_than_sequential(name):
    sequential, tasks = run("sequential")
    kwargs = {"ewc_lambda": 300.0} if name == "ewc" else {}
    remembering, _ = run(name, **kwargs)
    assert error(remembering.agent, tasks[0]) < error(sequential.agent, tasks[0])


def test_experience_replay_memory_is_bounded():
    strategy, _ = run("er", memory_per_task=50)
    assert [len(m) for m in strategy.memory] == [50, 50, 50]


def test_single_task_restarts_from_scratch():
    strategy = STRATEGIES["single_task"](make_agent)
    strategy.learn_task(task_data(0), steps=50)
    first = strategy.agent
    strategy.learn_task(task_data(1), steps=50)
    assert strategy.agent is not first and strategy.agent.gradient_steps == 50
