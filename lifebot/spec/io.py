"""Reading, validating and writing task specs (JSON or YAML).

Every problem with a spec file surfaces as one :class:`SpecError` naming the file, the field and the problem,
raised before any model is built. Files are read as bounded data: at most :data:`MAX_SPEC_BYTES`, nesting at most
:data:`MAX_DEPTH`, no YAML aliases (a 404-byte "billion laughs" file expands to gigabytes), no repeated keys;
values quoted in messages are clipped, and validation takes time linear in the size of the spec.
"""

from __future__ import annotations

import json
import math
import re
import reprlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from lifebot.jsonio import check_depth, parse_json, read_text
from lifebot.objects.catalog import CATALOG
from lifebot.predicates import POSITIONS, PREDICATES, Atom
from lifebot.spec.model import SPEC_SCHEMA_VERSION, ObjectSpec, Region, Scene, TaskSpec

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")
_OBJECT_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
MAX_SPEC_BYTES = 1 << 20
MAX_DEPTH = 16
_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxlist, _REPR.maxtuple, _REPR.maxdict = 2, 4, 4, 4
_REPR.maxstring, _REPR.maxother, _REPR.maxlong = 60, 60, 40


def short(value: Any) -> str:
    """A repr of ``value`` bounded in time and length, however large or deeply shared the value is."""
    text = _REPR.repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


class SpecError(ValueError):
    """A task spec that cannot be used; says where (file, field) and what is wrong."""

    def __init__(self, source: str, field: str, problem: str):
        self.source, self.field, self.problem = source, field, problem
        super().__init__(f"{source}: {field}: {problem}")


