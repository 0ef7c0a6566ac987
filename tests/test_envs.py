"""The gymnasium environments, driven from the registry: every suite gets check_env and a determinism rollout."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import lifebot
from lifebot.envs.gym_env import LifebotEnv
from lifebot.envs.registration import PARAMETERISED_ID, env_id
from lifebot.spec import spec_from_dict
from lifebot.suites.store import list_suites, load_suite
from tests.conftest import base_spec_data

SUITES = list_suites()


def registered_ids(per_suite: int | None) -> list[str]:
    """IDs from gymnasium's registry, grouped by suite; the first ``per_suite`` of each (all when None)."""
    ids = []
    for suite in SUITES:
        prefix = env_id(suite, "")[:-3]
        matching = sorted(i for i in gym.registry if i.startswith(prefix))
        ids += matching[:per_suite]
    return ids


def test_every_suite_task_is_registered():
    assert set(SUITES) >= {"spatial", "object", "goal", "long", "pretrain"}
    for suite_name in SUITES:
        for task in load_suite(suite_name).tasks:
            assert env_id(suite_name, task.name) in gym.registry
    assert PARAMETERISED_ID in gym.registry


def _rollout(env: gym.Env, seed: int, steps: int = 8) -> list[np.ndarray]:
    obs, _ = env.reset(seed=seed)
    env.action_space.seed(seed)
    trace = [np.concatenate([obs[k].ravel() for k in sorted(obs)])]
    for _ in range(steps):
        obs, reward, terminated, truncated, _ = env.step(env.action_space.sample())
        trace.append(np.concatenate([obs[k].ravel() for k in sorted(obs)] + [[reward, terminated, truncated]]))
    return trace


@pytest.mark.parametrize("env_name", registered_ids(per_suite=1))
def test_check_env_and_seeded_determinism(env_name):
    env = gym.make(env_name).unwrapped
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(env, skip_render_check=True)  # bounded observation spaces: no warning at all
    assert [str(w.message) for w in caught] == []
    first, second = _rollout(env, seed=3), _rollout(env, seed=3)
    other = _rollout(env, seed=4)
    env.close()
    assert all(np.array_equal(a, b) for a, b in zip(first, second, strict=True))
    assert not np.array_equal(first[0], other[0])


@pytest.mark.slow
@pytest.mark.parametrize("env_name", registered_ids(per_suite=None))
def test_check_env_every_registered_task(env_name):
    env = gym.make(env_name).unwrapped
    check_env(env, skip_render_check=True)
    env.close()


def test_truncated_at_horizon_never_terminated():
    env = LifebotEnv(spec=spec_from_dict(base_spec_data(horizon=4)))
    env.reset(seed=0)
    flags = [env.step(np.zeros(7))[2:4] for _ in range(4)]
    assert flags == [(False, False)] * 3 + [(False, True)]
    env.close()


def test_terminated_on_success_with_sparse_and_dense_reward():
    from tests.test_predicates import place

    for reward_mode in ("sparse", "dense"):
        env = LifebotEnv(spec=spec_from_dict(base_spec_data()), reward=reward_mode)
        env.reset(seed=0)
        _, reward_before, terminated, _, _ = env.step(np.zeros(7))
        assert not terminated and 0.0 <= reward_before < 1.0
        plate = env.sim_env.sim.data.xpos[env.sim_env.handles["plate"].body_id].copy()
        place(env.sim_env, "red_cube", plate + [0, 0, 0.025])
        for _ in range(10):
            _, reward, terminated, truncated, info = env.step(np.array([0, 0, 0, 0, 0, 0, -1.0]))
            if terminated:
                break
        assert terminated and not truncated and info["success"] and reward == 1.0
        env.close()


def test_reset_restores_evaluation_states_without_rebuilding():
    suite = load_suite("goal")
    task = suite.tasks[0]
    env = gym.make(env_id("goal", task.name)).unwrapped
    model_before = env.sim_env.sim.model._model
    for index in (0, 7):
        env.reset(seed=index, options={"init_state_index": index})
        np.testing.assert_array_equal(env.get_state(), suite.init_states(task.name)[index])
    assert env.sim_env.sim.model._model is model_before
    with pytest.raises(IndexError, match="out of range"):
        env.reset(options={"init_state_index": 10_000})
    env.close()


def test_parameterised_id_and_spec_file(tmp_path):
    suite = load_suite("spatial")
    env = gym.make(PARAMETERISED_ID, suite="spatial", task=suite.tasks[1].name)
    assert env.unwrapped.task_spec == suite.tasks[1].spec
    env.close()
    from lifebot.spec import dump_spec

    path = tmp_path / "task.yaml"
    dump_spec(spec_from_dict(base_spec_data()), path)
    env = gym.make(PARAMETERISED_ID, spec=str(path))
    obs, _ = env.reset(seed=0)
    assert env.observation_space.contains(obs)
    env.close()


def test_make_with_module_prefix_from_a_bare_interpreter():
    task = load_suite("object").tasks[0].name
    code = (
        f"import gymnasium as gym; env = gym.make('lifebot:{env_id('object', task)}'); "
        "obs, _ = env.reset(seed=1); print(sorted(obs))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "['objects', 'proprio', 'task']" in result.stdout


def test_task_encoding_tells_tasks_apart():
    suite = load_suite("goal")
    encodings = {tuple(LifebotEnv(suite="goal", task=t.name).observe_state.task) for t in suite.tasks[:3]}
    assert len(encodings) == 3


def test_image_observations_and_render():
    os.environ.setdefault("MUJOCO_GL", "egl")
    env = LifebotEnv(
        spec=spec_from_dict(base_spec_data()), obs_mode="image", render_mode="rgb_array", image_size=64, render_size=96
    )
    obs, _ = env.reset(seed=0)
    assert env.observation_space.contains(obs)
    for key in ("agentview_image", "eye_in_hand_image"):
        assert obs[key].shape == (64, 64, 3) and obs[key].dtype == np.uint8
        assert obs[key].std() > 5  # a picture, not a blank buffer
    frame = env.render()
    assert frame.shape == (96, 96, 3) and frame.std() > 5
    env.close()


def test_lifebot_version_is_exposed():
    assert lifebot.__version__


def test_observations_stay_within_their_bounds_through_an_expert_episode():
    from lifebot.demos.record import record_episode

    env = LifebotEnv(suite="goal", task=load_suite("goal").task_names[0])
    episode = record_episode(env, seed=0)
    env.close()
    assert episode is not None
    for key, values in episode.obs.items():
        space = env.observation_space[key]
        assert np.all(values >= space.low) and np.all(values <= space.high), key
