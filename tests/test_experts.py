"""Scripted experts on real simulation: every predicate solved, robust to action noise, recovering a slip."""

from __future__ import annotations

import pytest

from lifebot.envs.gym_env import LifebotEnv
from lifebot.experts.registry import SOLVERS, ScriptedExpert
from lifebot.predicates import PREDICATES
from lifebot.suites.store import load_suite

FAST = "pd_ee_delta_pose"
NOISE = 0.05  # std of the Gaussian noise on each arm action component (2.5 mm, 0.025 rad per step here)
GOAL = load_suite("goal")
BY_PREDICATE = {}
for _task in GOAL.tasks:
    BY_PREDICATE.setdefault(_task.spec.goal[0].name, _task.name)


def run_expert(env: LifebotEnv, seed: int, noise: float = 0.0, on_step=None) -> bool:
    env.reset(seed=seed)
    expert = ScriptedExpert(env, noise=noise, seed=seed)
    for step in range(env.horizon):
        _, _, terminated, truncated, info = env.step(expert.act())
        if on_step is not None:
            on_step(step)
        if terminated or truncated:
            break
    return bool(info["success"])


def test_every_predicate_has_a_solver():
    assert set(SOLVERS) == set(PREDICATES)


@pytest.mark.parametrize("predicate", sorted(BY_PREDICATE))
def test_expert_solves_each_goal_predicate_with_noise(predicate):
    env = LifebotEnv(suite="goal", task=BY_PREDICATE[predicate], control_mode=FAST)
    successes = [run_expert(env, seed, noise=NOISE) for seed in range(3)]
    env.close()
    assert all(successes), successes


def test_two_stage_goal():
    task = load_suite("long").tasks[0]
    env = LifebotEnv(suite="long", task=task.name, control_mode=FAST)
    assert run_expert(env, seed=0)
    env.close()


def test_expert_recovers_from_a_slipped_grasp():
    env = LifebotEnv(suite="goal", task=BY_PREDICATE["On"], control_mode=FAST)
    cube = env.task_spec.goal[0].args[0]
    sim = env.sim_env
    dropped = []

    def knock_out_of_the_gripper(step):
        if not dropped and sim.grasped(cube) and sim.aabb(cube)[0][2] > sim.table_top_z + 0.05:
            # the object slips out: put it back on the table, away from the gripper
            qpos = sim.sim.data.qpos[sim.handles[cube].qpos_slice]
            qpos[:3] = [qpos[0] - 0.05, qpos[1], sim.table_top_z + 0.021]
            qpos[3:] = [1, 0, 0, 0]
            sim.sim.forward()
            dropped.append(step)

    assert run_expert(env, seed=1, on_step=knock_out_of_the_gripper)
    assert dropped, "the test never got to knock the cube out"
    env.close()
