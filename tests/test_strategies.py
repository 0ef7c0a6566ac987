"""Lifelong strategies on synthetic imitation data (pure training logic: no physics needed)."""

from __future__ import annotations

import copy
import dataclasses
from functools import partial

import numpy as np
import pytest
import torch

from lifebot.agents.bc import BCAgent, BCConfig
from lifebot.agents.idm import IDMAgent, IDMConfig
from lifebot.configs import ConfigError
from lifebot.demos.dataset import Normalizer
from lifebot.lifelong.strategies import (
    STRATEGIES,
    AGEMConfig,
    ERConfig,
    EWCConfig,
    PackNetConfig,
    Transitions,
    load_strategy_config,
)
from lifebot.lifelong.strategies.agem import project
from lifebot.lifelong.strategies.base import trained_parameters

OBS_DIM = 6


def task_data(task: int, n: int = 512) -> Transitions:
    """Task t: the action is a fixed linear function of the observation, different for every task."""
    rng = np.random.default_rng(task)
    obs = rng.normal(size=(n, OBS_DIM)).astype(np.float32)
    weights = np.random.default_rng(100 + task).normal(size=(OBS_DIM, 7)).astype(np.float32)
    return Transitions(torch.from_numpy(obs), torch.from_numpy(np.tanh(0.5 * obs @ weights)))


def make_agent(cls=BCAgent, config_class=BCConfig) -> BCAgent:
    normalizer = Normalizer(np.zeros(OBS_DIM, np.float32), np.ones(OBS_DIM, np.float32))
    config = config_class(hidden=(64, 64), head="deterministic", batch_size=128, learning_rate=3e-3, device="cpu")
    return cls(config, OBS_DIM, normalizer)


def error(agent: BCAgent, data: Transitions) -> float:
    with torch.no_grad():
        return float(agent.policy.loss(data.obs, data.actions))


def run(name: str, config=None) -> tuple[object, list[Transitions]]:
    strategy = STRATEGIES[name](make_agent, config)
    tasks = [task_data(t) for t in range(3)]
    for data in tasks:
        strategy.learn_task(data, steps=300)
    return strategy, tasks


def test_registry_holds_every_strategy_with_its_typed_config():
    assert set(STRATEGIES) == {"sequential", "er", "ewc", "multitask", "single_task", "packnet", "agem"}
    for cls in STRATEGIES.values():
        assert dataclasses.is_dataclass(cls.config_class) and cls.config_class.__dataclass_params__.frozen


def test_sequential_finetuning_forgets_the_first_task():
    strategy, tasks = run("sequential")
    assert error(strategy.agent, tasks[0]) > 3 * error(strategy.agent, tasks[-1])


@pytest.mark.parametrize("name", ["er", "multitask", "ewc", "agem"])
def test_remembering_strategies_forget_less_than_sequential(name):
    sequential, tasks = run("sequential")
    remembering, _ = run(name, EWCConfig(ewc_lambda=300.0) if name == "ewc" else None)
    assert error(remembering.agent, tasks[0]) < error(sequential.agent, tasks[0])


def test_experience_replay_memory_is_bounded():
    strategy, _ = run("er", ERConfig(memory_per_task=50))
    assert [len(m) for m in strategy.memory] == [50, 50, 50]


def test_single_task_restarts_from_scratch():
    strategy = STRATEGIES["single_task"](make_agent)
    strategy.learn_task(task_data(0), steps=50)
    first = strategy.agent
    strategy.learn_task(task_data(1), steps=50)
    assert strategy.agent is not first and strategy.agent.gradient_steps == 50


def test_strategy_configs_come_from_defaults_yaml_and_options_in_that_order(tmp_path):
    path = tmp_path / "ewc.yaml"
    path.write_text("ewc_lambda: 5\nfisher_batches: 3\n")
    config = load_strategy_config("ewc", path, ["fisher_batches=7"])
    assert config == EWCConfig(ewc_lambda=5.0, fisher_batches=7)
    assert load_strategy_config("packnet") == PackNetConfig()


def test_bad_strategy_settings_are_refused_naming_the_field(tmp_path):
    with pytest.raises(ConfigError, match="memory_size: unknown field"):
        load_strategy_config("agem", None, ["memory_size=3"])
    with pytest.raises(ConfigError, match="ewc_lambda: expected float"):
        load_strategy_config("ewc", None, ["ewc_lambda=strong"])
    with pytest.raises(ConfigError, match="--strategy-options: ewc_lambda: expected key=value"):
        load_strategy_config("ewc", None, ["ewc_lambda"])
    with pytest.raises(ValueError, match="prune_fraction must be in"):
        load_strategy_config("packnet", None, ["prune_fraction=1.5"])
    with pytest.raises(TypeError, match="strategy er takes a ERConfig"):
        STRATEGIES["er"](make_agent, EWCConfig())


def packnet(agent_factory=make_agent) -> object:
    return STRATEGIES["packnet"](agent_factory, PackNetConfig(prune_fraction=0.5, retrain_steps=50))


