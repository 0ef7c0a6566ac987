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
    table_full_size: tuple[float, float, float] = (0.8, 0.8, 0.05)
    table_height: float = 0.8


@dataclass(frozen=True)
class ObjectSpec:
    """A named instance of a catalog category; names are unique within a task."""

    name: str
    category: str


@dataclass(frozen=True)
class Region:
    """An axis-aligned rectangle on the table top, in table coordinates (metres, +x away from the robot)."""

    name: str
    center: tuple[float, float]
    half_size: tuple[float, float]

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
    name: str
    instruction: str
    scene: Scene = field(default_factory=Scene)
    fixtures: tuple[ObjectSpec, ...] = ()
    objects: tuple[ObjectSpec, ...] = ()
    regions: tuple[Region, ...] = ()
    init: tuple[Atom, ...] = ()
    goal: tuple[Atom, ...] = ()
    horizon: int = 300

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
