"""Suite families: seeded generators of task specs, one registry (:data:`FAMILIES`).

Each family makes the spec for task slot ``k`` from a generator seeded by (suite seed, family, k, attempt), so
a task depends only on its own slot and on the tasks before it (a duplicate instruction is resampled). Shared
structure (the one scene of the ``goal`` family, the relation list of ``spatial``) comes from a context built
once per suite from its own seeded generator.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from lifebot.objects.catalog import CATALOG
from lifebot.predicates import CONTAINER_FIT_RADIUS, PREDICATES, Atom
from lifebot.registry import Registry
from lifebot.spec.model import ObjectSpec, TaskSpec
from lifebot.suites.language import instruction_for, task_name
from lifebot.suites.layout import (
    AREAS,
    CLEARANCE,
    TABLE_AREA_HIGH,
    TABLE_AREA_LOW,
    WORKSPACE_HIGH,
    WORKSPACE_LOW,
    Layout,
    LayoutFull,
)

GRASPABLE = tuple(sorted(name for name, c in CATALOG.items() if c.graspable and c.movable))
FITS_BASKET = tuple(name for name in GRASPABLE if CATALOG[name].footprint_radius < CONTAINER_FIT_RADIUS)


@dataclass(frozen=True)
class Family:
    name: str
    size: int
    make_context: Callable[[np.random.Generator], Any]
    make_task: Callable[[np.random.Generator, int, int, Any], TaskSpec]
    doc: str


FAMILIES: Registry[Family] = Registry("suite family", plugins="lifebot.families")


def family(name: str, size: int, context: Callable[[np.random.Generator], Any] = lambda rng: None):
    """Register a family's task maker ``make_task(rng, slot, attempt, context) -> TaskSpec``.

    It may raise LayoutFull; the generator then retries the slot with the next attempt's generator.
    """

    def wrap(fn):
        FAMILIES.add(name, Family(name, size, context, fn, (fn.__doc__ or "").strip()))
        return fn

    return wrap


def build_spec(
    suite: str,
    goal: tuple[Atom, ...],
    objects: list[ObjectSpec],
    fixtures: list[ObjectSpec],
    layout: Layout,
    extra_init: tuple[Atom, ...] = (),
    overrides: dict[str, str] | None = None,
) -> TaskSpec:
    categories = {o.name: o.category for o in objects + fixtures}
    instruction = instruction_for(goal, categories, overrides)
    start = {r.name.removesuffix("_start"): r.name for r in layout.regions if r.name.endswith("_start")}
    init = tuple(Atom("InRegion", (o.name, start[o.name])) for o in fixtures + objects) + extra_init
    return TaskSpec(
        suite=suite,
        name=task_name(instruction),
        instruction=instruction,
        fixtures=tuple(fixtures),
        objects=tuple(objects),
        regions=tuple(layout.regions),
        init=init,
        goal=goal,
        horizon=sum(a.definition.horizon for a in goal),
    )


def pick(items: list, slot: int, attempt: int, patience: int = 20):
    """The slot's own item; after ``patience`` failed attempts, move on to items no earlier slot was given."""
    return items[slot % len(items)] if attempt < patience else items[(slot + attempt) % len(items)]


# ----------------------------------------------------------------------------------------------- spatial
RELATIONS = {"left of": (0.0, 1.0), "right of": (0.0, -1.0), "behind": (1.0, 0.0), "in front of": (-1.0, 0.0)}
SPATIAL_REFERENCES = ("plate", "can", "lemon", "basket")


def _spatial_context(rng: np.random.Generator) -> list[tuple[str, str]]:
    combos = [(relation, reference) for relation in RELATIONS for reference in SPATIAL_REFERENCES]
    return [combos[i] for i in rng.permutation(len(combos))]


