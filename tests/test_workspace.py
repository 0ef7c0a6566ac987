"""The generator's workspace is real: the Panda's end effector reaches every corner of it at grasp height."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from lifebot.envs.gym_env import LifebotEnv
from lifebot.spec import spec_from_dict
from lifebot.suites.layout import WORKSPACE_HIGH, WORKSPACE_LOW

GRASP_HEIGHT = 0.03  # above the table top
TOLERANCE = 0.01


@pytest.fixture(scope="module")
def env():
    spec = spec_from_dict(
        {
            "suite": "test",
            "name": "Reach",
            "instruction": "reach",
            "objects": [{"name": "cube", "category": "red_cube"}],
            "regions": [{"name": "corner", "center": [0.35, 0.35], "half_size": [0.01, 0.01]}],
            "init": ["InRegion(cube, corner)"],
            "goal": ["Lifted(cube)"],
        }
    )
    env = LifebotEnv(spec=spec)
    yield env
    env.close()


@pytest.mark.parametrize("corner", list(itertools.product(*zip(WORKSPACE_LOW, WORKSPACE_HIGH, strict=True))))
def test_end_effector_reaches_workspace_corner(env, corner):
    env.reset(seed=0)
    table_top = env.sim_env.table_top_z
    target = np.array([corner[0], corner[1], table_top + GRASP_HEIGHT])
    for _ in range(120):
        action = np.zeros(7)
        action[:3] = np.clip((target - env.sim_env.eef_pos) / 0.05 * 2.0, -1.0, 1.0)
        action[6] = -1.0
        env.step(action)
    assert np.linalg.norm(target - env.sim_env.eef_pos) < TOLERANCE
