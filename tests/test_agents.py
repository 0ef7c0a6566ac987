"""Behaviour cloning on real demonstrations: training steps, prediction, safe save/load, typed configs."""

from __future__ import annotations

import pickle
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from lifebot.agents.bc import BCAgent, BCConfig
from lifebot.agents.checkpoint import CheckpointError
from lifebot.agents.config import load_config
from lifebot.agents.device import resolve_device
from lifebot.agents.registry import AGENTS, load_agent, load_agent_config
from lifebot.configs import ConfigError
from lifebot.demos.collect import CollectConfig, collect
from lifebot.demos.dataset import DemoDataset, flatten_state
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
    from lifebot.agents.chunking import ChunkingConfig
    from lifebot.agents.idm import IDMConfig
    from lifebot.agents.idm_chunking import IDMChunkingConfig
    from lifebot.agents.wsrl import WSRLConfig

    configs = {
        "bc": BCConfig,
        "chunking": ChunkingConfig,
        "chunking_long": ChunkingConfig,
        "idm": IDMConfig,
        "idm_scratch": IDMConfig,
        "idm_chunking": IDMChunkingConfig,
        "idm_chunking_scratch": IDMChunkingConfig,
        "wsrl_paper": WSRLConfig,
        "wsrl_cpu": WSRLConfig,
    }
    assert {p.stem for p in POLICIES.glob("*.yaml")} == set(configs)
    for name, cls in configs.items():
        assert isinstance(load_config(cls, POLICIES / f"{name}.yaml"), cls)
    assert load_agent_config("wsrl") == load_config(WSRLConfig, POLICIES / "wsrl_cpu.yaml")  # the CPU preset


def tiny_config(name: str):
    """A few-parameter config of every registered agent (the contract tests run them all)."""
    tiny = {
        "bc": dict(hidden=(32, 32), batch_size=16),
        "chunking": dict(hidden=(32, 32), batch_size=16, chunk=3),
        "idm": dict(hidden=(32, 32), idm_hidden=(32,), batch_size=16),
        "idm_chunking": dict(hidden=(32, 32), idm_hidden=(32,), batch_size=16, chunk=3),
        "wsrl": dict(
            n_critics=3, net_arch=(32, 32), batch_size=16, utd=2, pretrain_batch_size=16, cql_actions=2, warmup_steps=4
        ),
    }
    return AGENTS[name].config_class(device="cpu", **tiny[name])


@pytest.mark.parametrize("name", sorted(AGENTS))
def test_every_agent_keeps_the_contract(name, dataset, tmp_path):
    cls = AGENTS[name]
    agent = cls.from_dataset(tiny_config(name), dataset)
    data = agent.transitions(dataset)
    losses = agent.learn(data, steps=5)
    assert len(losses) == 5 and np.all(np.isfinite(losses)) and agent.gradient_steps == 5
    env = LifebotEnv(suite="goal", task=TASK, control_mode=FAST)
    observation, _ = env.reset(seed=0)
    action = agent(observation)
    assert action.shape == (7,) and np.all(np.abs(action) <= 1.0)

    # what a regulariser needs: the policy's parameters get gradients from its supervised loss
    agent.policy.zero_grad()
    agent.policy.loss(data.obs[:8], data.actions[:8]).backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in agent.policy.parameters())

    if cls.online:
        points = []
        agent.learn_online(env, 10, eval_points=[5, 10], evaluate=points.append)
        assert points == [5, 10] and agent.online_steps == 10
    else:
        with pytest.raises(NotImplementedError, match="learns from demonstrations only"):
            agent.learn_online(env, 10)
    env.close()

    # save and load keep weights, optimizers and every random state: a loaded agent continues as the original did
    path = agent.save(tmp_path / f"{name}.pt")
    agent.reset()  # a stateful agent's episode state is not part of what it learned
    expected_action, expected_losses = agent.predict(observation), agent.learn(data, steps=3)
    loaded = load_agent(path)
    assert type(loaded) is cls and loaded.config == agent.config
    np.testing.assert_array_equal(loaded.predict(observation), expected_action)
    assert loaded.learn(loaded.transitions(dataset), steps=3) == expected_losses


@pytest.fixture(scope="module")
def rl_env(dataset):
    from lifebot.agents.transfer import NormalizedStateObservation

    env = NormalizedStateObservation(LifebotEnv(suite="goal", task=TASK, control_mode=FAST), dataset.normalizer)
    yield env
    env.close()


