"""Physical feasibility of generated tasks, and the fixed evaluation initial states that come out of checking it.

A task is accepted only if its goal objects and goal places are in the Panda's workspace, and every sampled
start is collision-free, settles with every object upright, and does not already satisfy the goal.
"""

from __future__ import annotations

import numpy as np

from lifebot.envs.task_env import PlacementError, SpecTaskEnv
from lifebot.spec.model import TaskSpec
from lifebot.suites.layout import WORKSPACE_HIGH, WORKSPACE_LOW
from lifebot.suites.store import quantize_states

# Gripper open, arm still: the action used while objects settle.
NOOP_ACTION = np.array([0, 0, 0, 0, 0, 0, -1], dtype=np.float64)
SETTLE_STEPS = 5
MAX_TILT = 0.35  # rad: an object tilted more than this after settling has fallen over
WORKSPACE_TOLERANCE = 0.03


class InfeasibleTask(RuntimeError):
    """The generator should reject this task and sample another."""


def check_reachable(spec: TaskSpec) -> None:
    """Every object the goal names, and every region it names, lies in the workspace."""
    low, high = WORKSPACE_LOW - WORKSPACE_TOLERANCE, WORKSPACE_HIGH + WORKSPACE_TOLERANCE
    starts = {a.args[0]: spec.region(a.args[1]) for a in spec.init if a.definition.placement == "region"}
    region_names = {r.name for r in spec.regions}
    for atom in spec.goal:
        for arg in atom.args:
            region = spec.region(arg) if arg in region_names else starts.get(arg)
            if region is None:
                continue
            centre = np.array(region.center)
            if np.any(centre < low) or np.any(centre > high):
                raise InfeasibleTask(f"{spec.name}: {arg} at {region.center} is outside the Panda's workspace")


# The arm holds still under this controller while the objects settle. The committed suite files were settled
# under OSC; another controller holds the arm a hair differently and would change every stored state.
SETTLE_CONTROL_MODE = "osc_pose"


def _tilt(quat_wxyz: np.ndarray) -> float:
    w, x, y, _ = quat_wxyz
    z_axis_z = 1.0 - 2.0 * (x * x + y * y)
    return float(np.arccos(np.clip(z_axis_z / max(np.linalg.norm(quat_wxyz) ** 2, 1e-9), -1.0, 1.0)))


def sample_init_states(spec: TaskSpec, count: int, seed: int, settle_steps: int = SETTLE_STEPS) -> np.ndarray:
    """Sample ``count`` settled start states, each from its own seeded generator; raise InfeasibleTask if any fails.

    The states come back quantised (``quantize_states``) so that they are the same on every machine.
    """
    check_reachable(spec)
    env = SpecTaskEnv(spec, seed=seed, control_mode=SETTLE_CONTROL_MODE)
    try:
        states = []
        for index in range(count):
            env.rng = np.random.default_rng([seed, index])
            try:
                env.reset()
            except PlacementError as exc:
                raise InfeasibleTask(str(exc)) from None
            contacts = env.scene_contacts()
            if contacts:
                raise InfeasibleTask(f"{spec.name}: start {index} has touching objects {contacts}")
            for _ in range(settle_steps):
                env.step(NOOP_ACTION)
            for obj in spec.objects:
                quat = env.sim.data.qpos[env.handles[obj.name].qpos_slice][3:]
                if _tilt(quat) > MAX_TILT:
                    raise InfeasibleTask(f"{spec.name}: {obj.name} falls over in start {index}")
            if env._check_success():
                raise InfeasibleTask(f"{spec.name}: the goal already holds in start {index}")
            state = env.get_flat_state()
            state[0] = 0.0  # episode time starts at zero
            states.append(state)
        return quantize_states(np.stack(states))
    finally:
        env.close()