@family("spatial", size=10, context=_spatial_context)
def spatial(rng: np.random.Generator, slot: int, attempt: int, combos: list[tuple[str, str]]) -> TaskSpec:
    """Same objects in every task (two identical red cubes among others); the layout differs, and the cube to
    move is named by its spatial relation to another object."""
    relation, reference = pick(combos, slot, attempt)
    fixtures = [ObjectSpec("plate", "plate")]
    objects = [
        ObjectSpec("red_cube_1", "red_cube"),
        ObjectSpec("red_cube_2", "red_cube"),
        ObjectSpec("can", "can"),
        ObjectSpec("lemon", "lemon"),
        ObjectSpec("basket", "basket"),
    ]
    categories = {o.name: o.category for o in objects + fixtures}
    layout = Layout(rng)
    ref_region = layout.add(reference, categories[reference], reach=reference == "plate")
    direction = np.array(RELATIONS[relation])
    ref_centre = np.array(ref_region.center)
    gap = Layout.radius(categories[reference]) + Layout.radius("red_cube") + CLEARANCE + 0.005
    target = ref_centre + direction * gap
    if np.any(target < WORKSPACE_LOW) or np.any(target > WORKSPACE_HIGH):
        raise LayoutFull("target outside the workspace")
    layout.add("red_cube_1", "red_cube", centre=target)
    for _ in range(300):  # the distractor cube must not satisfy the relation: opposite side, well away
        candidate = rng.uniform(TABLE_AREA_LOW, TABLE_AREA_HIGH)
        offset = candidate - ref_centre
        if np.dot(offset, direction) < -0.02 and np.linalg.norm(offset) > gap + 0.06:
            try:
                layout.add("red_cube_2", "red_cube", centre=candidate)
                break
            except LayoutFull:
                continue
    else:
        raise LayoutFull("no place for the distractor cube")
    for obj in fixtures + objects:
        if obj.name not in (reference, "red_cube_1", "red_cube_2"):
            layout.add(obj.name, obj.category, reach=obj.name == "plate")
    words = f"red cube {relation} the {CATALOG[categories[reference]].words}"
    goal = (Atom("On", ("red_cube_1", "plate")),)
    return build_spec("spatial", goal, objects, fixtures, layout, overrides={"red_cube_1": words})


# ----------------------------------------------------------------------------------------------- object
@family("object", size=10, context=lambda rng: [FITS_BASKET[i] for i in rng.permutation(len(FITS_BASKET))])
def object_family(rng: np.random.Generator, slot: int, attempt: int, targets: list[str]) -> TaskSpec:
    """A basket among several graspable objects; each task asks for a different object in the basket."""
    target = pick(targets, slot, attempt)
    others = [c for c in GRASPABLE if c != target]
    distractors = [others[i] for i in rng.choice(len(others), size=4, replace=False)]
    objects = [ObjectSpec("basket", "basket")] + [ObjectSpec(c, c) for c in [target, *distractors]]
    layout = Layout(rng)
    for obj in objects:
        layout.add(obj.name, obj.category, reach=obj.name in ("basket", target))
    return build_spec("object", (Atom("In", (target, "basket")),), objects, [], layout)


# ----------------------------------------------------------------------------------------------- shared scenes
def candidate_goals(objects: list[ObjectSpec], fixtures: list[ObjectSpec], areas: list[str]) -> list[Atom]:
    """Every single-atom goal that makes sense for a scene, as each predicate's ``propose`` says: for each
    graspable object, one relation to each other object, then its one-object goals, then the named areas; last,
    the goals of the articulated fixtures."""
    proposed = [p for p in PREDICATES.values() if p.propose is not None]
    relations = [p for p in proposed if len(p.roles) == 2 and p.roles[1] != "region"]
    own = [p for p in proposed if p.roles == ("graspable",)]
    to_area = [p for p in proposed if len(p.roles) == 2 and p.roles[1] == "region"]
    articulations = [p for p in proposed if p.roles == ("articulated",)]
    goals: list[Atom] = []
    for obj in objects:
        thing = CATALOG[obj.category]
        if not thing.graspable:
            continue
        a = obj.name
        for other in objects + fixtures:
            if other.name == a:
                continue
            target = CATALOG[other.category]
            relation = next((p for p in relations if p.propose(thing, target)), None)
            if relation is not None:
                goals.append(Atom(relation.name, (a, other.name)))
        goals.extend(Atom(p.name, (a,)) for p in own if p.propose(thing))
        goals.extend(Atom(p.name, (a, area)) for p in to_area if p.propose(thing) for area in areas)
    for p in articulations:
        goals.extend(
            Atom(p.name, (f.name,))
            for f in fixtures
            if CATALOG[f.category].kind == "articulated" and p.propose(CATALOG[f.category])
        )
    return goals


def largest_first(objects: list[ObjectSpec]) -> list[ObjectSpec]:
    """Greedy placement packs far better when the big things go down first."""
    return sorted(objects, key=lambda o: -Layout.radius(o.category))


