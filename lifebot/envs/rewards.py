"""Dense shaped rewards for RL, one shaping term per goal atom.

The dense reward is the mean over goal atoms of 1 for an atom that holds, else its shaping progress in [0, 1):
reach the object, hold it, bring it to where the atom wants it. Sparse reward (the default) is just success.
Shapings are filed here by name; each predicate names its own (:attr:`lifebot.predicates.PredicateDef.shaping`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from lifebot.predicates import LIFT_HEIGHT, OPEN_ANGLE, Atom
from lifebot.registry import Registry

Shaping = Callable[..., float]
SHAPINGS: Registry[Shaping] = Registry("shaping")


def _closeness(distance: float) -> float:
    return float(1.0 - np.tanh(10.0 * distance))


def _centre(env, name: str) -> np.ndarray:
    low, high = env.aabb(name)
    return (low + high) / 2.0


def _reach_and_hold(env, obj: str) -> float:
    reach = _closeness(float(np.linalg.norm(env.eef_pos - _centre(env, obj))))
    return 0.5 * reach + 0.5 * float(env.grasped(obj))


def _move_to(env, obj: str, target_xy: np.ndarray) -> float:
    held = _reach_and_hold(env, obj)
    place = _closeness(float(np.linalg.norm(_centre(env, obj)[:2] - target_xy)))
    return 0.5 * held + 0.5 * place * float(env.grasped(obj) or place > 0.9)


@SHAPINGS.register("onto")
def _onto(env, a: str, b: str) -> float:
    return _move_to(env, a, _centre(env, b)[:2])


@SHAPINGS.register("to_region")
def _to_region(env, a: str, region: str) -> float:
    low, high = env.region_bounds(region)
    return _move_to(env, a, (low + high) / 2.0)


@SHAPINGS.register("lift")
def _lift(env, a: str) -> float:
    low, _ = env.aabb(a)
    height = max(0.0, float(low[2] - env.table_top_z)) / LIFT_HEIGHT
    return 0.5 * _reach_and_hold(env, a) + 0.5 * min(height, 1.0) * float(env.grasped(a))


def _articulate(env, x: str, opening: bool) -> float:
    low, high = env.aabb(x)
    handle = np.array([low[0], (low[1] + high[1]) / 2.0, high[2]])
    reach = _closeness(float(np.linalg.norm(env.eef_pos - handle)))
    openness = float(np.clip(env.joint_angle(x) / OPEN_ANGLE, 0.0, 1.0))
    return 0.5 * reach + 0.5 * (openness if opening else 1.0 - openness)


@SHAPINGS.register("open")
def _open(env, x: str) -> float:
    return _articulate(env, x, opening=True)


@SHAPINGS.register("close")
def _close(env, x: str) -> float:
    return _articulate(env, x, opening=False)


def dense_reward(env, goal: tuple[Atom, ...], status: list[bool]) -> float:
    terms = [
        1.0 if ok else min(SHAPINGS[atom.definition.shaping](env, *atom.args), 0.99)
        for atom, ok in zip(goal, status, strict=True)
    ]
    return float(np.mean(terms))
