"""Control modes: how a 7-D action (end-effector delta pose + gripper) becomes joint commands.

Both modes take the same action at 20 Hz: a position delta (3, ×0.05 m) and an axis-angle rotation delta
(3, ×0.5 rad) in the robot base frame, and a gripper command (-1 opens, +1 closes).

- ``pd_ee_delta_pose`` (:data:`DEFAULT_CONTROL_MODE`, the fast one): the delta pose is turned once per control
  step into joint targets by damped least-squares differential IK; the arm's actuators become position servos
  (gains scaled by each joint's inertia) that MuJoCo tracks for all 25 substeps in one ``mj_step`` call, with
  gravity compensated once per control step. ManiSkill's mode of the same name works this way.
- ``osc_pose``: robosuite's OSC_POSE controller, recomputed in Python at each of the 25 physics substeps of a
  control step. What LIBERO-style results use.

The mode is part of an environment's identity: demos, checkpoints and results record it, and
:func:`check_control_mode` warns when a policy meets a mode it was not trained in.
"""

from __future__ import annotations

import warnings

import numpy as np

CONTROL_MODES = ("osc_pose", "pd_ee_delta_pose")
DEFAULT_CONTROL_MODE = "pd_ee_delta_pose"  # the one default: demos, environments, runs, quickstart, benchmarks
POSITION_SCALE = 0.05  # m per unit action, as robosuite's OSC_POSE output_max
ROTATION_SCALE = 0.5  # rad per unit action
SERVO_BANDWIDTH = 100.0  # rad/s: natural frequency of each joint's position servo
IK_DAMPING = 0.05
NULLSPACE_GAIN = 0.1  # pull towards the home posture in the Jacobian's null space, per control step
MAX_JOINT_STEP = 0.15  # rad per control step (3 rad/s): near a singularity IK would otherwise fling the arm
GRIPPER_OPEN = 0.04  # finger joint position when fully open


class ControlModeMismatch(UserWarning):
    """A policy is being run under a control mode other than the one it was trained in."""


def check_control_mode(trained: str, evaluated: str) -> None:
    """Warn (clearly, once per call site) when a policy trained in one control mode is evaluated in another."""
    if trained != evaluated:
        warnings.warn(
            f"policy was trained with control_mode={trained!r} but is evaluated with control_mode={evaluated!r}: "
            "the same actions move the arm differently, so results are not comparable",
            ControlModeMismatch,
            stacklevel=2,
        )


def validate_control_mode(mode: str) -> str:
    if mode not in CONTROL_MODES:
        raise ValueError(f"unknown control_mode {mode!r}; choose one of {', '.join(CONTROL_MODES)}")
    return mode


def _damped_pseudo_inverse(jacobian: np.ndarray, damping: float) -> np.ndarray:
    """J^T (J J^T + λ² I)^-1 by MuJoCo's Cholesky routines.

    LAPACK through numpy costs 1-15 ms for this 6×6 system when OpenBLAS's thread pool competes with other
    processes (vectorised workers); MuJoCo's single-threaded solve takes microseconds.
    """
    import mujoco  # here and below: the mode names above are read by the command line, which never loads MuJoCo

    rows = jacobian.shape[0]
    factor = jacobian @ jacobian.T + damping**2 * np.eye(rows)
    mujoco.mju_cholFactor(factor, 0.0)
    solved = np.empty_like(jacobian)
    column = np.empty(rows)
    for j in range(jacobian.shape[1]):
        mujoco.mju_cholSolve(column, factor, np.ascontiguousarray(jacobian[:, j]))
        solved[:, j] = column
    return solved.T