def random_scene(rng: np.random.Generator, n_objects: tuple[int, int] = (3, 5)):
    """A varied scene: some graspable objects, maybe a plate, a basket, a lidded box and a goal area."""
    fixtures = []
    if rng.random() < 0.7:
        fixtures.append(ObjectSpec("plate", "plate"))
    if rng.random() < 0.4:
        fixtures.append(ObjectSpec("box", "lidded_box"))
    objects = [ObjectSpec("basket", "basket")] if rng.random() < 0.6 else []
    count = int(rng.integers(n_objects[0], n_objects[1] + 1))
    chosen = [GRASPABLE[i] for i in rng.choice(len(GRASPABLE), size=count, replace=False)]
    objects += [ObjectSpec(c, c) for c in chosen]
    layout = Layout(rng)
    areas = [a for a in AREAS if a != "centre"]
    area = areas[int(rng.integers(len(areas)))] if rng.random() < 0.5 else None
    if area:
        layout.add_area(area)
    for obj in largest_first(fixtures + objects):
        layout.add(obj.name, obj.category)
    return objects, fixtures, layout, [area] if area else []


def interleave_kinds(goals: list[Atom], rng: np.random.Generator) -> list[Atom]:
    """Shuffle goals, then deal them round-robin by predicate kind so the first few cover every kind."""
    by_kind: dict[str, list[Atom]] = {}
    for i in rng.permutation(len(goals)):
        by_kind.setdefault(goals[i].name, []).append(goals[i])
    kinds = sorted(by_kind)
    kinds = [kinds[i] for i in rng.permutation(len(kinds))]
    dealt = []
    while any(by_kind.values()):
        dealt.extend(by_kind[k].pop(0) for k in kinds if by_kind[k])
    return dealt


def _goal_scene(rng: np.random.Generator):
    for _ in range(100):
        try:
            fixtures = [ObjectSpec("plate", "plate"), ObjectSpec("box", "lidded_box")]
            objects = [ObjectSpec(c, c) for c in ("red_cube", "blue_cube", "basket")]
            layout = Layout(rng)
            areas = ["front_left"]
            for area in areas:
                layout.add_area(area)
            for obj in largest_first(fixtures + objects):
                layout.add(obj.name, obj.category)
        except LayoutFull:
            continue
        return objects, fixtures, layout, interleave_kinds(candidate_goals(objects, fixtures, areas), rng)
    raise RuntimeError("could not lay out the goal family's scene")


@family("goal", size=10, context=_goal_scene)
def goal_family(rng: np.random.Generator, slot: int, attempt: int, scene) -> TaskSpec:
    """One scene, identical in every task; each task asks for a different goal in it."""
    objects, fixtures, layout, goals = scene
    goal = pick(goals, slot, attempt, patience=2)
    extra = tuple(Atom("Closed", (f.name,)) for f in fixtures if f.category == "lidded_box")
    return build_spec("goal", (goal,), objects, fixtures, layout, extra_init=extra)


def _compatible(first: Atom, second: Atom) -> bool:
    """Two stages that can both hold at the end, done in order, without the second undoing the first."""
    one, two = first.definition, second.definition
    if one.while_held or two.while_held:
        return False  # e.g. a lift only holds while the object is held
    if one.roles == two.roles == ("articulated",):
        return False
    if first.args[0] in second.args or second.args[0] in first.args:
        return False  # each stage moves its own object and neither moves the other's target
    return not (one.exclusive and two.exclusive and first.args[-1] == second.args[-1])


def _scene_task(rng: np.random.Generator, suite: str, stages: int) -> TaskSpec:
    objects, fixtures, layout, areas = random_scene(rng)
    goals = candidate_goals(objects, fixtures, areas)
    order = rng.permutation(len(goals))
    if stages == 1:
        # Predicate kind first, then an atom of that kind: otherwise every object's Lifted crowds the pool.
        kinds = sorted({g.name for g in goals})
        kind = kinds[int(rng.integers(len(kinds)))]
        goal = (next(goals[i] for i in order if goals[i].name == kind),)
    else:
        pairs = [(goals[i], goals[j]) for i in order for j in order if i != j and _compatible(goals[i], goals[j])]
        if not pairs:
            raise LayoutFull("no compatible pair of goals in this scene")
        goal = pairs[int(rng.integers(len(pairs)))]
    extra = tuple(Atom("Closed", (f.name,)) for f in fixtures if f.category == "lidded_box")
    return build_spec(suite, goal, objects, fixtures, layout, extra_init=extra)


@family("long", size=10)
def long_family(rng: np.random.Generator, slot: int, attempt: int, context) -> TaskSpec:
    """Two-stage tasks over varied scenes: both goals must hold at the end, done one after the other."""
    return _scene_task(rng, "long", stages=2)


@family("pretrain", size=40)
def pretrain_family(rng: np.random.Generator, slot: int, attempt: int, context) -> TaskSpec:
    """A large pool of short single-goal tasks over many scenes, for multitask and inverse-dynamics pretraining."""
    return _scene_task(rng, "pretrain", stages=1)


FAMILIES.load_plugins()  # families of other packages (entry-point group lifebot.families)
