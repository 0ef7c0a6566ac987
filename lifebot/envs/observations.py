"""State observations computed straight from MuJoCo data, once per control step.

Layout (documented here because policies, demos and the HDF5 files depend on it):

- ``proprio`` (30): end-effector position (3), quaternion wxyz (4), gripper finger positions (2),
  cos (7) and sin (7) of the arm joint angles, arm joint velocities (7).
- ``objects`` (MAX_OBJECTS × 12): one slot per scene object, the objects the goal names first (in the order
  the goal names them), then the remaining free objects, then the remaining fixtures; unused slots are zero.
  Each slot: position (3), quaternion wxyz (4), position relative to the end effector (3), articulation
  angle (1, zero for rigid objects), present flag (1).
- ``task`` (ENCODING_SIZE): multi-hot instruction encoding (:mod:`lifebot.envs.task_encoding`).
"""

from __future__ import annotations

import mujoco
import numpy as np

from lifebot.envs.task_encoding import ENCODING_SIZE, encode_instruction

MAX_OBJECTS = 10
SLOT_SIZE = 12
PROPRIO_SIZE = 30
STATE_KEYS = ("proprio", "objects", "task")
STATE_SHAPES = {"proprio": (PROPRIO_SIZE,), "objects": (MAX_OBJECTS * SLOT_SIZE,), "task": (ENCODING_SIZE,)}


def slot_order(spec) -> list[str]:
    goal = list(spec.goal_objects)
    free = [o.name for o in spec.objects if o.name not in goal]
    fixed = [o.name for o in spec.fixtures if o.name not in goal]
    order = goal + free + fixed
    if len(order) > MAX_OBJECTS:
        raise ValueError(f"task {spec.name!r} has {len(order)} objects; observations hold at most {MAX_OBJECTS}")
    return order


class StateObserver:
    """Builds the state observation dict for one SpecTaskEnv; resolves indices once."""

    def __init__(self, env):
        self.env = env
        robot = env.robots[0]
        self.arm_qpos = np.asarray(robot._ref_joint_pos_indexes)
        self.arm_qvel = np.asarray(robot._ref_joint_vel_indexes)
        self.gripper_qpos = np.asarray(robot._ref_gripper_joint_pos_indexes["right"])
        self.order = slot_order(env.spec)
        self.task = encode_instruction(env.spec.instruction)

    def __call__(self) -> dict[str, np.ndarray]:
        env = self.env
        data = env.sim.data._data
        eef_pos = data.site_xpos[env.eef_site_id]
        eef_quat = np.empty(4)
        mujoco.mju_mat2Quat(eef_quat, data.site_xmat[env.eef_site_id])
        q = data.qpos[self.arm_qpos]
        proprio = np.concatenate(
            [eef_pos, eef_quat, data.qpos[self.gripper_qpos], np.cos(q), np.sin(q), data.qvel[self.arm_qvel]]
        ).astype(np.float32)
        objects = np.zeros((MAX_OBJECTS, SLOT_SIZE), dtype=np.float32)
        for slot, name in enumerate(self.order):
            handle = env.handles[name]
            pos = data.xpos[handle.body_id]
            objects[slot, 0:3] = pos
            objects[slot, 3:7] = data.xquat[handle.body_id]
            objects[slot, 7:10] = pos - eef_pos
            objects[slot, 10] = data.qpos[handle.hinge_qpos] if handle.hinge_qpos is not None else 0.0
            objects[slot, 11] = 1.0
        return {"proprio": proprio, "objects": objects.reshape(-1), "task": self.task.copy()}