def test_packnet_keeps_an_earlier_tasks_actions_bit_identical_after_a_later_task():
    strategy, tasks = packnet(), [task_data(t) for t in range(3)]
    strategy.learn_task(tasks[0], steps=200)
    before = strategy.policy_for(0).policy.act(tasks[0].obs)
    weights = {n: p.detach().clone() for n, p in strategy.agent.policy.named_parameters()}
    for data in tasks[1:]:
        strategy.learn_task(data, steps=200)
    assert torch.equal(strategy.policy_for(0).policy.act(tasks[0].obs), before)
    for name, p in strategy.agent.policy.named_parameters():  # task 0's weights, biases: not moved
        held = strategy.masks[name] == 1 if name in strategy.masks else torch.ones_like(p, dtype=torch.bool)
        assert torch.equal(p[held], weights[name][held]), name
    owners = {int(v) for mask in strategy.masks.values() for v in mask.unique()}
    assert owners == {0, 1, 2, 3}  # each task owns weights; some are still free
    assert error(strategy.policy_for(0), tasks[0]) < error(strategy.agent, tasks[0])


def test_packnet_prunes_the_configured_share_of_free_weights():
    strategy = packnet()
    strategy.learn_task(task_data(0), steps=100)
    for name, mask in strategy.masks.items():
        assert abs(float((mask == 1).float().mean()) - 0.5) < 0.02, name
        weight = dict(strategy.agent.policy.named_parameters())[name]
        assert torch.all(weight[mask == 0] == 0)


def test_packnet_leaves_weights_a_task_never_moved_free_so_later_tasks_still_find_room_in_every_layer():
    """Inputs that never vary (empty object slots) leave their pruned weights at 0: they must not count as
    the pruned share, or one task keeps every weight it trained and the next finds the first layer full."""
    strategy, tasks = packnet(), [task_data(t) for t in range(4)]
    for data in tasks:
        data.obs[:, :3] = 0.0
        strategy.learn_task(data, steps=100)
    for name, mask in strategy.masks.items():
        assert {int(v) for v in mask.unique()} == {0, 1, 2, 3, 4}, name  # every task owns weights; some free
    first = next(iter(strategy.masks.values()))
    assert not bool((first[:, :3] > 1).any())  # after task 0's pruning, the still columns' weights stay free


def test_packnet_on_idm_leaves_the_frozen_encoder_alone():
    whole_state = partial(IDMConfig, encoder_input="state", policy_hidden=())  # φ is BC's trunk, the head linear
    strategy = packnet(lambda: make_agent(IDMAgent, whole_state))
    trunk = {n: p.detach().clone() for n, p in strategy.agent.policy.trunk.named_parameters()}
    strategy.learn_task(task_data(0), steps=60)
    assert set(strategy.masks) == {"head.weight"} and set(trained_parameters(strategy.agent)) == {
        "head.weight",
        "head.bias",
    }
    assert all(torch.equal(p, trunk[n]) for n, p in strategy.agent.policy.trunk.named_parameters())


def test_packnet_needs_more_steps_than_its_retraining_and_refuses_best_point_selection():
    with pytest.raises(ValueError, match=r"retrain_steps \(50\) must be below the task's 50"):
        packnet().learn_task(task_data(0), steps=50)
    with pytest.raises(ValueError, match="packnet: model selection 'libero' could pick weights from before"):
        packnet().learn_task(task_data(0), steps=100, keep_best=True)


def test_project_removes_only_the_component_against_the_reference():
    g, g_ref = torch.tensor([1.0, -2.0]), torch.tensor([0.0, 1.0])
    assert torch.equal(project(g, g_ref), torch.tensor([1.0, 0.0]))
    assert torch.equal(project(-g, g_ref), -g)  # already not against it: unchanged


def agem_on_task_1(config: AGEMConfig, steps: int = 40):
    """A-GEM after learning task 0, at each of ``steps`` minibatches of task 1 once its loss is backpropagated."""
    strategy = STRATEGIES["agem"](make_agent, config)
    strategy.learn_task(task_data(0), steps=200)
    current = task_data(1)
    strategy.start_task(current)
    for step in range(steps):
        index = torch.arange(step * 12, step * 12 + 128) % len(current)
        strategy.agent.policy.zero_grad()
        strategy.agent.policy.loss(current.obs[index], current.actions[index]).backward()
        yield strategy


def test_agem_projected_gradient_never_opposes_the_memory_gradient():
    projected = 0
    for strategy in agem_on_task_1(AGEMConfig(memory_per_task=200, memory_batch=64)):
        raw, state = strategy._gradient().clone(), strategy.rng.bit_generator.state
        strategy.grad_hook()
        g = strategy._gradient().clone()
        strategy.rng.bit_generator.state = state  # the same memory batch again
        g_ref = strategy.memory_gradient()
        assert float(g @ g_ref) >= -1e-6 * float(g.norm() * g_ref.norm())
        projected += int(float(raw @ g_ref) < 0)
        strategy.agent.optimizer.step()
    assert projected > 0  # the constraint was active, not vacuous


