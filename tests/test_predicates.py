"""Every predicate, answered both ways, on objects placed in the real simulation."""

from __future__ import annotations

import numpy as np
import pytest

from lifebot.envs.task_env import SpecTaskEnv
from lifebot.predicates import Atom
from lifebot.suites.feasibility import NOOP_ACTION

TABLE_Z = 0.8


def place(env: SpecTaskEnv, name: str, xyz) -> None:
    """Put a free object at a world position, upright and at rest."""
    handle = env.handles[name]
    env.sim.data.qpos[handle.qpos_slice] = np.concatenate([xyz, [1.0, 0.0, 0.0, 0.0]])
    qvel_start = env.sim.model._model.jnt_dofadr[env.sim.model._model.body_jntadr[handle.body_id]]
    env.sim.data.qvel[qvel_start : qvel_start + 6] = 0.0
    env.sim.forward()


def settle(env: SpecTaskEnv, steps: int = 10) -> None:
    for _ in range(steps):
        env.step(NOOP_ACTION)


def holds(env: SpecTaskEnv, text: str) -> bool:
    return Atom.parse(text).holds(env)


@pytest.fixture
def env(sim_env):
    sim_env.reset()
    return sim_env


def _top_of(env, name):
    return env.aabb(name)[1][2]


def test_on_plate_both_ways(env):
    plate = env.sim.data.xpos[env.handles["plate"].body_id].copy()
    place(env, "red_cube", plate + [0, 0, 0.03])
    settle(env)
    assert holds(env, "On(red_cube, plate)")
    place(env, "red_cube", plate + [0, 0, 0.1])  # hovering above the plate
    assert not holds(env, "On(red_cube, plate)")
    place(env, "red_cube", plate + [0, -0.12, 0.0])
    env.sim.data.qpos[env.handles["red_cube"].qpos_slice][2] = TABLE_Z + 0.02
    settle(env)
    assert not holds(env, "On(red_cube, plate)")


def test_in_basket_both_ways(env):
    basket = env.sim.data.qpos[env.handles["basket"].qpos_slice][:3].copy()
    place(env, "red_cube", basket + [0, 0, 0.02])
    settle(env, 15)
    assert holds(env, "In(red_cube, basket)")
    place(env, "red_cube", basket + [0, 0.15, 0.0])
    settle(env)
    assert not holds(env, "In(red_cube, basket)")


def test_lifted_both_ways(env):
    cube = env.sim.data.qpos[env.handles["red_cube"].qpos_slice][:3].copy()
    settle(env)
    assert not holds(env, "Lifted(red_cube)")
    place(env, "red_cube", [cube[0], cube[1], TABLE_Z + 0.12])
    assert holds(env, "Lifted(red_cube)")


def test_stacked_both_ways(env):
    blue = env.sim.data.qpos[env.handles["blue_cube"].qpos_slice][:3].copy()
    settle(env)
    blue = env.sim.data.qpos[env.handles["blue_cube"].qpos_slice][:3].copy()
    place(env, "red_cube", blue + [0, 0, 0.05])
    settle(env, 15)
    assert holds(env, "Stacked(red_cube, blue_cube)")
    assert not holds(env, "Stacked(blue_cube, red_cube)")
    place(env, "red_cube", blue + [0.0, -0.1, -0.005])
    settle(env)
    assert not holds(env, "Stacked(red_cube, blue_cube)")


def test_in_region_both_ways(env):
    place(env, "red_cube", [-0.2, 0.25, TABLE_Z + 0.021])
    settle(env)
    assert holds(env, "InRegion(red_cube, front_left)")
    place(env, "red_cube", [-0.2, 0.25, TABLE_Z + 0.15])  # above the region, not on the table
    assert not holds(env, "InRegion(red_cube, front_left)")
    place(env, "red_cube", [0.0, -0.1, TABLE_Z + 0.021])
    settle(env)
    assert not holds(env, "InRegion(red_cube, front_left)")


def test_open_and_closed_both_ways(env):
    hinge = env.handles["box"].hinge_qpos
    env.sim.data.qpos[hinge] = 0.0
    settle(env, 5)
    assert holds(env, "Closed(box)") and not holds(env, "Open(box)")
    env.sim.data.qpos[hinge] = 1.4
    env.sim.forward()
    settle(env, 10)  # the hinge's friction keeps the lid where it was left
    assert holds(env, "Open(box)") and not holds(env, "Closed(box)")


def test_goal_status_matches_success(env):
    plate = env.sim.data.xpos[env.handles["plate"].body_id].copy()
    assert env.goal_status() == [False]
    place(env, "red_cube", plate + [0, 0, 0.03])
    settle(env)
    assert env.goal_status() == [True]
    assert env.reward() == 1.0
