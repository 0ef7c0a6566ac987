"""Environment speed, side by side in one run on this machine.

Prints env steps/s for a lifebot task and for robosuite's stock Lift (random actions, no cameras), the physics
limit (raw ``mujoco.mj_step`` calls/s on the lifebot task's own model divided by the substeps per control
step), each one's share of its limit, and the reset time.

    python benchmarks/env_throughput.py [--suite spatial] [--task-index 0] [--steps 1000]
"""

from __future__ import annotations

import argparse
import time

import mujoco
import numpy as np

import lifebot  # noqa: F401  (registers the environments)
from lifebot.envs.gym_env import LifebotEnv
from lifebot.suites.store import load_suite


def steps_per_second(step, steps: int, rng: np.random.Generator) -> float:
    actions = rng.uniform(-1, 1, size=(steps, 7))
    start = time.perf_counter()
    for action in actions:
        step(action)
    return steps / (time.perf_counter() - start)


def physics_limit(sim, substeps: int, calls: int) -> float:
    model, data = sim.model._model, sim.data._data
    start = time.perf_counter()
    for _ in range(calls):
        mujoco.mj_step(model, data)
    return calls / (time.perf_counter() - start) / substeps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", default="spatial")
    parser.add_argument("--task-index", type=int, default=0)
    parser.add_argument("--steps", type=int, default=1000)
    args = parser.parse_args()
    rng = np.random.default_rng(0)

    task = load_suite(args.suite).tasks[args.task_index]
    env = LifebotEnv(suite=args.suite, task=task.name)
    env.reset(seed=0)
    steps_per_second(env.step, 50, rng)  # warm up (numba compiles robosuite's controller kernels)
    env.reset(seed=0, options={"init_state_index": 0})
    sim_env = env.sim_env
    substeps = int(round(sim_env.control_timestep / sim_env.model_timestep))
    lifebot_rate = steps_per_second(env.step, args.steps, rng)
    env.reset(seed=0, options={"init_state_index": 0})
    limit = physics_limit(sim_env.sim, substeps, args.steps * substeps)
    resets = []
    for i in range(20):
        start = time.perf_counter()
        env.reset(seed=i, options={"init_state_index": i})
        resets.append(time.perf_counter() - start)
    env.close()

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
    steps_per_second(lift.step, 50, rng)
    lift_rate = steps_per_second(lift.step, args.steps, rng)
    lift_limit = physics_limit(lift.sim, substeps, args.steps * substeps)
    lift.close()

    print(f"task: {args.suite}/{task.name}  ({substeps} physics substeps per 20 Hz control step)")
    print(f"{'':34}{'env steps/s':>12}{'limit steps/s':>15}{'share':>8}")
    print(f"{'lifebot (robosuite OSC_POSE)':34}{lifebot_rate:12.1f}{limit:15.1f}{lifebot_rate / limit:8.2f}")
    print(f"{'robosuite Lift (stock)':34}{lift_rate:12.1f}{lift_limit:15.1f}{lift_rate / lift_limit:8.2f}")
    print(f"lifebot / Lift steps/s: {lifebot_rate / lift_rate:.2f}")
    print(f"reset to an evaluation state: median {np.median(resets) * 1e3:.1f} ms, max {np.max(resets) * 1e3:.1f} ms")


if __name__ == "__main__":
    main()