class _Reader:
    """Typed access to raw spec data that turns every mismatch into a SpecError with the field's path."""

    def __init__(self, source: str):
        self.source = source

    def fail(self, field: str, problem: str) -> SpecError:
        return SpecError(self.source, field, problem)

    def mapping(self, value: Any, field: str, allowed: set[str]) -> dict:
        if not isinstance(value, dict):
            raise self.fail(field, f"expected a mapping, got {type(value).__name__}")
        unknown = sorted(set(value) - allowed)
        if unknown:
            raise self.fail(f"{field}.{unknown[0]}" if field else unknown[0], "unknown field")
        return value

    def string(self, value: Any, field: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(field, f"expected a non-empty string, got {short(value)}")
        return value

    def number(self, value: Any, field: str) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise self.fail(field, f"expected a finite number, got {short(value)}")
        return float(value)

    def integer(self, value: Any, field: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(field, f"expected an integer, got {short(value)}")
        return value

    def numbers(self, value: Any, field: str, length: int) -> tuple[float, ...]:
        if not isinstance(value, (list, tuple)) or len(value) != length:
            raise self.fail(field, f"expected a list of {length} numbers, got {short(value)}")
        return tuple(self.number(v, f"{field}[{i}]") for i, v in enumerate(value))

    def items(self, value: Any, field: str) -> list:
        if not isinstance(value, (list, tuple)):
            raise self.fail(field, f"expected a list, got {type(value).__name__}")
        return list(value)


def spec_from_dict(data: Any, source: str = "<spec>") -> TaskSpec:
    """Build and validate a TaskSpec from plain data (as read from JSON or YAML)."""
    r = _Reader(source)
    fields = {
        "schema_version",
        "suite",
        "name",
        "instruction",
        "scene",
        "fixtures",
        "objects",
        "regions",
        "init",
        "goal",
        "horizon",
    }
    data = r.mapping(data, "", fields)
    version = data.get("schema_version", SPEC_SCHEMA_VERSION)
    if version != SPEC_SCHEMA_VERSION:
        raise r.fail(
            "schema_version", f"unsupported version {short(version)} (this lifebot reads {SPEC_SCHEMA_VERSION})"
        )
    for required in ("suite", "name", "instruction", "goal"):
        if required not in data:
            raise r.fail(required, "missing")

    name = r.string(data["name"], "name")
    if not _NAME.match(name):
        raise r.fail("name", f"{short(name)} must be alphanumeric CamelCase (it becomes part of a gymnasium ID)")
    suite = r.string(data["suite"], "suite")
    if not _NAME.match(suite):
        raise r.fail("suite", f"{short(suite)} must be alphanumeric")

    raw_scene = r.mapping(data.get("scene", {}), "scene", {"arena", "table_full_size", "table_height"})
    scene = Scene(
        arena=r.string(raw_scene.get("arena", "table"), "scene.arena"),
        table_full_size=r.numbers(raw_scene.get("table_full_size", Scene.table_full_size), "scene.table_full_size", 3),
        table_height=r.number(raw_scene.get("table_height", Scene.table_height), "scene.table_height"),
    )
    if scene.arena != "table":
        raise r.fail("scene.arena", f"unknown arena {short(scene.arena)}; known: table")
    if any(v <= 0 for v in scene.table_full_size):
        raise r.fail("scene.table_full_size", "sizes must be positive")

    def object_list(key: str) -> tuple[ObjectSpec, ...]:
        out = []
        for i, raw in enumerate(r.items(data.get(key, []), key)):
            f = f"{key}[{i}]"
            raw = r.mapping(raw, f, {"name", "category"})
            obj_name = r.string(raw.get("name"), f"{f}.name")
            if not _OBJECT_NAME.match(obj_name):
                raise r.fail(f"{f}.name", f"{short(obj_name)} must be lower_snake_case")
            category = r.string(raw.get("category"), f"{f}.category")
            if category not in CATALOG:
                raise r.fail(f"{f}.category", f"unknown object category {short(category)}")
            if key == "fixtures" and not CATALOG[category].fixture_ok:
                raise r.fail(f"{f}.category", f"category {short(category)} cannot be a fixture")
            if key == "objects" and not CATALOG[category].movable:
                raise r.fail(f"{f}.category", f"category {short(category)} can only be a fixture")
            out.append(ObjectSpec(obj_name, category))
        return tuple(out)

    fixtures, objects = object_list("fixtures"), object_list("objects")
    names = [o.name for o in fixtures + objects]
    duplicates = sorted(n for n, count in Counter(names).items() if count > 1)
    if duplicates:
        raise r.fail("objects", f"object name {short(duplicates[0])} is used twice")
    used = set(names)

    half_x, half_y = scene.table_full_size[0] / 2, scene.table_full_size[1] / 2
    regions = []
    for i, raw in enumerate(r.items(data.get("regions", []), "regions")):
        f = f"regions[{i}]"
        raw = r.mapping(raw, f, {"name", "center", "half_size"})
        region = Region(
            name=r.string(raw.get("name"), f"{f}.name"),
            center=r.numbers(raw.get("center"), f"{f}.center", 2),
            half_size=r.numbers(raw.get("half_size"), f"{f}.half_size", 2),
        )
        if any(h <= 0 for h in region.half_size):
            raise r.fail(f"{f}.half_size", "half sizes must be positive")
        if region.low[0] < -half_x or region.high[0] > half_x or region.low[1] < -half_y or region.high[1] > half_y:
            raise r.fail(
                f,
                f"region {short(region.name)} spans {region.low}..{region.high}, "
                f"outside the table (±{half_x}, ±{half_y})",
            )
        if region.name in used:
            raise r.fail(f"{f}.name", f"name {short(region.name)} is already used")
        used.add(region.name)
        regions.append(region)

    scope = _Scope(
        objects={o.name: CATALOG[o.category] for o in fixtures + objects},
        fixtures={o.name for o in fixtures},
        regions={g.name for g in regions},
    )
    init = tuple(
        _atom(r, raw, f"init[{i}]", scope, in_init=True) for i, raw in enumerate(r.items(data.get("init", []), "init"))
    )
    goal = tuple(
        _atom(r, raw, f"goal[{i}]", scope, in_init=False) for i, raw in enumerate(r.items(data["goal"], "goal"))
    )
    if not goal:
        raise r.fail("goal", "the goal is empty; a task needs at least one goal predicate")
    placed = {a.args[0] for a in init if a.definition.placement in POSITIONS}
    for i, obj in enumerate(fixtures + objects):
        if obj.name not in placed:
            where = f"fixtures[{i}]" if i < len(fixtures) else f"objects[{i - len(fixtures)}]"
            raise r.fail(where, f"{short(obj.name)} has no placement in init ({_placers(*POSITIONS)})")
    fixture_names = {o.name for o in fixtures}
    for i, atom in enumerate(init):
        if atom.args[0] in fixture_names and atom.definition.placement in ("top", "floor"):
            raise r.fail(f"init[{i}]", f"fixture {short(atom.args[0])} can only be placed with {_placers('region')}")

    horizon = r.integer(data.get("horizon", TaskSpec.horizon), "horizon")
    if horizon <= 0:
        raise r.fail("horizon", f"must be positive, got {horizon}")
    return TaskSpec(
        suite=suite,
        name=name,
        instruction=r.string(data["instruction"], "instruction"),
        scene=scene,
        fixtures=fixtures,
        objects=objects,
        regions=tuple(regions),
        init=init,
        goal=goal,
        horizon=horizon,
    )


def _placers(*placements: str) -> str:
    """The predicates whose init atoms make these placements, for an error message: "On, In or InRegion"."""
    names = [p.name for p in PREDICATES.values() if p.placement in placements]
    return " or ".join(filter(None, [", ".join(names[:-1]), names[-1]]))


@dataclass(frozen=True)
class _Scope:
    """The names a predicate may refer to, built once per spec (so checking N atoms is linear, not N × objects)."""

    objects: dict
    fixtures: set[str]
    regions: set[str]


def _atom(r: _Reader, raw: Any, field: str, scope: _Scope, in_init: bool) -> Atom:
    text = r.string(raw, field)
    try:
        atom = Atom.parse(text)
    except ValueError as exc:
        raise r.fail(field, str(exc)[:200]) from None
    definition = PREDICATES.get(atom.name)
    if definition is None:
        raise r.fail(field, f"unknown predicate {short(atom.name)}; known: {', '.join(sorted(PREDICATES))}")
    if in_init and not definition.allowed_in_init:
        raise r.fail(field, f"{atom.name} cannot be an initial condition")
    if len(atom.args) != len(definition.roles):
        raise r.fail(field, f"{atom.name} takes {len(definition.roles)} argument(s), got {len(atom.args)}")
    objects, fixtures, regions = scope.objects, scope.fixtures, scope.regions
    for arg, role in zip(atom.args, definition.roles, strict=True):
        if role == "region":
            if arg not in regions:
                raise r.fail(field, f"{short(arg)} is not a region of this task")
            continue
        if arg not in objects:
            raise r.fail(field, f"{short(arg)} is not an object in the scene")
        category = objects[arg]
        problem = {
            "graspable": None if category.graspable and arg not in fixtures else "cannot be grasped",
            "support": None if category.supports else "is not something objects can rest on",
            "container": None if category.kind == "container" else "is not a container",
            "articulated": None if category.kind == "articulated" else "is not an articulated object",
            "object": None,
        }[role]
        if problem:
            raise r.fail(field, f"{short(arg)} ({category.name}) {problem}, as {atom.name} requires")
    return atom


class _BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader without aliases, repeated keys or nesting beyond MAX_DEPTH."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.YAMLError(f"aliases are not allowed (*{event.anchor[:40]} at line {event.start_mark.line + 1})")
        self._depth = getattr(self, "_depth", 0) + 1
        try:
            check_depth(self._depth, MAX_DEPTH, "a spec")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.YAMLError(
                    f"key {short(key)} appears twice in one mapping (line {key_node.start_mark.line + 1})"
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _read_data(path: Path) -> Any:
    kind = path.suffix.lstrip(".").upper()
    try:
        text = read_text(path, MAX_SPEC_BYTES, "a spec")
        if path.suffix in (".yaml", ".yml"):
            try:
                return yaml.load(text, Loader=_BoundedLoader)  # noqa: S506 - a SafeLoader subclass
            except yaml.YAMLError as exc:
                raise ValueError(f"is not valid {kind}: {str(exc)[:300]}") from None
        return parse_json(text, MAX_DEPTH, "a spec")
    except (ValueError, RecursionError) as exc:
        raise SpecError(str(path), "<file>", str(exc) if isinstance(exc, ValueError) else "nests too deep") from None


def load_spec(path: str | Path) -> TaskSpec:
    """Read a task spec from a .json, .yaml or .yml file, validated."""
    path = Path(path)
    return spec_from_dict(_read_data(path), source=str(path))


def dump_spec(spec: TaskSpec, path: str | Path) -> None:
    """Write a spec as JSON or YAML (by suffix); reading it back gives an equal spec."""
    path = Path(path)
    data = spec.to_dict()
    if path.suffix in (".yaml", ".yml"):
        path.write_text(yaml.safe_dump(data, sort_keys=False))
    else:
        path.write_text(json.dumps(data, indent=2) + "\n")
