"""The task specification: a frozen dataclass tree that is the single source of truth for a task.

Everything the environment builds, the generator emits and the suite files store is one of these. Its identity
is the hash of its canonical JSON (:func:`task_id`), so two specs that would build the same task share an ID.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from functools import cached_property

from lifebot.predicates import Atom

SPEC_SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Scene:
    """The arena: a table whose top centre is the origin of every region's coordinates."""

    arena: str = "table"
    """The arena; ``table`` is the only one."""
    table_full_size: tuple[float, float, float] = (0.8, 0.8, 0.05)
    """Table size (x, y, thickness) in metres; regions must lie within its top."""
    table_height: float = 0.8
    """Height of the table top above the floor, in metres."""


@dataclass(frozen=True)
class ObjectSpec:
    """A named instance of a catalog category; names are unique within a task."""

    name: str
    """lower_snake_case, unique within the task; predicates refer to the object by it."""
    category: str
    """An object category of the catalog (``lifebot task describe`` lists them)."""


@dataclass(frozen=True)
class Region:
    """An axis-aligned rectangle on the table top, in table coordinates (metres, +x away from the robot)."""

    name: str
    """Unique among objects and regions; ``InRegion(obj, region)`` refers to it."""
    center: tuple[float, float]
    """Centre (x, y) in metres from the table-top centre; +x points away from the robot."""
    half_size: tuple[float, float]
    """Half extents (x, y) in metres; the whole rectangle must lie on the table."""

    @property
    def low(self) -> tuple[float, float]:
        return (self.center[0] - self.half_size[0], self.center[1] - self.half_size[1])

    @property
    def high(self) -> tuple[float, float]:
        return (self.center[0] + self.half_size[0], self.center[1] + self.half_size[1])


@dataclass(frozen=True)
class TaskSpec:
    """A manipulation task: what is on the table, where it starts, and the conjunction that counts as success.

    ``fixtures`` are welded to the table at their region's centre (the model changes with them); ``objects``
    are free bodies re-placed at every reset inside their ``InRegion`` (or on top of their ``On``/``In``
    support). ``goal`` is a conjunction: the task succeeds when every atom holds.
    """

    suite: str
    """Alphanumeric name of the suite the task belongs to (part of its gymnasium ID)."""
    name: str
    """CamelCase alphanumeric task name (part of its gymnasium ID)."""
    instruction: str
    """The language instruction the agent is given."""
    scene: Scene = field(default_factory=Scene)
    """The arena and table (optional)."""
    fixtures: tuple[ObjectSpec, ...] = ()
    """Objects welded to the table at their region's centre; only categories that may be fixtures."""
    objects: tuple[ObjectSpec, ...] = ()
    """Free objects, placed anew at every reset."""
    regions: tuple[Region, ...] = ()
    """Named rectangles on the table top, where ``init`` places things and ``InRegion`` goals point."""
    init: tuple[Atom, ...] = ()
    """Initial-state predicates; every object needs a placement here (``InRegion``, ``On`` or ``In``)."""
    goal: tuple[Atom, ...] = ()
    """Required in a file: a conjunction of predicates (at least one); the episode succeeds when all hold."""
    horizon: int = 300
    """Control steps (20 Hz) before the episode is truncated."""

    @property
    def all_objects(self) -> tuple[ObjectSpec, ...]:
        return self.fixtures + self.objects

    def category_of(self, name: str) -> str:
        for obj in self.all_objects:
            if obj.name == name:
                return obj.category
        raise KeyError(f"task {self.name!r} has no object named {name!r}")

    def region(self, name: str) -> Region:
        for region in self.regions:
            if region.name == name:
                return region
        raise KeyError(f"task {self.name!r} has no region named {name!r}")

    def to_dict(self) -> dict:
        """Plain JSON-ready data; predicates are written in their ``Name(arg, ...)`` form."""
        data = asdict(self)
        data["init"] = [str(a) for a in self.init]
        data["goal"] = [str(a) for a in self.goal]
        # Through JSON once so tuples become lists: the result is exactly what a file holds.
        return json.loads(json.dumps({"schema_version": SPEC_SCHEMA_VERSION, **data}))

    def canonical_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    @cached_property
    def task_id(self) -> str:
        """Content hash of the canonical JSON: the task's identity across files and machines."""
        return hashlib.sha256(self.canonical_json().encode()).hexdigest()[:16]

    @property
    def goal_objects(self) -> tuple[str, ...]:
        """Object names mentioned by the goal, in order of first mention (regions excluded)."""
        names = {o.name for o in self.all_objects}
        seen: list[str] = []
        for atom in self.goal:
            for arg in atom.args:
                if arg in names and arg not in seen:
                    seen.append(arg)
        return tuple(seen)