def test_wsrl_networks_follow_the_paper(rl_env):
    from lifebot.agents.wsrl import EnsembleCritic, WSRLConfig, make_wsrl

    model = make_wsrl(rl_env, WSRLConfig(n_critics=10, net_arch=(32, 32), batch_size=16, device="cpu"))
    critic, target = model.policy.critic, model.policy.critic_target
    assert isinstance(critic, EnsembleCritic) and len(critic.q_networks) == 10
    assert any(isinstance(layer, torch.nn.LayerNorm) for layer in critic.q_networks[0])
    assert any(isinstance(layer, torch.nn.LayerNorm) for layer in model.actor.latent_pi)
    obs = torch.zeros(4, rl_env.observation_space.shape[0])
    actions = torch.zeros(4, 7)
    assert len(critic(obs, actions)) == 10 and len(target(obs, actions)) == 2
    rates = [
        g["lr"]
        for o in (model.actor.optimizer, model.critic.optimizer, model.ent_coef_optimizer)
        for g in o.param_groups
    ]
    assert rates == [1e-4, 3e-4, 1e-4]
    with pytest.raises(ValueError, match="wsrl config: utd must be at least 1 and divide batch_size"):
        WSRLConfig(utd=3, batch_size=1024)


def test_wsrl_target_has_no_entropy_backup_and_scales_binary_rewards(rl_env):
    from lifebot.agents.wsrl import WSRLConfig, make_wsrl, returns_to_go

    config = WSRLConfig(n_critics=2, net_arch=(16,), gamma=0.5, device="cpu")
    model = make_wsrl(rl_env, config)
    obs = torch.randn(6, rl_env.observation_space.shape[0])
    rewards, dones = torch.tensor([[0.0], [1.0]] * 3), torch.ones(6, 1)
    assert torch.equal(model.td_target(rewards, obs, dones).squeeze(1), torch.tensor([-5.0, 5.0] * 3))
    torch.manual_seed(0)
    target = model.td_target(rewards, obs, 1 - dones)
    with torch.no_grad():
        model.log_ent_coef.fill_(5.0)  # a large temperature changes nothing without backup entropy
    torch.manual_seed(0)
    assert torch.equal(model.td_target(rewards, obs, 1 - dones), target)
    returns = returns_to_go(torch.tensor([0.0, 0.0, 1.0]), torch.tensor([0.0, 0.0, 1.0]), config)
    np.testing.assert_allclose(returns, [-5 - 0.5 * 5 + 0.25 * 5, -5 + 0.5 * 5, 5.0])


def test_wsrl_online_update_is_utd_critic_minibatches_then_one_actor_step(dataset):
    from lifebot.agents.wsrl import WSRLAgent

    agent = WSRLAgent.from_dataset(tiny_config("wsrl"), dataset)
    env = LifebotEnv(suite="goal", task=TASK, control_mode=FAST)
    agent.learn_online(env, 10)  # 4 warmup steps, then an update after each of the 6 others
    env.close()
    step = lambda optimizer: int(optimizer.state_dict()["state"][0]["step"])  # noqa: E731
    assert step(agent.model.critic.optimizer) == 2 * 6 and step(agent.model.actor.optimizer) == 6


def test_wsrl_actor_delay_trains_only_the_critics_for_its_first_online_updates(dataset):
    import dataclasses

    from lifebot.agents.wsrl import WSRLAgent

    agent = WSRLAgent.from_dataset(dataclasses.replace(tiny_config("wsrl"), actor_delay=3), dataset)
    temperature = agent.model.log_ent_coef.item()
    env = LifebotEnv(suite="goal", task=TASK, control_mode=FAST)
    agent.learn_online(env, 10)  # 4 warmup steps, 6 updates: the first 3 critic-only
    env.close()
    step = lambda optimizer: int(optimizer.state_dict()["state"][0]["step"])  # noqa: E731
    assert step(agent.model.critic.optimizer) == 2 * 6 and step(agent.model.actor.optimizer) == 3
    assert step(agent.model.ent_coef_optimizer) == 3 and agent.model.log_ent_coef.item() != temperature


def test_wsrl_actor_anchor_holds_the_actor_near_its_online_start(dataset):
    import dataclasses

    from lifebot.agents.wsrl import WSRLAgent

    gaps = {}
    for weight in (0.0, 100.0):
        agent = WSRLAgent.from_dataset(dataclasses.replace(tiny_config("wsrl"), actor_anchor=weight), dataset)
        obs = agent.transitions(dataset).obs
        with torch.no_grad():
            start = agent.model.actor(obs, deterministic=True)
        env = LifebotEnv(suite="goal", task=TASK, control_mode=FAST)
        agent.learn_online(env, 30)
        env.close()
        with torch.no_grad():
            gaps[weight] = (agent.model.actor(obs, deterministic=True) - start).abs().mean().item()
            if weight:  # the anchor is the actor as the online phase found it
                assert torch.allclose(agent.model.anchor(obs, deterministic=True), start)
    assert 0 < gaps[100.0] < gaps[0.0]


