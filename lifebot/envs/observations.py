"""State observations computed straight from MuJoCo data, once per control step.

Layout (documented here because policies, demos and the HDF5 files depend on it):

- ``proprio`` (30): end-effector position (3), quaternion wxyz (4), gripper finger positions (2),
  cos (7) and sin (7) of the arm joint angles, arm joint velocities (7).
- ``objects`` (MAX_OBJECTS × 12): one slot per scene object, the objects the goal names first (in the order
  the goal names them), then the remaining free objects, then the remaining fixtures; unused slots are zero.
  Each slot: position (3), quaternion wxyz (4), position relative to the end effector (3), articulation
  angle (1, zero for rigid objects), present flag (1).
- ``task`` (ENCODING_SIZE): multi-hot instruction encoding (:mod:`lifebot.envs.task_encoding`).

:func:`state_bounds` gives each entry's range: positions within ``POSITION_LIMIT`` metres of the world origin
(the table top's centre is 0.8 m above it; anything farther has left the arena), unit quaternions, cos/sin,
finger positions, joint velocities up to ``JOINT_SPEED_LIMIT`` (the Panda's limits are 2.2-2.6 rad/s), hinge
angles within ±π, flags and multi-hot words in [0, 1].
"""

from __future__ import annotations

import mujoco
import numpy as np

from lifebot.envs.task_encoding import ENCODING_SIZE, encode_instruction

MAX_OBJECTS = 10
SLOT_SIZE = 12
SLOT_EEF_RELATIVE = range(7, 10)  # a slot's position relative to the end effector: the robot's pose, seen from it
PROPRIO_SIZE = 30
STATE_KEYS = ("proprio", "objects", "task")
STATE_SHAPES = {"proprio": (PROPRIO_SIZE,), "objects": (MAX_OBJECTS * SLOT_SIZE,), "task": (ENCODING_SIZE,)}


POSITION_LIMIT = 3.0  # m
JOINT_SPEED_LIMIT = 50.0  # rad/s
FINGER_LIMIT = 0.1  # m


def state_bounds() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """(low, high) of every state observation entry, in the layout above."""
    proprio = [(POSITION_LIMIT, 3), (1.0, 4), (FINGER_LIMIT, 2), (1.0, 14), (JOINT_SPEED_LIMIT, 7)]
    high_proprio = np.concatenate([np.full(n, limit) for limit, n in proprio])
    slot_high = np.concatenate([np.full(3, POSITION_LIMIT), np.ones(4), np.full(3, 2 * POSITION_LIMIT), [np.pi, 1.0]])
    slot_low = -slot_high
    slot_low[11] = 0.0  # the present flag
    return {
        "proprio": (-high_proprio, high_proprio),
        "objects": (np.tile(slot_low, MAX_OBJECTS), np.tile(slot_high, MAX_OBJECTS)),
        "task": (np.zeros(ENCODING_SIZE), np.ones(ENCODING_SIZE)),
    }


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