def test_agem_update_projection_makes_no_optimizer_step_that_climbs_the_memory_loss():
    projected = 0
    for strategy in agem_on_task_1(AGEMConfig(memory_per_task=200, memory_batch=64, projection="update")):
        before = strategy.flat_parameters()
        strategy.grad_hook()
        strategy.agent.optimizer.step()
        raw = strategy.flat_parameters() - before
        strategy.step_hook()
        step_taken = strategy.flat_parameters() - before
        g_ref = strategy.g_ref
        assert float(step_taken @ g_ref) <= 1e-6 * float(step_taken.norm() * g_ref.norm())
        projected += int(float(raw @ g_ref) > 0)
    assert projected > 0  # Adam's raw step did climb the memory loss: the projection was active


class Lookup:
    """An agent with no parameters or loss (a table of actions): gradient strategies cannot act on it."""

    name = "lookup"

    def learn(self, dataset, steps, regularizer=None):
        return []


@pytest.mark.parametrize("name", ["packnet", "agem"])
def test_gradient_strategies_refuse_an_agent_without_parameters_and_a_loss(name):
    with pytest.raises(TypeError, match=f"strategy {name} works on an agent's parameters and loss: agent 'lookup'"):
        STRATEGIES[name](Lookup)


@pytest.mark.parametrize("name", ["packnet", "agem"])
def test_gradient_strategies_resume_from_their_state_identically(name, tmp_path):
    tasks = [task_data(t) for t in range(3)]
    config = PackNetConfig(retrain_steps=40) if name == "packnet" else AGEMConfig(memory_per_task=100)
    whole = STRATEGIES[name](make_agent, config)
    for data in tasks:
        whole.learn_task(data, steps=100)
    first = STRATEGIES[name](make_agent, config)
    first.learn_task(tasks[0], steps=100)
    first.agent.save(tmp_path / "agent.pt")
    torch.save({"strategy": first.state_dict(), "rng": first.agent.rng.bit_generator.state}, tmp_path / "s.pt")
    resumed = STRATEGIES[name](make_agent, config)
    resumed.agent = BCAgent.load(tmp_path / "agent.pt")
    state = torch.load(tmp_path / "s.pt", weights_only=True)
    resumed.load_state_dict(state["strategy"])
    resumed.agent.rng.bit_generator.state = state["rng"]
    for data in tasks[1:]:
        resumed.learn_task(data, steps=100)
    for j, data in enumerate(tasks):
        assert torch.equal(resumed.policy_for(j).policy.act(data.obs), whole.policy_for(j).policy.act(data.obs))


def averaging_agent(decay: float = 0.9) -> BCAgent:
    agent = make_agent()
    agent.config = dataclasses.replace(agent.config, ema_decay=decay)
    return agent


def test_an_averaging_agent_acts_with_the_running_average_and_trains_the_last_weights():
    agent, data = averaging_agent(), task_data(0)
    trained = []  # the weights after every optimizer step (step hooks run before the average moves)
    agent.learn(data, 30, step_hook=lambda: trained.append([p.detach().clone() for p in agent.policy.parameters()]))
    expected = trained[0]
    for weights in trained[1:]:
        expected = [0.9 * e + 0.1 * w for e, w in zip(expected, weights, strict=True)]
    assert agent.acting_policy is agent.averaged
    for average, want, last in zip(agent.averaged.parameters(), expected, agent.policy.parameters(), strict=True):
        torch.testing.assert_close(average, want)
        assert not torch.equal(average, last)  # training continued from the last weights, not the average
    plain = make_agent()
    plain.learn(data, 5)
    assert plain.averaged is None and plain.acting_policy is plain.policy  # ema_decay 0: the last weights act


def test_the_average_survives_a_checkpoint_and_restarts_from_loaded_weights(tmp_path):
    agent = averaging_agent()
    agent.learn(task_data(0), 20)
    agent.save(tmp_path / "agent.pt")
    loaded = BCAgent.load(tmp_path / "agent.pt")
    for a, b in zip(loaded.averaged.parameters(), agent.averaged.parameters(), strict=True):
        assert torch.equal(a, b)
    loaded.load_policy(make_agent().policy.state_dict())
    assert loaded.acting_policy is loaded.policy  # new weights act until training averages them again
    loaded.learn(task_data(0), 1)
    for a, b in zip(loaded.averaged.parameters(), loaded.policy.parameters(), strict=True):
        assert torch.equal(a, b)


def test_best_point_selection_keeps_the_weights_that_acted():
    strategy = STRATEGIES["sequential"](averaging_agent)
    acted = []

    def evaluate(step: int) -> float:
        acted.append(copy.deepcopy(strategy.agent.acting_policy.state_dict()))
        return 1.0 if step == 50 else 0.0

    strategy.learn_task(task_data(0), steps=150, eval_points=(50, 100), evaluate=evaluate, keep_best=True)
    assert strategy.agent.acting_policy is strategy.agent.policy
    for name, tensor in strategy.agent.policy.state_dict().items():
        assert torch.equal(tensor, acted[0][name]), name


def test_packnet_refuses_an_averaging_agent():
    with pytest.raises(ValueError, match="packnet: each task acts with exactly the weights its mask keeps"):
        STRATEGIES["packnet"](averaging_agent)