@pytest.mark.parametrize("mode", ["calql", "bc", "none"])
def test_wsrl_actor_pretraining_modes(dataset, mode):
    import dataclasses

    from lifebot.agents.wsrl import WSRLAgent, actor_nll

    agent = WSRLAgent.from_dataset(dataclasses.replace(tiny_config("wsrl"), actor_pretraining=mode), dataset)
    data = agent.transitions(dataset)
    actor = [p.detach().clone() for p in agent.model.actor.parameters()]
    critic = [p.detach().clone() for p in agent.model.critic.parameters()]
    with torch.no_grad():
        nll = actor_nll(agent.model.actor, data.obs, data.actions).item()
    agent.learn(data, steps=20)
    changed = lambda before, module: any(  # noqa: E731
        not torch.equal(a, b) for a, b in zip(before, module.parameters(), strict=True)
    )
    assert changed(critic, agent.model.critic)  # the critics learn in every mode
    assert changed(actor, agent.model.actor) == (mode != "none")
    if mode == "bc":  # the actor imitates the demonstrations
        with torch.no_grad():
            assert actor_nll(agent.model.actor, data.obs, data.actions).item() < nll
    with pytest.raises(ValueError, match="actor_pretraining must be one of"):
        dataclasses.replace(tiny_config("wsrl"), actor_pretraining="sac")


def test_wsrl_imitates_at_its_own_step_size_and_goes_online_at_the_actors(dataset):
    import dataclasses

    from lifebot.agents.wsrl import WSRLAgent

    config = dataclasses.replace(tiny_config("wsrl"), actor_pretraining="bc", imitation_learning_rate=1e-3)
    agent = WSRLAgent.from_dataset(config, dataset)
    seen = []
    step = agent.model.imitation_step
    agent.model.imitation_step = lambda *a: seen.append(agent.model.actor.optimizer.param_groups[0]["lr"]) or step(*a)
    agent.learn(agent.transitions(dataset), steps=3)
    assert seen == [1e-3] * 3
    assert agent.model.actor.optimizer.param_groups[0]["lr"] == config.actor_learning_rate


def test_wsrl_offline_transitions_end_at_each_demos_first_success(dataset):
    import dataclasses

    from lifebot.agents.wsrl import OfflineTransitions, until_success

    rows, dones = until_success(torch.tensor([0, 0, 1, 1, 1, 0, 1, 1.0]), torch.tensor([0, 0, 0, 0, 1, 0, 0, 1.0]))
    assert rows.tolist() == [0, 1, 2, 5, 6] and dones.tolist() == [0, 0, 1, 0, 1]
    config = tiny_config("wsrl")
    cut = OfflineTransitions.of(dataset, config)
    full = OfflineTransitions.of(dataset, dataclasses.replace(config, offline_until_success=False))
    assert len(full.obs) == len(dataset.obs) and torch.equal(full.extras["rewards"], dataset.rewards)
    ends = cut.extras["dones"] > 0
    assert int(ends.sum()) == int(dataset.dones.sum())  # one terminal row per demonstration
    assert torch.all(cut.extras["rewards"][ends] > 0) and not torch.any(cut.extras["rewards"][~ends] > 0)
    assert len(cut.obs) < len(full.obs)


def test_wsrl_online_phase_draws_no_offline_transition_without_retention(dataset):
    from lifebot.agents.wsrl import SymmetricReplayBuffer, WSRLAgent

    agent = WSRLAgent.from_dataset(tiny_config("wsrl"), dataset)
    data = agent.transitions(dataset)
    agent.learn(data, steps=3)
    env = LifebotEnv(suite="goal", task=TASK, control_mode=FAST)
    drawn = []  # every observation an online update trained on
    sample = type(agent.model.replay_buffer).sample

    def recording_sample(buffer, batch_size, env=None):
        batch = sample(buffer, batch_size, env)
        drawn.extend(row.numpy().tobytes() for row in batch.observations)
        return batch

    demo_rows = {row.numpy().tobytes() for row in data.obs}
    try:
        from stable_baselines3.common.buffers import ReplayBuffer

        ReplayBuffer.sample = recording_sample
        agent.learn_online(env, 12)
        assert drawn and not demo_rows & set(drawn)
        assert not isinstance(agent.model.replay_buffer, SymmetricReplayBuffer)
        drawn.clear()
        agent.learn_online(env, 12, offline=data)  # retention: half of every batch from the offline data
        assert isinstance(agent.model.replay_buffer, SymmetricReplayBuffer)
    finally:
        ReplayBuffer.sample = sample
        env.close()
    batch = agent.model.replay_buffer.sample(16)
    assert sum(row.numpy().tobytes() in demo_rows for row in batch.observations) == 8


