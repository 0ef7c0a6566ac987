"""The action-chunking agent: trained on a tiny budget on real demos, its temporal ensemble per episode, its
checkpoints, and evaluation through the vector path."""

from __future__ import annotations

import copy
import dataclasses

import numpy as np
import pytest

from lifebot.agents.chunking import ActionChunks, ChunkingAgent, ChunkingConfig
from lifebot.agents.registry import load_agent
from lifebot.demos.collect import CollectConfig, collect
from lifebot.demos.dataset import DemoDataset
from lifebot.envs.vector import evaluate

FAST = "pd_ee_delta_pose"
TASK = "PickRedCubeLift"
CHUNK = 4


@pytest.fixture(scope="module")
def demo_path(tmp_path_factory):
    out = tmp_path_factory.mktemp("demos")
    (path,) = collect(
        CollectConfig(suite="goal", tasks=(TASK,), num_demos=2, control_mode=FAST, out=out), progress=False
    )
    return path


@pytest.fixture(scope="module")
def agent(demo_path) -> ChunkingAgent:
    config = ChunkingConfig(chunk=CHUNK, hidden=(64, 64), steps=60, batch_size=32, device="cpu")
    dataset = DemoDataset([demo_path])
    agent = ChunkingAgent.from_dataset(config, dataset)
    losses = agent.learn(agent.transitions(dataset))
    assert np.mean(losses[-10:]) < np.mean(losses[:10])
    return agent


def test_chunk_targets_are_the_next_actions_within_each_demo(demo_path):
    steps = DemoDataset([demo_path])
    chunks = ActionChunks.of(steps, CHUNK)
    assert chunks.actions.shape == (len(steps.actions), CHUNK, 7)
    np.testing.assert_array_equal(chunks.actions[:, 0], steps.actions)
    np.testing.assert_array_equal(chunks.actions[0, 1], steps.actions[1])
    ends = np.flatnonzero(steps.dones.numpy())  # the last step of each demo repeats past its end ...
    np.testing.assert_array_equal(chunks.actions[ends[0], CHUNK - 1], steps.actions[ends[0]])
    np.testing.assert_array_equal(chunks.actions[ends[0] - 1, 1], steps.actions[ends[0]])  # ... never the next demo's
    np.testing.assert_array_equal(chunks.actions[ends[0] + 1, 0], steps.actions[ends[0] + 1])


@pytest.mark.parametrize("decay", [0.1, 0.0, -0.3, -1000.0])  # ACT's (oldest most), equal, newest most, newest only
def test_the_ensemble_averages_every_prediction_for_the_step(agent, demo_path, decay):
    agent = copy.copy(agent)
    agent.config = dataclasses.replace(agent.config, ensemble_decay=decay)
    obs = _observations(demo_path)
    chunks = [super(ChunkingAgent, agent).predict(o)[0] for o in obs]  # raw (chunk, 7) predictions
    actions = [agent.predict(o, episodes=[7], steps=[t])[0] for t, o in enumerate(obs)]
    np.testing.assert_allclose(actions[0], chunks[0][0], atol=1e-6)  # step 0: one prediction
    weights = np.exp(-decay * np.arange(3) - max(0.0, -decay * 2))
    expected = (weights[:, None] * np.stack([chunks[0][2], chunks[1][1], chunks[2][0]])).sum(0) / weights.sum()
    np.testing.assert_allclose(actions[2], expected, atol=1e-6)
    if decay == -1000.0:
        np.testing.assert_allclose(actions[2], chunks[2][0], atol=1e-6)  # only the newest prediction acts
    again = agent.predict(obs[0], episodes=[7], steps=[0])[0]  # step 0 starts the episode afresh
    np.testing.assert_allclose(again, actions[0], atol=1e-6)


def _observations(path):
    from lifebot.demos.format import DemoFile

    with DemoFile(path) as f:
        episode = f.episode(f.demo_names[0])
    return [{k: v[t][None] for k, v in episode.obs.items()} for t in range(3)]


def test_checkpoint_round_trip(agent, tmp_path):
    path = agent.save(tmp_path / "chunking.pt")
    loaded = load_agent(path)
    assert isinstance(loaded, ChunkingAgent) and loaded.config == agent.config
    for name, tensor in agent.policy.state_dict().items():
        assert np.array_equal(tensor.numpy(), loaded.policy.state_dict()[name].numpy()), name


def test_an_averaging_agent_acts_with_its_average(demo_path):
    config = ChunkingConfig(chunk=CHUNK, hidden=(64, 64), steps=20, batch_size=32, device="cpu", ema_decay=0.9)
    dataset = DemoDataset([demo_path])
    averaging = ChunkingAgent.from_dataset(config, dataset)
    averaging.learn(averaging.transitions(dataset))
    average = ChunkingAgent.from_dataset(dataclasses.replace(config, ema_decay=0.0), dataset)
    average.load_policy(averaging.averaged.state_dict())
    obs = _observations(demo_path)
    acted = [averaging.predict(o, episodes=[0], steps=[t])[0] for t, o in enumerate(obs)]
    np.testing.assert_array_equal(acted, [average.predict(o, episodes=[0], steps=[t])[0] for t, o in enumerate(obs)])
    trained = ChunkingAgent.from_dataset(dataclasses.replace(config, ema_decay=0.0), dataset)
    trained.load_policy(averaging.policy.state_dict())
    assert not np.allclose(acted, [trained.predict(o, episodes=[0], steps=[t])[0] for t, o in enumerate(obs)])


def test_evaluation_gives_each_episode_its_own_ensemble(agent):
    """The same episodes, run by one worker or two, succeed and last the same (state keyed by episode)."""
    one = evaluate(agent, 2, num_envs=1, suite="goal", task=TASK, control_mode=FAST)
    two = evaluate(agent, 2, num_envs=2, suite="goal", task=TASK, control_mode=FAST)
    assert list(one.lengths) == list(two.lengths) and list(one.successes) == list(two.successes)


def test_only_the_deterministic_head_applies():
    with pytest.raises(ValueError, match="deterministic"):
        ChunkingConfig(head="gaussian")
