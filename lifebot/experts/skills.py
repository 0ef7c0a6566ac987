"""Stage functions of the scripted experts: short generators that yield one action per control step.

Each skill returns (through ``StopIteration``) when its stage is done; a grasp that slips sends the pick back
to the reach stage instead of giving up. Skills read privileged state through ``m.sim`` (a SpecTaskEnv) to
choose targets, but every stage ends on a condition the policy's observation shows (a target reached, the wrist
aligned, the fingers at rest or open), never on a step counter: a policy imitating the expert
can then tell from what it sees when the expert would move on.
"""

from __future__ import annotations

from collections.abc import Callable, Generator

import numpy as np

from lifebot.experts.motion import CLOSE, OPEN, OPEN_GAP, Motion, grasp_yaw, object_yaw
from lifebot.objects.articulated import LID_HINGE_JOINT
from lifebot.objects.catalog import get_category

Actions = Generator[np.ndarray, None, None]

APPROACH_HEIGHT = 0.08  # above an object's top before descending onto it
CARRY_CLEARANCE = 0.06  # carried objects clear everything on the table by this much
MAX_STAGE_STEPS = 80  # a stage that has not converged by then moves on (the next check decides)
REST_STEPS = 2  # control steps the closing fingers must stay at rest before the grasp counts as firm
MAX_PICK_TRIES = 4
LONG_CARRY = 0.25  # m: carries longer than this go through a via point
VIA_X = -0.05  # m, table frame: the via point is no further from the robot than this
LID_SWING_TARGET = 1.45  # rad: past OPEN_ANGLE with margin; the hinge's friction keeps it there


def _centre(m: Motion, name: str) -> np.ndarray:
    low, high = m.sim.aabb(name)
    return (low + high) / 2.0


def _top(m: Motion, name: str) -> float:
    return float(m.sim.aabb(name)[1][2])


def _object_yaw(m: Motion, name: str) -> float:
    handle = m.sim.handles[name]
    quat = m.sim.sim.data.xquat[handle.body_id]
    return grasp_yaw(object_yaw(quat), get_category(m.sim.spec.category_of(name)).half_extent)


def move_to(
    m: Motion, target: Callable[[], np.ndarray], yaw: float, gripper: float, tolerance: float = 0.01
) -> Actions:
    """Servo the end effector to a (possibly moving) target point."""
    for _ in range(MAX_STAGE_STEPS):
        point = target()
        if m.reached(point, tolerance):
            return
        yield m.action(point, yaw, gripper)


def hold(m: Motion, target: Callable[[], np.ndarray], yaw: float, gripper: float, until: Callable[[], bool]) -> Actions:
    """Keep commanding ``target`` until ``until()`` holds (checked before each action)."""
    for _ in range(MAX_STAGE_STEPS):
        if until():
            return
        yield m.action(target(), yaw, gripper)


def close_fingers(m: Motion, target: Callable[[], np.ndarray], yaw: float) -> Actions:
    """Close the gripper at ``target`` until the fingers have rested for REST_STEPS steps in a row (squeezing
    the object, or on each other): a pause on first contact is not yet a firm grasp."""
    previous, rested = m.finger_gap(), 0
    for _ in range(MAX_STAGE_STEPS):
        yield m.action(target(), yaw, CLOSE)
        rested = rested + 1 if m.fingers_stopped(previous) else 0
        if rested >= REST_STEPS:
            return
        previous = m.finger_gap()


def while_held(m: Motion, name: str, stage: Actions) -> Actions:
    """Run ``stage`` while the object stays in the gripper; a slip ends it (the expert then re-plans)."""
    for action in stage:
        if not m.sim.grasped(name):
            return
        yield action


def open_fingers(m: Motion, target: Callable[[], np.ndarray], yaw: float) -> Actions:
    """Open the gripper at ``target`` until the fingers are wide apart."""
    yield from hold(m, target, yaw, OPEN, until=lambda: m.finger_gap() > OPEN_GAP)


def carry_height(m: Motion, name: str) -> float:
    """High enough that the held object clears every other object on the table."""
    tallest = max(_top(m, other) for other in m.sim.handles if other != name)
    low, high = m.sim.aabb(name)
    below_gripper = m.sim.eef_pos[2] - low[2]
    return max(tallest, m.sim.table_top_z + 0.05) + CARRY_CLEARANCE + below_gripper


def pick(m: Motion, name: str) -> Actions:
    """# Reach above, descend, grasp, lift; start over if the object is not held after lifting."""
    for _ in range(MAX_PICK_TRIES):
        yaw = _object_yaw(m, name)

        def above() -> np.ndarray:
            return _centre(m, name) + [0, 0, _top(m, name) - _centre(m, name)[2] + APPROACH_HEIGHT]

        # Reach, then turn the wrist to the object's yaw before going down
        yield from move_to(m, above, yaw, OPEN, tolerance=0.015)
        yield from hold(m, above, yaw, OPEN, until=lambda yaw=yaw: m.aligned(yaw))

        # Descend: fingertips a little below the top, or around the middle of a short object
        def grasp_point():
            centre = _centre(m, name)
            depth = min(0.025, (_top(m, name) - centre[2]) + 0.005)
            return np.array([centre[0], centre[1], _top(m, name) - depth])

        yield from move_to(m, grasp_point, yaw, OPEN, tolerance=0.006)
        # Grasp
        here = m.sim.eef_pos.copy()
        yield from close_fingers(m, lambda here=here: here, yaw)
        # Lift
        lift_to = here + [0, 0, 0.1]
        yield from move_to(m, lambda lift_to=lift_to: lift_to, yaw, CLOSE, tolerance=0.02)
        if m.sim.grasped(name):
            return
        yield from open_fingers(m, lambda: m.sim.eef_pos + [0, 0, 0.02], yaw)  # slipped: let go


