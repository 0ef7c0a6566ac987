"""Environment speed, side by side in one run on this machine.

For one lifebot task: env steps/s in each control mode (random actions, no cameras), the physics limit (raw
``mujoco.mj_step`` calls/s on the task's own model divided by the substeps per control step) and each mode's
share of it; robosuite's stock ``Lift`` for reference; the time to reset to a fixed evaluation state; and
vectorised throughput (``gymnasium.make_vec``) for one worker and for every core.

    python benchmarks/env_throughput.py [--suite spatial] [--task-index 0] [--steps 600] [--all-suites]
"""

from __future__ import annotations

import argparse
import os
import time

import gymnasium as gym
import mujoco
import numpy as np

import lifebot  # noqa: F401  (registers the environments)
from lifebot.envs.control import CONTROL_MODES
from lifebot.envs.gym_env import LifebotEnv
from lifebot.envs.registration import env_id
from lifebot.suites.store import list_suites, load_suite


def rate(step, actions: np.ndarray) -> float:
    start = time.perf_counter()
    for action in actions:
        step(action)
    return len(actions) / (time.perf_counter() - start)


def physics_limit(sim, substeps: int, control_steps: int) -> float:
    model, data = sim.model._model, sim.data._data
    start = time.perf_counter()
    mujoco.mj_step(model, data, nstep=control_steps * substeps)
    return control_steps / (time.perf_counter() - start)


def measure_task(suite: str, task: str, steps: int, rng: np.random.Generator) -> dict:
    figures = {}
    for mode in CONTROL_MODES:
        env = LifebotEnv(suite=suite, task=task, control_mode=mode)
        env.reset(seed=0, options={"init_state_index": 0})
        rate(env.step, rng.uniform(-1, 1, size=(30, 7)))  # warm up (numba compiles robosuite's kernels)
        env.reset(seed=0, options={"init_state_index": 0})
        figures[mode] = rate(env.step, rng.uniform(-1, 1, size=(steps, 7)))
        if mode == CONTROL_MODES[-1]:
            sim = env.sim_env
            substeps = int(round(sim.control_timestep / sim.model_timestep))
            env.reset(seed=0, options={"init_state_index": 0})
            figures["limit"] = physics_limit(sim.sim, substeps, steps)
            figures["substeps"] = substeps
            resets = []
            for i in range(30):
                start = time.perf_counter()
                env.reset(seed=i, options={"init_state_index": i})
                resets.append(time.perf_counter() - start)
            figures["reset_ms"] = (float(np.median(resets)) * 1e3, float(np.max(resets)) * 1e3)
        env.close()
    return figures


def stock_lift(steps: int, rng: np.random.Generator) -> tuple[float, float]:
    import robosuite

    lift = robosuite.make(
        "Lift",
        robots="Panda",
        has_renderer=False,
        has_offscreen_renderer=False,
        use_camera_obs=False,
        ignore_done=True,
        control_freq=20,
    )
    lift.reset()
    rate(lift.step, rng.uniform(-1, 1, size=(30, 7)))
    lift_rate = rate(lift.step, rng.uniform(-1, 1, size=(steps, 7)))
    limit = physics_limit(lift.sim, 25, steps)
    lift.close()
    return lift_rate, limit


def vector_rate(suite: str, task: str, mode: str, num_envs: int, steps: int) -> float:
    envs = gym.make_vec(env_id(suite, task), num_envs=num_envs, control_mode=mode)
    envs.reset(seed=0)
    envs.action_space.seed(0)
    for _ in range(20):
        envs.step(envs.action_space.sample())
    start = time.perf_counter()
    for _ in range(steps):
        envs.step(envs.action_space.sample())
    elapsed = time.perf_counter() - start
    envs.close()
    return steps * num_envs / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", default="spatial")
    parser.add_argument("--task-index", type=int, default=0)
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument(
        "--all-suites", action="store_true", help="also the fast mode's share on every suite's first task"
    )
    args = parser.parse_args()
    rng = np.random.default_rng(0)

    task = load_suite(args.suite).tasks[args.task_index].name
    figures = measure_task(args.suite, task, args.steps, rng)
    lift_rate, lift_limit = stock_lift(args.steps, rng)
    limit = figures["limit"]
    print(f"task {args.suite}/{task}: {figures['substeps']} physics substeps per 20 Hz control step")
    print(f"{'':32}{'env steps/s':>12}{'limit':>9}{'share':>8}")
    for mode in CONTROL_MODES:
        print(f"{'lifebot ' + mode:32}{figures[mode]:12.1f}{limit:9.1f}{figures[mode] / limit:8.2f}")
    print(f"{'robosuite Lift (stock, OSC)':32}{lift_rate:12.1f}{lift_limit:9.1f}{lift_rate / lift_limit:8.2f}")
    fast, osc = figures["pd_ee_delta_pose"], figures["osc_pose"]
    print(f"pd_ee_delta_pose / osc_pose: {fast / osc:.2f}x")
    print(f"reset to an evaluation state: median {figures['reset_ms'][0]:.1f} ms, max {figures['reset_ms'][1]:.1f} ms")

    cores = os.cpu_count() or 1
    for mode in CONTROL_MODES:
        one = vector_rate(args.suite, task, mode, 1, args.steps // 2)
        many = vector_rate(args.suite, task, mode, cores, args.steps // 2)
        print(
            f"make_vec {mode:18} 1 worker {one:7.1f} steps/s   {cores} workers {many:7.1f} steps/s   {many / one:.2f}x"
        )

    if args.all_suites:
        print("\npd_ee_delta_pose share of the physics limit, first task of each suite:")
        for suite in list_suites():
            first = load_suite(suite).tasks[0].name
            env = LifebotEnv(suite=suite, task=first, control_mode="pd_ee_delta_pose")
            env.reset(seed=0, options={"init_state_index": 0})
            env_rate = rate(env.step, rng.uniform(-1, 1, size=(args.steps, 7)))
            env.reset(seed=0, options={"init_state_index": 0})
            suite_limit = physics_limit(env.sim_env.sim, 25, args.steps)
            env.close()
            print(f"  {suite:<10}{first:<50}{env_rate:8.1f} / {suite_limit:7.1f} = {env_rate / suite_limit:.2f}")


if __name__ == "__main__":
    main()
