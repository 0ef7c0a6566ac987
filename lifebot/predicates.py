"""Goal and initial-state predicates, computed from simulator state.

One registry (:data:`PREDICATES`). Each predicate declares the roles of its arguments, so a spec can be checked
before anything is simulated, and an ``evaluate`` function over a :class:`SceneView`, a read-only view of the
simulation that the environment provides.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np

from lifebot.registry import Registry

# Argument roles a predicate can require: any scene object, one a gripper can hold, one that other objects can
# rest on, an open container, an articulated object, or a named placement region.
Role = Literal["object", "graspable", "support", "container", "articulated", "region"]

# Tolerances, in metres and radians; chosen so that an object resting under gravity satisfies them and one held
# a few centimetres away does not.
CONTACT_GAP = 0.02
LIFT_HEIGHT = 0.05
OPEN_ANGLE = 1.0
CLOSED_ANGLE = 0.1
REST_HEIGHT = 0.02


class SceneView(Protocol):
    """What a predicate may read from the simulation."""

    table_top_z: float

    def aabb(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """World-frame axis-aligned bounding box (low, high) of an object's collision geometry."""

    def region_bounds(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """World-frame (low_xy, high_xy) of a placement region."""

    def joint_angle(self, name: str) -> float:
        """Articulation state of an articulated object (0 = shut)."""

    def touching(self, a: str, b: str) -> bool: ...

    def grasped(self, name: str) -> bool: ...


@dataclass(frozen=True)
class PredicateDef:
    name: str
    roles: tuple[Role, ...]
    evaluate: Callable[..., bool]
    allowed_in_init: bool
    doc: str


PREDICATES: Registry[PredicateDef] = Registry("predicate")


def predicate(name: str, roles: tuple[Role, ...], allowed_in_init: bool = False):
    """Register a predicate's evaluation function under ``name`` with the roles of its arguments."""

    def wrap(fn: Callable[..., bool]) -> Callable[..., bool]:
        PREDICATES.add(name, PredicateDef(name, roles, fn, allowed_in_init, (fn.__doc__ or "").strip()))
        return fn

    return wrap


def _centre(low: np.ndarray, high: np.ndarray) -> np.ndarray:
    return (low + high) / 2.0


def _inside_xy(point: np.ndarray, low: np.ndarray, high: np.ndarray, margin: float = 0.0) -> bool:
    return bool(np.all(point[:2] >= low[:2] + margin) and np.all(point[:2] <= high[:2] - margin))


@predicate("On", ("graspable", "support"), allowed_in_init=True)
def on(view: SceneView, a: str, b: str) -> bool:
    """``a`` rests on top of ``b``: its centre above b's top face, its bottom at b's top, the two in contact."""
    a_low, a_high = view.aabb(a)
    b_low, b_high = view.aabb(b)
    return (
        _inside_xy(_centre(a_low, a_high), b_low, b_high)
        and abs(a_low[2] - b_high[2]) < CONTACT_GAP
        and view.touching(a, b)
    )


@predicate("Stacked", ("graspable", "support"))
def stacked(view: SceneView, a: str, b: str) -> bool:
    """``a`` is on ``b`` and released: the gripper no longer holds it, so the stack stands on its own."""
    return on(view, a, b) and not view.grasped(a)


@predicate("In", ("graspable", "container"), allowed_in_init=True)
def inside(view: SceneView, a: str, container: str) -> bool:
    """``a``'s centre is within the container's walls and its bottom below the rim."""
    a_low, a_high = view.aabb(a)
    c_low, c_high = view.aabb(container)
    return (
        _inside_xy(_centre(a_low, a_high), c_low, c_high, margin=0.01)
        and a_low[2] < c_high[2]
        and a_low[2] > c_low[2] - CONTACT_GAP
    )


@predicate("Lifted", ("graspable",))
def lifted(view: SceneView, a: str) -> bool:
    """``a``'s lowest point is at least LIFT_HEIGHT above the table top."""
    low, _ = view.aabb(a)
    return bool(low[2] > view.table_top_z + LIFT_HEIGHT)


@predicate("InRegion", ("object", "region"), allowed_in_init=True)
def in_region(view: SceneView, a: str, region: str) -> bool:
    """``a``'s centre lies in the region and the object rests on the table (not held above it)."""
    low, high = view.aabb(a)
    r_low, r_high = view.region_bounds(region)
    return _inside_xy(_centre(low, high), r_low, r_high) and bool(low[2] < view.table_top_z + REST_HEIGHT)


@predicate("Open", ("articulated",), allowed_in_init=True)
def is_open(view: SceneView, x: str) -> bool:
    """The articulated object's joint is past OPEN_ANGLE."""
    return view.joint_angle(x) > OPEN_ANGLE


@predicate("Closed", ("articulated",), allowed_in_init=True)
def is_closed(view: SceneView, x: str) -> bool:
    """The articulated object's joint is below CLOSED_ANGLE."""
    return view.joint_angle(x) < CLOSED_ANGLE


_ATOM = re.compile(r"^\s*([A-Za-z_]\w*)\s*\(\s*([^()]*?)\s*\)\s*$")


@dataclass(frozen=True)
class Atom:
    """One predicate applied to named arguments, written ``On(red_cube, plate)`` in spec files."""

    name: str
    args: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.name}({', '.join(self.args)})"

    @classmethod
    def parse(cls, text: str) -> Atom:
        match = _ATOM.match(text)
        if match is None:
            raise ValueError(f"{text!r} is not of the form Name(arg, ...)")
        args = tuple(a.strip() for a in match.group(2).split(",")) if match.group(2) else ()
        if any(not a for a in args):
            raise ValueError(f"{text!r} has an empty argument")
        return cls(match.group(1), args)

    def holds(self, view: SceneView) -> bool:
        return bool(PREDICATES[self.name].evaluate(view, *self.args))
