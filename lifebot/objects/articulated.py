"""Articulated fixtures composed from robosuite primitives.

robosuite's ``HingedBoxObject`` always carries a free joint, so a gripper pulling its lid drags the whole box.
A fixture must stay put, so this variant is welded to the world (no free joint) and has a handle on the lid's
free edge that a parallel gripper can pinch.
"""

from __future__ import annotations

import numpy as np
from robosuite.models.objects import BoxObject, CompositeBodyObject
from robosuite.utils.mjcf_utils import array_to_string

LID_HINGE_JOINT = "lid_hinge"
LID_OPEN_RANGE = (0.0, 1.9)


class LiddedBox(CompositeBodyObject):
    """A box with a lid hinged on its far (+x) edge; the lid opens towards the robot's side upwards.

    The joint angle is the articulation state: 0 is shut, positive angles open the lid.
    """

    def __init__(
        self,
        name: str,
        base_half_size=(0.05, 0.06, 0.035),
        lid_half_thickness: float = 0.008,
        base_rgba=(0.55, 0.35, 0.2, 1.0),
        lid_rgba=(0.75, 0.55, 0.3, 1.0),
    ):
        base_half = np.asarray(base_half_size, dtype=float)
        lid_half = np.array([base_half[0], base_half[1], lid_half_thickness])
        handle_half = np.array([0.022, 0.025, 0.008])  # sticks out 4 cm: room for a fingertip underneath
        base = BoxObject(name="base", size=base_half, rgba=list(base_rgba), density=2000)
        lid = BoxObject(name="lid", size=lid_half, rgba=list(lid_rgba), density=300, friction=[1.0, 0.005, 0.0001])
        handle = BoxObject(name="handle", size=handle_half, rgba=[0.2, 0.2, 0.2, 1], density=300)
        hinge_in_lid = [lid_half[0], 0.0, -lid_half[2]]
        hinge = {
            "name": LID_HINGE_JOINT,
            "type": "hinge",
            "axis": "0 1 0",
            "pos": array_to_string(hinge_in_lid),
            "limited": "true",
            "range": f"{LID_OPEN_RANGE[0]} {LID_OPEN_RANGE[1]}",
            "damping": "0.05",
            "frictionloss": "0.05",  # holds the lid (about 0.03 N·m of gravity) where it is left
        }
        super().__init__(
            name=name,
            objects=[base, lid, handle],
            object_locations=[
                np.zeros(3),
                np.array([0.0, 0.0, base_half[2] + lid_half[2]]),
                np.array([-lid_half[0] - handle_half[0] + 0.002, 0.0, 0.0]),
            ],
            object_parents=[None, base.root_body, lid.root_body],
            joints=None,
            body_joints={lid.root_body: [hinge]},
        )