def place(m: Motion, name: str, target_xy: Callable[[], np.ndarray], release_height: Callable[[], float]) -> Actions:
    """# Move above the target, lower, release, retreat. ``release_height`` is the object's bottom at release."""
    yaw = _object_yaw(m, name)

    def offset() -> np.ndarray:  # from the held object's centre to the gripper
        return m.sim.eef_pos - _centre(m, name)

    carry = carry_height(m, name)
    # Long carries pass over a point nearer the robot, where the arm is far from its joint limits
    start, goal = m.sim.eef_pos[:2].copy(), target_xy() + offset()[:2]
    if np.linalg.norm(goal - start) > LONG_CARRY:
        via = (start + goal) / 2
        via[0] = min(via[0], VIA_X)
        yield from while_held(m, name, move_to(m, lambda: np.array([*via, carry]), yaw, CLOSE, tolerance=0.03))
    # Move above the target
    above = move_to(m, lambda: np.array([*(target_xy() + offset()[:2]), carry]), yaw, CLOSE, tolerance=0.012)
    yield from while_held(m, name, above)
    if not m.sim.grasped(name):
        return  # dropped on the way: the expert picks it up again

    # Lower
    def lowered() -> np.ndarray:
        low, _ = m.sim.aabb(name)
        bottom_to_gripper = m.sim.eef_pos[2] - low[2]
        return np.array([*(target_xy() + offset()[:2]), release_height() + bottom_to_gripper])

    yield from move_to(m, lowered, yaw, CLOSE, tolerance=0.008)
    # Release
    here = m.sim.eef_pos.copy()
    yield from open_fingers(m, lambda: here, yaw)
    # Retreat
    yield from move_to(m, lambda: here + [0, 0, 0.08], yaw, OPEN, tolerance=0.02)


def lift_and_hold(m: Motion, name: str) -> Actions:
    """# Pick, then keep the object raised until the episode ends."""
    yield from pick(m, name)
    yaw = _object_yaw(m, name)
    up = m.sim.eef_pos + [0, 0, 0.06]
    while True:
        yield m.action(up, yaw, CLOSE)


def _lid(m: Motion, box: str) -> tuple[np.ndarray, int]:
    """World position of the lid's hinge axis, and the handle's body id."""
    model = m.sim.sim.model
    joint = model.joint_name2id(f"{box}_{LID_HINGE_JOINT}")
    return m.sim.sim.data.xanchor[joint].copy(), model.body_name2id(f"{box}_handle_main")


def swing_lid(m: Motion, box: str, opening: bool) -> Actions:
    """# Pinch the handle across its width (so it can pivot between the pads), then carry it round the hinge.

    A handle that slips out of the pinch is grasped again.
    """
    hinge, handle = _lid(m, box)
    data = m.sim.sim.data
    goal_angle, step = (LID_SWING_TARGET, 0.3) if opening else (0.0, -0.3)

    def done() -> bool:
        angle = m.sim.joint_angle(box)
        return angle > goal_angle if opening else angle < 0.03

    for _ in range(MAX_PICK_TRIES):
        # Reach above the handle, descend, grasp
        yield from move_to(m, lambda: data.xpos[handle] + [0, 0, 0.07], 0.0, OPEN, tolerance=0.015)
        yield from move_to(m, lambda: data.xpos[handle].copy(), 0.0, OPEN, tolerance=0.008)
        here = m.sim.eef_pos.copy()
        yield from close_fingers(m, lambda here=here: here, 0.0)
        # Swing: lead the handle along its circle about the hinge
        radius = float(np.linalg.norm((here - hinge)[[0, 2]]))
        start = float(np.arctan2(here[2] - hinge[2], hinge[0] - here[0])) - m.sim.joint_angle(box)
        for _ in range(3 * MAX_STAGE_STEPS):
            if done() or not m.sim.in_gripper(box):
                break
            lead = start + m.sim.joint_angle(box) + step
            point = hinge + radius * np.array([-np.cos(lead), 0.0, np.sin(lead)])
            point[1] = here[1]
            yield m.action(point, 0.0, CLOSE)
        # Release and back away from the lid
        back = m.sim.eef_pos.copy()
        yield from open_fingers(m, lambda back=back: back, 0.0)
        yield from move_to(m, lambda back=back: back + [-0.06, 0, 0.06], 0.0, OPEN, tolerance=0.02)
        if done():
            return


def open_lid(m: Motion, box: str) -> Actions:
    yield from swing_lid(m, box, opening=True)


def close_lid(m: Motion, box: str) -> Actions:
    yield from swing_lid(m, box, opening=False)
