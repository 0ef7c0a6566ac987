"""The skills that solve goal atoms, and the expert that chains them for multi-stage goals.

One registry (:data:`SOLVERS`) of solvers by name, like ManiSkill's table of motion-planning solutions; each
predicate names its own (:attr:`lifebot.predicates.PredicateDef.solver`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from lifebot.experts.motion import OPEN, Motion
from lifebot.experts.skills import Actions, close_lid, lift_and_hold, open_lid, pick, place
from lifebot.predicates import Atom
from lifebot.registry import Registry

Solver = Callable[[Motion, Atom], Actions]
SOLVERS: Registry[Solver] = Registry("solver")


def _xy(m: Motion, name: str) -> np.ndarray:
    low, high = m.sim.aabb(name)
    return (low[:2] + high[:2]) / 2.0


@SOLVERS.register("put_on")
def put_on(m: Motion, atom: Atom) -> Actions:
    obj, support = atom.args
    yield from pick(m, obj)
    yield from place(m, obj, lambda: _xy(m, support), lambda: float(m.sim.aabb(support)[1][2]) + 0.005)


@SOLVERS.register("put_in")
def put_in(m: Motion, atom: Atom) -> Actions:
    obj, container = atom.args
    # Released just above the rim, the object drops onto the floor inside.
    yield from pick(m, obj)
    yield from place(m, obj, lambda: _xy(m, container), lambda: float(m.sim.aabb(container)[1][2]) + 0.01)


@SOLVERS.register("put_in_region")
def put_in_region(m: Motion, atom: Atom) -> Actions:
    obj, region = atom.args

    def centre() -> np.ndarray:
        low, high = m.sim.region_bounds(region)
        return (low + high) / 2.0

    yield from pick(m, obj)
    yield from place(m, obj, centre, lambda: m.sim.table_top_z + 0.005)


@SOLVERS.register("lift")
def lift(m: Motion, atom: Atom) -> Actions:
    yield from lift_and_hold(m, atom.args[0])


@SOLVERS.register("open")
def open_articulated(m: Motion, atom: Atom) -> Actions:
    yield from open_lid(m, atom.args[0])


@SOLVERS.register("close")
def close_articulated(m: Motion, atom: Atom) -> Actions:
    yield from close_lid(m, atom.args[0])


class ScriptedExpert:
    """Solves a task's goal atoms in order, re-planning an atom whose effect has come undone.

    ``act`` returns the expert's own (clean) action for the current state; noise for recovery data is added by
    whoever executes it (:func:`lifebot.experts.noise.perturb`), so the clean action stays the training label.
    ``finished`` turns true once every goal atom holds and the last skill has run to its end (released and
    retreated), the point where a recorded demonstration can stop.
    """

    def __init__(self, env):
        self.env = env
        self.motion = Motion(env)
        self.goal = env.task_spec.goal
        missing = sorted({a.name for a in self.goal if a.definition.solver not in SOLVERS})
        if missing:
            raise KeyError(f"no scripted expert for predicate(s) {missing}")
        self.finished = False
        self._plan = self._run()

    def _run(self) -> Actions:
        while True:
            pending = [atom for atom in self.goal if not atom.holds(self.env.sim_env)]
            self.finished = not pending
            if not pending:  # done: hold still with the gripper open
                yield self.motion.action(self.env.sim_env.eef_pos, 0.0, OPEN)
                continue
            yield from SOLVERS[pending[0].definition.solver](self.motion, pending[0])

    def act(self, obs=None) -> np.ndarray:
        return next(self._plan)
