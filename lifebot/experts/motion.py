"""Closed-loop motion for scripted experts, through the same 7-D action a learned policy sends.

The expert reads privileged simulator state (object poses, contacts) to choose targets, but acts only by
end-effector deltas and a gripper command, clipped to [-1, 1] like any policy action.
"""

from __future__ import annotations

from dataclasses import dataclass

import mujoco
import numpy as np

from lifebot.envs.control import POSITION_SCALE, ROTATION_SCALE

# The end effector's "pointing down" orientation at yaw 0: fingers close along world y.
DOWN = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, -1.0]])
OPEN, CLOSE = -1.0, 1.0
ALIGN_TOLERANCE = 0.08  # rad: the wrist's remaining turn before it descends
FINGER_REST = 4e-4  # m per control step: closing fingers moving less than this have stopped
OPEN_GAP = 0.07  # m: fingers released at least this far apart no longer hold anything


@dataclass(frozen=True)
class Gains:
    """Per control mode: proportional gains, and the largest step (m, rad) the expert asks for at once."""

    position: float
    rotation: float
    max_step: float
    max_turn: float


# pd_ee_delta_pose realises most of a commanded delta within the step, so the expert caps its speed (0.4 m/s)
# to keep grasps; robosuite's OSC realises about a quarter of it, so the expert pushes harder.
GAINS = {
    "pd_ee_delta_pose": Gains(position=1.0, rotation=1.0, max_step=0.02, max_turn=0.15),
    "osc_pose": Gains(position=3.0, rotation=2.0, max_step=0.05, max_turn=0.5),
}


def _limit(vector: np.ndarray, length: float) -> np.ndarray:
    """Shorten ``vector`` to at most ``length``, keeping its direction (straight-line motion)."""
    norm = float(np.linalg.norm(vector))
    return vector if norm <= length else vector * (length / norm)


def yaw_rotation(yaw: float) -> np.ndarray:
    c, s = np.cos(yaw), np.sin(yaw)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def rotation_error(target: np.ndarray, current: np.ndarray) -> np.ndarray:
    """Axis-angle vector (world frame) rotating ``current`` onto ``target``."""
    quat = np.empty(4)
    mujoco.mju_mat2Quat(quat, (target @ current.T).reshape(-1))
    if quat[0] < 0:
        quat = -quat
    velocity = np.empty(3)
    mujoco.mju_quat2Vel(velocity, quat, 1.0)
    return velocity


def object_yaw(quat_wxyz: np.ndarray) -> float:
    w, x, y, z = quat_wxyz
    return float(np.arctan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z)))


def grasp_yaw(yaw: float, half_extent: tuple[float, float, float]) -> float:
    """Gripper yaw closing across the object's short horizontal side, nearest to zero (wrist-friendly)."""
    period = np.pi / 2 if abs(half_extent[0] - half_extent[1]) < 0.005 else np.pi
    return float((yaw + period / 2) % period - period / 2)


@dataclass
class Motion:
    """Turns a pose target into one action for the environment's control mode."""

    env: object  # lifebot.envs.gym_env.LifebotEnv

    @property
    def sim(self):
        return self.env.sim_env

    def eef_rotation(self) -> np.ndarray:
        return self.sim.sim.data.site_xmat[self.sim.eef_site_id].reshape(3, 3)

    def action(self, position: np.ndarray, yaw: float, gripper: float) -> np.ndarray:
        gains = GAINS[self.env.control_mode]
        action = np.zeros(7)
        action[:3] = _limit(position - self.sim.eef_pos, gains.max_step) / POSITION_SCALE * gains.position
        turn = rotation_error(yaw_rotation(yaw) @ DOWN, self.eef_rotation())
        action[3:6] = _limit(turn, gains.max_turn) / ROTATION_SCALE * gains.rotation
        action[6] = gripper
        return np.clip(action, -1.0, 1.0)

    def reached(self, position: np.ndarray, tolerance: float = 0.01) -> bool:
        return float(np.linalg.norm(self.sim.eef_pos - position)) < tolerance

    # What the holds wait for: each is read from a quantity in the policy's observation (proprio: the
    # end-effector pose, the finger positions), never from a step counter.
    def aligned(self, yaw: float, tolerance: float = ALIGN_TOLERANCE) -> bool:
        """The wrist points down at ``yaw`` (the end-effector quaternion in proprio)."""
        return float(np.linalg.norm(rotation_error(yaw_rotation(yaw) @ DOWN, self.eef_rotation()))) < tolerance

    def finger_gap(self) -> float:
        """Distance between the two fingers (the finger positions in proprio)."""
        data = self.sim.sim.data
        left, right = data.qpos[self.sim.robots[0]._ref_gripper_joint_pos_indexes["right"]]
        return float(left - right)

    def fingers_stopped(self, previous_gap: float) -> bool:
        """The closing fingers have come to rest, on an object or on each other."""
        return abs(self.finger_gap() - previous_gap) < FINGER_REST
