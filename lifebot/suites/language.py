"""Instructions and task names generated from goal atoms, from each predicate's declared templates."""

from __future__ import annotations

import re

from lifebot.objects.catalog import get_category
from lifebot.predicates import Atom

_AREA_WORDS = {
    "front_left": "front left",
    "front_right": "front right",
    "back_left": "back left",
    "back_right": "back right",
    "centre": "centre",
}
_DROP = {"the", "a", "it", "and", "of", "up", "table"}


def object_words(category: str) -> str:
    return get_category(category).words


def describe(atom: Atom, categories: dict[str, str], overrides: dict[str, str] | None = None) -> str:
    """The instruction phrase for one atom; ``overrides`` replaces an object's words (e.g. a spatial relation)."""
    overrides = overrides or {}
    words = [
        overrides.get(arg) or (object_words(categories[arg]) if arg in categories else _AREA_WORDS[arg])
        for arg in atom.args
    ]
    definition = atom.definition
    referred = definition.referred_template if atom.args[0] in overrides else None
    return (referred or definition.template).format(*words)


def instruction_for(goal: tuple[Atom, ...], categories: dict[str, str], overrides=None) -> str:
    return " and then ".join(describe(atom, categories, overrides) for atom in goal)


def task_name(instruction: str) -> str:
    """CamelCase name from the instruction's content words: 'put the red cube on the plate' -> PutRedCubeOnPlate."""
    words = [w for w in re.findall(r"[a-z]+", instruction.lower()) if w not in _DROP]
    return "".join(w.capitalize() for w in words)
