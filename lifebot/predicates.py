"""Goal and initial-state predicates, computed from simulator state.

One registry (:data:`PREDICATES`), and one declaration per predicate holding everything lifebot needs of it
(:class:`PredicateDef`): the roles of its arguments, so a spec can be checked before anything is simulated; an
``evaluate`` function over a :class:`SceneView`, a read-only view of the simulation that the environment
provides; and the facts its other users read: the instruction template (:mod:`lifebot.suites.language`), the
horizon per stage and which goals a generated scene proposes (:mod:`lifebot.suites.families`), how an init atom
places things (:mod:`lifebot.envs.task_env`), the dense-reward shaping (:data:`lifebot.envs.rewards.SHAPINGS`)
and the scripted expert's solver (:data:`lifebot.experts.registry.SOLVERS`), the last two by name so this module
imports neither the simulator nor torch.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol

import numpy as np

from lifebot.registry import Registry

if TYPE_CHECKING:
    from lifebot.objects.catalog import Category

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
# Objects whose footprint fits the basket (inner half width 0.065 m) with room to spare.
CONTAINER_FIT_RADIUS = 0.048

# What an init atom does to set up a scene: put its object in a region of the table, on top of or inside
# another object, or set an articulated object open or shut. A predicate without one is a goal only.
Placement = Literal["region", "top", "floor", "open", "shut"]
POSITIONS: tuple[Placement, ...] = ("region", "top", "floor")  # the placements that say where an object starts


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
    """Everything lifebot needs of one predicate, declared once with :func:`predicate`."""

    name: str
    roles: tuple[Role, ...]
    evaluate: Callable[..., bool]
    doc: str
    template: str
    """The instruction phrase, ``str.format``-ed with the words of the arguments: "put the {0} on the {1}"."""
    horizon: int
    """Steps one goal stage of this predicate gets in a generated task (a task's horizon is the stages' sum)."""
    shaping: str
    """Name of its dense-reward shaping in :data:`lifebot.envs.rewards.SHAPINGS`."""
    solver: str
    """Name of the scripted expert's skill for it in :data:`lifebot.experts.registry.SOLVERS`."""
    placement: Placement | None
    """What it does as an init atom (see :data:`Placement`); None: it may only be a goal."""
    referred_template: str | None = None
    """The phrase when the moved object is named by a relation ("the red cube left of the can"): pick, then place."""
    propose: Callable[..., bool] | None = None
    """Whether a generated scene proposes it as a goal, given the categories of its object arguments (regions
    left out); None: never proposed."""
    while_held: bool = False
    """It holds only while the gripper holds the object, so it cannot share a multi-stage goal."""
    exclusive: bool = False
    """Its last argument takes one object: two stages may not send different objects there."""

    @property
    def allowed_in_init(self) -> bool:
        return self.placement is not None


PREDICATES: Registry[PredicateDef] = Registry("predicate")


def predicate(name: str, roles: tuple[Role, ...], **facts: Any):
    """Register a predicate's evaluation function under ``name``, with the roles of its arguments and the
    other fields of its :class:`PredicateDef` (``template``, ``horizon``, ``shaping``, ``solver``, ``placement``
    are required)."""

    def wrap(fn: Callable[..., bool]) -> Callable[..., bool]:
        PREDICATES.add(name, PredicateDef(name, roles, fn, (fn.__doc__ or "").strip(), **facts))
        return fn

    return wrap


def _centre(low: np.ndarray, high: np.ndarray) -> np.ndarray:
    return (low + high) / 2.0


def _inside_xy(point: np.ndarray, low: np.ndarray, high: np.ndarray, margin: float = 0.0) -> bool:
    return bool(np.all(point[:2] >= low[:2] + margin) and np.all(point[:2] <= high[:2] - margin))


def _stackable(top: Category, bottom: Category) -> bool:
    """Only cubes on cubes no smaller than themselves: a stable stack that a top-down grasp can build."""
    is_cube = len(set(top.half_extent)) == 1 and len(set(bottom.half_extent)) == 1
    return is_cube and bottom.half_extent[0] >= top.half_extent[0]


