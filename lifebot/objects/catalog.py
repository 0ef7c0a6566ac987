"""The object catalog: every object category a task spec may name, built on robosuite's object models.

One registry (:data:`CATALOG`). A category carries what the generator and the predicates need to reason about
an object without compiling a model: its nominal size, whether a Panda gripper can grasp it, whether things
can be put on it or in it, and whether it may be used as a fixture (welded to the table).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from lifebot.registry import Registry

if TYPE_CHECKING:
    from robosuite.models.objects import MujocoObject

Kind = Literal["rigid", "container", "articulated"]

COLOURS = {
    "red": (0.85, 0.1, 0.1, 1.0),
    "green": (0.1, 0.7, 0.2, 1.0),
    "blue": (0.1, 0.25, 0.85, 1.0),
    "yellow": (0.95, 0.8, 0.1, 1.0),
}


@dataclass(frozen=True)
class Category:
    """What lifebot knows about one kind of object.

    ``half_extent`` is the axis-aligned half size (x, y, z) when upright, measured from the compiled collision
    geometry (a test keeps the two in step). ``build`` makes a fresh robosuite model with the given (scene-unique) name.
    """

    name: str
    words: str
    kind: Kind
    half_extent: tuple[float, float, float]
    build: Callable[[str, bool], MujocoObject]  # (name, fixed) -> model; fixed models have no free joint
    graspable: bool = True
    supports: bool = False  # other objects can rest on top of it (On / Stacked targets)
    fixture_ok: bool = False  # may be welded to the table
    movable: bool = True  # False: only usable as a fixture

    @property
    def footprint_radius(self) -> float:
        """Radius of the circle around the object's footprint, used for collision-free placement."""
        return float((self.half_extent[0] ** 2 + self.half_extent[1] ** 2) ** 0.5)

    @property
    def height(self) -> float:
        return 2.0 * self.half_extent[2]


CATALOG: Registry[Category] = Registry("object category")


def register(category: Category) -> Category:
    return CATALOG.add(category.name, category)


def get_category(name: str) -> Category:
    return CATALOG[name]


def _robosuite_class(name: str, module: str = "robosuite.models.objects") -> type:
    """robosuite's model classes, imported on first build: reading specs and suites never loads the simulator."""
    return getattr(importlib.import_module(module), name)


def _joints(fixed: bool):
    return None if fixed else "default"


def _box(half, rgba, density=600.0):
    return lambda name, fixed=False: _robosuite_class("BoxObject")(
        name=name, size=list(half), rgba=list(rgba), density=density, joints=_joints(fixed)
    )


def _cylinder(radius, half_height, rgba, density=600.0):
    return lambda name, fixed=False: _robosuite_class("CylinderObject")(
        name=name, size=[radius, half_height], rgba=list(rgba), density=density, joints=_joints(fixed)
    )


def _movable_only(class_name: str):
    """robosuite's XML and composite objects carry their own free joint; they can only be free objects."""

    def build(name: str, fixed: bool = False) -> MujocoObject:
        if fixed:
            raise ValueError(f"{class_name} cannot be welded to the table")
        return _robosuite_class(class_name)(name=name)

    return build


def _basket(name: str, fixed: bool = False) -> MujocoObject:
    if fixed:
        raise ValueError("the basket cannot be welded to the table")
    return _robosuite_class("Bin", "robosuite.models.objects.composite")(
        name=name,
        bin_size=(0.15, 0.15, 0.06),
        wall_thickness=0.01,
        transparent_walls=False,
        density=800.0,
        use_texture=False,
        rgba=(0.55, 0.4, 0.25, 1.0),
    )


def _lidded_box(name: str, fixed: bool = True) -> MujocoObject:
    from lifebot.objects.articulated import LiddedBox

    return LiddedBox(name=name)


for _colour, _rgba in COLOURS.items():
    register(
        Category(
            f"{_colour}_cube", f"{_colour} cube", "rigid", (0.02, 0.02, 0.02), _box((0.02,) * 3, _rgba), supports=True
        )
    )
for _colour in ("red", "blue", "green"):
    _half = (0.025, 0.025, 0.025)
    register(
        Category(
            f"big_{_colour}_cube", f"big {_colour} cube", "rigid", _half, _box(_half, COLOURS[_colour]), supports=True
        )
    )
for _colour in ("yellow", "green"):
    _half = (0.045, 0.02, 0.02)
    register(Category(f"{_colour}_block", f"{_colour} block", "rigid", _half, _box(_half, COLOURS[_colour])))
for _colour in ("red", "blue"):
    register(
        Category(
            f"{_colour}_cylinder",
            f"{_colour} cylinder",
            "rigid",
            (0.02, 0.02, 0.035),
            _cylinder(0.02, 0.035, COLOURS[_colour]),
        )
    )

register(Category("can", "can", "rigid", (0.026, 0.026, 0.04), _movable_only("CanObject")))
register(Category("milk", "milk carton", "rigid", (0.02, 0.02, 0.072), _movable_only("MilkObject")))
register(Category("bread", "bread", "rigid", (0.024, 0.02, 0.024), _movable_only("BreadObject")))
register(
    Category("cereal", "cereal box", "rigid", (0.05, 0.015, 0.075), _movable_only("CerealObject"), graspable=False)
)
register(Category("lemon", "lemon", "rigid", (0.035, 0.02, 0.022), _movable_only("LemonObject")))
register(Category("bottle", "bottle", "rigid", (0.028, 0.029, 0.08), _movable_only("BottleObject"), graspable=False))

register(
    Category(
        "plate",
        "plate",
        "rigid",
        (0.075, 0.075, 0.008),
        _cylinder(0.075, 0.008, (0.92, 0.92, 0.9, 1.0), density=1500),
        graspable=False,
        supports=True,
        fixture_ok=True,
    )
)
register(Category("basket", "basket", "container", (0.075, 0.075, 0.03), _basket, graspable=False))
register(
    Category(
        "lidded_box",
        "box",
        "articulated",
        (0.092, 0.06, 0.045),
        _lidded_box,
        graspable=False,
        fixture_ok=True,
        movable=False,
    )
)
