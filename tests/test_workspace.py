"""The generator's workspace is real: the Panda's end effector reaches every corner of it at grasp height."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from lifebot.envs.gym_env import LifebotEnv
from lifebot.spec import spec_from_dict
from lifebot.suites.layout import JITTER, WORKSPACE_HIGH, WORKSPACE_LOW

GRASP_HEIGHT = 0.015  # above the table top: where the fingertips close on a small cube
TOLERANCE = 0.01


@pytest.fixture(scope="module")
def envs():
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
    envs = {mode: LifebotEnv(spec=spec, control_mode=mode) for mode in ("osc_pose", "pd_ee_delta_pose")}
    yield envs
    for env in envs.values():
        env.close()


CORNERS = list(itertools.product(*zip(WORKSPACE_LOW - JITTER, WORKSPACE_HIGH + JITTER, strict=True)))


@pytest.mark.parametrize("control_mode", ["osc_pose", "pd_ee_delta_pose"])
@pytest.mark.parametrize("corner", CORNERS)
def test_end_effector_reaches_workspace_corner(envs, control_mode, corner):
    env = envs[control_mode]
    env.reset(seed=0)
    table_top = env.sim_env.table_top_z
    target = np.array([corner[0], corner[1], table_top + GRASP_HEIGHT])
    for _ in range(120):
        action = np.zeros(7)
        action[:3] = np.clip((target - env.sim_env.eef_pos) / 0.05 * 2.0, -1.0, 1.0)
        action[6] = -1.0
        env.step(action)
    assert np.linalg.norm(target - env.sim_env.eef_pos) < TOLERANCE
