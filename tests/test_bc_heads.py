"""Behaviour cloning's mixture head and image policies (an image encoder pretrained by inverse dynamics among them),
trained on real demonstrations recorded with images."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

from lifebot.agents.bc import BCAgent, BCConfig
from lifebot.agents.networks import GaussianMixtureHead
from lifebot.demos.collect import CollectConfig, collect
from lifebot.demos.dataset import DemoDataset
from lifebot.envs.gym_env import CAMERAS, LifebotEnv
from lifebot.lifelong.strategies import STRATEGIES, EWCConfig, Transitions

FAST = "pd_ee_delta_pose"
TASK = "PickRedCubeLift"  # the goal suite's shortest demonstrations
IMAGE_SIZE = 32
CAMERA_KEYS = tuple(CAMERAS)


def image_config(**overrides) -> BCConfig:
    """A tiny image policy: CPU tests train it in seconds."""
    fields = {
        "observation": "image",
        "encoder_channels": (8, 16),
        "keypoints": 8,
        "hidden": (32, 32),
        "batch_size": 16,
        "device": "cpu",
    }
    return BCConfig(**{**fields, **overrides})


@pytest.fixture(scope="module")
def demo_paths(tmp_path_factory):
    os.environ.setdefault("MUJOCO_GL", "egl")
    out = tmp_path_factory.mktemp("image_demos")
    config = CollectConfig(
        suite="goal", tasks=(TASK,), num_demos=2, images=True, image_size=IMAGE_SIZE, control_mode=FAST, out=out
    )
    return collect(config, progress=False)


@pytest.fixture(scope="module")
def state_data(demo_paths) -> DemoDataset:
    return DemoDataset(demo_paths)


@pytest.fixture(scope="module")
def image_data(demo_paths) -> DemoDataset:
    return DemoDataset(demo_paths, image_keys=CAMERA_KEYS)


@pytest.fixture(scope="module")
def image_obs() -> dict[str, np.ndarray]:
    """A real image observation (state keys included) from a fresh environment."""
    os.environ.setdefault("MUJOCO_GL", "egl")
    env = LifebotEnv(suite="goal", task=TASK, control_mode=FAST, obs_mode="image", image_size=IMAGE_SIZE)
    obs, _ = env.reset(seed=0)
    env.close()
    return obs


def batch_of(obs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {k: np.stack([v, v]) for k, v in obs.items()}


def test_mixture_head_acts_with_the_mean_of_the_most_likely_mode():
    head = GaussianMixtureHead(4, 7, modes=3)
    features = torch.randn(5, 4)
    with torch.no_grad():
        head.logits.bias.copy_(torch.tensor([0.0, 50.0, 0.0]))  # mode 1 dominates every input
        mu, std, _ = head(features)
        assert torch.allclose(head.sample(features, deterministic=True), torch.tanh(mu[:, 1]))
        assert (std > 0).all()
        sampled = head.sample(features, deterministic=False)
    assert sampled.shape == (5, 7) and sampled.abs().max() <= 1.0
    assert head.log_prob(features, torch.ones(5, 7)).isfinite().all()  # actions at the bounds still score


def test_mixture_head_lowers_the_loss_and_predicts_valid_actions(state_data, image_obs):
    config = BCConfig(hidden=(32, 32), head="mixture", mixture_modes=3, batch_size=32, device="cpu")
    agent = BCAgent.from_dataset(config, state_data)
    losses = agent.learn(state_data, steps=80)
    assert np.all(np.isfinite(losses)) and np.mean(losses[-20:]) < np.mean(losses[:20])
    for deterministic in (True, False):
        action = agent.predict(image_obs, deterministic=deterministic)  # extra image keys are ignored
        assert action.shape == (7,) and np.all(np.abs(action) <= 1.0)
    assert agent.predict(batch_of(image_obs)).shape == (2, 7)


def test_image_policy_trains_on_image_demos_and_acts_from_camera_observations(image_data, image_obs):
    agent = BCAgent.from_dataset(image_config(), image_data)
    before = {k: v.clone() for k, v in agent.policy.encoders.state_dict().items()}
    losses = agent.learn(image_data, steps=20)
    assert len(losses) == 20 and np.all(np.isfinite(losses))
    assert any(not torch.equal(before[k], v) for k, v in agent.policy.encoders.state_dict().items())
    action = agent.predict(image_obs)
    assert action.shape == (7,) and np.all(np.abs(action) <= 1.0)
    np.testing.assert_allclose(agent.predict(batch_of(image_obs)), np.stack([action, action]), atol=1e-6)
    blind = {**image_obs, "objects": np.zeros_like(image_obs["objects"])}  # object slots are not an input
    np.testing.assert_array_equal(agent.predict(blind), action)
    dark = {**image_obs, "agentview_image": np.zeros_like(image_obs["agentview_image"])}
    assert not np.allclose(agent.predict(dark), action)


@pytest.mark.slow
def test_image_policy_is_a_policy_for_batched_evaluation(image_data):
    from lifebot.envs.vector import evaluate

    agent = BCAgent.from_dataset(image_config(), image_data)
    result = evaluate(
        agent,
        1,
        suite="goal",
        task=TASK,
        control_mode=FAST,
        obs_mode="image",
        image_size=IMAGE_SIZE,
        policy_control_mode=agent.control_mode,
    )
    assert len(result.successes) == 1 and result.lengths[0] >= 1


def test_image_policy_needs_images_to_train_on(image_data):
    agent = BCAgent.from_dataset(image_config(), image_data)
    with pytest.raises(ValueError, match="DemoDataset\\(paths, image_keys="):
        agent.learn(Transitions(image_data.obs, image_data.actions), steps=1)


def test_strategies_carry_the_camera_images_to_image_policies(image_data):
    agent = BCAgent.from_dataset(image_config(), image_data)
    assert agent.learn(Transitions.of(image_data), steps=1)


@pytest.mark.parametrize("observation", ["state", "image"])
def test_save_load_round_trip_reproduces_actions(observation, image_data, image_obs, tmp_path):
    config = (
        image_config(head="mixture", mixture_modes=2)
        if observation == "image"
        else BCConfig(hidden=(32, 32), head="mixture", mixture_modes=2, batch_size=16, device="cpu")
    )
    agent = BCAgent.from_dataset(config, image_data)
    agent.learn(image_data, steps=5)
    loaded = BCAgent.load(agent.save(tmp_path / "bc.pt"))
    assert loaded.config == config and loaded.gradient_steps == 5
    np.testing.assert_array_equal(agent.predict(batch_of(image_obs)), loaded.predict(batch_of(image_obs)))


def test_strategies_keep_their_contract_with_the_mixture_head(state_data):
    def make_agent():
        config = BCConfig(hidden=(32, 32), head="mixture", mixture_modes=2, batch_size=32, device="cpu")
        return BCAgent.from_dataset(config, state_data)

    assert make_agent().learn(Transitions.of(state_data), steps=0) == []  # an empty stretch trains nothing
    strategy = STRATEGIES["ewc"](make_agent, EWCConfig(fisher_batches=2, batch_size=32))
    for _ in range(2):  # the second task trains under the first one's Fisher penalty
        assert np.all(np.isfinite(strategy.learn_task(state_data, steps=5)))
    assert len(strategy.anchors) == 2


def test_an_image_encoder_pretrains_by_inverse_dynamics_and_stays_frozen_under_its_policy(image_data, image_obs):
    from lifebot.agents.idm import ENCODER_MODULES, IDMAgent, IDMConfig

    def encoder(agent):
        return {k: v.clone() for k, v in agent.policy.state_dict().items() if k.split(".")[0] in ENCODER_MODULES}

    config = IDMConfig(
        **{**vars(image_config()), "encoder_input": "images", "policy_hidden": (32,), "idm_hidden": (32,)}
    )
    agent = IDMAgent.from_dataset(config, image_data)
    before = encoder(agent)
    losses = agent.pretrain(image_data, steps=40)  # pairs of a frame and the demo's own next frame
    assert np.all(np.isfinite(losses)) and np.mean(losses[-10:]) < np.mean(losses[:10])
    pretrained = encoder(agent)
    assert any(not torch.equal(before[k], v) for k, v in pretrained.items())
    tuned = IDMAgent.fine_tuning(agent, seed=1)
    tuned.learn(image_data, steps=10)
    assert all(torch.equal(pretrained[k], v) for k, v in encoder(tuned).items())  # frozen: bit-identical
    action = tuned.predict(image_obs)
    dark = {**image_obs, "agentview_image": np.zeros_like(image_obs["agentview_image"])}
    assert action.shape == (7,) and not np.allclose(tuned.predict(dark), action)  # it acts from the cameras


def test_an_image_encoder_needs_an_image_policy_and_image_demos(state_data):
    from lifebot.agents.idm import IDMAgent, IDMConfig

    with pytest.raises(ValueError, match="an encoder on images needs observation image"):
        IDMConfig(observation="image")
    with pytest.raises(ValueError, match="an encoder on images needs observation image"):
        IDMConfig(encoder_input="images")
    agent = IDMAgent.from_dataset(IDMConfig(**{**vars(image_config()), "encoder_input": "images"}), state_data)
    with pytest.raises(ValueError, match="DemoDataset\\(paths, image_keys="):
        agent.pretrain(state_data, steps=1)
    with pytest.raises(ValueError, match="observation must be one of"):
        BCConfig(observation="depth")