class JointServoController:
    """Differential IK to joint position targets, tracked by MuJoCo position servos for a whole control step."""

    def __init__(self, env):
        self.model, self.data = env.sim.model._model, env.sim.data._data
        robot = env.robots[0]
        self.qpos_index = np.asarray(robot._ref_joint_pos_indexes)
        self.qvel_index = np.asarray(robot._ref_joint_vel_indexes)
        self.arm_actuators = np.array([self._actuator(n) for n in robot.robot_model.actuators])
        self.gripper_actuators = np.array([self._actuator(n) for n in robot.gripper["right"].actuators])
        self.site = env.eef_site_id
        self.substeps = int(round(env.control_timestep / env.model_timestep))
        self.home = np.asarray(robot.init_qpos, dtype=float)
        self._jacp = np.zeros((3, self.model.nv))
        self._jacr = np.zeros((3, self.model.nv))
        self._convert_motors_to_servos()

    def _actuator(self, name: str) -> int:
        import mujoco

        return mujoco.mj_name2id(self.model, mujoco.mjtObj.mjOBJ_ACTUATOR, name)

    def _convert_motors_to_servos(self) -> None:
        """Turn the arm's torque motors into position servos in place: a parameter write, not a rebuild.

        The motors' torque limits become force limits and their control range the joint range.
        """
        import mujoco

        model = self.model
        # Gains from the inertia at the canonical home posture, so every instance gets identical servos.
        probe = mujoco.MjData(model)
        probe.qpos[self.qpos_index] = self.home
        mujoco.mj_forward(model, probe)
        inertia = np.empty((model.nv, model.nv))
        mujoco.mj_fullM(model, inertia, probe.qM)
        joint_inertia = np.diag(inertia)[self.qvel_index]
        kp = joint_inertia * SERVO_BANDWIDTH**2
        kv = 2.0 * joint_inertia * SERVO_BANDWIDTH  # critically damped
        for i, actuator in enumerate(self.arm_actuators):
            joint = model.actuator_trnid[actuator, 0]
            model.actuator_forcerange[actuator] = model.actuator_ctrlrange[actuator]
            model.actuator_forcelimited[actuator] = 1
            model.actuator_ctrlrange[actuator] = model.jnt_range[joint]
            model.actuator_gaintype[actuator] = mujoco.mjtGain.mjGAIN_FIXED
            model.actuator_gainprm[actuator, :] = 0.0
            model.actuator_gainprm[actuator, 0] = kp[i]
            model.actuator_biastype[actuator] = mujoco.mjtBias.mjBIAS_AFFINE
            model.actuator_biasprm[actuator, :] = 0.0
            model.actuator_biasprm[actuator, 1:3] = (-kp[i], -kv[i])

    def reset(self) -> None:
        """Hold the current posture (called after every reset or state write)."""
        self.data.ctrl[self.arm_actuators] = self.data.qpos[self.qpos_index]

    def step(self, action: np.ndarray) -> None:
        """Apply one 20 Hz control step: IK once, then all substeps inside MuJoCo."""
        import mujoco

        data = self.data
        q = data.qpos[self.qpos_index]
        mujoco.mj_jacSite(self.model, data, self._jacp, self._jacr, self.site)
        jacobian = np.vstack([self._jacp[:, self.qvel_index], self._jacr[:, self.qvel_index]])
        twist = np.concatenate([action[:3] * POSITION_SCALE, action[3:6] * ROTATION_SCALE])
        pseudo_inverse = _damped_pseudo_inverse(jacobian, IK_DAMPING)
        nullspace = np.eye(len(q)) - pseudo_inverse @ jacobian
        dq = pseudo_inverse @ twist + nullspace @ (NULLSPACE_GAIN * (self.home - q))
        largest = float(np.max(np.abs(dq)))
        if largest > MAX_JOINT_STEP:
            dq *= MAX_JOINT_STEP / largest
        data.ctrl[self.arm_actuators] = q + dq
        opening = GRIPPER_OPEN * (1.0 - float(np.clip(action[6], -1.0, 1.0))) / 2.0
        data.ctrl[self.gripper_actuators] = (opening, -opening)
        data.qfrc_applied[self.qvel_index] = data.qfrc_bias[self.qvel_index]  # gravity and Coriolis, held
        mujoco.mj_step(self.model, data, nstep=self.substeps)