def _always(*categories: Category) -> bool:
    return True


@predicate(
    "On",
    ("graspable", "support"),
    template="put the {0} on the {1}",
    referred_template="pick up the {0} and place it on the {1}",
    horizon=300,
    shaping="onto",
    solver="put_on",
    placement="top",
    propose=lambda thing, target: target.name == "plate",
    exclusive=True,
)
def on(view: SceneView, a: str, b: str) -> bool:
    """``a`` rests on top of ``b``: its centre above b's top face, its bottom at b's top, the two in contact."""
    a_low, a_high = view.aabb(a)
    b_low, b_high = view.aabb(b)
    return (
        _inside_xy(_centre(a_low, a_high), b_low, b_high)
        and abs(a_low[2] - b_high[2]) < CONTACT_GAP
        and view.touching(a, b)
    )


@predicate(
    "Stacked",
    ("graspable", "support"),
    template="stack the {0} on the {1}",
    horizon=300,
    shaping="onto",
    solver="put_on",
    placement=None,
    propose=lambda thing, target: target.supports and target.movable and _stackable(thing, target),
    exclusive=True,
)
def stacked(view: SceneView, a: str, b: str) -> bool:
    """``a`` is on ``b`` and released: the gripper no longer holds it, so the stack stands on its own."""
    return on(view, a, b) and not view.grasped(a)


@predicate(
    "In",
    ("graspable", "container"),
    template="put the {0} in the {1}",
    referred_template="pick up the {0} and place it in the {1}",
    horizon=300,
    shaping="onto",
    solver="put_in",
    placement="floor",
    propose=lambda thing, target: (
        target.kind == "container" and thing.movable and thing.footprint_radius < CONTAINER_FIT_RADIUS
    ),
)
def inside(view: SceneView, a: str, container: str) -> bool:
    """``a``'s centre is within the container's walls and its bottom below the rim."""
    a_low, a_high = view.aabb(a)
    c_low, c_high = view.aabb(container)
    return (
        _inside_xy(_centre(a_low, a_high), c_low, c_high, margin=0.01)
        and a_low[2] < c_high[2]
        and a_low[2] > c_low[2] - CONTACT_GAP
    )


@predicate(
    "Lifted",
    ("graspable",),
    template="pick up the {0} and lift it",
    horizon=200,
    shaping="lift",
    solver="lift",
    placement=None,
    propose=_always,
    while_held=True,
)
def lifted(view: SceneView, a: str) -> bool:
    """``a``'s lowest point is at least LIFT_HEIGHT above the table top."""
    low, _ = view.aabb(a)
    return bool(low[2] > view.table_top_z + LIFT_HEIGHT)


@predicate(
    "InRegion",
    ("object", "region"),
    template="move the {0} to the {1} of the table",
    horizon=300,
    shaping="to_region",
    solver="put_in_region",
    placement="region",
    propose=_always,
    exclusive=True,
)
def in_region(view: SceneView, a: str, region: str) -> bool:
    """``a``'s centre lies in the region and the object rests on the table (not held above it)."""
    low, high = view.aabb(a)
    r_low, r_high = view.region_bounds(region)
    return _inside_xy(_centre(low, high), r_low, r_high) and bool(low[2] < view.table_top_z + REST_HEIGHT)


@predicate(
    "Open",
    ("articulated",),
    template="open the {0}",
    horizon=250,
    shaping="open",
    solver="open",
    placement="open",
    propose=_always,
)
def is_open(view: SceneView, x: str) -> bool:
    """The articulated object's joint is past OPEN_ANGLE."""
    return view.joint_angle(x) > OPEN_ANGLE


@predicate(
    "Closed",
    ("articulated",),
    template="close the {0}",
    horizon=250,
    shaping="close",
    solver="close",
    placement="shut",
)
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

    @property
    def definition(self) -> PredicateDef:
        """The predicate's declaration (the registry's error names the known ones if there is none)."""
        return PREDICATES[self.name]

    def holds(self, view: SceneView) -> bool:
        return bool(self.definition.evaluate(view, *self.args))