def test_wsrl_warmup_uses_the_policy_not_uniform_noise(rl_env):
    from lifebot.agents.wsrl import WSRLConfig, make_wsrl

    model = make_wsrl(rl_env, WSRLConfig(n_critics=2, net_arch=(16,), warmup_steps=20, device="cpu"))
    with torch.no_grad():  # a policy that always outputs ~0: its warmup actions must be near 0
        model.policy.actor.mu.weight.zero_()
        model.policy.actor.mu.bias.zero_()
        model.policy.actor.log_std.bias.fill_(-10.0)
    model.learn(total_timesteps=10)
    assert np.abs(model.replay_buffer.actions[:10]).max() < 0.01


def test_wsrl_exploration_scale_samples_closer_to_the_mean_action(rl_env):
    from lifebot.agents.wsrl import WSRLConfig, make_wsrl

    spread = {}
    for scale in (1.0, 0.01):
        config = WSRLConfig(n_critics=2, net_arch=(16,), warmup_steps=50, exploration_std_scale=scale, device="cpu")
        model = make_wsrl(rl_env, config)
        with torch.no_grad():  # mean action 0, σ = 1: SAC samples spread over [-1, 1]
            model.policy.actor.mu.weight.zero_()
            model.policy.actor.mu.bias.zero_()
            model.policy.actor.log_std.weight.zero_()
            model.policy.actor.log_std.bias.zero_()
        model.learn(total_timesteps=30)
        spread[scale] = np.abs(model.replay_buffer.actions[:30]).max()
    assert spread[1.0] > 0.5 and spread[0.01] < 0.05
    with pytest.raises(ValueError, match="exploration_std_scale must be above 0"):
        WSRLConfig(exploration_std_scale=0)


def test_wsrl_online_horizon_cuts_rollouts_as_truncations_not_terminals(rl_env):
    from lifebot.agents.wsrl import WSRLConfig, make_wsrl

    config = WSRLConfig(n_critics=2, net_arch=(16,), warmup_steps=30, online_horizon=7, device="cpu")
    model = make_wsrl(rl_env, config)
    model.learn(total_timesteps=21)  # warmup only: a random-ish policy does not lift the cube
    buffer = model.replay_buffer
    assert np.flatnonzero(buffer.dones[:21, 0]).tolist() == [6, 13, 20]
    assert buffer.timeouts[[6, 13, 20], 0].all()  # SB3 bootstraps through a cut: no terminal in the TD target
    with pytest.raises(ValueError, match="online_horizon must be at least 0"):
        WSRLConfig(online_horizon=-1)


def test_wsrl_success_imitation_learns_the_actions_of_its_own_successful_episodes(rl_env):
    from lifebot.agents.wsrl import WSRLConfig, make_wsrl

    config = WSRLConfig(  # a large weight: the untrained critic's |Q|, which scales it, is near 0
        n_critics=2, net_arch=(16,), warmup_steps=5, success_imitation=1e3, actor_learning_rate=0.01, device="cpu"
    )
    model = make_wsrl(rl_env, config)
    model.learn(total_timesteps=2)  # sets up the online phase (its buffer rows 0 and 1: no episode ended)
    obs = model._last_obs
    for step, (done, success) in enumerate([(False, False), (True, True), (False, False), (True, False)]):
        action = np.full((1, 7), 0.9 if step < 2 else -0.9, dtype=np.float32)
        model._store_transition(
            model.replay_buffer, action, obs, np.array([float(success)]), np.array([done]), [{"success": success}]
        )
    assert model.success_rows == [0, 1, 2, 3]  # the rows of the episode that ended in success, not the failed one
    batch = torch.as_tensor(model.replay_buffer.observations[:8, 0])
    before = model.actor(batch, deterministic=True).mean()
    for _ in range(50):
        model.actor_step(batch)
    assert model.actor(batch, deterministic=True).mean() > before + 0.3  # towards the successful 0.9s


