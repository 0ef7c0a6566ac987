"""Behaviour cloning on real demonstrations: training steps, prediction, safe save/load, typed configs."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from lifebot.agents.bc import BCAgent, BCConfig
from lifebot.agents.checkpoint import CheckpointError
from lifebot.agents.config import ConfigError, load_config
from lifebot.agents.device import resolve_device
from lifebot.demos.collect import CollectConfig, collect
from lifebot.demos.dataset import DemoDataset
from lifebot.envs.gym_env import LifebotEnv
from lifebot.envs.vector import evaluate
from lifebot.suites.store import load_suite

FAST = "pd_ee_delta_pose"
TASK = load_suite("goal").tasks[0].name
POLICIES = Path(__file__).resolve().parents[1] / "policies"


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> DemoDataset:
    out = tmp_path_factory.mktemp("demos")
    paths = collect(CollectConfig(suite="goal", tasks=(TASK,), num_demos=3, control_mode=FAST, out=out), progress=False)
    return DemoDataset(paths)


@pytest.mark.parametrize("head", ["deterministic", "gaussian"])
def test_training_lowers_the_loss_and_predicts_valid_actions(dataset, head):
    agent = BCAgent.from_dataset(BCConfig(hidden=(64, 64), head=head, batch_size=64, device="cpu"), dataset)
    losses = agent.learn(dataset, steps=150)
    assert np.mean(losses[-20:]) < np.mean(losses[:20])
    env = LifebotEnv(suite="goal", task=TASK, control_mode=FAST)
    obs, _ = env.reset(seed=0)
    action = agent.predict(obs)
    assert action.shape == (7,) and np.all(np.abs(action) <= 1.0)
    env.step(action)
    env.close()


def test_save_load_round_trip_reproduces_actions(dataset, tmp_path):
    agent = BCAgent.from_dataset(BCConfig(hidden=(32, 32), batch_size=32, device="cpu"), dataset)
    agent.learn(dataset, steps=20)
    path = agent.save(tmp_path / "bc.pt")
    loaded = BCAgent.load(path)
    batch = {k: np.stack([v, v]) for k, v in LifebotEnv(suite="goal", task=TASK).reset(seed=1)[0].items()}
    np.testing.assert_array_equal(agent.predict(batch), loaded.predict(batch))
    assert loaded.control_mode == FAST and loaded.gradient_steps == 20


def test_checkpoint_loading_never_unpickles_code(tmp_path):
    class Payload:
        def __reduce__(self):
            return (print, ("this must never run",))

    evil = tmp_path / "evil.pt"
    torch.save({"checkpoint_version": 1, "agent": "bc", "x": Payload()}, evil)
    with pytest.raises(CheckpointError, match="not a lifebot checkpoint, or damaged"):
        BCAgent.load(evil)
    junk = tmp_path / "junk.pt"
    junk.write_bytes(pickle.dumps({"a": 1})[:5])
    with pytest.raises(CheckpointError, match=str(junk)):
        BCAgent.load(junk)


def test_agent_is_a_policy_for_batched_evaluation(dataset):
    agent = BCAgent.from_dataset(BCConfig(hidden=(32, 32), device="cpu"), dataset)
    result = evaluate(
        agent, 2, num_envs=1, suite="goal", task=TASK, control_mode=FAST, policy_control_mode=agent.control_mode
    )
    assert len(result.successes) == 2 and 0.0 <= result.success_rate <= 1.0


def test_config_files_are_typed_and_checked(tmp_path):
    config = load_config(BCConfig, POLICIES / "bc.yaml")
    assert isinstance(config, BCConfig) and config.hidden == (256, 256)
    bad = tmp_path / "bad.yaml"
    bad.write_text("hidden: [64]\nlearning_rate: fast\n")
    with pytest.raises(ConfigError, match="bad.yaml: learning_rate: expected float"):
        load_config(BCConfig, bad)
    bad.write_text("hiden: [64]\n")
    with pytest.raises(ConfigError, match="bad.yaml: hiden: unknown field"):
        load_config(BCConfig, bad)


def test_device_is_chosen_automatically():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA device"):
            resolve_device("cuda")


@pytest.mark.parametrize("head", ["deterministic", "gaussian"])
def test_weights_move_into_an_sb3_policy_and_reproduce_actions(dataset, head):
    from stable_baselines3 import SAC

    from lifebot.agents.transfer import NormalizedStateObservation, copy_actor_into_sac

    agent = BCAgent.from_dataset(BCConfig(hidden=(64, 64), head=head, device="cpu"), dataset)
    agent.learn(dataset, steps=30)
    env = NormalizedStateObservation(LifebotEnv(suite="goal", task=TASK, control_mode=FAST), agent.normalizer)
    sac = SAC("MlpPolicy", env, policy_kwargs={"net_arch": [64, 64]}, device="cpu", seed=0)
    copy_actor_into_sac(agent.policy, sac.policy)
    for seed in range(3):
        raw, _ = env.unwrapped.reset(seed=seed)
        flat = env.observation(raw)
        sb3_action, _ = sac.predict(flat, deterministic=True)
        np.testing.assert_allclose(sb3_action, agent.predict(raw), atol=1e-5)
    wrong = SAC("MlpPolicy", env, policy_kwargs={"net_arch": [32]}, device="cpu")
    with pytest.raises(ValueError, match="network shapes differ"):
        copy_actor_into_sac(agent.policy, wrong.policy)
    mixture = BCAgent.from_dataset(BCConfig(hidden=(64, 64), head="mixture", device="cpu"), dataset)
    with pytest.raises(ValueError, match="Gaussian-mixture actor"):
        copy_actor_into_sac(mixture.policy, sac.policy)
    env.close()


def test_inverse_dynamics_pretraining_then_frozen_encoder(dataset, tmp_path):
    from lifebot.agents.idm import IDMAgent, IDMConfig

    agent = IDMAgent.from_dataset(IDMConfig(hidden=(64, 64), idm_hidden=(64,), batch_size=64, device="cpu"), dataset)
    losses = agent.pretrain(dataset, steps=150)
    assert np.mean(losses[-20:]) < np.mean(losses[:20])
    encoder = {k: v.clone() for k, v in agent.policy.trunk.state_dict().items()}
    head = {k: v.clone() for k, v in agent.policy.head.state_dict().items()}
    agent.learn(dataset, steps=20)
    assert all(torch.equal(encoder[k], v) for k, v in agent.policy.trunk.state_dict().items())  # φ frozen
    assert not all(torch.equal(head[k], v) for k, v in agent.policy.head.state_dict().items())
    loaded = IDMAgent.load(agent.save(tmp_path / "idm.pt"))
    assert loaded.config.freeze_encoder and loaded.config.idm_hidden == (64,)
    with pytest.raises(CheckpointError, match="holds a 'idm' agent, not 'bc'"):
        BCAgent.load(tmp_path / "idm.pt")
    assert isinstance(load_config(IDMConfig, POLICIES / "idm.yaml"), IDMConfig)


def test_every_policy_file_loads_into_its_config():
    from lifebot.agents.idm import IDMConfig
    from lifebot.agents.wsrl import WSRLConfig

    configs = {"bc": BCConfig, "idm": IDMConfig, "wsrl": WSRLConfig}
    assert {p.stem for p in POLICIES.glob("*.yaml")} == set(configs)
    for name, cls in configs.items():
        assert isinstance(load_config(cls, POLICIES / f"{name}.yaml"), cls)


@pytest.fixture(scope="module")
def rl_env(dataset):
    from lifebot.agents.transfer import NormalizedStateObservation

    env = NormalizedStateObservation(LifebotEnv(suite="goal", task=TASK, control_mode=FAST), dataset.normalizer)
    yield env
    env.close()


def test_wsrl_critic_ensemble_layer_norm_and_random_two_target(rl_env):
    from lifebot.agents.wsrl import EnsembleCritic, WSRLConfig, make_wsrl

    model = make_wsrl(
        rl_env,
        WSRLConfig(n_critics=10, net_arch=(32, 32), warmup_steps=8, gradient_steps=2, batch_size=16, device="cpu"),
    )
    critic, target = model.policy.critic, model.policy.critic_target
    assert isinstance(critic, EnsembleCritic) and len(critic.q_networks) == 10
    assert any(isinstance(layer, torch.nn.LayerNorm) for layer in critic.q_networks[0])
    obs = torch.zeros(4, rl_env.observation_space.shape[0])
    actions = torch.zeros(4, 7)
    assert len(critic(obs, actions)) == 10 and len(target(obs, actions)) == 2


def test_wsrl_pretrains_offline_then_learns_online_without_offline_data(dataset, rl_env):
    from lifebot.agents.transfer import copy_actor_into_sac
    from lifebot.agents.wsrl import WSRLConfig, make_wsrl, pretrain_offline

    config = WSRLConfig(
        n_critics=4, net_arch=(32, 32), warmup_steps=10, gradient_steps=2, batch_size=16, cql_actions=4, device="cpu"
    )
    model = make_wsrl(rl_env, config)
    bc = BCAgent.from_dataset(BCConfig(hidden=(32, 32), device="cpu"), dataset)
    copy_actor_into_sac(bc.policy, model.policy)  # a warm start from any lifebot actor works too
    losses = pretrain_offline(model, dataset, steps=20, config=config)
    assert len(losses) == 20 and np.all(np.isfinite(losses))
    seen = []  # every observation the environment produced online
    original_step, original_reset = rl_env.step, rl_env.reset

    def recording_step(action):
        result = original_step(action)
        seen.append(result[0].tobytes())
        return result

    def recording_reset(**kwargs):
        result = original_reset(**kwargs)
        seen.append(result[0].tobytes())
        return result

    rl_env.step, rl_env.reset = recording_step, recording_reset
    try:
        model.learn(total_timesteps=30)
    finally:
        rl_env.step, rl_env.reset = original_step, original_reset
    buffer = model.replay_buffer  # the only thing train() samples from
    assert buffer.size() == 30
    produced = set(seen)
    assert all(buffer.observations[i, 0].tobytes() in produced for i in range(30))
    assert all(buffer.next_observations[i, 0].tobytes() in produced for i in range(30))
    assert model._n_updates == (30 - config.warmup_steps) * config.gradient_steps


def test_wsrl_warmup_uses_the_policy_not_uniform_noise(rl_env):
    from lifebot.agents.wsrl import WSRLConfig, make_wsrl

    model = make_wsrl(rl_env, WSRLConfig(n_critics=2, net_arch=(16,), warmup_steps=20, device="cpu"))
    with torch.no_grad():  # a policy that always outputs ~0: its warmup actions must be near 0
        model.policy.actor.mu.weight.zero_()
        model.policy.actor.mu.bias.zero_()
        model.policy.actor.log_std.bias.fill_(-10.0)
    model.learn(total_timesteps=10)
    assert np.abs(model.replay_buffer.actions[:10]).max() < 0.01


def test_rlpd_baseline_samples_half_of_each_batch_from_the_demos(dataset, rl_env):
    from lifebot.agents.wsrl import WSRLConfig, make_rlpd

    model = make_rlpd(rl_env, WSRLConfig(n_critics=2, net_arch=(16,), batch_size=8, device="cpu"), dataset)
    model.learn(total_timesteps=12)
    batch = model.replay_buffer.sample(8)
    demo_rows = {row.tobytes() for row in dataset.obs.numpy()}
    from_demos = sum(row.numpy().tobytes() in demo_rows for row in batch.observations)
    assert batch.observations.shape[0] == 8 and from_demos >= 4