def test_wsrl_actor_after_success_holds_the_actor_until_a_success_is_stored(rl_env):
    from lifebot.agents.wsrl import WSRLConfig, make_wsrl

    config = WSRLConfig(
        n_critics=2, net_arch=(16,), warmup_steps=4, batch_size=8, utd=2, actor_after_success=True, device="cpu"
    )
    model = make_wsrl(rl_env, config)
    actor_before = [p.detach().clone() for p in model.actor.parameters()]
    critic_before = [p.detach().clone() for p in model.critic.parameters()]
    model.learn(total_timesteps=12)  # a random policy does not lift the cube in 12 steps
    assert not model.success_rows and model.num_timesteps == 12
    assert all(torch.equal(a, b) for a, b in zip(actor_before, model.actor.parameters(), strict=True))
    assert not all(torch.equal(a, b) for a, b in zip(critic_before, model.critic.parameters(), strict=True))
    obs = model._last_obs
    model._store_transition(
        model.replay_buffer, np.zeros((1, 7), np.float32), obs, np.array([1.0]), np.array([True]), [{"success": True}]
    )
    assert model.actor_may_update()
    model.train(gradient_steps=1, batch_size=8)
    assert not all(torch.equal(a, b) for a, b in zip(actor_before, model.actor.parameters(), strict=True))


def test_wsrl_actor_average_acts_deterministically_and_is_saved(rl_env, dataset, tmp_path):
    from lifebot.agents.wsrl import WSRLAgent, WSRLConfig, make_wsrl

    config = WSRLConfig(
        n_critics=2, net_arch=(16,), warmup_steps=0, batch_size=8, utd=2, actor_average=0.9, device="cpu"
    )
    model = make_wsrl(rl_env, config)
    model.learn(total_timesteps=12)  # 12 actor updates: the average lags the actor
    averaged, obs = model.policy.averaged_actor, torch.as_tensor(model._last_obs)
    assert not all(torch.equal(a, b) for a, b in zip(averaged.parameters(), model.actor.parameters(), strict=True))
    with torch.no_grad():
        assert np.allclose(model.predict(model._last_obs, deterministic=True)[0], averaged(obs, deterministic=True))
    model.policy.restart_average()  # what each online phase starts with
    assert all(torch.equal(a, b) for a, b in zip(averaged.parameters(), model.actor.parameters(), strict=True))

    agent = WSRLAgent.from_dataset(config, dataset)  # through the contract: the average acts, and is checkpointed
    with torch.no_grad():
        agent.model.policy.averaged_actor.mu.bias += 0.5
    loaded = load_agent(agent.save(tmp_path / "wsrl.pt"))
    obs, _ = rl_env.env.reset(seed=0)
    assert np.allclose(loaded.predict(obs), agent.predict(obs))
    trained_actor = agent.policy.act(torch.as_tensor(agent.normalizer(flatten_state(obs))[None]))[0]
    assert not np.allclose(loaded.predict(obs), trained_actor.detach().numpy())
    loaded.load_policy(agent.policy.state_dict())  # new weights: the average restarts there
    assert np.allclose(loaded.predict(obs), trained_actor.detach().numpy())


def test_a_bc_actor_copied_into_an_averaging_wsrl_policy_acts_at_once(rl_env, dataset):
    from lifebot.agents.transfer import copy_actor_into_sac
    from lifebot.agents.wsrl import WSRLConfig, make_wsrl

    bc = BCAgent.from_dataset(BCConfig(hidden=(16,), steps=5, device="cpu"), dataset)
    bc.learn(dataset)
    config = WSRLConfig(n_critics=2, net_arch=(16,), layer_norm=False, actor_average=0.99, device="cpu")
    model = make_wsrl(rl_env, config)
    copy_actor_into_sac(bc.acting_policy, model.policy)
    action, _ = model.predict(dataset.obs[:4].numpy(), deterministic=True)
    assert np.allclose(action, bc.acting_policy.act(dataset.obs[:4]).detach().numpy(), atol=1e-6)


def test_wsrl_actor_average_changes_only_the_deterministic_action(rl_env):
    from lifebot.agents.wsrl import WSRLConfig, make_wsrl

    config = WSRLConfig(n_critics=2, net_arch=(16,), warmup_steps=0, batch_size=8, utd=2, device="cpu")
    plain = make_wsrl(rl_env, config)
    plain.learn(total_timesteps=10)  # each built and learnt in turn: building seeds torch's global generator
    averaged = make_wsrl(rl_env, replace(config, actor_average=0.9))
    averaged.learn(total_timesteps=10)
    for a, b in zip(plain.actor.parameters(), averaged.actor.parameters(), strict=True):
        assert torch.equal(a, b)  # the same seed learns the same actor: the average draws no random numbers
